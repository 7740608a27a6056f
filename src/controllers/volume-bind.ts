import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../resources/persistentvolumeclaim.ts";
import type { KubeObject } from "../resources/types.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { bindClaim, bindVolume, boundClaimStatus } from "../scheduler/volume-binding.ts";

/**
 * The writes that bind a claim and a volume, in Kubernetes' order (the volume controller's
 * and the scheduler's): the volume (claimRef, phase Bound), then the claim (volumeName and
 * binding annotations, status Bound with the volume's capacity and access modes). Each is a
 * compare-and-swap on the version given (or just written), so a volume another claim took
 * meanwhile fails with 409 before anything of the claim changes; a side with nothing to
 * change is not written, so finishing a half-done binding writes only what is missing.
 */

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function bindVolumeAndClaim(
  store: ObjectStore,
  pv: KubeObject,
  pvc: KubeObject,
  opts: { selectedNode?: string; provisioner?: string } = {},
): Promise<{ volume: KubeObject; claim: KubeObject }> {
  // Each side in one write (spec and status together): half the commits of Kubernetes' two-step updates.
  let volume = pv;
  const wanted = bindVolume(volume, pvc);
  wanted.status = { ...((wanted.status as object) ?? {}), phase: "Bound" };
  if (!same(wanted, volume)) volume = await store.update(persistentVolumeKind, wanted, { part: "all", current: volume });
  let claim = pvc;
  const bound = bindClaim(claim, volume, opts);
  bound.status = { ...((claim.status as object) ?? {}), ...boundClaimStatus(volume) };
  if (!same(bound, claim)) claim = await store.update(persistentVolumeClaimKind, bound, { part: "all", current: claim });
  return { volume, claim };
}
