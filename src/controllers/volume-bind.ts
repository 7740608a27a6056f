import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../resources/persistentvolumeclaim.ts";
import type { KubeObject } from "../resources/types.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { bindClaim, bindVolume, boundClaimStatus } from "../scheduler/volume-binding.ts";

/**
 * The writes that bind a claim and a volume, in Kubernetes' order (the volume controller's
 * and the scheduler's): the volume's claimRef, its phase Bound, the claim's volumeName and
 * binding annotations, its status Bound with the volume's capacity and access modes. Each is
 * a compare-and-swap on the version given (or just written), so a volume another claim took
 * meanwhile fails with 409 before anything of the claim changes; a write with nothing to
 * change is skipped, so finishing a half-done binding writes only what is missing.
 */

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export async function bindVolumeAndClaim(
  store: ObjectStore,
  pv: KubeObject,
  pvc: KubeObject,
  opts: { selectedNode?: string; provisioner?: string } = {},
): Promise<{ volume: KubeObject; claim: KubeObject }> {
  let volume = pv;
  const wanted = bindVolume(volume, pvc);
  if (!same(wanted.spec, volume.spec) || !same(wanted.metadata.annotations, volume.metadata.annotations))
    volume = await store.update(persistentVolumeKind, wanted, { part: "main", current: volume });
  if ((volume.status as { phase?: string } | undefined)?.phase !== "Bound") {
    const next = structuredClone(volume);
    next.status = { ...((next.status as object) ?? {}), phase: "Bound" };
    volume = await store.update(persistentVolumeKind, next, { part: "status", current: volume });
  }
  let claim = pvc;
  const bound = bindClaim(claim, volume, opts);
  if (!same(bound.spec, claim.spec) || !same(bound.metadata.annotations, claim.metadata.annotations))
    claim = await store.update(persistentVolumeClaimKind, bound, { part: "main", current: claim });
  const status = { ...((claim.status as object) ?? {}), ...boundClaimStatus(volume) };
  if (!same(status, claim.status)) {
    const next = structuredClone(claim);
    next.status = status;
    claim = await store.update(persistentVolumeClaimKind, next, { part: "status", current: claim });
  }
  return { volume, claim };
}
