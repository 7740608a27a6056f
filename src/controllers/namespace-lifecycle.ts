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
}

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
  if (state.contents.length === 0) actions.push({ type: "remove-namespace" });
  else if (pending.length === 0) actions.push({ type: "wait" });
  return actions;
}
