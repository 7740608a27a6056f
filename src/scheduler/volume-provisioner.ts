import { sql } from "drizzle-orm";
import { ApiError, conflict } from "../api/errors.ts";
import { bindVolumeAndClaim } from "../controllers/volume-bind.ts";
import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../resources/persistentvolumeclaim.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { Db } from "../store/revision-log.ts";
import { LOCAL_PATH_PROVISIONER } from "../resources/storageclass.ts";
import { chooseVolumes, claimKey, claimsOfPod, claimStates, provisionedVolume, type ClaimState } from "./volume-binding.ts";
import { findMatchingVolume, isVolumeBoundToClaim, volumeNameOf } from "./volume-match.ts";

/**
 * The I/O around volume-binding.ts for the scheduler's round: reads the claims of pending
 * pods (with the volumes and the StorageClasses, three queries, only when some pending pod
 * mounts a claim), and binds a pod's claims that wait for their first consumer on the node it
 * was given, before the pod is bound: to a static volume there, or to one provisioned there
 * (volume-bind.ts writes both sides). Idempotent: a repeated round finds the claim bound.
 */

const rows = async (db: Db, query: ReturnType<typeof sql>) => (await db.all<{ rev: number; value: string }>(query)).map((r) => materialize(r.value, r.rev));

export async function readClaimStates(db: Db, pending: KubeObject[]): Promise<Map<string, ClaimState> | undefined> {
  const wanted = new Set(pending.flatMap((p) => claimsOfPod(p).map((n) => claimKey(p.metadata.namespace ?? "", n))));
  if (wanted.size === 0) return undefined;
  const namespaces = [...new Set([...wanted].map((k) => k.slice(0, k.indexOf("/"))))];
  const claims = (
    await Promise.all(namespaces.map((ns) => rows(db, sql`SELECT rev, value FROM objects WHERE resource = 'core/persistentvolumeclaims' AND namespace = ${ns}`)))
  ).flat();
  const volumes = await rows(db, sql`SELECT rev, value FROM objects WHERE resource = 'core/persistentvolumes'`);
  const classes = await rows(db, sql`SELECT rev, value FROM objects WHERE resource = 'storage.k8s.io/storageclasses'`);
  return claimStates(claims, volumes, classes, wanted);
}

/**
 * Binds the pod's claims that wait for their first consumer, on `node`: to the smallest static
 * volume that matches there (re-read: one another claim took meanwhile is passed over), else
 * to a volume provisioned on the node when the class provisions here. A claim that gets
 * neither is a conflict: the pod is not bound, and the next round looks again.
 */
export async function provisionClaims(store: ObjectStore, pod: KubeObject, node: KubeObject, states: Map<string, ClaimState> | undefined): Promise<void> {
  if (!states) return;
  const namespace = pod.metadata.namespace ?? "";
  const nodeName = node.metadata.name!;
  const at = { labels: node.metadata.labels ?? {}, name: nodeName };
  for (const name of claimsOfPod(pod)) {
    const state = states.get(claimKey(namespace, name));
    if (!state?.claim) continue;
    const passedOver = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const pvc = await store.get(persistentVolumeClaimKind, namespace, name);
      const bound = volumeNameOf(pvc);
      if (bound) {
        // Bound meanwhile (an earlier round, a pod sharing it, the volume controller finishing a binding): complete it.
        const pv = await store.get(persistentVolumeKind, "", bound);
        if (isVolumeBoundToClaim(pv, pvc)) await bindVolumeAndClaim(store, pv, pvc);
        break;
      }
      const [choice] = chooseVolumes([{ ...state, claim: pvc }], at, passedOver);
      if (!choice) throw conflict(persistentVolumeClaimKind, name, `no volume left for persistentvolumeclaim "${name}" on node "${nodeName}"`);
      try {
        if (choice === "provision") await provision(store, pvc, state.provisionWith!, node);
        else {
          const pv = await store.get(persistentVolumeKind, "", choice.metadata.name!);
          if (!findMatchingVolume(pvc, [pv], { node: at })) {
            passedOver.add(choice.metadata.name!);
            continue;
          }
          // A static volume: as Kubernetes' scheduler, no selected-node (that asks a provisioner for a volume).
          await bindVolumeAndClaim(store, pv, pvc);
        }
        break;
      } catch (e) {
        // Lost a race (the volume or the claim changed): look again.
        if (!(e instanceof ApiError && (e.code === 409 || e.code === 404)) || attempt >= 4) throw e;
        if (choice !== "provision") passedOver.add(choice.metadata.name!);
      }
    }
  }
}

/** A volume provisioned for the claim on the node (made once: an earlier round's is reused), and the pair bound. */
async function provision(store: ObjectStore, pvc: KubeObject, sc: KubeObject, node: KubeObject): Promise<void> {
  const wanted = provisionedVolume(pvc, sc, node);
  persistentVolumeKind.defaults?.(wanted);
  let pv: KubeObject;
  try {
    pv = await store.create(persistentVolumeKind, wanted);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    pv = await store.get(persistentVolumeKind, "", wanted.metadata.name!);
  }
  await bindVolumeAndClaim(store, pv, pvc, { selectedNode: node.metadata.name!, provisioner: LOCAL_PATH_PROVISIONER });
}
