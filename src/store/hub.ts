import { DurableObject } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { isEmptyFilter, matchesFilter, parseFilter, type ObjectFilter } from "../api/selectors.ts";
import type { KubeObject } from "../resources/types.ts";
import type { Env } from "../env.ts";
import { alarmBy, scheduleMaintenance, runMaintenance } from "./maintenance.ts";
import { reconcileTerminatingNamespaces } from "../controllers/cluster-loop.ts";
import { NodeMonitor } from "../controllers/node-monitor.ts";
import { SCHEDULER_LEASE_KEY } from "../scheduler/leader-lease.ts";
import { nodesChanged, podsChanged, runSchedulerIfDue, SchedulerCache } from "../scheduler/loop.ts";
import { reconcileVolumes } from "../controllers/volume-controller.ts";
import { schedulerHint, type SchedulerHint } from "../scheduler/wake.ts";
import { ControllerHost, formatRunStats, OBSERVED_RESOURCES, OBSERVED_STORAGE, type RunStats } from "../controllers/host.ts";
import { ObservedCache } from "../controllers/observed-cache.ts";
import { QuotaLedger } from "./quota-ledger.ts";
import { openRows, openSecret, sealSecret, SECRETS_RESOURCE } from "./secret-box.ts";
import { RECONCILERS } from "../controllers/registry.ts";
import {
  commitWrites,
  currentRevision,
  eventsSince,
  listPage,
  newUsage,
  openDb,
  type D1Usage,
  type Db,
  type LogEvent,
  type Write,
  type WriteResult,
} from "./revision-log.ts";

/**
 * One Durable Object per namespace ("ns:<name>"), plus one for the cluster ("cluster").
 *
 * A namespace's hub is the only writer of that namespace's objects: it coalesces
 * concurrent writes into one D1 batch (group commit) and, knowing exactly what it
 * committed and in which order, streams the events to its watchers without reading
 * D1 again. The cluster hub writes cluster-scoped objects and serves watches across
 * all namespaces; since it learns of other hubs' commits out of order, it reads the
 * log (ordered by revision) whenever it is told something changed.
 */

export const CLUSTER_HUB = "cluster";
export const hubName = (namespace: string) => (namespace ? `ns:${namespace}` : CLUSTER_HUB);

/** What a watch asks for; sent by the API worker as JSON. */
export interface WatchSpec {
  resource: string;
  /** undefined: every namespace (cluster hub only). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** "" or "0": start with the current state as ADDED events; otherwise a revision. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds: number;
  apiVersion: string;
  kind: string;
}

const MAX_BATCH = 48; // 2 statements per write; D1 batches stay well under limits
const MAX_BATCH_BYTES = 4 * 1024 * 1024; // objects can be 1.5 MiB: keep one batch's payload bounded
const BOOKMARK_EVERY_MS = 15_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024; // a watcher further behind than this is dropped
const encoder = new TextEncoder();

/** Turns a log row into the object clients see (resourceVersion = the revision). */
export function materialize(value: string, rev: number): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata.resourceVersion = String(rev);
  return obj;
}

class Watcher {
  cursor: number;
  catchingUp = true;
  buffered: LogEvent[] = [];
  closed = false;
  timeout?: ReturnType<typeof setTimeout>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly filter: ObjectFilter;
  private queuedBytes = 0;

  constructor(
    readonly spec: WatchSpec,
    stream: WritableStream<Uint8Array>,
    cursor: number,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.writer = stream.getWriter();
    this.filter = parseFilter(spec.labelSelector, spec.fieldSelector);
    this.cursor = cursor;
  }

  wants(e: LogEvent): boolean {
    if (e.resource !== this.spec.resource) return false;
    if (this.spec.namespace !== undefined && e.namespace !== this.spec.namespace) return false;
    return true;
  }

  /**
   * Sends the events after the cursor that pass the filter, as one chunk: under load a
   * commit batch carries dozens of events, and one write per event is what delays delivery.
   */
  deliver(events: LogEvent[]): void {
    const lines: string[] = [];
    const add = (type: string, object: KubeObject) => lines.push(JSON.stringify({ type, object }));
    for (const e of events) {
      if (e.rev <= this.cursor) continue;
      this.cursor = e.rev;
      if (!this.wants(e)) continue;
      const object = materialize(e.value, e.rev);
      const matches = matchesFilter(this.filter, object);
      if (e.type === "MODIFIED" && e.prevValue !== undefined && !isEmptyFilter(this.filter)) {
        // An object entering the selection is ADDED for this watcher, one leaving it DELETED.
        const matched = matchesFilter(this.filter, materialize(e.prevValue, e.rev));
        if (matches !== matched) add(matches ? "ADDED" : "DELETED", object);
        else if (matches) add(e.type, object);
        continue;
      }
      if (!matches) continue;
      add(e.type, object);
    }
    this.sendLines(lines);
  }

  sendObject(type: string, object: unknown): void {
    this.send({ type, object });
  }

  bookmark(rev: number): void {
    if (!this.spec.allowBookmarks || this.catchingUp) return;
    this.cursor = Math.max(this.cursor, rev);
    this.send({
      type: "BOOKMARK",
      object: { kind: this.spec.kind, apiVersion: this.spec.apiVersion, metadata: { resourceVersion: String(this.cursor) } },
    });
  }

  private send(event: unknown): void {
    this.sendLines([JSON.stringify(event)]);
  }

  private sendLines(lines: string[]): void {
    if (this.closed || lines.length === 0) return;
    const bytes = encoder.encode(lines.join("\n") + "\n");
    this.queuedBytes += bytes.length;
    if (this.queuedBytes > MAX_BUFFERED_BYTES) return this.close();
    this.writer.write(bytes).then(
      () => (this.queuedBytes -= bytes.length),
      () => this.close(),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.close().catch(() => {});
    this.onClose(this);
  }
}

interface PendingCommit {
  writes: Write[];
  /** Admission only (a dry-run create): checked as a batch of its own, answered, never committed. */
  dryRun?: boolean;
  resolve: (r: WriteResult[]) => void;
  reject: (e: unknown) => void;
}

/** The longest a commit waits for the namespace's controllers to run (see wake). */
const MAX_CONTROLLER_DELAY_MS = 500;

/** Cluster hub storage: claims, volumes or classes changed since the volume controller last ran. */
const VOLUMES_DUE = "volumes:due";
/** Cluster hub storage: false once no namespace was found terminating; set again by a namespace's deletion. */
const NAMESPACES_DUE = "namespaces:due";
/** Cluster-scoped resources whose changes wake the volume controller (claims come from namespace hubs). */
const VOLUME_RESOURCES = ["core/persistentvolumes", "storage.k8s.io/storageclasses"];
/** Namespaced resources the cluster hub acts on as they change: the scheduler's pods, the volume controller's claims. */
const CLUSTER_PROMPT_RESOURCES = new Set(["core/pods", "core/persistentvolumeclaims"]);
/** How long a namespace hub may hold changes the cluster hub needs only for housekeeping (compaction, expiry). */
const UNTOLD_MS = 250;

export class NamespaceHub extends DurableObject<Env> {
  private readonly db: Db;
  /** Reads for watches (catch-up, initial lists, the cluster hub's log pump), counted. */
  private readonly watchDb: Db;
  private readonly watchReads: D1Usage = newUsage();
  /** A namespace hub's controllers observe from memory, kept current by its own commits. */
  private readonly observedCache = new ObservedCache(OBSERVED_STORAGE);
  private readonly watchers = new Set<Watcher>();
  private queue: PendingCommit[] = [];
  private flushing = false;
  /** Highest revision this hub has delivered to watchers (cluster hub: read from the log). */
  private lastSeen = 0;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private bookmarkTimer: ReturnType<typeof setInterval> | null = null;
  /** Changes this hub committed or was told of since it started; exposed for tests and stats. */
  private changesSeen = 0;
  /**
   * Namespace hub: the resources the cluster hub serves all-namespace watches of, as it last said
   * (undefined until it has). Commits of other resources (lease renewals, events, ...) need it only
   * for housekeeping: they are told together, at most UNTOLD_MS later, not one call per commit.
   */
  private clusterWatches?: Set<string>;
  private untold?: { count: number; resources: Set<string>; timer: ReturnType<typeof setTimeout> };
  /** The last controller run of this namespace: passes, actions and its D1 rows read/written. */
  private lastControllerRun?: RunStats;
  /** Cluster hub: the node lifecycle controller (node heartbeats, taints, taint-based eviction). */
  private readonly nodeMonitor = new NodeMonitor();
  /** The scheduler's copies of pods and nodes (cluster hub only), kept between its rounds. */
  private readonly schedulerCache = new SchedulerCache();
  /** Namespace hub: ResourceQuota usage, checked and charged inside the commit loop. */
  private quotaLedger?: QuotaLedger;
  private name = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = openDb(env.DB);
    this.watchDb = openDb(env.DB, this.watchReads);
  }

  private get isCluster(): boolean {
    return this.name === CLUSTER_HUB;
  }

  /** A Durable Object does not know the name it was addressed by; alarms need it, so keep it. */
  private async remember(name: string): Promise<void> {
    if (this.name === name) return;
    this.name = name;
    if ((await this.ctx.storage.get<string>("name")) !== name) await this.ctx.storage.put("name", name);
  }

  /** Group commit: every write that arrives while a batch is in flight goes into the next one. */
  async commit(name: string, writes: Write[]): Promise<WriteResult[]> {
    await this.remember(name);
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Dry-run admission of writes (server-side dry-run creates): answered as a commit would be,
   * denied or with what admission changed (`value`, `rev` 0), without writing or charging anything.
   */
  async admitDryRun(name: string, writes: Write[]): Promise<WriteResult[]> {
    await this.remember(name);
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject, dryRun: true });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch: PendingCommit[] = [];
        let count = 0;
        let bytes = 0;
        const sizeOf = (p: PendingCommit) => p.writes.reduce((n, w) => n + w.value.length, 0);
        while (
          this.queue.length > 0 &&
          (batch.length === 0 ||
            (!batch[0].dryRun && !this.queue[0].dryRun &&
              count + this.queue[0].writes.length <= MAX_BATCH && bytes + sizeOf(this.queue[0]) <= MAX_BATCH_BYTES))
        ) {
          const next = this.queue.shift()!;
          batch.push(next);
          count += next.writes.length;
          bytes += sizeOf(next);
        }
        if (batch[0].dryRun) {
          const [p] = await this.admitQuota(batch);
          p?.resolve(p.writes.map((w) => ({ ok: true, rev: 0, ...(this.quotaLedger?.rewritten.has(w) ? { value: w.value } : {}) })));
          continue;
        }
        // The log gets Secrets sealed; watchers get them in the clear (as every read path opens them).
        const admitted = await this.sealSecrets(await this.admitQuota(batch));
        const stored = admitted.flatMap((p) => p.stored);
        let results: WriteResult[];
        try {
          results = await commitWrites(this.db, stored);
        } catch (err) {
          for (const p of admitted) p.reject(err);
          continue;
        }
        const events: LogEvent[] = [];
        let i = 0;
        for (const p of admitted) {
          const mine = results.slice(i, i + p.writes.length);
          mine.forEach((r, j) => {
            if (!r.ok) return;
            events.push({ ...p.writes[j], rev: r.rev });
            if (this.quotaLedger?.rewritten.has(p.writes[j])) r.value = p.writes[j].value;
          });
          i += p.writes.length;
          p.resolve(mine);
        }
        if (events.length > 0) this.committed(events);
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * ResourceQuota admission of a batch (namespace hubs): the commits a quota refuses are
   * answered with their denial now; the rest go on, charged in order (see QuotaLedger).
   */
  private async admitQuota(batch: PendingCommit[]): Promise<PendingCommit[]> {
    if (this.isCluster || !this.name.startsWith("ns:")) return batch;
    this.quotaLedger ??= new QuotaLedger(this.name.slice("ns:".length));
    let denials: (string | undefined)[];
    try {
      await this.quotaLedger.ensure(this.db);
      denials = this.quotaLedger.admit(batch.map((p) => p.writes));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return [];
    }
    const admitted: PendingCommit[] = [];
    batch.forEach((p, i) => {
      const denied = denials[i];
      if (denied === undefined) admitted.push(p);
      else p.resolve(p.writes.map(() => ({ ok: false, denied })));
    });
    return admitted;
  }

  /**
   * The writes as stored: Secret values sealed; the pending writes keep (or get back) the plaintext
   * for watchers. A commit whose Secret cannot be sealed (no key) fails alone, not its batch.
   */
  private async sealSecrets(batch: PendingCommit[]): Promise<(PendingCommit & { stored: Write[] })[]> {
    const out: (PendingCommit & { stored: Write[] })[] = [];
    for (const p of batch) {
      try {
        const stored: Write[] = [];
        for (let j = 0; j < p.writes.length; j++) {
          const w = p.writes[j];
          if (w.resource !== SECRETS_RESOURCE) {
            stored.push(w);
            continue;
          }
          const plain = await openSecret(this.env, w.key, w.value);
          if (plain !== w.value) p.writes[j] = { ...w, value: plain };
          const { prevValue: _prev, ...rest } = w;
          stored.push({ ...rest, value: await sealSecret(this.env, w.key, plain) });
        }
        out.push({ ...p, stored });
      } catch (err) {
        p.reject(err);
      }
    }
    return out;
  }

  /** status.hard/used of this namespace's quotas, current with every commit so far (the quota controller's input). */
  private async quotaStatus() {
    await this.commit(this.name, []); // through the commit loop: the ledger is read there, between batches
    return this.quotaLedger?.status() ?? {};
  }

  private committed(events: LogEvent[]): void {
    events.sort((a, b) => a.rev - b.rev);
    this.changesSeen += events.length;
    if (this.isCluster) {
      if (this.anyWatches(events.map((e) => e.resource))) void this.pump();
      if (events.some((e) => e.resource === "core/nodes")) {
        this.ctx.waitUntil(this.wakeNodeWatchers());
        this.ctx.waitUntil(nodesChanged(this.ctx));
        this.ctx.waitUntil(this.nodeMonitor.committed(this.ctx, this.env, events));
      }
      if (events.some((e) => VOLUME_RESOURCES.includes(e.resource))) this.ctx.waitUntil(this.volumesChanged());
    } else {
      this.publish(events);
      this.observedCache.apply(events);
      const quotaChanged = this.quotaLedger?.affects(events) ?? false;
      this.quotaLedger?.apply(events);
      if (quotaChanged || events.some((e) => e.resource in OBSERVED_RESOURCES)) void this.wake();
      // The cluster hub runs the scheduler: tell it whether pods need placing (or may fit now).
      // kube-scheduler's lease changed (released by another holder): the scheduler looks at once.
      const hint = events.some((e) => e.resource === "core/pods")
        ? schedulerHint(events)
        : events.some((e) => e.key === SCHEDULER_LEASE_KEY)
          ? { pending: true, released: false }
          : undefined;
      const resources = [...new Set(events.map((e) => e.resource))];
      const watched = this.clusterWatches;
      const soon = hint !== undefined || !watched || resources.some((r) => CLUSTER_PROMPT_RESOURCES.has(r) || watched.has(r));
      if (soon) this.tellCluster(events.length, hint, resources);
      else this.tellClusterLater(events.length, resources);
    }
    if (this.isCluster) void scheduleMaintenance(this.ctx, this.env);
  }

  /** Tells the cluster hub of changes (with any not told yet); it serves all-namespace watches, reading the log itself, in order. */
  private tellCluster(count: number, hint: SchedulerHint | undefined, resources: string[]): void {
    const untold = this.untold;
    if (untold) {
      clearTimeout(untold.timer);
      this.untold = undefined;
      count += untold.count;
      resources = [...new Set([...resources, ...untold.resources])];
    }
    const cluster = this.env.HUB.get(this.env.HUB.idFromName(CLUSTER_HUB));
    this.ctx.waitUntil(
      cluster.notify(count, hint, resources).then(
        (watched) => void (this.clusterWatches = new Set(watched)),
        (e: unknown) => console.error("notify cluster hub:", e),
      ),
    );
  }

  private tellClusterLater(count: number, resources: string[]): void {
    this.untold ??= { count: 0, resources: new Set(), timer: setTimeout(() => this.tellCluster(0, undefined, []), UNTOLD_MS) };
    this.untold.count += count;
    for (const r of resources) this.untold.resources.add(r);
  }

  private publish(events: LogEvent[]): void {
    this.lastSeen = Math.max(this.lastSeen, events[events.length - 1].rev);
    for (const w of this.watchers) {
      if (w.catchingUp) w.buffered.push(...events);
      else w.deliver(events);
    }
  }

  /**
   * Told by a namespace hub that it committed `count` changes (cluster hub only). Answers the
   * resources it serves all-namespace watches of: the hub tells changes of those at once.
   */
  async notify(count: number, hint?: SchedulerHint, resources?: string[]): Promise<string[]> {
    await this.remember(CLUSTER_HUB);
    this.changesSeen += count;
    if (hint) await podsChanged(this.ctx, hint);
    if (resources?.includes("core/pods")) {
      const refreshing = this.schedulerCache.podsChanged(count, this.db);
      if (refreshing) this.ctx.waitUntil(refreshing);
    }
    // Claims changed: bind, reclaim and protect volumes, and let pods waiting for a claim try again.
    if (resources?.includes("core/persistentvolumeclaims")) await this.volumesChanged();
    // Lease renewals must not cost an idle pod watch (a node agent's) any D1 reads.
    if (this.anyWatches(resources)) await this.pump();
    await scheduleMaintenance(this.ctx, this.env);
    return this.watchedResources();
  }

  /** Claims, volumes or StorageClasses changed: run the volume controller soon; pods waiting for volumes may fit now. */
  private async volumesChanged(): Promise<void> {
    await this.ctx.storage.put(VOLUMES_DUE, true);
    await alarmBy(this.ctx, Date.now() + 20);
    await nodesChanged(this.ctx);
  }

  /** Whether a watcher wants any of these resources (all of them when unknown). */
  private anyWatches(resources?: string[]): boolean {
    if (this.watchers.size === 0) return false;
    if (resources === undefined) return true;
    const watched = this.watchedResources();
    return resources.some((r) => watched.includes(r));
  }

  private watchedResources(): string[] {
    return [...new Set([...this.watchers].map((w) => w.spec.resource))];
  }

  /**
   * Reads the log of watched resources after lastSeen and publishes it; concurrent calls
   * coalesce into one more round. Revisions are assigned in commit order, so a read after
   * a hub's notification sees every earlier commit of every namespace.
   */
  private pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          for (;;) {
            const resources = this.watchedResources();
            if (resources.length === 0) break;
            const { events } = await eventsSince(this.watchDb, this.lastSeen, { limit: 500, resources });
            if (events.length === 0) break;
            await openRows(this.env, events);
            this.publish(events);
            if (events.length < 500) break;
          }
        } while (this.pumpAgain);
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  async stats(): Promise<{ changesSeen: number; watchers: number; watchReads: D1Usage; lastControllerRun?: RunStats }> {
    return { changesSeen: this.changesSeen, watchers: this.watchers.size, watchReads: { ...this.watchReads }, lastControllerRun: this.lastControllerRun };
  }

  /** Nodes changed: wake the namespaces whose controllers place pods on nodes themselves (DaemonSets). */
  private async wakeNodeWatchers(): Promise<void> {
    const rows = await this.db.all<{ namespace: string }>(
      sql`SELECT DISTINCT namespace FROM objects WHERE resource = 'apps/daemonsets'`,
    );
    await Promise.all(rows.map((r) => this.env.HUB.get(this.env.HUB.idFromName(hubName(r.namespace))).wake()));
  }

  /**
   * Runs this namespace's controllers soon: a short delay lets a burst of commits coalesce. A pass
   * observes every object of the namespace, so the delay grows with their number (20 ms, plus 10 ms
   * per 1,000 objects): in a namespace of thousands of pods a burst of commits costs a few passes,
   * not one every 20 ms, and the hub's time goes to its commits and watches.
   */
  async wake(): Promise<void> {
    await alarmBy(this.ctx, Date.now() + Math.min(MAX_CONTROLLER_DELAY_MS, 20 + Math.floor(this.observedCache.size / 100)));
  }

  /** A namespace started terminating: reconcile now (cluster hub). */
  async namespaceDeleted(): Promise<void> {
    await this.remember(CLUSTER_HUB);
    await this.ctx.storage.put(NAMESPACES_DUE, true);
    await alarmBy(this.ctx, Date.now());
  }

  /**
   * Alarms are at-least-once, and all work here is level-triggered, so a repeat is harmless.
   * Namespace hub: run the controllers. Cluster hub: namespace lifecycle, the scheduler, then housekeeping when due.
   */
  async alarm(): Promise<void> {
    this.name = (await this.ctx.storage.get<string>("name")) ?? this.name;
    if (this.name && !this.isCluster) {
      const namespace = this.name.slice("ns:".length);
      const host = new ControllerHost(this.env, namespace, this.name, (hub, writes) => this.commit(hub, writes), RECONCILERS, this.observedCache, () =>
        this.quotaStatus(),
      );
      const { requeueAfterMs } = await host.run();
      this.lastControllerRun = host.lastRun;
      if (host.lastRun) console.debug(formatRunStats(namespace, host.lastRun));
      if (requeueAfterMs !== undefined) await alarmBy(this.ctx, Date.now() + requeueAfterMs);
      return;
    }
    this.name = CLUSTER_HUB;
    // The scheduler first: a pending pod's binding is what a user waits for.
    const schedulerAt = await runSchedulerIfDue(this.env, this.ctx, this.schedulerCache);
    // Terminating namespaces are looked for only while some may exist (never set: once, after a start).
    let acted = false;
    let waiting = false;
    if ((await this.ctx.storage.get<boolean>(NAMESPACES_DUE)) !== false) {
      ({ acted, waiting } = await reconcileTerminatingNamespaces(this.env));
      if (!acted && !waiting) await this.ctx.storage.put(NAMESPACES_DUE, false);
    }
    if (await this.ctx.storage.get<boolean>(VOLUMES_DUE)) {
      await this.ctx.storage.delete(VOLUMES_DUE);
      await reconcileVolumes(this.env).catch(async (e: unknown) => {
        console.error("volume controller failed:", e);
        await this.ctx.storage.put(VOLUMES_DUE, true);
        await alarmBy(this.ctx, Date.now() + 2000);
      });
    }
    const nodesAt = await this.nodeMonitor.runIfDue(this.env, this.ctx);
    const maintenanceAt = await runMaintenance(this.env, this.ctx);
    const retryAt = acted ? Date.now() : waiting ? Date.now() + 2000 : undefined;
    const next = [schedulerAt, nodesAt, maintenanceAt, retryAt].filter((t): t is number => t !== undefined);
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /** Watch streams: POST /watch with a WatchSpec as JSON; answers newline-delimited JSON events. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const hub = url.searchParams.get("hub");
    if (hub) await this.remember(hub);
    const spec = (await request.json()) as WatchSpec;
    if (this.lastSeen === 0) this.lastSeen = await currentRevision(this.db);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    void this.startWatch(spec, writable);
    return new Response(readable, {
      headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
    });
  }

  private async startWatch(spec: WatchSpec, stream: WritableStream<Uint8Array>): Promise<void> {
    const fromRev = spec.resourceVersion && spec.resourceVersion !== "0" ? Number(spec.resourceVersion) : undefined;
    const watcher = new Watcher(spec, stream, fromRev ?? 0, (w) => this.watcherClosed(w));
    this.watchers.add(watcher);
    this.ensureBookmarkTimer();
    watcher.timeout = setTimeout(() => watcher.close(), spec.timeoutSeconds * 1000);
    try {
      if (fromRev === undefined) await this.sendInitialState(watcher);
      // Catch up from the log, then drain what was committed meanwhile, then go live.
      for (;;) {
        const { events, compacted } = await eventsSince(this.watchDb, watcher.cursor, {
          namespace: spec.namespace,
          resources: [spec.resource],
          limit: 500,
        });
        await openRows(this.env, events);
        if (watcher.cursor < compacted && fromRev !== undefined && watcher.cursor === fromRev) {
          watcher.sendObject("ERROR", {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: `too old resource version: ${fromRev} (${compacted})`,
            reason: "Expired",
            code: 410,
          });
          watcher.close();
          return;
        }
        watcher.deliver(events);
        if (events.length < 500) break;
      }
      watcher.catchingUp = false;
      const buffered = watcher.buffered;
      watcher.buffered = [];
      watcher.deliver(buffered);
      watcher.cursor = Math.max(watcher.cursor, this.lastSeen);
    } catch (err) {
      console.error("watch start failed:", err);
      watcher.close();
    }
  }

  private async sendInitialState(watcher: Watcher): Promise<void> {
    const filter = parseFilter(watcher.spec.labelSelector, watcher.spec.fieldSelector);
    let after: [string, string] | undefined;
    let atRevision: number | undefined;
    for (;;) {
      const page = await listPage(this.watchDb, {
        resource: watcher.spec.resource,
        namespace: watcher.spec.namespace,
        after,
        limit: 500,
        atRevision,
      });
      atRevision = page.revision;
      await openRows(this.env, page.rows, watcher.spec.resource);
      for (const row of page.rows) {
        const obj = materialize(row.value, row.rev);
        if (matchesFilter(filter, obj)) watcher.sendObject("ADDED", obj);
      }
      if (page.rows.length < 500) break;
      const last = page.rows[page.rows.length - 1];
      after = [last.namespace, last.name];
    }
    watcher.cursor = atRevision ?? 0;
  }

  private ensureBookmarkTimer(): void {
    if (this.bookmarkTimer) return;
    this.bookmarkTimer = setInterval(() => {
      for (const w of this.watchers) w.bookmark(this.lastSeen);
    }, BOOKMARK_EVERY_MS);
  }

  private watcherClosed(w: Watcher): void {
    clearTimeout(w.timeout);
    this.watchers.delete(w);
    if (this.watchers.size > 0) return;
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = null;
    // With nobody watching, the cluster hub stops following the log; it re-reads the head on the next watch.
    if (this.isCluster) this.lastSeen = 0;
  }
}
