import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import { recordEvent, recordEvents } from "../controllers/host.ts";
import { numberSetting, type Env } from "../env.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { alarmBy } from "../store/maintenance.ts";
import { ObjectStore } from "../store/object-store.ts";
import { bindPod, bindPods } from "../store/pod-binding.ts";
import { ResourceMirror } from "../store/resource-mirror.ts";
import { newUsage, openDb, type D1Usage, type Db } from "../store/revision-log.ts";
import { schedulerStandbyUntil } from "./leader-lease.ts";
import { holdsResources, podInfo } from "./pod-info.ts";
import { PodIndex } from "./pod-index.ts";
import { queueOrder, scheduleOn } from "./schedule.ts";
import type { Decision, SchedulerConfig } from "./types.ts";
import type { SchedulerHint } from "./wake.ts";
import { claimsOfPod, type ClaimState } from "./volume-binding.ts";
import { provisionClaims, readClaimStates } from "./volume-provisioner.ts";

/**
 * The scheduler as the cluster hub runs it from its alarm. Woken (through the hub) by
 * pods created unbound and, while some pods are unschedulable, by node changes and by
 * pods releasing resources; otherwise it retries with a backoff. Each run brings its copies of
 * the unfinished pods and the nodes up to date (reading only the log rows written since the
 * last run; see SchedulerCache), places every pending pod in one
 * `schedule` call, then binds (CAS: never twice) or marks PodScheduled=False with an
 * aggregated FailedScheduling event. Nothing pending: no work, no alarm.
 */

const DUE = "scheduler:due";
const BACKLOG = "scheduler:backlog";
const BACKOFF = "scheduler:backoff";
/** A short delay lets a burst of creates become one batch. */
export const BATCH_DELAY_MS = 20;
const MIN_BACKOFF_MS = 1000;
/** While another holder has kube-scheduler's lease, how often to look at it again. */
const STANDBY_CHECK_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** Pods written one by one at once (unschedulable ones, claims, preemptions). */
const WRITE_CONCURRENCY = 64;
/**
 * Pods placed per round at most (SCHEDULER_MAX_PODS_PER_ROUND): a round stays well within a
 * Durable Object invocation's CPU budget and its first bindings land sooner; the rest go in the
 * next round, at once.
 */
const MAX_PODS_PER_ROUND = 2000;
/** Bindings per call to a namespace's hub (one of its commit batches), and such calls at once. */
const BIND_CHUNK = 48;
const BIND_CHUNKS_IN_FLIGHT = 4;
/** Pod changes after which the scheduler's pod copy is brought up to date between rounds (SchedulerCache.podsChanged). */
const REFRESH_AFTER = 500;
export const SCHEDULER_NAME = "default-scheduler";

export interface SchedulerRun {
  pending: number;
  bound: number;
  unschedulable: number;
  /** Bindings lost to a race (someone else bound or deleted the pod first). */
  conflicts: number;
  /** Objects the run wrote through the namespace hubs: bindings, pod conditions, events, preemptions. */
  writes: number;
  /** The run's own D1 reads (its writes are group-committed by the namespace hubs). */
  d1: D1Usage;
  ms: number;
  /** Where the round's time went: bringing the copies up to date, placing, writing. */
  syncMs: number;
  placeMs: number;
  writeMs: number;
  /** Set when another holder has kube-scheduler's lease: nothing was done (see leader-lease.ts). */
  standbyUntil?: number;
  /** Pending pods left for the next round (past MAX_PODS_PER_ROUND), which then runs at once. */
  deferred?: number;
}

/** One line per run with pods pending: what the bench reads (bench/scheduler.ts) and what tells a wasteful round apart. */
export const formatSchedulerRun = (r: SchedulerRun): string =>
  `scheduler pending=${r.pending} bound=${r.bound} unschedulable=${r.unschedulable} conflicts=${r.conflicts} writes=${r.writes} ` +
  `ms=${r.ms} d1_queries=${r.d1.queries} d1_rows_read=${r.d1.rowsRead} sync_ms=${r.syncMs} place_ms=${r.placeMs} write_ms=${r.writeMs}`;

export async function requestScheduling(ctx: DurableObjectState, at: number): Promise<void> {
  const due = await ctx.storage.get<number>(DUE);
  if (due === undefined || due > at) await ctx.storage.put(DUE, at);
  await alarmBy(ctx, at);
}

/** Pods changed in some namespace (the hint says how); wake the scheduler if that matters. */
export async function podsChanged(ctx: DurableObjectState, hint: SchedulerHint): Promise<void> {
  if (hint.pending || (hint.released && (await ctx.storage.get<boolean>(BACKLOG)))) await requestScheduling(ctx, Date.now() + BATCH_DELAY_MS);
}

/** Nodes changed: unschedulable pods may fit now. */
export async function nodesChanged(ctx: DurableObjectState): Promise<void> {
  if (await ctx.storage.get<boolean>(BACKLOG)) await requestScheduling(ctx, Date.now() + BATCH_DELAY_MS);
}

/** When the scheduler wants to run next (undefined: nothing to do). */
export async function schedulerDue(ctx: DurableObjectState): Promise<number | undefined> {
  return ctx.storage.get<number>(DUE);
}

/** Runs the scheduler if it is due (or nearly); returns when it wants to run next. */
export async function runSchedulerIfDue(env: Env, ctx: DurableObjectState, cache: SchedulerCache, now = Date.now()): Promise<number | undefined> {
  const due = await ctx.storage.get<number>(DUE);
  if (due === undefined || due > now + BATCH_DELAY_MS) return due;
  await ctx.storage.delete(DUE);
  let run: SchedulerRun;
  try {
    run = await runScheduler(env, now, cache);
  } catch (e) {
    console.error("scheduler run failed:", e);
    run = { pending: 1, bound: 0, unschedulable: 1, conflicts: 0, writes: 0, d1: newUsage(), ms: 0, syncMs: 0, placeMs: 0, writeMs: 0 };
  }
  if (run.standbyUntil !== undefined) {
    // Another holder of kube-scheduler's lease: stand by, and look again soon (or when it expires).
    const requested = await ctx.storage.get<number>(DUE);
    const next = Math.min(run.standbyUntil, now + STANDBY_CHECK_MS, requested ?? Infinity);
    await ctx.storage.put(DUE, next);
    return next;
  }
  if (run.pending > 0) console.debug(formatSchedulerRun(run));
  const waiting = run.unschedulable > 0 || run.conflicts > 0;
  let next: number | undefined = run.deferred ? Date.now() : undefined;
  if (waiting) {
    const backoff = run.bound > 0 ? MIN_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, 2 * ((await ctx.storage.get<number>(BACKOFF)) ?? MIN_BACKOFF_MS / 2));
    await ctx.storage.put({ [BACKLOG]: true, [BACKOFF]: backoff });
    next = Math.min(next ?? Infinity, Date.now() + (run.conflicts > 0 ? BATCH_DELAY_MS : backoff));
  } else {
    await ctx.storage.delete([BACKLOG, BACKOFF]);
  }
  // Wake-ups that arrived during the run keep their (earlier) time.
  const requested = await ctx.storage.get<number>(DUE);
  if (requested !== undefined && (next === undefined || requested < next)) next = requested;
  if (next !== undefined) await ctx.storage.put(DUE, next);
  return next;
}

export function schedulerConfig(env: Env): Partial<SchedulerConfig> {
  return env.SCHEDULER_SCORING_STRATEGY === "LeastAllocated" ? { scoringStrategy: "LeastAllocated" } : {};
}

/**
 * What the scheduler keeps between rounds (the cluster hub holds it): its copies of the
 * unfinished pods and of the nodes, brought up to date each round from the revision log, so a
 * round reads only what changed since the last one instead of every pod and node, and the
 * index of those pods (pending ones, each node's accounting), which follows the same changes.
 */
export class SchedulerCache {
  readonly index = new PodIndex();
  readonly pods = new ResourceMirror("core/pods", holdsResources, this.index);
  readonly nodes = new ResourceMirror("core/nodes");
  /** Pod changes committed since the pod copy was last brought up to date (at least: counted per commit batch). */
  private unsynced = 0;

  /** The copies were brought up to date (a round's start). */
  synced(): void {
    this.unsynced = 0;
  }

  /**
   * Pods changed while no round runs (e.g. thousands of status updates after a burst of bindings):
   * past REFRESH_AFTER changes the pod copy reads them now, in the background, so the next round
   * does not start with thousands of log rows to read and parse while a new pod waits.
   */
  podsChanged(count: number, db: Db): Promise<unknown> | undefined {
    this.unsynced += count;
    if (this.unsynced < REFRESH_AFTER) return undefined;
    this.unsynced = 0;
    return this.pods.sync(db).catch((e: unknown) => console.error("scheduler: refreshing its pod copy failed:", e));
  }
}

/** One scheduling round over every pending pod. */
export async function runScheduler(env: Env, now = Date.now(), cache = new SchedulerCache()): Promise<SchedulerRun> {
  const started = Date.now();
  const usage = newUsage();
  const db = openDb(env.DB, usage);
  // Both copies and the leader lease at once: a round is woken because something is pending, so it needs them all.
  const [standbyUntil, , nodeCopies] = await Promise.all([schedulerStandbyUntil(db, now), cache.pods.sync(db), cache.nodes.sync(db)]);
  cache.synced();
  const pending = [...cache.index.pending.values()];
  const run: SchedulerRun = { pending: pending.length, bound: 0, unschedulable: 0, conflicts: 0, writes: 0, d1: usage, ms: 0, syncMs: 0, placeMs: 0, writeMs: 0 };
  const done = (r: SchedulerRun) => Object.assign(r, { ms: Date.now() - started });
  if (standbyUntil !== undefined) return done({ ...run, standbyUntil });
  if (pending.length === 0) return done(run);
  const perRound = Math.floor(numberSetting(env.SCHEDULER_MAX_PODS_PER_ROUND, MAX_PODS_PER_ROUND));
  if (pending.length > perRound) {
    // The queue's head this round (highest priority, then oldest), the rest in the next one.
    pending.sort((a, b) => queueOrder(podInfo(a), podInfo(b)));
    run.deferred = pending.length - perRound;
    pending.length = perRound;
  }
  const nodes = [...nodeCopies.values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  // With no nodes at all there is nothing to say yet: wait quietly for the first node.
  if (nodes.length === 0) return done({ ...run, unschedulable: pending.length });
  const namespaces = cache.index.selectsNamespaces
    ? (await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects WHERE resource = 'core/namespaces'`)).map((r) => materialize(r.value, r.rev))
    : [];
  // PersistentVolumeClaims of pending pods: read only when some pending pod mounts one.
  const claims = await readClaimStates(db, pending);
  const synced = Date.now();
  const decisions = scheduleOn(cache.index.cluster(nodes, namespaces), pending, schedulerConfig(env), claims);
  // A Worker's clock stands still while it computes: a timer lets it catch up before we read it.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const placed = Date.now();
  const store = new ObjectStore(env);
  const volumes = { claims, nodes: new Map(nodes.map((n) => [n.metadata.name!, n])) };
  // Plain bindings go in bulk, a namespace's chunk per call to its hub; pods with claims to
  // provision, unschedulable pods and preemptions one by one.
  const plain = new Map<string, Decision[]>();
  const single: Decision[] = [];
  for (const d of decisions) {
    if (d.nodeName === undefined || claimsOfPod(d.pod).length > 0) single.push(d);
    else {
      const ns = d.pod.metadata.namespace ?? "";
      const list = plain.get(ns);
      if (list) list.push(d);
      else plain.set(ns, [d]);
    }
  }
  const chunks = [...plain.values()].flatMap((list) => Array.from({ length: Math.ceil(list.length / BIND_CHUNK) }, (_, i) => list.slice(i * BIND_CHUNK, (i + 1) * BIND_CHUNK)));
  await Promise.all([
    eachLimited(chunks, BIND_CHUNKS_IN_FLIGHT, (chunk) => bindChunk(store, chunk, now, run)),
    eachLimited(single, WRITE_CONCURRENCY, (d) => apply(store, d, now, run, volumes)),
  ]);
  return done(Object.assign(run, { syncMs: synced - started, placeMs: placed - synced, writeMs: Date.now() - placed }));
}

/**
 * Binds a chunk of one namespace's pods in one call to its hub, then records the Scheduled
 * events of those it bound in another (an event only once its binding is committed).
 */
async function bindChunk(store: ObjectStore, chunk: Decision[], now: number, run: SchedulerRun): Promise<void> {
  try {
    const results = await bindPods(store, chunk.map((d) => ({ pod: d.pod, nodeName: d.nodeName! })), now);
    const events: { involved: KubeObject; type: "Normal"; reason: string; message: string }[] = [];
    results.forEach((r, i) => {
      const { pod, nodeName } = chunk[i];
      const { namespace = "", name = "" } = pod.metadata;
      if (r instanceof ApiError) {
        // Bound, changed or deleted by someone else meanwhile: the next round sees the new state.
        run.conflicts++;
        return;
      }
      run.bound++;
      run.writes++;
      events.push({ involved: pod, type: "Normal", reason: "Scheduled", message: `Successfully assigned ${namespace}/${name} to ${nodeName}` });
    });
    await recordEvents(store, events, now, SCHEDULER_NAME);
    run.writes += events.length;
  } catch (e) {
    console.error(`scheduler: binding ${chunk.length} pods of ${chunk[0].pod.metadata.namespace}:`, e);
    run.conflicts += chunk.length; // retried soon
  }
}

/** Runs `fn` over every item, at most `limit` at a time (a pool: one finishing lets the next start). */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function apply(
  store: ObjectStore,
  d: Decision,
  now: number,
  run: SchedulerRun,
  volumes: { claims?: Map<string, ClaimState>; nodes: Map<string, KubeObject> },
): Promise<void> {
  const pod = d.pod;
  const { namespace = "", name = "" } = pod.metadata;
  try {
    if (d.nodeName !== undefined) {
      // The pod's claims that wait for their first consumer are provisioned on its node first.
      await provisionClaims(store, pod, volumes.nodes.get(d.nodeName)!, volumes.claims);
      await bindPod(store, namespace, name, d.nodeName, { uid: pod.metadata.uid, current: pod, now });
      run.bound++;
      run.writes++;
      await recordEvent(store, pod, "Normal", "Scheduled", `Successfully assigned ${namespace}/${name} to ${d.nodeName}`, now, SCHEDULER_NAME);
      run.writes++;
      return;
    }
    run.unschedulable++;
    if (d.preemption) run.writes += await preempt(store, pod, d.preemption.nodeName, d.preemption.victims, now);
    if (await markUnschedulable(store, pod, d.message, now, d.preemption?.nodeName)) run.writes++;
    await recordEvent(store, pod, "Warning", "FailedScheduling", d.message, now, SCHEDULER_NAME);
    run.writes++;
  } catch (e) {
    // Bound, changed or deleted by someone else meanwhile: the next round sees the new state.
    if (e instanceof ApiError && (e.code === 409 || e.code === 404)) {
      if (d.nodeName !== undefined) run.conflicts++;
      return;
    }
    console.error(`scheduler: ${namespace}/${name}:`, e);
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

/**
 * Deletes the victims (gracefully: their node's agent stops them) with an event on each.
 * The preemptor is bound in a later round, once they are gone and the room is free.
 */
async function preempt(store: ObjectStore, pod: KubeObject, nodeName: string, victims: KubeObject[], now: number): Promise<number> {
  let writes = 0;
  await Promise.all(
    victims.map(async (v) => {
      const { namespace = "", name = "", uid } = v.metadata;
      try {
        await store.delete(podKind, namespace, name, { preconditions: { uid } });
        await recordEvent(store, v, "Normal", "Preempted", `Preempted by pod ${pod.metadata.uid} on node ${nodeName}`, now, SCHEDULER_NAME);
        writes += 2;
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
      }
    }),
  );
  return writes;
}

/** PodScheduled=False, reason Unschedulable, with the message (and the node it waits for after preempting); no write when it already says so. */
async function markUnschedulable(store: ObjectStore, pod: KubeObject, message: string, now: number, nominatedNodeName?: string): Promise<boolean> {
  const status = (pod.status ?? {}) as { conditions?: Condition[]; nominatedNodeName?: string };
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const old = conditions.find((c) => c.type === "PodScheduled");
  const nominated = nominatedNodeName ?? status.nominatedNodeName;
  if (old?.status === "False" && old.reason === "Unschedulable" && old.message === message && nominated === status.nominatedNodeName) return false;
  const next = structuredClone(pod);
  const condition: Condition = {
    type: "PodScheduled",
    status: "False",
    reason: "Unschedulable",
    message,
    lastProbeTime: null,
    lastTransitionTime: old?.status === "False" && old.lastTransitionTime ? old.lastTransitionTime : new Date(now).toISOString().replace(/\.\d+Z$/, "Z"),
  };
  next.status = { ...status, conditions: [...conditions.filter((c) => c.type !== "PodScheduled"), condition], ...(nominated ? { nominatedNodeName: nominated } : {}) };
  await store.update(podKind, next, { part: "status", current: pod });
  return true;
}
