import { performance } from "node:perf_hooks";
import type { Client } from "./http.ts";
import { LogLines } from "./log-lines.ts";
import { runPool, summarize, type LatencySummary } from "./stats.ts";

/**
 * `npm run bench -- volumes`: the PersistentVolume controller on the real local stack. N static
 * hostPath volumes exist (capacities 1..4 Gi, one class); N claims are created with C in flight
 * and each is timed from its create request to the watch event that shows it Bound (the cluster
 * hub's volume controller binding it), side by side with the same requests' own latency (create
 * -> 201) as the baseline. Then the claims are deleted and each volume timed to Released
 * (reclaim, Retain). The cluster hub's `volumes ...` debug lines give the controller's runs,
 * their time and D1 rows read (it reads every volume and claim per run).
 */

type Json = Record<string, any>;

export interface VolumesRow {
  phase: string;
  count: number;
  done: number;
  concurrency: number;
  totalS: number;
  perSec: number;
  latency: LatencySummary;
}

export interface VolumesResults {
  rows: VolumesRow[];
  /** Create -> Bound p50 over create -> 201 p50. */
  bindOverCreateP50: number;
  /** The volume controller's runs over the whole part: count, actions, time, D1 rows read (sum and largest run). */
  controller: VolumeRunStats;
  findings: string[];
}

const VOLUME_LINE = /volumes volumes=(\d+) claims=(\d+) actions=(\d+) ms=(\d+) d1_queries=(\d+) d1_rows_read=(\d+)/;

export interface VolumeRunStats {
  runs: number;
  actions: number;
  ms: number;
  rowsRead: number;
  maxRowsRead: number;
}

/** The cluster hub's volume controller runs, from the Worker's debug output. */
export class VolumeRunLog {
  runs = 0;
  actions = 0;
  ms = 0;
  rowsRead = 0;
  maxRowsRead = 0;
  private readonly lines = new LogLines((line) => {
    const m = VOLUME_LINE.exec(line);
    if (!m) return;
    const [, , , actions, ms, , rowsRead] = m.map(Number);
    this.runs++;
    this.actions += actions;
    this.ms += ms;
    this.rowsRead += rowsRead;
    this.maxRowsRead = Math.max(this.maxRowsRead, rowsRead);
  });

  feed(chunk: string): void {
    this.lines.feed(chunk);
  }

  snapshot(): VolumeRunStats {
    return { runs: this.runs, actions: this.actions, ms: this.ms, rowsRead: this.rowsRead, maxRowsRead: this.maxRowsRead };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runVolumesBench(
  client: Client,
  runLog: VolumeRunLog,
  o: { claims: number; concurrency: number; budgetMs: number },
  log: (s: string) => void,
): Promise<VolumesResults> {
  const ns = "bench-volumes";
  const cls = "bench-static";
  const findings: string[] = [];
  const rows: VolumesRow[] = [];
  const created = await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  if (created.status !== 201 && created.status !== 409) throw new Error(`namespace: HTTP ${created.status}`);

  log(`volumes: creating ${o.claims} static volumes`);
  await runPool(o.claims, o.concurrency, o.budgetMs, async (i) => {
    const r = await client.request("POST", "/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `bench-pv-${i}` },
      spec: { capacity: { storage: `${1 + (i % 4)}Gi` }, accessModes: ["ReadWriteOnce"], storageClassName: cls, persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/tmp/bench-pv-${i}` } },
    });
    if (r.status !== 201) throw new Error(`create bench-pv-${i}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  });

  // Watches: claims (-> Bound) in the namespace, volumes (-> Released) cluster-wide.
  const bound = new Map<string, number>();
  const released = new Map<string, number>();
  const watchOf = (path: string, on: (o: Json, at: number) => void) => {
    let rv = "";
    const onLine = (line: string, at: number) => {
      const e = JSON.parse(line) as { type: string; object: Json };
      if (e.object?.metadata?.resourceVersion) rv = e.object.metadata.resourceVersion;
      if (e.type !== "BOOKMARK" && e.object?.metadata?.name) on(e.object, at);
    };
    const url = () => `${path}?watch=true&allowWatchBookmarks=true${rv ? `&resourceVersion=${rv}` : ""}`;
    return { url, onLine };
  };
  const claimWatch = watchOf(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, (c, at) => {
    if (c.status?.phase === "Bound" && !bound.has(c.metadata.name)) bound.set(c.metadata.name, at);
  });
  const volumeWatch = watchOf("/api/v1/persistentvolumes", (v, at) => {
    if (v.status?.phase === "Released" && !released.has(v.metadata.name)) released.set(v.metadata.name, at);
  });
  let claims = await client.stream(claimWatch.url(), claimWatch.onLine);
  let volumes = await client.stream(volumeWatch.url(), volumeWatch.onLine);
  const until = async (done: () => boolean, deadline: number) => {
    while (!done() && Date.now() < deadline) {
      // A watch the server ended is resumed from the last resourceVersion seen.
      if (claims.closed) claims = await client.stream(claimWatch.url(), claimWatch.onLine);
      if (volumes.closed) volumes = await client.stream(volumeWatch.url(), volumeWatch.onLine);
      await sleep(50);
    }
  };

  try {
    const before = runLog.snapshot();
    log(`volumes: creating ${o.claims} claims (${o.concurrency} in flight)`);
    const sent = new Map<string, number>();
    const answered = new Map<string, number>();
    const t0 = performance.now();
    await runPool(o.claims, o.concurrency, o.budgetMs, async (i) => {
      const name = `claim-${i}`;
      sent.set(name, performance.now());
      const r = await client.request("POST", `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name },
        spec: { storageClassName: cls, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${1 + (i % 4)}Gi` } } },
      });
      answered.set(name, performance.now());
      if (r.status !== 201) throw new Error(`create ${name}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    });
    const names = [...sent.keys()];
    await until(() => names.every((n) => bound.has(n)), Date.now() + o.budgetMs);
    const totalS = (performance.now() - t0) / 1000;
    const of = (m: Map<string, number>, list: string[], from: Map<string, number>) => list.filter((n) => m.has(n) && from.has(n)).map((n) => m.get(n)! - from.get(n)!);
    const createLatency = summarize(of(answered, names, sent));
    const bindLatency = summarize(of(bound, names, sent));
    const doneBound = names.filter((n) => bound.has(n)).length;
    if (doneBound < names.length) findings.push(`volumes: ${names.length - doneBound} of ${names.length} claims not Bound within the budget`);
    rows.push({ phase: "create -> 201 (baseline)", count: names.length, done: answered.size, concurrency: o.concurrency, totalS, perSec: answered.size / totalS, latency: createLatency });
    rows.push({ phase: "create -> Bound (static binding)", count: names.length, done: doneBound, concurrency: o.concurrency, totalS, perSec: doneBound / totalS, latency: bindLatency });
    const afterBind = runLog.snapshot();

    log(`volumes: deleting ${names.length} claims`);
    const deleted = new Map<string, number>();
    const volumeOf = new Map<string, string>();
    const list = await client.request("GET", `/api/v1/namespaces/${ns}/persistentvolumeclaims`);
    for (const c of (JSON.parse(list.body) as { items: Json[] }).items) if (c.spec?.volumeName) volumeOf.set(c.metadata.name, c.spec.volumeName);
    const t1 = performance.now();
    await runPool(names.length, o.concurrency, o.budgetMs, async (i) => {
      const name = names[i];
      const v = volumeOf.get(name);
      if (v) deleted.set(v, performance.now());
      const r = await client.request("DELETE", `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`);
      if (r.status !== 200 && r.status !== 202) throw new Error(`delete ${name}: HTTP ${r.status}`);
    });
    const vols = [...deleted.keys()];
    await until(() => vols.every((v) => released.has(v)), Date.now() + o.budgetMs);
    const releaseS = (performance.now() - t1) / 1000;
    const doneReleased = vols.filter((v) => released.has(v)).length;
    rows.push({ phase: "claim delete -> volume Released (Retain)", count: vols.length, done: doneReleased, concurrency: o.concurrency, totalS: releaseS, perSec: doneReleased / releaseS, latency: summarize(of(released, vols, deleted)) });
    const end = runLog.snapshot();
    const controller: VolumeRunStats = { runs: end.runs - before.runs, actions: end.actions - before.actions, ms: end.ms - before.ms, rowsRead: end.rowsRead - before.rowsRead, maxRowsRead: end.maxRowsRead };
    log(`volumes: controller runs while binding ${afterBind.runs - before.runs}, in all ${controller.runs}`);
    return { rows, bindOverCreateP50: bindLatency.p50 / createLatency.p50, controller, findings };
  } finally {
    claims.close();
    volumes.close();
    // Leave nothing behind for a later part on the same stack.
    await runPool(o.claims, o.concurrency, o.budgetMs, (i) => client.request("DELETE", `/api/v1/persistentvolumes/bench-pv-${i}`));
  }
}
