import { numberSetting, type Env } from "../env.ts";
import { compact, currentRevision, expiredRows, openDb, type Write } from "./revision-log.ts";
import { hubName } from "./hub.ts";

/**
 * Housekeeping run by the cluster hub's alarm: compaction of the revision log
 * (at the revision seen one interval ago, so at least one interval of history stays
 * watchable) and expiry of objects past their TTL (Events). The alarm is set only
 * while writes keep coming, so an idle cluster has none pending.
 */

const intervalMs = (env: Env) => numberSetting(env.COMPACTION_INTERVAL_SECONDS, 300) * 1000;

/** Sets the alarm to `at` unless an earlier one is already set. */
export async function alarmBy(ctx: DurableObjectState, at: number): Promise<void> {
  const current = await ctx.storage.getAlarm();
  if (current === null || current > at) await ctx.storage.setAlarm(at);
}

export async function scheduleMaintenance(ctx: DurableObjectState, env: Env): Promise<void> {
  if ((await ctx.storage.get<number>("maintenanceAt")) !== undefined) return;
  const at = Date.now() + intervalMs(env);
  await ctx.storage.put("maintenanceAt", at);
  await alarmBy(ctx, at);
}

/** Runs maintenance if due; returns when it is due next (undefined: nothing to do until more writes). */
export async function runMaintenance(env: Env, ctx: DurableObjectState): Promise<number | undefined> {
  const due = await ctx.storage.get<number>("maintenanceAt");
  if (due === undefined) return undefined;
  if (due > Date.now()) return due;
  const db = openDb(env.DB);
  const head = await currentRevision(db);
  const markedAt = (await ctx.storage.get<number>("compactAt")) ?? 0;
  if (markedAt > 0) await compact(db, markedAt);
  await ctx.storage.put("compactAt", head);
  const expired = await expireObjects(env);
  // Alarms fire at least once: everything above is safe to repeat.
  if (head > markedAt || expired > 0) {
    const next = Date.now() + intervalMs(env);
    await ctx.storage.put("maintenanceAt", next);
    return next;
  }
  await ctx.storage.delete("maintenanceAt");
  return undefined;
}

/** Deletes objects whose TTL passed through their namespaces' hubs, so watchers see DELETED. */
export async function expireObjects(env: Env, now = Date.now()): Promise<number> {
  const db = openDb(env.DB);
  const rows = await expiredRows(db, now);
  const byHub = new Map<string, Write[]>();
  for (const r of rows) {
    const resource = r.key.slice(0, r.key.length - r.namespace.length - r.name.length - 2);
    const writes = byHub.get(hubName(r.namespace)) ?? [];
    writes.push({ type: "DELETED", key: r.key, resource, namespace: r.namespace, name: r.name, value: r.value, expectedRev: r.rev });
    byHub.set(hubName(r.namespace), writes);
  }
  await Promise.all(
    [...byHub].map(([name, writes]) => env.HUB.get(env.HUB.idFromName(name)).commit(name, writes)),
  );
  return rows.length;
}
