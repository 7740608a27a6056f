import { join } from "node:path";
import type { Client } from "./http.ts";
import { LogLines } from "./log-lines.ts";
import { round, runPool, sleep, summarize, type LatencySummary } from "./stats.ts";

/**
 * The scheduler bench (`npm run bench -- scheduler`): N hollow nodes in one agent process
 * (the real agent's code: registration, leases, one shared pod watch, pod status), then P
 * bare pods created through the API. Measured from one pod watch of the namespace:
 * scheduling throughput (pods bound per second, first create sent -> last binding seen) and
 * pod startup (create sent -> Ready seen) with hollow readiness. Compared with kube-scheduler's
 * CI minimum of ~680-810 pods/s at 5,000 nodes (../shared/README.md).
 */

export const KUBE_SCHEDULER_REFERENCE = { low: 680, high: 810 };

export interface SchedulerBenchConfig {
  namespace: string;
  nodes: number;
  pods: number;
  concurrency: number;
  budgetMs: number;
}

export interface SchedulerBenchResults {
  config: SchedulerBenchConfig;
  registerS: number;
  createS: number;
  createdPerSec: number;
  bound: number;
  ready: number;
  /** First create sent -> last binding seen. */
  scheduleS: number;
  boundPerSec: number;
  ratioLow: number;
  ratioHigh: number;
  /** Create sent -> bound seen, and -> Ready seen (ms). */
  toBound: LatencySummary;
  startup: LatencySummary;
  nodesUsed: number;
  agentLeaseRenewals: number;
  agentStatusPosts: number;
  /** From the scheduler's own run lines: rounds, D1 rows it read and objects it wrote per pod it bound. */
  schedulerRuns: number;
  schedulerMs: number;
  d1RowsReadPerBound: number;
  writesPerBound: number;
  findings: string[];
}

/** The scheduler's run lines from wrangler's output (src/scheduler/loop.ts formatSchedulerRun). */
const SCHEDULER_LINE = /scheduler pending=(\d+) bound=(\d+) unschedulable=(\d+) conflicts=(\d+) writes=(\d+) ms=(\d+) d1_queries=(\d+) d1_rows_read=(\d+)/;

export class SchedulerRunLog {
  runs = 0;
  bound = 0;
  writes = 0;
  ms = 0;
  queries = 0;
  rowsRead = 0;
  private readonly lines = new LogLines((line) => {
    const m = SCHEDULER_LINE.exec(line);
    if (!m) return;
    const [, , bound, , , writes, ms, queries, rowsRead] = m.map(Number);
    this.runs++;
    this.bound += bound;
    this.writes += writes;
    this.ms += ms;
    this.queries += queries;
    this.rowsRead += rowsRead;
  });

  feed(chunk: string): void {
    this.lines.feed(chunk);
  }
}

interface PodTimes {
  sent?: number;
  bound?: number;
  ready?: number;
  node?: string;
}

export async function runSchedulerBench(
  root: string,
  server: { url: string; token: string },
  client: Client,
  cfg: SchedulerBenchConfig,
  log: (s: string) => void,
  runLog: SchedulerRunLog,
): Promise<SchedulerBenchResults> {
  const findings: string[] = [];
  const { startAgent } = (await import(join(root, "src", "agent", "agent.ts"))) as typeof import("../src/agent/agent.ts");
  await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: cfg.namespace } });
  log(`scheduler: registering ${cfg.nodes} hollow nodes`);
  const r0 = performance.now();
  const agent = await startAgent({
    api: { server: server.url, token: server.token, insecure: true },
    name: "bench-hollow",
    runtime: "hollow",
    nodes: cfg.nodes,
    hollowStartDelayMs: 0,
    dataDir: join(root, ".bench-agent"),
    log: () => {},
  });
  const registerS = round((performance.now() - r0) / 1000, 1);
  log(`scheduler: ${agent.nodes.length} nodes registered in ${registerS} s`);
  const pods = new Map<string, PodTimes>();
  const times = (name: string) => {
    let t = pods.get(name);
    if (!t) pods.set(name, (t = {}));
    return t;
  };
  const path = `/api/v1/namespaces/${cfg.namespace}/pods`;
  const list = await client.request("GET", path);
  const rv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const stream = await client.stream(`${path}?watch=1&resourceVersion=${rv}&timeoutSeconds=3600`, (line, at) => {
    if (!line.trim()) return;
    const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string }; spec?: { nodeName?: string }; status?: { conditions?: { type: string; status: string }[] } } };
    if (ev.type !== "ADDED" && ev.type !== "MODIFIED") return;
    const t = times(ev.object.metadata.name);
    if (ev.object.spec?.nodeName && t.bound === undefined) {
      t.bound = at;
      t.node = ev.object.spec.nodeName;
    }
    if (t.ready === undefined && ev.object.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) t.ready = at;
  });
  try {
    const names = Array.from({ length: cfg.pods }, (_, i) => `sp-${String(i).padStart(5, "0")}`);
    log(`scheduler: creating ${cfg.pods} pods (${cfg.concurrency} in flight)`);
    const c0 = performance.now();
    const created = await runPool(names.length, cfg.concurrency, cfg.budgetMs, async (i) => {
      const name = names[i];
      times(name).sent = performance.now();
      const r = await client.request("POST", path, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "sched-bench" } },
        spec: { containers: [{ name: "c", image: "hollow", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
      });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body.slice(0, 200)}`);
      return name;
    });
    const createS = (performance.now() - c0) / 1000;
    const wanted = created.results;
    log(`scheduler: ${wanted.length} pods created in ${round(createS, 1)} s; waiting for them to be bound and Ready`);
    const deadline = performance.now() + cfg.budgetMs;
    for (;;) {
      const ready = wanted.filter((n) => pods.get(n)?.ready !== undefined).length;
      if (ready === wanted.length || stream.closed) break;
      if (performance.now() > deadline) {
        findings.push(`scheduler: only ${ready}/${wanted.length} pods Ready within ${cfg.budgetMs / 1000} s`);
        break;
      }
      await sleep(200);
    }
    if (stream.closed) findings.push("scheduler: the server ended the bench's pod watch");
    const rows = wanted.map((n) => pods.get(n)!);
    const boundRows = rows.filter((t) => t.bound !== undefined && t.sent !== undefined);
    const firstSent = Math.min(...rows.map((t) => t.sent ?? Infinity));
    const lastBound = Math.max(...boundRows.map((t) => t.bound!));
    const scheduleS = (lastBound - firstSent) / 1000;
    const boundPerSec = boundRows.length / scheduleS;
    return {
      config: cfg,
      registerS,
      createS: round(createS, 2),
      createdPerSec: round(wanted.length / createS, 0),
      bound: boundRows.length,
      ready: rows.filter((t) => t.ready !== undefined).length,
      scheduleS: round(scheduleS, 2),
      boundPerSec: round(boundPerSec, 0),
      ratioLow: round(boundPerSec / KUBE_SCHEDULER_REFERENCE.high, 2),
      ratioHigh: round(boundPerSec / KUBE_SCHEDULER_REFERENCE.low, 2),
      toBound: summarize(boundRows.map((t) => t.bound! - t.sent!)),
      startup: summarize(rows.filter((t) => t.ready !== undefined && t.sent !== undefined).map((t) => t.ready! - t.sent!)),
      nodesUsed: new Set(boundRows.map((t) => t.node)).size,
      agentLeaseRenewals: agent.nodes.reduce((n, x) => n + x.counters.leaseRenewals, 0),
      agentStatusPosts: agent.nodes.reduce((n, x) => n + x.counters.statusPosts, 0),
      schedulerRuns: runLog.runs,
      schedulerMs: runLog.ms,
      d1RowsReadPerBound: round(runLog.rowsRead / Math.max(1, runLog.bound), 1),
      writesPerBound: round(runLog.writes / Math.max(1, runLog.bound), 2),
      findings,
    };
  } finally {
    stream.close();
    await agent.stop();
  }
}
