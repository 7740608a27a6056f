import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../resources/persistentvolumeclaim.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { Db } from "../store/revision-log.ts";
import { bindClaim, boundClaimStatus, claimKey, claimsOfPod, claimStates, provisionedVolume, type ClaimState } from "./volume-binding.ts";

/**
 * The I/O around volume-binding.ts for the scheduler's round: reads the claims of pending
 * pods (with the volumes they are bound to and the StorageClasses, three queries, only when
 * some pending pod mounts a claim), and provisions a pod's unbound local-path claims on the
 * node it was given, before the pod is bound: the PersistentVolume (Bound, claimRef), then
 * the claim's volumeName and its status Bound. Idempotent: a repeated round finds the volume
 * made and the claim bound.
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

/** Provisions and binds the pod's claims that wait for their first consumer, on `node`. */
export async function provisionClaims(store: ObjectStore, pod: KubeObject, node: KubeObject, states: Map<string, ClaimState> | undefined): Promise<void> {
  if (!states) return;
  const namespace = pod.metadata.namespace ?? "";
  for (const name of claimsOfPod(pod)) {
    const sc = states.get(claimKey(namespace, name))?.provisionWith;
    if (!sc) continue;
    const pvc = await store.get(persistentVolumeClaimKind, namespace, name);
    let volumeName = (pvc.spec as { volumeName?: string }).volumeName;
    let pv: KubeObject | undefined;
    if (!volumeName) {
      const wanted = provisionedVolume(pvc, sc, node);
      persistentVolumeKind.defaults?.(wanted);
      try {
        pv = await store.create(persistentVolumeKind, wanted);
      } catch (e) {
        // Made by an earlier round (or a pod sharing the claim): use it.
        if (!(e instanceof ApiError && e.code === 409)) throw e;
        pv = await store.get(persistentVolumeKind, "", wanted.metadata.name!);
      }
      const bound = await store.modify(persistentVolumeClaimKind, namespace, name, (c) => {
        const current = (c.spec as { volumeName?: string }).volumeName;
        return current ? undefined : bindClaim(c, pv!, node.metadata.name!);
      }, { part: "main" });
      volumeName = (bound.spec as { volumeName?: string }).volumeName;
    }
    pv ??= await store.get(persistentVolumeKind, "", volumeName!);
    if (pv.metadata.name !== volumeName) continue; // bound to another volume meanwhile
    await store.modify(persistentVolumeClaimKind, namespace, name, (c) => {
      if ((c.status as { phase?: string } | undefined)?.phase === "Bound") return undefined;
      c.status = { ...((c.status as object) ?? {}), ...boundClaimStatus(pv!) };
      return c;
    }, { part: "status" });
  }
}
