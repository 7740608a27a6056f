import { ApiError, conflict } from "../api/errors.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import type { ObjectStore } from "./object-store.ts";

/**
 * pods/binding: sets spec.nodeName and PodScheduled=True with a compare-and-swap, so a
 * pod is bound at most once (a second binding, or one of a pod being deleted, is a
 * 409 Conflict). Used by the API handler and the scheduler.
 */

function bound(pod: KubeObject, nodeName: string, now: number): KubeObject {
  const name = pod.metadata.name!;
  const spec = pod.spec as { nodeName?: string };
  if (spec.nodeName) throw conflict(podKind, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
  if (pod.metadata.deletionTimestamp) throw conflict(podKind, name, `pod ${name} is being deleted, cannot be assigned to a host`);
  spec.nodeName = nodeName;
  const status = (pod.status ??= {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
  status.conditions = [
    ...(status.conditions ?? []).filter((c) => c.type !== "PodScheduled"),
    { type: "PodScheduled", status: "True", lastTransitionTime: new Date(now).toISOString().replace(/\.\d+Z$/, "Z") },
  ];
  return pod;
}

/**
 * Binds many pods of one namespace in one call to its hub (the scheduler's round): each pod as
 * its caller read it is the expected revision, so each binding is a CAS of its own. Returns
 * the bound pod, or the ApiError (409) of a pod bound, changed or being deleted meanwhile.
 */
export async function bindPods(store: ObjectStore, items: { pod: KubeObject; nodeName: string }[], now = Date.now()): Promise<(KubeObject | ApiError)[]> {
  const out: (KubeObject | ApiError)[] = new Array(items.length);
  const writes: { obj: KubeObject; current: KubeObject }[] = [];
  const at: number[] = [];
  items.forEach(({ pod, nodeName }, i) => {
    try {
      writes.push({ obj: bound(structuredClone(pod), nodeName, now), current: pod });
      at.push(i);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      out[i] = e;
    }
  });
  (await store.commitMany(podKind, writes)).forEach((r, j) => (out[at[j]] = r));
  return out;
}

export async function bindPod(
  store: ObjectStore,
  namespace: string,
  name: string,
  nodeName: string,
  opts: { dryRun?: boolean; uid?: string; current?: KubeObject; now?: number } = {},
): Promise<KubeObject> {
  const now = opts.now ?? Date.now();
  const check = (pod: KubeObject) => {
    if (opts.uid && pod.metadata.uid !== opts.uid) throw conflict(podKind, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${pod.metadata.uid}`);
    return bound(pod, nodeName, now);
  };
  if (opts.current) {
    // The caller's read is the expected revision: one write, no read, when nobody raced us.
    try {
      return await store.update(podKind, check(structuredClone(opts.current)), { part: "all", current: opts.current, dryRun: opts.dryRun });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
  }
  return store.modify(podKind, namespace, name, check, { dryRun: opts.dryRun, part: "all" });
}
