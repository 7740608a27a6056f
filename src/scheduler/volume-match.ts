import { storageClassOf } from "../resources/persistentvolume.ts";
import { compareQuantities } from "../resources/quantity.ts";
import type { KubeObject } from "../resources/types.ts";
import { nodeSelectorTermMatches, selectorMatches } from "./label-match.ts";

/**
 * Which PersistentVolume a claim may bind (Kubernetes' FindMatchingVolume), pure; used by the
 * volume controller (claims bound without a consumer) and by the scheduler (claims that wait
 * for their first consumer, on a given node):
 * - a volume already bound or pre-bound to the claim (claimRef naming it, uid empty or its uid) wins;
 * - otherwise an Available volume with no claimRef, not being deleted, of the claim's class
 *   (the class "" matches volumes without one), the claim's volumeMode, every access mode the
 *   claim asks for, labels matching its selector, and capacity >= its request: the smallest such;
 * - with a node, only volumes whose node affinity admits the node.
 */

interface ClaimRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

export const claimRefOf = (pv: KubeObject): ClaimRef | undefined => {
  const ref = (pv.spec as { claimRef?: ClaimRef } | undefined)?.claimRef;
  return ref?.name ? ref : undefined;
};

export const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
export const volumeNameOf = (pvc: KubeObject): string => (pvc.spec as { volumeName?: string } | undefined)?.volumeName ?? "";
const volumeModeOf = (o: KubeObject) => (o.spec as { volumeMode?: string } | undefined)?.volumeMode || "Filesystem";
const accessModesOf = (o: KubeObject) => (o.spec as { accessModes?: string[] } | undefined)?.accessModes ?? [];
const capacityOf = (pv: KubeObject) => (pv.spec as { capacity?: { storage?: string } } | undefined)?.capacity?.storage;
export const requestOf = (pvc: KubeObject) => (pvc.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests?.storage;

/** Whether the volume's claimRef names this claim (Kubernetes' IsVolumeBoundToClaim). */
export function isVolumeBoundToClaim(pv: KubeObject, pvc: KubeObject): boolean {
  const ref = claimRefOf(pv);
  return !!ref && ref.name === pvc.metadata.name && (ref.namespace ?? "") === (pvc.metadata.namespace ?? "") && (!ref.uid || ref.uid === pvc.metadata.uid);
}

/** Whether the volume's node affinity admits a node (no affinity: every node). */
export function volumeFitsNode(pv: KubeObject, labels: Record<string, string>, nodeName: string): boolean {
  const terms = (pv.spec as { nodeAffinity?: { required?: { nodeSelectorTerms?: unknown[] } } } | undefined)?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return true;
  return terms.some((t) => nodeSelectorTermMatches(t, labels, nodeName));
}

/** Why a volume cannot serve a claim (undefined: it can); Kubernetes' checkVolumeSatisfyClaim. */
export function volumeMismatch(pv: KubeObject, pvc: KubeObject): string | undefined {
  const request = requestOf(pvc);
  const capacity = capacityOf(pv);
  if (request !== undefined && !(compareQuantities(capacity, request) >= 0)) return `requested PV is too small`;
  if (storageClassOf(pv) !== storageClassOf(pvc)) return "storageClassName does not match";
  if (volumeModeOf(pv) !== volumeModeOf(pvc)) return "incompatible volumeMode";
  const modes = accessModesOf(pv);
  if (!accessModesOf(pvc).every((m) => modes.includes(m))) return "incompatible accessMode";
  return undefined;
}

export interface MatchOptions {
  /** The claim waits for its first consumer: only a volume already (pre-)bound to it matches unless a node is given. */
  delayBinding?: boolean;
  node?: { labels: Record<string, string>; name: string };
  /** Volumes taken by other claims in the same pass. */
  taken?: Set<string>;
}

/** The volume a claim should bind, if any. */
export function findMatchingVolume(pvc: KubeObject, volumes: Iterable<KubeObject>, opts: MatchOptions = {}): KubeObject | undefined {
  const selector = (pvc.spec as { selector?: unknown } | undefined)?.selector;
  const request = requestOf(pvc) ?? "0";
  let best: KubeObject | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp || volumeModeOf(pv) !== volumeModeOf(pvc)) continue;
    const fits = !opts.node || volumeFitsNode(pv, opts.node.labels, opts.node.name);
    if (isVolumeBoundToClaim(pv, pvc)) return fits ? pv : undefined;
    if (opts.taken?.has(pv.metadata.name!)) continue;
    if (!opts.node && opts.delayBinding) continue;
    if (phaseOf(pv) !== "Available" || claimRefOf(pv)) continue;
    if (selector && !selectorMatches(selector, pv.metadata.labels)) continue;
    if (storageClassOf(pv) !== storageClassOf(pvc) || !fits) continue;
    const modes = accessModesOf(pv);
    if (!accessModesOf(pvc).every((m) => modes.includes(m))) continue;
    if (!(compareQuantities(capacityOf(pv), request) >= 0)) continue;
    if (!best || compareQuantities(capacityOf(best), capacityOf(pv)) > 0) best = pv;
  }
  return best;
}
