import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import { defaultAndValidate } from "../api/admission.ts";
import type { Env } from "../env.ts";
import { eventKind } from "../resources/event.ts";
import { kindFor, kindForStorage } from "../resources/index.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { ObjectStore, type Committer } from "../store/object-store.ts";
import { addUsage, newUsage, openDb, type D1Usage } from "../store/revision-log.ts";
import { RECONCILERS } from "./registry.ts";
import { controllerOf, type Action, type Observed } from "./types.ts";
import { emptyObserved } from "./observed.ts";
import { edgeDomain } from "../edge/edge-host.ts";
import { objectOf, readObserved, type ObservedCache } from "./observed-cache.ts";

/**
 * The controller host of one namespace, run by its hub: observe the namespace in one
 * read, run every reconciler, act, and observe again until nothing is left to do.
 * Level-triggered: it keeps no state between runs, so a lost wake-up or a repeated
 * alarm never loses or duplicates work.
 */

/** Storage resources the reconcilers look at; a commit touching one wakes the host. */
export const OBSERVED_RESOURCES: Record<string, keyof Observed> = {
  "core/pods": "pods",
  "core/resourcequotas": "resourceQuotas",
  "apps/replicasets": "replicaSets",
  "apps/deployments": "deployments",
  "apps/statefulsets": "statefulSets",
  "apps/daemonsets": "daemonSets",
  "batch/jobs": "jobs",
  "batch/cronjobs": "cronJobs",
  "core/persistentvolumeclaims": "persistentVolumeClaims",
  "autoscaling/horizontalpodautoscalers": "horizontalPodAutoscalers",
  "metrics.k8s.io/pods": "podMetrics",
  "policy/poddisruptionbudgets": "podDisruptionBudgets",
  "core/services": "services",
  "core/endpoints": "endpoints",
  "discovery.k8s.io/endpointslices": "endpointSlices",
  "networking.k8s.io/ingresses": "ingresses",
};

const MAX_PASSES = 20;
const COMPONENT = "edgeplane-controller-manager";

export interface RunResult {
  passes: number;
  actionsApplied: number;
  /** When to run again at the latest (smallest requeue, or a back-off after failures). */
  requeueAfterMs?: number;
}

export const OBSERVED_STORAGE = Object.keys(OBSERVED_RESOURCES);

/** The namespace's state for the reconcilers: from the hub's cache when it has one, else one query. */
export async function observe(env: Env, namespace: string, now = Date.now(), usage?: D1Usage, cache?: ObservedCache): Promise<Observed> {
  const db = openDb(env.DB, usage);
  const rows = cache ? await cache.read(db, namespace) : await readObserved(db, namespace, OBSERVED_STORAGE);
  const observed = emptyObserved(namespace, now);
  observed.edgeDomain = edgeDomain(env);
  for (const r of rows) (observed[OBSERVED_RESOURCES[r.resource]] as KubeObject[]).push(objectOf(r));
  // Nodes are read only when something in the namespace places pods on them itself.
  if (observed.daemonSets.length > 0) {
    const nodes = await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects WHERE resource = 'core/nodes' ORDER BY name`);
    observed.nodes = nodes.map((n) => materialize(n.value, n.rev));
  }
  return observed;
}

const fnv1a = (s: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
};

const minus = (a: D1Usage, b: D1Usage): D1Usage => ({
  queries: a.queries - b.queries,
  rowsRead: a.rowsRead - b.rowsRead,
  rowsWritten: a.rowsWritten - b.rowsWritten,
});

/** One line per run: cheap, and what tells a busy or a wasteful namespace apart in the Worker's logs. */
export const formatRunStats = (namespace: string, r: RunStats): string =>
  `controllers ns=${namespace} passes=${r.passes} actions=${r.actionsApplied} ms=${r.ms} ` +
  `d1_queries=${r.d1.queries} d1_rows_read=${r.d1.rowsRead} d1_rows_written=${r.d1.rowsWritten} ` +
  `last_pass_queries=${r.lastPass.queries} last_pass_rows_read=${r.lastPass.rowsRead} last_pass_rows_written=${r.lastPass.rowsWritten}`;

const isoNow = (now: number) => new Date(now).toISOString().replace(/\.\d+Z$/, "Z");

/**
 * What one run cost in D1, as D1 reports it (rows read/written include index rows): the
 * whole run, and its last pass, which is the read that found nothing (left) to do. Writes
 * are counted by their statements' share of the group-committed batch.
 */
export interface RunStats {
  passes: number;
  actionsApplied: number;
  d1: D1Usage;
  lastPass: D1Usage;
  ms: number;
}

/** At most this many actions of one group are in flight: the hub's group commit batches them. */
const MAX_CONCURRENT_ACTIONS = 64;

/**
 * Splits actions into groups applied one after the other, in order. A run of creates (or of
 * deletes) of the same resource is independent work (a ReplicaSet's new pods): applied
 * together, so the hub commits them in a few batches instead of one D1 write each.
 * Everything else keeps its own step, in the order the reconciler gave.
 */
export function concurrentGroups(actions: Action[]): Action[][] {
  const groups: Action[][] = [];
  for (const action of actions) {
    const last = groups[groups.length - 1];
    const head = last?.[0];
    const joins =
      head !== undefined &&
      (action.type === "create" || action.type === "delete") &&
      head.type === action.type &&
      head.resource === action.resource &&
      last.length < MAX_CONCURRENT_ACTIONS;
    if (joins) last.push(action);
    else groups.push([action]);
  }
  return groups;
}

/** Per namespace, everything its controller runs did since this isolate started (runs race with tests' reads of lastRun). */
export const RUN_TOTALS: Record<string, { runs: number; actionsApplied: number; d1: D1Usage }> = {};

export class ControllerHost {
  private readonly store: ObjectStore;
  /** D1 work of this host, accumulated over its runs (a host is made per run by the hub). */
  readonly usage: D1Usage = newUsage();
  /** Figures of the last run, for the hub's stats and its debug log line. */
  lastRun?: RunStats;

  constructor(
    private readonly env: Env,
    private readonly namespace: string,
    hub: string,
    commit: Committer,
    private readonly reconcilers = RECONCILERS,
    private readonly cache?: ObservedCache,
    /** status.hard/used of the namespace's quotas, from the hub's quota ledger (see resource-quota.ts). */
    private readonly quotaStatus?: () => Promise<Observed["quotaStatus"]>,
  ) {
    this.store = new ObjectStore(env, { hub, commit, usage: this.usage });
  }

  async run(clock: () => number = Date.now): Promise<RunResult> {
    let passes = 0;
    let applied = 0;
    let requeue: number | undefined;
    const started = Date.now();
    const atStart = { ...this.usage };
    let passStart = atStart;
    for (; passes < MAX_PASSES; ) {
      passes++;
      passStart = { ...this.usage };
      const observed = await observe(this.env, this.namespace, clock(), this.usage, this.cache);
      if (this.quotaStatus && (observed.resourceQuotas?.length ?? 0) > 0) observed.quotaStatus = await this.quotaStatus();
      requeue = undefined;
      let changed = 0;
      for (const reconciler of this.reconcilers) {
        let result;
        try {
          result = reconciler.reconcile(observed);
        } catch (e) {
          // One broken reconciler never stops the others; it is retried with the next run.
          console.error(`controller ${reconciler.name} failed in namespace ${this.namespace}:`, e);
          requeue = Math.min(requeue ?? Infinity, 5000);
          continue;
        }
        if (result.requeueAfterMs !== undefined) requeue = Math.min(requeue ?? Infinity, Math.max(0, result.requeueAfterMs));
        for (const group of concurrentGroups(result.actions)) {
          const done = await Promise.all(group.map((action) => this.apply(action, observed.now)));
          changed += done.filter(Boolean).length;
        }
      }
      applied += changed;
      if (changed === 0) break;
    }
    // Still acting after MAX_PASSES means something keeps changing: come back soon rather than spin.
    if (passes === MAX_PASSES) requeue = Math.min(requeue ?? Infinity, 1000);
    this.lastRun = { passes, actionsApplied: applied, d1: minus(this.usage, atStart), lastPass: minus(this.usage, passStart), ms: Date.now() - started };
    const totals = (RUN_TOTALS[this.namespace] ??= { runs: 0, actionsApplied: 0, d1: newUsage() });
    totals.runs++;
    totals.actionsApplied += applied;
    addUsage(totals.d1, this.lastRun.d1);
    return { passes, actionsApplied: applied, requeueAfterMs: requeue };
  }

  /** Applies one action; returns true if it changed observed state. Races are expected and skipped. */
  private async apply(action: Action, now: number): Promise<boolean> {
    if (action.type === "event") {
      await this.recordEvent(action.involved, action.eventType, action.reason, action.message, now).catch((e: unknown) =>
        console.error("recording an event failed:", e),
      );
      return false;
    }
    const kind = kindForStorage(action.resource);
    if (!kind) throw new Error(`unknown resource ${action.resource}`);
    try {
      switch (action.type) {
        case "create": {
          const obj = structuredClone(action.object);
          obj.metadata.namespace = this.namespace;
          obj.apiVersion ??= kind.group ? `${kind.group}/${kind.version}` : kind.version;
          obj.kind ??= kind.kind;
          defaultAndValidate(kind, obj);
          await this.store.create(kind, obj);
          return true;
        }
        case "update": {
          const obj = structuredClone(action.object);
          const current = await this.store.get(kind, this.namespace, obj.metadata.name!);
          if (obj.metadata.resourceVersion !== current.metadata.resourceVersion) return false; // stale: re-observe
          defaultAndValidate(kind, obj, current);
          const part = action.subresource === "status" ? "status" : "main";
          const updated = await this.store.update(kind, obj, { part, current });
          return updated.metadata.resourceVersion !== current.metadata.resourceVersion;
        }
        case "delete": {
          const pre = { uid: action.uid, resourceVersion: action.resourceVersion };
          await this.store.delete(kind, this.namespace, action.name, {
            preconditions: pre.uid || pre.resourceVersion ? pre : undefined,
            propagationPolicy: action.propagationPolicy,
            gracePeriodSeconds: action.gracePeriodSeconds,
          });
          return true;
        }
      }
    } catch (e) {
      if (e instanceof ApiError && (e.code === 404 || e.code === 409)) {
        // Changed under us: observe again, from D1 (the cache should not be stale; never trust it twice).
        this.cache?.invalidate();
        return true;
      }
      if (e instanceof ApiError && action.type === "create") {
        // An object the controller cannot create (e.g. an invalid template): tell its owner, don't crash.
        const owner = await this.ownerOf(action.object);
        if (owner) await this.recordEvent(owner, "Warning", "FailedCreate", `Error creating: ${e.message}`, now).catch(() => {});
        return false;
      }
      if (e instanceof ApiError) {
        console.error(`controller action ${action.type} ${action.resource} failed: ${e.message}`);
        return false;
      }
      throw e;
    }
  }

  private async ownerOf(obj: KubeObject): Promise<KubeObject | undefined> {
    const ref = controllerOf(obj);
    if (!ref) return undefined;
    const kind = kindFor(ref.apiVersion, ref.kind);
    return kind ? this.store.tryGet(kind, this.namespace, ref.name) : undefined;
  }

  /** Records an Event about `involved` in this namespace (see recordEvent). */
  async recordEvent(involved: KubeObject, type: "Normal" | "Warning", reason: string, message: string, now: number): Promise<void> {
    await recordEvent(this.store, { ...involved, metadata: { ...involved.metadata, namespace: this.namespace } }, type, reason, message, now);
  }
}

/** A new Event (count 1) about `involved`, named after it and what happened, so repeats fold into one. */
function newEvent(involved: KubeObject, type: "Normal" | "Warning", reason: string, message: string, now: number, component: string): KubeObject {
  const ts = isoNow(now);
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${involved.metadata.name}.${fnv1a(`${involved.metadata.uid}/${reason}/${message}`)}`, namespace: involved.metadata.namespace ?? "" },
    involvedObject: {
      apiVersion: involved.apiVersion,
      kind: involved.kind,
      name: involved.metadata.name,
      namespace: involved.metadata.namespace,
      uid: involved.metadata.uid,
      resourceVersion: involved.metadata.resourceVersion,
    },
    reason,
    message,
    type,
    source: { component },
    reportingComponent: component,
    reportingInstance: component,
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
  };
}

/** An existing event seen again: count and lastTimestamp (gone meanwhile: this occurrence is dropped, as a recorder under pressure does). */
async function repeatEvent(store: ObjectStore, event: KubeObject, now: number): Promise<void> {
  const existing = await store.tryGet(eventKind, event.metadata.namespace ?? "", event.metadata.name!);
  if (!existing) return;
  const next = structuredClone(existing);
  next.count = ((existing.count as number | undefined) ?? 1) + 1;
  next.lastTimestamp = isoNow(now);
  await store.update(eventKind, next, { current: existing });
}

/**
 * Records an Event about `involved` (in its namespace), folding repeats of the same
 * reason and message into count/lastTimestamp. Shared by the controllers and the scheduler.
 * Most events are new (their message names what they are about), so it creates first and
 * reads only when the event exists already: no D1 read for a new event.
 */
export async function recordEvent(
  store: ObjectStore,
  involved: KubeObject,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  now: number,
  component = COMPONENT,
): Promise<void> {
  const event = newEvent(involved, type, reason, message, now, component);
  try {
    await store.create(eventKind, event);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    await repeatEvent(store, event, now);
  }
}

/** Many events about objects of one namespace, created in one call to its hub (repeats folded one by one). */
export async function recordEvents(
  store: ObjectStore,
  events: { involved: KubeObject; type: "Normal" | "Warning"; reason: string; message: string }[],
  now: number,
  component = COMPONENT,
): Promise<void> {
  const made = events.map((e) => newEvent(e.involved, e.type, e.reason, e.message, now, component));
  const results = await store.commitMany(eventKind, made.map((obj) => ({ obj })));
  await Promise.all(results.map((r, i) => (r instanceof ApiError && r.code === 409 ? repeatEvent(store, made[i], now) : undefined)));
}
