import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import type { KubeObject } from "../resources/types.ts";
import { claimKey } from "../scheduler/volume-binding.ts";
import { materialize } from "../store/hub.ts";
import { ObjectStore } from "../store/object-store.ts";
import { openDb } from "../store/revision-log.ts";

/**
 * The PersistentVolume controller's reclaim, run by the cluster hub when claims changed:
 * a volume whose claim is gone goes per its reclaimPolicy (Delete: the volume is deleted,
 * and the node agent that holds its directory removes it; Retain: Released).
 */

export type VolumeAction = { type: "delete"; name: string; uid?: string } | { type: "status"; volume: KubeObject; phase: "Bound" | "Released" };

/**
 * The PersistentVolume controller's reclaim (pure): a volume whose claim is gone (or was
 * recreated: another uid) is deleted when its reclaimPolicy is Delete, else Released; a
 * volume whose claim is there shows Bound.
 */
export function reclaimActions(volumes: KubeObject[], claims: Map<string, KubeObject>): VolumeAction[] {
  const actions: VolumeAction[] = [];
  for (const pv of volumes) {
    const ref = (pv.spec as { claimRef?: { namespace?: string; name?: string; uid?: string } } | undefined)?.claimRef;
    if (!ref?.name || pv.metadata.deletionTimestamp) continue;
    const claim = claims.get(claimKey(ref.namespace ?? "", ref.name));
    const phase = (pv.status as { phase?: string } | undefined)?.phase;
    const present = claim && (!ref.uid || claim.metadata.uid === ref.uid);
    if (present) {
      if (phase !== "Bound" && (claim.spec as { volumeName?: string } | undefined)?.volumeName === pv.metadata.name) actions.push({ type: "status", volume: pv, phase: "Bound" });
      continue;
    }
    if ((pv.spec as { persistentVolumeReclaimPolicy?: string }).persistentVolumeReclaimPolicy === "Delete") actions.push({ type: "delete", name: pv.metadata.name!, uid: pv.metadata.uid });
    else if (phase !== "Released") actions.push({ type: "status", volume: pv, phase: "Released" });
  }
  return actions;
}

/** Reads the volumes bound to claims and their claims, and acts; returns how many actions were taken. */
export async function reclaimVolumes(env: Env): Promise<number> {
  const db = openDb(env.DB);
  const rows = async (q: ReturnType<typeof sql>) => (await db.all<{ rev: number; value: string }>(q)).map((r) => materialize(r.value, r.rev));
  const volumes = await rows(sql`SELECT rev, value FROM objects WHERE resource = 'core/persistentvolumes' AND json_extract(value, '$.spec.claimRef.name') IS NOT NULL`);
  if (volumes.length === 0) return 0;
  const namespaces = [...new Set(volumes.map((v) => (v.spec as { claimRef?: { namespace?: string } }).claimRef?.namespace ?? ""))];
  const claims = new Map<string, KubeObject>();
  for (const ns of namespaces)
    for (const c of await rows(sql`SELECT rev, value FROM objects WHERE resource = 'core/persistentvolumeclaims' AND namespace = ${ns}`))
      claims.set(claimKey(ns, c.metadata.name ?? ""), c);
  const store = new ObjectStore(env);
  const actions = reclaimActions(volumes, claims);
  for (const a of actions) {
    try {
      if (a.type === "delete") await store.delete(persistentVolumeKind, "", a.name, { preconditions: { uid: a.uid } });
      else {
        const next = structuredClone(a.volume);
        next.status = { ...((next.status as object) ?? {}), phase: a.phase };
        await store.update(persistentVolumeKind, next, { part: "status", current: a.volume });
      }
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
  return actions.length;
}
