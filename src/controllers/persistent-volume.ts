import { storageClassOf } from "../resources/persistentvolume.ts";
import type { KubeObject } from "../resources/types.ts";
import { BIND_COMPLETED_ANNOTATION, BOUND_BY_CONTROLLER_ANNOTATION, claimKey } from "../scheduler/volume-binding.ts";
import { claimRefOf, findMatchingVolume, isVolumeBoundToClaim, phaseOf, volumeMismatch, volumeNameOf } from "../scheduler/volume-match.ts";
import { PV_PROTECTION_FINALIZER } from "../store/storage-protection.ts";

/**
 * The PersistentVolume controller and the PV protection controller (Kubernetes' persistentvolume
 * binder and pv-protection), pure: the cluster hub reads every volume, claim and StorageClass
 * when claims or volumes changed and applies what this returns (volume-controller.ts).
 *
 * Claims:
 * - unbound (no spec.volumeName): bound to the matching volume (volume-match.ts) unless their
 *   class waits for the first consumer (WaitForFirstConsumer: the scheduler binds them, to a
 *   static volume on the pod's node or one it provisions); a claim of class "" with no volume
 *   gets a FailedBinding event;
 * - pre-bound by the user (spec.volumeName set, volume free): bound if the volume satisfies it
 *   (VolumeMismatch event otherwise); half-bound pairs are completed;
 * - a Bound claim whose volume is gone, or bound to another claim, is Lost.
 * Volumes:
 * - without a claimRef (or pre-bound to a claim not yet bound): Available;
 * - whose claim is bound to them: Bound;
 * - whose claim is gone (or was recreated: another uid): Released, and deleted if their
 *   reclaimPolicy is Delete (the node agent removes a local-path directory once its volume is gone);
 * - bound by the controller to a claim that went to another volume: unbound (Available);
 * - protection: every volume carries `kubernetes.io/pv-protection`; a volume being deleted
 *   keeps it while Bound, and loses it (and so goes) once it is not.
 */

export type VolumeAction =
  /** Bind (or finish binding) the pair: volume claimRef + Bound, claim volumeName + annotations + Bound (volume-bind.ts). */
  | { type: "bind"; volume: KubeObject; claim: KubeObject }
  | { type: "status"; volume: KubeObject; phase: "Available" | "Bound" | "Released" }
  | { type: "claim-lost"; claim: KubeObject }
  /** Clear a claimRef the controller set (a user's pre-binding keeps its name, loses the uid); then Available. */
  | { type: "unbind"; volume: KubeObject }
  | { type: "delete"; name: string; uid?: string }
  | { type: "finalizer"; volume: KubeObject; add: boolean }
  | { type: "event"; involved: KubeObject; eventType: "Normal" | "Warning"; reason: string; message: string };

export interface VolumeState {
  volumes: KubeObject[];
  claims: KubeObject[];
  classes: KubeObject[];
}

const bindingComplete = (pv: KubeObject, pvc: KubeObject) =>
  claimRefOf(pv)?.uid === pvc.metadata.uid &&
  phaseOf(pv) === "Bound" &&
  volumeNameOf(pvc) === pv.metadata.name &&
  pvc.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] === "yes" &&
  phaseOf(pvc) === "Bound";

export function volumeActions(state: VolumeState): VolumeAction[] {
  const actions: VolumeAction[] = [];
  const volumes = new Map(state.volumes.map((v) => [v.metadata.name!, v]));
  const claims = new Map(state.claims.map((c) => [claimKey(c.metadata.namespace ?? "", c.metadata.name ?? ""), c]));
  const classes = new Map(state.classes.map((c) => [c.metadata.name!, c]));
  /** Volumes bound in this pass: not offered to another claim, not synced again. */
  const taken = new Set<string>();
  const bind = (volume: KubeObject, claim: KubeObject) => {
    taken.add(volume.metadata.name!);
    actions.push({ type: "bind", volume, claim });
  };

  for (const pvc of state.claims) {
    if (pvc.metadata.deletionTimestamp) continue;
    const volumeName = volumeNameOf(pvc);
    if (!volumeName) {
      const cls = storageClassOf(pvc);
      const delay = classes.get(cls)?.volumeBindingMode === "WaitForFirstConsumer";
      const pv = findMatchingVolume(pvc, state.volumes, { delayBinding: delay, taken });
      if (pv) bind(pv, pvc);
      else if (cls === "")
        actions.push({ type: "event", involved: pvc, eventType: "Normal", reason: "FailedBinding", message: "no persistent volumes available for this claim and no storage class is set" });
      continue;
    }
    const pv = volumes.get(volumeName);
    if (!pv) {
      if (phaseOf(pvc) === "Bound") {
        actions.push({ type: "claim-lost", claim: pvc });
        actions.push({ type: "event", involved: pvc, eventType: "Warning", reason: "ClaimLost", message: "Bound claim has lost reference to PersistentVolume. Data on the claim is lost!" });
      }
      continue;
    }
    if (!claimRefOf(pv)) {
      if (taken.has(volumeName) || pv.metadata.deletionTimestamp) continue;
      const why = volumeMismatch(pv, pvc);
      if (why) actions.push({ type: "event", involved: pvc, eventType: "Warning", reason: "VolumeMismatch", message: `Cannot bind to requested volume "${volumeName}": ${why}` });
      else bind(pv, pvc);
      continue;
    }
    if (isVolumeBoundToClaim(pv, pvc)) {
      if (!bindingComplete(pv, pvc)) bind(pv, pvc);
      else taken.add(volumeName);
      continue;
    }
    if (phaseOf(pvc) === "Bound") {
      actions.push({ type: "claim-lost", claim: pvc });
      actions.push({ type: "event", involved: pvc, eventType: "Warning", reason: "ClaimMisbound", message: "Two claims are bound to the same volume, this one is bound incorrectly" });
    }
  }

  for (const pv of state.volumes) {
    const name = pv.metadata.name!;
    const deleting = !!pv.metadata.deletionTimestamp;
    const protectedNow = (pv.metadata.finalizers ?? []).includes(PV_PROTECTION_FINALIZER);
    if (!deleting && !protectedNow) actions.push({ type: "finalizer", volume: pv, add: true });
    if (taken.has(name)) continue;
    const before = actions.length;
    const ref = claimRefOf(pv);
    const phase = phaseOf(pv);
    const claim = ref ? claims.get(claimKey(ref.namespace ?? "", ref.name!)) : undefined;
    if (!ref || (!ref.uid && !(claim && volumeNameOf(claim) === name))) {
      if (phase !== "Available") actions.push({ type: "status", volume: pv, phase: "Available" });
    } else if (!claim || (ref.uid && claim.metadata.uid !== ref.uid)) {
      // The claim went: reclaim.
      if (phase !== "Released" && phase !== "Failed") actions.push({ type: "status", volume: pv, phase: "Released" });
      if ((pv.spec as { persistentVolumeReclaimPolicy?: string }).persistentVolumeReclaimPolicy === "Delete" && !deleting)
        actions.push({ type: "delete", name, uid: pv.metadata.uid });
    } else if (volumeNameOf(claim) === name) {
      if (phase !== "Bound") actions.push({ type: "status", volume: pv, phase: "Bound" });
    } else if (volumeNameOf(claim)) {
      // Bound to a claim that went to another volume.
      actions.push({ type: "unbind", volume: pv });
    }
    // Otherwise the claim is not bound yet: its side binds it (or the scheduler is binding it).
    const changing = actions.length > before;
    if (deleting && protectedNow && !changing && phase !== "Bound") actions.push({ type: "finalizer", volume: pv, add: false });
  }
  return actions;
}

/** A volume unbound from its claim (pure): the controller's claimRef goes, a user's pre-binding keeps the claim's name. */
export function unboundVolume(pv: KubeObject): KubeObject {
  const next = structuredClone(pv);
  const spec = next.spec as Record<string, unknown>;
  if (next.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION]) {
    delete spec.claimRef;
    const { [BOUND_BY_CONTROLLER_ANNOTATION]: _, ...rest } = next.metadata.annotations;
    next.metadata.annotations = rest;
  } else if (spec.claimRef) {
    const { uid: _uid, resourceVersion: _rv, ...ref } = spec.claimRef as Record<string, unknown>;
    spec.claimRef = ref;
  }
  return next;
}
