import type { KubeObject } from "../resources/types.ts";

/**
 * Namespace lifecycle, level-triggered: a namespace with a deletionTimestamp is
 * Terminating; everything in it is deleted (objects with finalizers are marked and
 * waited for); once it is empty the namespace itself goes.
 */

export interface NamespaceState {
  namespace: KubeObject;
  /** Objects still stored in the namespace (a bounded page is enough: the loop repeats). */
  contents: { key: string; rev: number; object: KubeObject }[];
  /** Milliseconds since the epoch; when given, an emptied namespace waits out NAMESPACE_SETTLE_MS. */
  now?: number;
}

/**
 * How long after its deletion a namespace stays, even when empty: creates admitted by an
 * isolate that still remembered it active (ObjectStore, 2 s) land meanwhile and are deleted
 * with the rest instead of being left in a namespace that no longer exists.
 */
export const NAMESPACE_SETTLE_MS = 3000;

export type NamespaceAction =
  | { type: "mark-terminating" }
  | { type: "delete-object"; key: string; rev: number }
  | { type: "remove-namespace" }
  | { type: "wait" };

export function reconcileNamespace(state: NamespaceState): NamespaceAction[] {
  const ns = state.namespace;
  if (!ns.metadata.deletionTimestamp) return [];
  const actions: NamespaceAction[] = [];
  if ((ns.status as { phase?: string } | undefined)?.phase !== "Terminating") actions.push({ type: "mark-terminating" });
  const pending = state.contents.filter((c) => !c.object.metadata.deletionTimestamp);
  for (const c of pending) actions.push({ type: "delete-object", key: c.key, rev: c.rev });
  const deletedAt = Date.parse(ns.metadata.deletionTimestamp);
  const settled = state.now === undefined || !(state.now < deletedAt + NAMESPACE_SETTLE_MS);
  if (state.contents.length === 0 && settled) actions.push({ type: "remove-namespace" });
  else if (state.contents.length === 0) actions.push({ type: "wait" });
  else if (pending.length === 0) actions.push({ type: "wait" });
  return actions;
}
