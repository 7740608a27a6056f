import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CpuWindow } from "./cpu.ts";
import type { Client, Stream } from "./http.ts";
import { LogLines } from "./log-lines.ts";
import { round, runPool, sleep, summarize, type LatencySummary } from "./stats.ts";

/**
 * The scheduler bench (`npm run bench -- scheduler`), in two phases on one stack, with N hollow
 * nodes run by one agent process of their own (`edgeplane agent --runtime hollow --nodes N`:
 * the real agent's code for registration, leases, one shared pod watch and pod status), so
 * this process's event loop only creates pods and timestamps the watch:
 *
 * 1. Backlog (scheduling throughput): while the bench holds kube-scheduler's leader election
 *    Lease the scheduler stands by (as a non-leader kube-scheduler would); P bare pods are created,
 *    the lease is deleted, and the scheduler works the backlog off. Throughput = pods bound /
 *    (lease deleted -> last binding seen). This is what kube-scheduler's CI figure measures: a
 *    scheduler fed faster than it binds, not this machine's pod creation rate through the API.
 * 2. Steady (pod startup): S more pods created at a fixed rate the API keeps up with; each pod's
 *    startup is create request sent -> Ready seen in the bench's watch (hollow readiness: no
 *    image, no container), as Kubernetes' pod startup SLO measures it.
 *
 * Compared with kube-scheduler's CI minimum of ~680-810 pods/s at 5,000 nodes (../shared/README.md).
 */

export const KUBE_SCHEDULER_REFERENCE = { low: 680, high: 810 };

export interface SchedulerBenchConfig {
  namespace: string;
  nodes: number;
  /** Pods of the backlog phase (created before any node exists). */
  pods: number;
  /** Pods of the steady phase and their creation rate (per second). */
  steadyPods: number;
  steadyRate: number;
  concurrency: number;
  budgetMs: number;
  /** Seconds the Ready nodes are left idle (heartbeats only) while their CPU cost is measured. */
  idleS: number;
  /** Seconds left between the backlog's last pod Ready and the steady phase (its CPU measured): what the backlog leaves behind. */
  settleS: number;
}

export interface SchedulerBenchResults {
  config: SchedulerBenchConfig;
  /** Nodes: agent start -> all N Ready. */
  registerS: number;
  /** Backlog: creating the pods while the scheduler stands by. */
  createS: number;
  createdPerSec: number;
  bound: number;
  ready: number;
  /** Lease deleted -> first binding seen, -> last binding seen, -> last pod Ready seen (the bench's watch). */
  firstBoundS: number;
  scheduleS: number;
  allReadyS: number;
  boundPerSec: number;
  /** Pods the scheduler's rounds bound, lease deleted -> its last round that bound some reported (committed), and their rate; the ratios to kube-scheduler are of that rate. */
  committedBound: number;
  committedS: number;
  committedPerSec: number;
  ratioLow: number;
  ratioHigh: number;
  nodesUsed: number;
  /** Steady: create sent -> created (the API's answer), -> bound seen, -> Ready seen (ms). */
  steadyCreated: number;
  steadyReady: number;
  createLatency: LatencySummary;
  /** Create sent -> its ADDED event seen (the watch's own lag). */
  toAdded: LatencySummary;
  toBound: LatencySummary;
  startup: LatencySummary;
  /** From the scheduler's own run lines (both phases): rounds, time in them and where it went, D1 rows read and objects written per pod bound. */
  schedulerRuns: number;
  schedulerMs: number;
  syncMs: number;
  placeMs: number;
  writeMs: number;
  /** Pods bound per second the scheduler was running (its capacity, whatever fed it). */
  boundPerSchedulerSec: number;
  d1RowsReadPerBound: number;
  writesPerBound: number;
  /** CPU seconds by process role with the nodes Ready and idle (no pods yet: their heartbeats), while the backlog was created, from the lease's deletion to the last binding, while the backlog settled, and in the steady phase. */
  cpu: { idle: CpuSeconds; create: CpuSeconds; backlog: CpuSeconds; settle: CpuSeconds; steady: CpuSeconds };
  findings: string[];
}

export interface CpuSeconds {
  wallS: number;
  byRole: Record<string, number>;
  bench: number;
  other: number;
}

const cpuSeconds = (w: CpuWindow): CpuSeconds => ({
  wallS: round(w.wallMs / 1000, 1),
  byRole: Object.fromEntries(Object.entries(w.byRole).map(([k, v]) => [k, round(v / 1000, 1)])),
  bench: round(w.clientMs / 1000, 1),
  other: round(w.otherMs / 1000, 1),
});

/** The scheduler's run lines from wrangler's output (src/scheduler/loop.ts formatSchedulerRun). */
const SCHEDULER_LINE = /scheduler pending=(\d+) bound=(\d+) unschedulable=(\d+) conflicts=(\d+) writes=(\d+) ms=(\d+) d1_queries=(\d+) d1_rows_read=(\d+)(?: sync_ms=(\d+) place_ms=(\d+) write_ms=(\d+))?/;

export class SchedulerRunLog {
  runs = 0;
  bound = 0;
  writes = 0;
  ms = 0;
  queries = 0;
  rowsRead = 0;
  syncMs = 0;
  placeMs = 0;
  writeMs = 0;
  /** When the last round that bound pods was reported (this process's clock). */
  lastBoundAt = 0;
  private readonly lines = new LogLines((line) => {
    const m = SCHEDULER_LINE.exec(line);
    if (!m) return;
    if (process.env.BENCH_DEBUG_ROUNDS) console.error(`[round ${(performance.now() / 1000).toFixed(2)}] ${line}`);
    const [, , bound, , , writes, ms, queries, rowsRead, syncMs, placeMs, writeMs] = m.map((x) => Number(x ?? 0));
    this.runs++;
    this.bound += bound;
    if (bound > 0) this.lastBoundAt = performance.now();
    this.writes += writes;
    this.ms += ms;
    this.queries += queries;
    this.rowsRead += rowsRead;
    this.syncMs += syncMs;
    this.placeMs += placeMs;
    this.writeMs += writeMs;
  });

  feed(chunk: string): void {
    this.lines.feed(chunk);
  }
}

interface PodTimes {
  sent?: number;
  created?: number;
  /** Its creation (ADDED) seen in the bench's watch. */
  added?: number;
  bound?: number;
  ready?: number;
  node?: string;
}

type WatchedPod = { metadata: { name: string }; spec?: { nodeName?: string }; status?: { conditions?: { type: string; status: string }[] } };

const LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

/** The hollow nodes' agent, a process of its own; resolves once it runs (registration is watched through the API). */
function spawnHollowAgent(root: string, kubeconfig: string, nodes: number, log: (s: string) => void): ChildProcess {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(root, "src", "cli", "main.ts"), "agent", "--kubeconfig", kubeconfig, "--runtime", "hollow", "--nodes", String(nodes),
      "--name", "bench-hollow", "--hollow-start-delay-ms", "0", "--data-dir", join(root, ".bench-agent")],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let tail = "";
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.on("exit", (code, signal) => {
    if (code !== 0 && signal === null) log(`scheduler: the hollow agent exited (${code}): ${tail.slice(-500)}`);
  });
  return child;
}

async function stopHollowAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid!, "SIGTERM");
  const killed = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(killed);
}

export async function runSchedulerBench(
  root: string,
  server: { url: string; token: string; kubeconfig: string },
  client: Client,
  cfg: SchedulerBenchConfig,
  log: (s: string) => void,
  runLog: SchedulerRunLog,
  cpu: () => () => CpuWindow,
): Promise<SchedulerBenchResults> {
  const findings: string[] = [];
  await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: cfg.namespace } });
  const pods = new Map<string, PodTimes>();
  const times = (name: string) => {
    let t = pods.get(name);
    if (!t) pods.set(name, (t = {}));
    return t;
  };
  const path = `/api/v1/namespaces/${cfg.namespace}/pods`;
  const list = await client.request("GET", path);
  // The pod watch, resumed from the last revision seen when the server ends it (as informers do:
  // a server drops a watcher that falls too far behind).
  let lastRv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  let resumed = 0;
  const onLine = (line: string, at: number) => {
    if (!line.trim()) return;
    const ev = JSON.parse(line) as { type: string; object: WatchedPod & { metadata: { resourceVersion?: string } } };
    if (ev.object.metadata?.resourceVersion) lastRv = ev.object.metadata.resourceVersion;
    if (ev.type !== "ADDED" && ev.type !== "MODIFIED") return;
    const t = times(ev.object.metadata.name);
    t.added ??= at;
    if (ev.object.spec?.nodeName && t.bound === undefined) {
      t.bound = at;
      t.node = ev.object.spec.nodeName;
    }
    if (t.ready === undefined && ev.object.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) t.ready = at;
  };
  // Resumed as soon as the server ends it (then timed from the bench's start), so no phase waits on the bench's own gap.
  const resumedAt: number[] = [];
  let stopped = false;
  const open = (): Promise<Stream> =>
    client.stream(`${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${lastRv}&timeoutSeconds=3600`, onLine, () => {
      if (stopped) return;
      resumed++;
      resumedAt.push(performance.now());
      watching = open().then(
        (s) => (stream = s),
        () => stream,
      );
    });
  let stream = await open();
  let watching: Promise<Stream> = Promise.resolve(stream);
  // A resume that failed (the server was busy) is tried again while waiting.
  const keepWatching = async () => {
    await watching;
    if (!stream.closed) return;
    resumed++;
    stream = await open();
  };
  const create = async (name: string) => {
    const t = times(name);
    t.sent = performance.now();
    const r = await client.request("POST", path, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { app: "sched-bench" } },
      spec: { containers: [{ name: "c", image: "hollow", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
    });
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body.slice(0, 200)}`);
    t.created = performance.now();
    return name;
  };
  const waitAll = async (names: string[], what: "bound" | "ready", budgetMs: number) => {
    const deadline = performance.now() + budgetMs;
    for (;;) {
      const done = names.filter((n) => pods.get(n)?.[what] !== undefined).length;
      if (done === names.length) return;
      await keepWatching();
      if (performance.now() > deadline) {
        findings.push(`scheduler: only ${done}/${names.length} pods ${what === "ready" ? "Ready" : "bound"} within ${round(budgetMs / 1000, 0)} s`);
        return;
      }
      await sleep(100);
    }
  };
  log(`scheduler: starting ${cfg.nodes} hollow nodes (one agent process)`);
  const a0 = performance.now();
  const agent = spawnHollowAgent(root, server.kubeconfig, cfg.nodes, log);
  try {
    for (;;) {
      const r = await client.request("GET", "/api/v1/nodes");
      const nodes = (JSON.parse(r.body) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] }).items;
      if (nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length >= cfg.nodes) break;
      if (agent.exitCode !== null) throw new Error("the hollow agent exited before its nodes were Ready");
      if (performance.now() - a0 > cfg.budgetMs) throw new Error(`only ${nodes.length}/${cfg.nodes} nodes registered within the budget`);
      await sleep(250);
    }
    const registerS = (performance.now() - a0) / 1000;
    // Phase 0: what the Ready nodes cost on their own (lease renewals every 10 s per node).
    log(`scheduler: ${cfg.nodes} nodes Ready in ${round(registerS, 1)} s; measuring them idle for ${cfg.idleS} s`);
    const idleWindow = cpu();
    await sleep(cfg.idleS * 1000);
    const idleCpu = idleWindow();

    // Phase 1: the backlog, created while the bench holds kube-scheduler's lease.
    const renewTime = new Date().toISOString().replace("Z", "000Z");
    const held = await client.request("POST", LEASE_PATH, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "kube-scheduler" },
      spec: { holderIdentity: "edgeplane-bench", leaseDurationSeconds: Math.ceil(cfg.budgetMs / 1000), renewTime },
    });
    if (held.status !== 201) throw new Error(`taking kube-scheduler's lease: ${held.status} ${held.body.slice(0, 200)}`);
    const names = Array.from({ length: cfg.pods }, (_, i) => `sp-${String(i).padStart(5, "0")}`);
    log(`scheduler: creating ${cfg.pods} pods (${cfg.concurrency} in flight) while the scheduler stands by`);
    const c0 = performance.now();
    const createWindow = cpu();
    const created = await runPool(names.length, cfg.concurrency, cfg.budgetMs, (i) => create(names[i]));
    const createS = (performance.now() - c0) / 1000;
    const createCpu = createWindow();
    const backlog = created.results;
    if (backlog.some((n) => pods.get(n)?.bound !== undefined)) findings.push("scheduler: pods were bound while the bench held kube-scheduler's lease");
    const released = await client.request("DELETE", `${LEASE_PATH}/kube-scheduler`);
    const l0 = performance.now();
    const boundBefore = runLog.bound;
    const backlogWindow = cpu();
    if (released.status !== 200) throw new Error(`releasing kube-scheduler's lease: ${released.status} ${released.body.slice(0, 200)}`);
    log(`scheduler: ${backlog.length} pods created in ${round(createS, 1)} s; lease released, waiting for the backlog to be bound and Ready`);
    await waitAll(backlog, "bound", cfg.budgetMs);
    const boundCpu = backlogWindow();
    // The scheduler's own account: its rounds report after their bindings are committed.
    const committedBound = runLog.bound - boundBefore;
    const committedS = (runLog.lastBoundAt - l0) / 1000;
    const committedPerSec = committedBound / Math.max(committedS, 0.001);
    await waitAll(backlog, "ready", cfg.budgetMs);
    const rows = backlog.map((n) => pods.get(n)!);
    const boundAt = rows.filter((t) => t.bound !== undefined).map((t) => t.bound!);
    const readyAt = rows.filter((t) => t.ready !== undefined).map((t) => t.ready!);
    const scheduleS = (Math.max(...boundAt) - l0) / 1000;
    const boundPerSec = boundAt.length / Math.max(scheduleS, 0.001);
    log(`scheduler: backlog bound at ${round(boundPerSec, 0)} pods/s; ${cfg.settleS ? `${cfg.settleS} s to settle, then ` : ""}steady phase: ${cfg.steadyPods} pods at ${cfg.steadyRate}/s`);
    const settleWindow = cpu();
    await sleep(cfg.settleS * 1000);
    const settleCpu = settleWindow();

    // Phase 2: steady creation at a rate the API keeps up with.
    const steadyNames = Array.from({ length: cfg.steadyPods }, (_, i) => `st-${String(i).padStart(5, "0")}`);
    const s0 = performance.now();
    const steadyWindow = cpu();
    const steady: Promise<string | undefined>[] = [];
    for (let i = 0; i < steadyNames.length; i++) {
      const at = s0 + (i * 1000) / cfg.steadyRate;
      const wait = at - performance.now();
      if (wait > 0) await sleep(wait);
      steady.push(create(steadyNames[i]).catch((e: Error) => (findings.push(`scheduler: ${e.message}`), undefined)));
    }
    const steadyCreated = (await Promise.all(steady)).filter((n): n is string => n !== undefined);
    await waitAll(steadyCreated, "ready", Math.min(cfg.budgetMs, 60_000));
    const steadyCpu = steadyWindow();
    if (resumed > 0)
      findings.push(
        `scheduler: the server ended the bench's pod watch ${resumed} time(s) (${resumedAt.map((t) => `${round((t - a0) / 1000, 1)} s`).join(", ")} after the agent started; the steady phase started at ${round((s0 - a0) / 1000, 1)} s); it was resumed from the last revision seen`,
      );
    const st = steadyCreated.map((n) => pods.get(n)!);
    // BENCH_SCHED_TIMES=FILE: each steady pod's timestamps (ms, this process's clock; s0 = the phase's start), to see where a tail comes from.
    if (process.env.BENCH_SCHED_TIMES) writeFileSync(process.env.BENCH_SCHED_TIMES, JSON.stringify({ s0, clock: Date.now() - performance.now(), pods: steadyCreated.map((n) => ({ name: n, ...pods.get(n) })) }));
    return {
      config: cfg,
      registerS: round(registerS, 1),
      createS: round(createS, 2),
      createdPerSec: round(backlog.length / createS, 0),
      bound: boundAt.length,
      ready: readyAt.length,
      firstBoundS: round((Math.min(...boundAt) - l0) / 1000, 2),
      scheduleS: round(scheduleS, 2),
      allReadyS: round((Math.max(...readyAt) - l0) / 1000, 2),
      boundPerSec: round(boundPerSec, 0),
      committedBound,
      committedS: round(committedS, 2),
      committedPerSec: round(committedPerSec, 0),
      ratioLow: round(committedPerSec / KUBE_SCHEDULER_REFERENCE.high, 2),
      ratioHigh: round(committedPerSec / KUBE_SCHEDULER_REFERENCE.low, 2),
      nodesUsed: new Set(rows.map((t) => t.node).filter(Boolean)).size,
      steadyCreated: steadyCreated.length,
      steadyReady: st.filter((t) => t.ready !== undefined).length,
      createLatency: summarize(st.map((t) => t.created! - t.sent!)),
      toAdded: summarize(st.filter((t) => t.added !== undefined).map((t) => t.added! - t.sent!)),
      toBound: summarize(st.filter((t) => t.bound !== undefined).map((t) => t.bound! - t.sent!)),
      startup: summarize(st.filter((t) => t.ready !== undefined).map((t) => t.ready! - t.sent!)),
      schedulerRuns: runLog.runs,
      schedulerMs: runLog.ms,
      syncMs: runLog.syncMs,
      placeMs: runLog.placeMs,
      writeMs: runLog.writeMs,
      boundPerSchedulerSec: round(runLog.bound / Math.max(runLog.ms / 1000, 0.001), 0),
      d1RowsReadPerBound: round(runLog.rowsRead / Math.max(1, runLog.bound), 1),
      writesPerBound: round(runLog.writes / Math.max(1, runLog.bound), 2),
      cpu: { idle: cpuSeconds(idleCpu), create: cpuSeconds(createCpu), backlog: cpuSeconds(boundCpu), settle: cpuSeconds(settleCpu), steady: cpuSeconds(steadyCpu) },
      findings,
    };
  } finally {
    stopped = true;
    stream.close();
    await stopHollowAgent(agent);
  }
}
