import type { KubeObject, OwnerReference } from "../resources/types.ts";
import { clone, withOwnerRefs } from "./statefulset.ts";
import type { Action, Observed, ReconcileResult, Resource } from "./types.ts";

/**
 * Garbage collector of one namespace, over the kinds the host observes.
 *
 * An owner reference resolves by group, kind and uid: a reference whose owner is gone
 * (including an owner recreated under the same name, which has a new uid) is
 * dangling. References to kinds this collector does not observe (Nodes, ConfigMaps,
 * custom resources...) always count as live.
 *
 * For each dependent not itself being deleted:
 *  - every owner gone: delete it (Background; Foreground if an owner is being deleted
 *    in the foreground and the dependent has dependents of its own, so the chain blocks);
 *  - some owners live, others gone or being deleted in the foreground: drop those
 *    references (the dependent stays with its live owners);
 *  - an owner waiting in the foreground (deletionTimestamp + "foregroundDeletion")
 *    and no live owner: delete it.
 * References to owners being deleted with "orphan" are removed from their dependents.
 * Then, for owners being deleted:
 *  - "orphan": once no object (other than ones being deleted) refers to it, the
 *    finalizer is removed;
 *  - "foregroundDeletion": once no dependent refers to it with blockOwnerDeletion,
 *    the finalizer is removed (the store deletes the owner with its last finalizer).
 * Objects already being deleted are never deleted or updated as dependents (an update
 * of a gracefully terminating pod without finalizers would delete it at once). At most
 * one update per object per pass; anything left waits for the next observation.
 */

const ORPHAN = "orphan";
const FOREGROUND = "foregroundDeletion";

/** The observed lists, with their storage resource and the group/kind their objects are referred to by. */
const LISTS: { list: keyof Observed; resource: Resource; group: string; kind: string }[] = [
  { list: "deployments", resource: "apps/deployments", group: "apps", kind: "Deployment" },
  { list: "replicaSets", resource: "apps/replicasets", group: "apps", kind: "ReplicaSet" },
  { list: "statefulSets", resource: "apps/statefulsets", group: "apps", kind: "StatefulSet" },
  { list: "daemonSets", resource: "apps/daemonsets", group: "apps", kind: "DaemonSet" },
  { list: "cronJobs", resource: "batch/cronjobs", group: "batch", kind: "CronJob" },
  { list: "jobs", resource: "batch/jobs", group: "batch", kind: "Job" },
  { list: "horizontalPodAutoscalers", resource: "autoscaling/horizontalpodautoscalers", group: "autoscaling", kind: "HorizontalPodAutoscaler" },
  { list: "persistentVolumeClaims", resource: "core/persistentvolumeclaims", group: "", kind: "PersistentVolumeClaim" },
  { list: "pods", resource: "core/pods", group: "", kind: "Pod" },
];

interface Entry {
  obj: KubeObject;
  resource: Resource;
  typeKey: string;
}

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");
const typeKey = (group: string, kind: string) => `${group}/${kind}`;
const OBSERVED_TYPES = new Set(LISTS.map((l) => typeKey(l.group, l.kind)));

type RefState = "live" | "dangling" | "waiting" | "orphaning";

/** Whether the collector has anything to look at: an object with owners, or one waiting on its finalizers. */
const concernsCollector = (o: KubeObject) =>
  (o.metadata.ownerReferences?.length ?? 0) > 0 || !!o.metadata.finalizers?.some((f) => f === ORPHAN || f === FOREGROUND);

export function reconcile(observed: Observed): ReconcileResult {
  // Bare objects only (no owners, no deletion waiting on dependents): nothing to collect, no pass over them sorted.
  if (!LISTS.some((l) => (observed[l.list] as KubeObject[]).some(concernsCollector))) return { actions: [] };
  const entries: Entry[] = [];
  for (const l of LISTS) {
    const items = [...(observed[l.list] as KubeObject[])].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
    for (const obj of items) entries.push({ obj, resource: l.resource, typeKey: typeKey(l.group, l.kind) });
  }
  const byUid = new Map<string, Entry>();
  for (const e of entries) if (e.obj.metadata.uid) byUid.set(e.obj.metadata.uid, e);
  /** Objects referring to each owner uid, with the reference. */
  const dependents = new Map<string, { entry: Entry; ref: OwnerReference }[]>();
  for (const e of entries)
    for (const ref of e.obj.metadata.ownerReferences ?? []) {
      if (!ref?.uid) continue;
      if (!dependents.has(ref.uid)) dependents.set(ref.uid, []);
      dependents.get(ref.uid)!.push({ entry: e, ref });
    }

  const stateOf = (ref: OwnerReference): RefState => {
    const key = typeKey(groupOf(ref.apiVersion ?? ""), ref.kind);
    if (!OBSERVED_TYPES.has(key)) return "live"; // not ours to judge (cluster-scoped or unobserved kinds)
    const owner = byUid.get(ref.uid);
    if (!owner || owner.typeKey !== key) return "dangling";
    const m = owner.obj.metadata;
    if (!m.deletionTimestamp) return "live";
    if (m.finalizers?.includes(ORPHAN)) return "orphaning";
    if (m.finalizers?.includes(FOREGROUND)) return "waiting";
    return "live";
  };

  const actions: Action[] = [];

  // Dependents.
  for (const e of entries) {
    const refs = e.obj.metadata.ownerReferences ?? [];
    // An object on its way out is left alone (an update of a terminating pod would even cut its grace period).
    if (refs.length === 0 || e.obj.metadata.deletionTimestamp) continue;
    const states = refs.map(stateOf);
    const live = states.some((s) => s === "live" || s === "orphaning");
    if (live) {
      if (states.every((s) => s === "live")) continue;
      // Keep the live owners; forget the gone, the orphaning and the foreground-waiting ones.
      actions.push({ type: "update", resource: e.resource, object: withOwnerRefs(e.obj, refs.filter((_, i) => states[i] === "live")) });
      continue;
    }
    // No live owner: the object is garbage.
    const foreground = states.includes("waiting") && (dependents.get(e.obj.metadata.uid!)?.length ?? 0) > 0;
    actions.push({
      type: "delete",
      resource: e.resource,
      name: e.obj.metadata.name!,
      uid: e.obj.metadata.uid,
      resourceVersion: e.obj.metadata.resourceVersion,
      propagationPolicy: foreground ? "Foreground" : "Background",
    });
  }

  // Owners being deleted with finalizers this collector owns.
  for (const e of entries) {
    const m = e.obj.metadata;
    if (!m.deletionTimestamp) continue;
    const finalizers = m.finalizers ?? [];
    const deps = dependents.get(m.uid!) ?? [];
    let drop: string | undefined;
    if (finalizers.includes(ORPHAN)) {
      if (!deps.some((d) => !d.entry.obj.metadata.deletionTimestamp)) drop = ORPHAN;
    } else if (finalizers.includes(FOREGROUND)) {
      if (!deps.some((d) => d.ref.blockOwnerDeletion === true)) drop = FOREGROUND;
    }
    if (!drop) continue;
    const next = clone(e.obj);
    next.metadata.finalizers = finalizers.filter((f) => f !== drop);
    actions.push({ type: "update", resource: e.resource, object: next });
  }

  return { actions };
}
