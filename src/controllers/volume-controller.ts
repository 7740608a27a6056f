import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../resources/persistentvolumeclaim.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { ObjectStore } from "../store/object-store.ts";
import { newUsage, openDb, type D1Usage } from "../store/revision-log.ts";
import { PV_PROTECTION_FINALIZER, withFinalizer, withoutFinalizer } from "../store/storage-protection.ts";
import { recordEvent } from "./host.ts";
import { unboundVolume, volumeActions, type VolumeAction } from "./persistent-volume.ts";
import { bindVolumeAndClaim } from "./volume-bind.ts";

/**
 * The cluster hub's run of the PersistentVolume and PV protection controllers
 * (persistent-volume.ts) when claims, volumes or StorageClasses changed: three reads (every
 * volume, claim and class), then the actions, each a compare-and-swap on what was read; one
 * that lost a race is skipped (the write it raced with brings the controller back).
 */

const COMPONENT = "persistentvolume-controller";

async function readState(env: Env, usage: D1Usage) {
  const db = openDb(env.DB, usage);
  const rows = async (resource: string) =>
    (await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects WHERE resource = ${resource} ORDER BY namespace, name`)).map((r) =>
      materialize(r.value, r.rev),
    );
  const [volumes, claims, classes] = await Promise.all([rows("core/persistentvolumes"), rows("core/persistentvolumeclaims"), rows("storage.k8s.io/storageclasses")]);
  return { volumes, claims, classes };
}

const withPhase = (o: KubeObject, phase: string): KubeObject => {
  const next = structuredClone(o);
  next.status = { ...((next.status as object) ?? {}), phase };
  return next;
};

/** Applies one action; returns the volume as written (the next action on it starts from there). */
async function apply(store: ObjectStore, a: VolumeAction, now: number): Promise<KubeObject | undefined> {
  switch (a.type) {
    case "bind":
      return (await bindVolumeAndClaim(store, a.volume, a.claim)).volume;
    case "status":
      return store.update(persistentVolumeKind, withPhase(a.volume, a.phase), { part: "status", current: a.volume });
    case "claim-lost":
      await store.update(persistentVolumeClaimKind, withPhase(a.claim, "Lost"), { part: "status", current: a.claim });
      return undefined;
    case "unbind": {
      const volume = await store.update(persistentVolumeKind, unboundVolume(a.volume), { part: "main", current: a.volume });
      return store.update(persistentVolumeKind, withPhase(volume, "Available"), { part: "status", current: volume });
    }
    case "delete":
      await store.delete(persistentVolumeKind, "", a.name, { preconditions: { uid: a.uid } });
      return undefined;
    case "finalizer": {
      const next = a.add ? withFinalizer(a.volume, PV_PROTECTION_FINALIZER) : withoutFinalizer(a.volume, PV_PROTECTION_FINALIZER);
      return store.update(persistentVolumeKind, next, { part: "main", current: a.volume });
    }
    case "event":
      await recordEvent(store, a.involved, a.eventType, a.reason, a.message, now, COMPONENT);
      return undefined;
  }
}

/** One line per run that had anything to look at: what bench/volumes.ts reads. */
export const formatVolumeRun = (r: { volumes: number; claims: number; actions: number; ms: number; d1: D1Usage }): string =>
  `volumes volumes=${r.volumes} claims=${r.claims} actions=${r.actions} ms=${r.ms} d1_queries=${r.d1.queries} d1_rows_read=${r.d1.rowsRead}`;

/** Reads volumes, claims and classes and acts; returns how many actions were taken. */
export async function reconcileVolumes(env: Env, now = Date.now()): Promise<number> {
  const started = Date.now();
  const usage = newUsage();
  const state = await readState(env, usage);
  if (state.volumes.length === 0 && state.claims.length === 0) return 0;
  const store = new ObjectStore(env);
  const actions = volumeActions(state);
  // Actions on one object go in order (a status write, then its deletion); different objects in parallel.
  const byObject = new Map<string, VolumeAction[]>();
  for (const a of actions) {
    const key = a.type === "delete" ? a.name : a.type === "claim-lost" ? `pvc:${a.claim.metadata.uid}` : a.type === "event" ? `event:${a.involved.metadata.uid}` : a.volume.metadata.name!;
    byObject.set(key, [...(byObject.get(key) ?? []), a]);
  }
  await Promise.all(
    [...byObject.values()].map(async (list) => {
      let latest: KubeObject | undefined;
      for (const action of list) {
        const a = latest && "volume" in action ? { ...action, volume: latest } : action;
        try {
          latest = (await apply(store, a, now)) ?? latest;
        } catch (e) {
          if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
          throw e;
        }
      }
    }),
  );
  console.debug(formatVolumeRun({ volumes: state.volumes.length, claims: state.claims.length, actions: actions.length, ms: Date.now() - started, d1: usage }));
  return actions.length;
}
