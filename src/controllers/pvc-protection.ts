import { claimsOfPod } from "../scheduler/volume-binding.ts";
import { PVC_PROTECTION_FINALIZER, withFinalizer, withoutFinalizer } from "../store/storage-protection.ts";
import type { Action, Observed, ReconcileResult } from "./types.ts";

/**
 * The PVC protection controller (Kubernetes' pvc-protection): a claim that is being deleted
 * keeps its `kubernetes.io/pvc-protection` finalizer while a pod of its namespace that has
 * not terminated (phase other than Succeeded/Failed, scheduled or not) mounts it; once none
 * does the finalizer goes, and with it the claim (then the volume controller reclaims its
 * volume). A claim that is not being deleted and lacks the finalizer (made before admission
 * added it) gets it.
 */

const terminated = (phase: unknown) => phase === "Succeeded" || phase === "Failed";

/** Names of the claims the namespace's non-terminated pods mount. */
export function claimsInUse(observed: Pick<Observed, "pods">): Set<string> {
  const used = new Set<string>();
  for (const pod of observed.pods) {
    if (terminated((pod.status as { phase?: string } | undefined)?.phase)) continue;
    for (const name of claimsOfPod(pod)) used.add(name);
  }
  return used;
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let used: Set<string> | undefined;
  for (const pvc of observed.persistentVolumeClaims) {
    const m = pvc.metadata;
    const has = (m.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER);
    if (!m.deletionTimestamp) {
      if (!has) actions.push({ type: "update", resource: "core/persistentvolumeclaims", object: withFinalizer(pvc, PVC_PROTECTION_FINALIZER) });
      continue;
    }
    if (!has) continue;
    used ??= claimsInUse(observed);
    if (!used.has(m.name!)) actions.push({ type: "update", resource: "core/persistentvolumeclaims", object: withoutFinalizer(pvc, PVC_PROTECTION_FINALIZER) });
  }
  return { actions };
}
