import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LocalCluster, LocalClusterOptions } from "../src/cli/local-cluster.ts";
import { runGets, runOps, VALUE_BYTES, type Objects, type OpFigures, type OpKind } from "./api.ts";
import { cpuWindow, listeningPorts, pidsWithRole, ROLE_PROXY, ROLE_WORKER, ROLE_WRANGLER, serverRoles, type RoleOf } from "./cpu.ts";
import { POD_STARTUP_SLO_P99_MS, RunLog, runControllersBench, type ControllersResults } from "./controllers.ts";
import { runEdgeBench, type EdgeBenchResults } from "./edge.ts";
import { KUBE_SCHEDULER_REFERENCE, runSchedulerBench, SchedulerRunLog, type CpuSeconds, type SchedulerBenchResults } from "./scheduler.ts";
import { runProxyBench, type ProxyBenchResults } from "./proxy.ts";
import { runTunnelBench, type TunnelBenchResults } from "./tunnel.ts";
import { runPodStartBench, type PodStartResults } from "./podstart.ts";
import { ensureEtcd, runEtcdOps, startEtcd, type Etcd } from "./etcd.ts";
import { Client } from "./http.ts";
import { fmt, fmtInt, table } from "./report.ts";
import { loadLocalCluster, snapshotProject, type SourceMode } from "./snapshot.ts";
import { round, type LatencySummary } from "./stats.ts";
import { WatchTracker, type WatchFigures } from "./watch.ts";
import { startWorkerProfile, type WorkerProfile } from "./worker-profile.ts";
import { runFuzzBench, type FuzzResults } from "./fuzz.ts";
import { runAuditCostBench, sideSummary, type AuditCostResults } from "./audit-cost.ts";
import { identityReport, runIdentityBench, type IdentityResults } from "./identity.ts";
import { runVolumesBench, VolumeRunLog, type VolumesResults } from "./volumes.ts";

/**
 * `npm run bench`: Edgeplane's real local stack (wrangler dev, local D1 + Durable Objects,
 * HTTPS) against etcd 3.4 on the same machine. Prints tables and writes
 * bench/results/latest.json. Every loop is bounded in count and time, the whole run by a
 * watchdog; wrangler and etcd are stopped on every exit path and on signals.
 * Settings: see bench/README.md.
 */

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes("--quick");
/**
 * Which parts run: `npm run bench -- api` (API calls + etcd), `-- controllers`, `-- scheduler`, `-- proxy`, `-- edge`, `-- tunnel`, `-- podstart`, `-- fuzz`,
 * `-- audit`, `-- identity`, `-- volumes`; none named: all but fuzz, audit, identity and volumes (they run only when named).
 */
const PARTS = ["api", "controllers", "scheduler", "proxy", "fuzz", "edge", "tunnel", "audit", "podstart", "identity", "volumes"] as const;
const named = process.argv.slice(2).filter((a) => !a.startsWith("-"));
for (const a of named) if (!(PARTS as readonly string[]).includes(a)) throw new Error(`unknown bench part "${a}" (known: ${PARTS.join(", ")})`);
const RUN_API = named.length === 0 || named.includes("api");
const RUN_CONTROLLERS = named.length === 0 || named.includes("controllers");
const RUN_SCHEDULER = named.length === 0 || named.includes("scheduler");
const RUN_PROXY = named.length === 0 || named.includes("proxy");
const RUN_FUZZ = named.includes("fuzz");
const RUN_AUDIT = named.includes("audit");
const RUN_IDENTITY = named.includes("identity");
const RUN_VOLUMES = named.includes("volumes");
const RUN_EDGE = named.length === 0 || named.includes("edge");
const RUN_TUNNEL = named.length === 0 || named.includes("tunnel");
const RUN_PODSTART = named.length === 0 || named.includes("podstart");
const envInt = (name: string, dflt: number, min = 1) => {
  const v = process.env[name];
  const n = v === undefined || v === "" ? dflt : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};
/** Writes per phase at concurrency > 1, and at concurrency 1 (sequential: fewer, same percentiles). */
const N = envInt("BENCH_N", quick ? 300 : 2000);
const N_SEQ = Math.min(N, envInt("BENCH_N_SEQ", quick ? 100 : 500));
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,64").split(",").map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n <= 0 || n > 512) throw new Error(`BENCH_CONCURRENCY: bad value "${s}"`);
  return n;
});
const count = (c: number) => (c === 1 ? N_SEQ : N);
const READS_N = Math.min(N, 500);
const PHASE_BUDGET_MS = envInt("BENCH_PHASE_BUDGET_S", 25) * 1000;
const MAX_MS = envInt("BENCH_MAX_S", (RUN_API ? 290 : 0) + (RUN_CONTROLLERS ? 330 : 0) + (RUN_SCHEDULER ? (quick ? 300 : 900) : 0) + (RUN_PROXY ? 240 : 0) + (RUN_FUZZ ? 1500 : 0) + (RUN_AUDIT ? 600 : 0) + (RUN_IDENTITY ? 300 : 0) + (RUN_EDGE ? 240 : 0) + (RUN_TUNNEL ? 240 : 0) + (RUN_PODSTART ? 420 : 0) + (RUN_VOLUMES ? 300 : 0)) * 1000;
/** The audit cost part: ConfigMaps per round and side, rounds, requests in flight. */
const AUDIT_PER_ROUND = envInt("BENCH_AUDIT_PER_ROUND", quick ? 100 : 400);
const AUDIT_ROUNDS = envInt("BENCH_AUDIT_ROUNDS", quick ? 2 : 4);
const AUDIT_CONCURRENCY = envInt("BENCH_AUDIT_CONCURRENCY", 16);
/** The identity part: gets per round and identity, rounds, requests in flight. */
const IDENTITY_PER_ROUND = envInt("BENCH_IDENTITY_PER_ROUND", quick ? 200 : 1000);
const IDENTITY_ROUNDS = envInt("BENCH_IDENTITY_ROUNDS", quick ? 2 : 4);
const IDENTITY_CONCURRENCY = envInt("BENCH_IDENTITY_CONCURRENCY", 16);
/** The volumes part: static volumes and claims, requests in flight. */
const VOLUMES_N = envInt("BENCH_VOLUMES_N", quick ? 50 : 200);
const VOLUMES_CONCURRENCY = envInt("BENCH_VOLUMES_CONCURRENCY", 16);
/** The tunnel bench: exec echo round trips and sessions, the log's size, the port-forwarded blob's size (MB). */
const TUNNEL_ECHOES = envInt("BENCH_TUNNEL_ECHOES", quick ? 100 : 500);
const TUNNEL_SESSIONS = envInt("BENCH_TUNNEL_SESSIONS", quick ? 10 : 30);
const TUNNEL_LOG_MB = envInt("BENCH_TUNNEL_LOG_MB", quick ? 4 : 8);
const TUNNEL_BLOB_MB = envInt("BENCH_TUNNEL_BLOB_MB", quick ? 16 : 64);
/** The fuzz part: cases (>= 10,000 unless quick), seed, requests in flight, the bound on each answer. */
const FUZZ_CASES = envInt("BENCH_FUZZ_CASES", quick ? 2000 : 10_400);
const FUZZ_SEED = envInt("BENCH_FUZZ_SEED", 20261123);
const FUZZ_CONCURRENCY = envInt("BENCH_FUZZ_CONCURRENCY", 8);
const FUZZ_BOUND_MS = envInt("BENCH_FUZZ_BOUND_S", 15) * 1000;
/** The scheduler bench: hollow nodes (one agent process), seconds they are measured idle, the backlog's pods, the steady phase's pods and rate, requests in flight, phase budget. */
const SCHED_NODES = envInt("BENCH_SCHED_NODES", quick ? 100 : 1000);
const SCHED_IDLE_S = envInt("BENCH_SCHED_IDLE_S", quick ? 5 : 10);
const SCHED_SETTLE_S = envInt("BENCH_SCHED_SETTLE_S", quick ? 5 : 10, 0);
const SCHED_PODS = envInt("BENCH_SCHED_PODS", quick ? 1000 : 10_000);
const SCHED_STEADY_PODS = envInt("BENCH_SCHED_STEADY_PODS", quick ? 200 : 500);
const SCHED_STEADY_RATE = envInt("BENCH_SCHED_STEADY_RATE", 50);
const SCHED_CONCURRENCY = envInt("BENCH_SCHED_CONCURRENCY", 64);
const SCHED_BUDGET_MS = envInt("BENCH_SCHED_BUDGET_S", quick ? 150 : 400) * 1000;
/** The proxy bench: seconds per path, requests in flight with keep-alive and with a connection per request. */
const PROXY_SECONDS = envInt("BENCH_PROXY_SECONDS", quick ? 3 : 8);
const PROXY_CONCURRENCY = envInt("BENCH_PROXY_CONCURRENCY", 16);
const PROXY_CLOSE_CONCURRENCY = envInt("BENCH_PROXY_CLOSE_CONCURRENCY", 8);
/** The pod startup bench: pods per runtime on one node, creates in flight, runtimes, budget per runtime. */
const PODSTART_PODS = envInt("BENCH_PODSTART_PODS", quick ? 30 : 100);
const PODSTART_CONCURRENCY = envInt("BENCH_PODSTART_CONCURRENCY", 16);
/** Pods started one at a time (each create waits for the previous pod to be Running) before the burst. */
const PODSTART_ONE_AT_A_TIME = envInt("BENCH_PODSTART_ONE_AT_A_TIME", quick ? 10 : 30);
const PODSTART_RUNTIMES = (process.env.BENCH_PODSTART_RUNTIMES ?? "podman,process").split(",").map((s) => s.trim()).filter(Boolean);
const PODSTART_BUDGET_MS = envInt("BENCH_PODSTART_BUDGET_S", 150) * 1000;
/** Target: pod startup p99 on podman below this (the Kubernetes SLO is 5 s). */
const PODSTART_TARGET_P99_MS = 2000;
/** The controllers bench: Deployment size, hollow nodes, hollow kubelet requests in flight, phase budget. */
const REPLICAS = envInt("BENCH_REPLICAS", quick ? 200 : 1000);
const CTL_NODES = envInt("BENCH_CTL_NODES", 5);
const CTL_CONCURRENCY = envInt("BENCH_CTL_CONCURRENCY", 32);
const CTL_PHASE_BUDGET_MS = envInt("BENCH_CTL_PHASE_BUDGET_S", 120) * 1000;
const SKIP_ETCD = process.env.BENCH_SKIP_ETCD === "1";
const SOURCE = (process.env.BENCH_SOURCE ?? "worktree") as SourceMode;
if (SOURCE !== "worktree" && SOURCE !== "HEAD") throw new Error(`BENCH_SOURCE must be "worktree" or "HEAD", got "${SOURCE}"`);
const MAX_C = Math.max(...CONCURRENCY);

const TARGET_MUTATING_P99_MS = 50;
const TARGET_WATCH_P99_MS = 100;
const TARGET_RATIO = 0.5;
const DRAIN_MS = 10_000;
/** Other processes using more than this many cores make a phase's figures suspect. */
const BUSY_MACHINE_CORES = 0.25;

const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}\n`);

// ---- cleanup: whatever was started is stopped, on every path ----
let cluster: LocalCluster | undefined;
const PROFILE = process.env.BENCH_PROFILE === "1";
let profile: { part: string; profile: WorkerProfile } | undefined;
/** A second stack some parts run beside the first (stopped with it). */
let sideCluster: LocalCluster | undefined;
let etcd: Etcd | undefined;
const tempDirs: string[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const c = cluster;
    const side = sideCluster;
    const e = etcd;
    cluster = undefined;
    sideCluster = undefined;
    etcd = undefined;
    await Promise.allSettled([c?.stop(), side?.stop(), e?.stop()]);
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping wrangler and etcd`);
    void cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  log(`watchdog: the bench ran longer than ${MAX_MS / 1000} s; stopping`);
  void cleanup().finally(() => process.exit(2));
}, MAX_MS);
watchdog.unref();

// ---- results ----
type Scope = "namespace" | "all-ns watch open" | "reads" | "direct";
interface WatchRow {
  scope: "namespace" | "all-namespaces" | "namespace, direct";
  op: string;
  concurrency: number;
  figures: WatchFigures;
}
interface Results {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; loadavg1mAtStart: number };
  config: {
    n: number;
    nSequential: number;
    readsN: number;
    concurrency: number[];
    valueBytes: number;
    phaseBudgetS: number;
    source: string;
  };
  edgeplane: { startupS: number; ops: (OpFigures & { scope: Scope })[]; watch: WatchRow[] };
  etcd: { skipped?: string; version?: string; ops: OpFigures[] };
  controllers?: ControllersResults & { startupS: number };
  scheduler?: SchedulerBenchResults & { startupS: number; controllerRuns: number; controllerPasses: number; controllerMs: number };
  proxy?: ProxyBenchResults & { startupS: number };
  edge?: EdgeBenchResults & { startupS: number };
  fuzz?: FuzzResults & { startupS: number };
  auditCost?: AuditCostResults;
  identity?: IdentityResults;
  tunnel?: TunnelBenchResults & { startupS: number };
  podstart?: PodStartResults & { startupS: number };
  volumes?: VolumesResults & { startupS: number };
  comparison: {
    concurrency: number;
    edgeplaneCreateOpsPerSec: number;
    etcdPutOpsPerSec: number;
    ratioVsPut: number;
    etcdTxnCreateOpsPerSec: number;
    ratioVsTxnCreate: number;
    /** Diagnostic: creates sent straight to the Worker (no wrangler proxy, no TLS; a watch open, also direct). */
    directCreateOpsPerSec: number;
    directRatioVsPut: number;
    /** Other processes' CPU (cores) while each side ran: a large difference makes the ratio unfair. */
    otherLoadEdgeplane: number;
    otherLoadEtcd: number;
  }[];
  targets: { name: string; value: number; target: string; met: boolean }[];
  findings: string[];
  totalS: number;
}

const results: Results = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    loadavg1mAtStart: round(loadavg()[0], 2),
  },
  config: {
    n: N,
    nSequential: N_SEQ,
    readsN: READS_N,
    concurrency: CONCURRENCY,
    valueBytes: VALUE_BYTES,
    phaseBudgetS: PHASE_BUDGET_MS / 1000,
    source: SOURCE,
  },
  edgeplane: { startupS: 0, ops: [], watch: [] },
  etcd: { ops: [] },
  comparison: [],
  targets: [],
  findings: [],
  totalS: 0,
};

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")}`);

async function ensureNamespace(client: Client, ns: string): Promise<void> {
  const r = await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${ns}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
}

async function listRv(client: Client, path: string): Promise<string> {
  const r = await client.request("GET", `${path}?limit=1`);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
}

/** Opens a watch from the current revision and proves it is live: a sentinel's ADDED event must arrive. */
async function openWatch(client: Client, collection: string, ns: string, prefix: string): Promise<WatchTracker> {
  const tracker = new WatchTracker(prefix);
  const rv = await listRv(client, collection);
  await tracker.open(client, `${collection}?watch=1&resourceVersion=${rv}`);
  const sentinel = `${prefix}sentinel`;
  const done = tracker.begin("ADDED", sentinel, performance.now());
  const r = await client.request("POST", `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: sentinel } });
  done(r.end, r.status === 201);
  if (r.status !== 201) throw new Error(`sentinel create: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  await tracker.drain(DRAIN_MS);
  const f = tracker.take();
  if (f.received !== 1) throw new Error(`watch ${collection} delivered no event for its sentinel within ${DRAIN_MS} ms ${f.errors.join("; ")}`);
  return tracker;
}

function noteOps(scope: Scope, f: OpFigures): void {
  results.edgeplane.ops.push({ scope, ...f });
  const errs = Object.entries(f.errors);
  const what = `${scope === "namespace" ? "" : `${scope}: `}${f.op} at concurrency ${f.concurrency}`;
  log(
    `${what}: ${f.ok}/${f.attempted} ok, ${fmt(f.opsPerSec, 0)} ops/s, p50 ${fmt(f.latency.p50)} ms, p99 ${fmt(f.latency.p99)} ms, ` +
      `server CPU ${fmt(f.serverCpuMsPerOp, 2)} ms/op, other load ${fmt(f.backgroundCores, 2)} cores` +
      (errs.length ? `, errors ${errs.map(([s, n]) => `${s}x${n}`).join(" ")}` : ""),
  );
  if (errs.length)
    results.findings.push(
      `${what}: ${errs.map(([s, n]) => `${n} x ${s === "0" ? "transport error" : `HTTP ${s}`}`).join(", ")} of ${f.attempted}; e.g. ${f.errorSamples[0]}`,
    );
  if (f.stoppedByDeadline) results.findings.push(`${what}: stopped by the ${PHASE_BUDGET_MS / 1000} s phase budget after ${f.attempted} of ${f.asked}`);
  if (f.serverProcessesExited > 0)
    results.findings.push(`${what}: ${f.serverProcessesExited} server process(es) exited during the phase (workerd restarted? every Durable Object and watch is lost then)`);
  backgroundLoad.push(f.backgroundCores);
}

/** Other processes' CPU (cores) during each phase; summed up into one finding. */
const backgroundLoad: number[] = [];
function noteBackgroundLoad(): void {
  const busy = backgroundLoad.filter((x) => x > BUSY_MACHINE_CORES).sort((a, b) => a - b);
  if (busy.length === 0) return;
  results.findings.push(
    `busy machine: during ${busy.length} of ${backgroundLoad.length} phases other processes (not this bench) used ` +
      `${fmt(busy[0], 2)} to ${fmt(busy[busy.length - 1], 2)} of ${cpus().length} cores; those figures are pessimistic (see the 'other load' column)`,
  );
}

function noteWatch(scope: WatchRow["scope"], op: string, concurrency: number, figures: WatchFigures): void {
  results.edgeplane.watch.push({ scope, op, concurrency, figures });
  const what = `watch (${scope}) during ${op}s at concurrency ${concurrency}`;
  log(`${what}: ${figures.received}/${figures.expected} events, p50 ${fmt(figures.fromRequest.p50)} ms, p99 ${fmt(figures.fromRequest.p99)} ms after the request started`);
  if (figures.received < figures.expected)
    results.findings.push(`${what}: ${figures.expected - figures.received} of ${figures.expected} events did not arrive within ${DRAIN_MS / 1000} s`);
  if (figures.streamEnded) results.findings.push(`${what}: the server ended the watch stream`);
  if (figures.unexpected > 0) results.findings.push(`${what}: ${figures.unexpected} unexpected or duplicate events`);
  for (const e of figures.errors) results.findings.push(`${what}: ${e}`);
}

/**
 * Starts the stack from a private copy of the sources (wrangler dev restarts when watched
 * sources change), in a fresh data dir; returns how long it took to be ready, in seconds.
 */
async function startStack(what: string, extra: Partial<LocalClusterOptions> = {}): Promise<{ started: LocalCluster; startupS: number; root: string }> {
  const snap = snapshotProject(SOURCE);
  tempDirs.push(snap.root);
  results.config.source = snap.describe;
  const { startLocalCluster, freePort } = await loadLocalCluster(snap.root);
  // BENCH_PROFILE=1: a CPU profile of the Worker and its Durable Objects for each stack, written when it stops.
  const inspectorPort = PROFILE ? await freePort() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-bench-data-"));
  tempDirs.push(dataDir);
  log(`${what}starting the local stack (wrangler dev, local D1 + Durable Objects) from a ${snap.describe}`);
  const s0 = performance.now();
  // BENCH_VARS="NAME=value,...": Worker settings for an experiment (e.g. AUDIT_LOG=off), over the part's own.
  const vars = { ...extra.vars, ...Object.fromEntries((process.env.BENCH_VARS ?? "").split(",").filter(Boolean).map((kv) => kv.split("=", 2))) };
  const started = await startLocalCluster({ dataDir, log, verbose: process.env.BENCH_VERBOSE === "1", inspectorPort, ...extra, vars });
  if (inspectorPort) {
    // A profile that cannot start costs the figures nothing (and must not leave the stack running).
    try {
      profile = { part: what.replace(/[^a-z]+/g, "") || "stack", profile: await startWorkerProfile(inspectorPort) };
      log(`${what}profiling the Worker (BENCH_PROFILE)`);
    } catch (e) {
      log(`${what}no Worker profile: ${(e as Error).message}`);
    }
  }
  return { started, startupS: round((performance.now() - s0) / 1000, 1), root: snap.root };
}

/** Stops the stack startStack started (the watchdog stops it otherwise). */
async function stopStack(): Promise<void> {
  if (profile) {
    mkdirSync(join(BENCH_DIR, "results"), { recursive: true });
    const path = join(BENCH_DIR, "results", `${profile.part}.cpuprofile`);
    await profile.profile.stop(path).then(
      () => log(`Worker CPU profile: ${path} (tsx bench/profile-top.ts ${path})`),
      (e: Error) => log(`Worker CPU profile failed: ${e.message}`),
    );
    profile = undefined;
  }
  log("stopping wrangler");
  const c = cluster;
  cluster = undefined;
  await c?.stop();
}

async function benchEdgeplane(): Promise<void> {
  const stack = await startStack("");
  cluster = stack.started;
  results.edgeplane.startupS = stack.startupS;
  const roles: RoleOf = serverRoles(cluster.port);
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: MAX_C, timeoutMs: 30_000 });
  try {
    await ensureNamespace(client, "bench");
    await ensureNamespace(client, "bench-all");

    // Warm-up (not measured): the isolates, the namespace hub, D1's caches. The objects stay for the reads.
    const readable: Objects = { names: names("read", 100), rv: new Map() };
    await runOps(client, "bench", "create", readable, 8, 20_000);
    if (readable.rv.size === 0) throw new Error("warm-up: no ConfigMap could be created");

    // Reads, for scale: the stack's request ceiling, and a read through auth + D1.
    for (const c of CONCURRENCY) {
      const n = c === 1 ? Math.min(READS_N, N_SEQ) : READS_N;
      noteOps("reads", await runGets(client, "GET /version", () => "/version", n, c, PHASE_BUDGET_MS, roles));
      const have = [...readable.rv.keys()];
      noteOps("reads", await runGets(client, "GET configmap", (i) => `/api/v1/namespaces/bench/configmaps/${have[i % have.length]}`, n, c, PHASE_BUDGET_MS, roles));
    }

    // Mutating calls in one namespace, with a watch on that namespace open throughout.
    for (const c of CONCURRENCY) {
      const prefix = `c${c}-`;
      const tracker = await openWatch(client, "/api/v1/namespaces/bench/configmaps", "bench", prefix);
      try {
        const objects: Objects = { names: names(`c${c}`, count(c)), rv: new Map() };
        for (const op of ["create", "update", "delete"] as OpKind[]) {
          noteOps("namespace", await runOps(client, "bench", op, objects, c, PHASE_BUDGET_MS, { watch: tracker, roles }));
          await tracker.drain(DRAIN_MS);
          noteWatch("namespace", op, c, tracker.take());
        }
      } finally {
        tracker.close();
      }
    }

    // The same kind of writes seen by a watch across all namespaces (served by the cluster hub).
    for (const c of CONCURRENCY) {
      const prefix = `all-c${c}-`;
      const tracker = await openWatch(client, "/api/v1/configmaps", "bench-all", prefix);
      try {
        const objects: Objects = { names: names(`all-c${c}`, count(c)), rv: new Map() };
        for (const op of ["create", "delete"] as OpKind[]) {
          noteOps("all-ns watch open", await runOps(client, "bench-all", op, objects, c, PHASE_BUDGET_MS, { watch: tracker, roles }));
          await tracker.drain(DRAIN_MS);
          noteWatch("all-namespaces", op, c, tracker.take());
        }
      } finally {
        tracker.close();
      }
    }

    // Diagnostic: the same creates sent straight to the Worker's workerd over plain HTTP,
    // skipping wrangler's dev proxy (TLS + a ProxyWorker Durable Object) that exists only locally.
    await benchDirect(cluster, roles);
  } finally {
    client.close();
    await stopStack();
  }
}

/** The Worker's own HTTP entry (miniflare's entry worker), found among its workerd's listening ports. */
async function findWorkerEntry(roles: RoleOf, publicUrl: string): Promise<string | undefined> {
  for (const pid of pidsWithRole(roles, ROLE_WORKER)) {
    for (const port of listeningPorts(pid)) {
      const probe = new Client({ baseUrl: `http://127.0.0.1:${port}`, maxSockets: 1, timeoutMs: 1000, originalUrlBase: publicUrl });
      try {
        const r = await probe.request("GET", "/version");
        if (r.status === 200 && "gitVersion" in (JSON.parse(r.body) as object)) return `http://127.0.0.1:${port}`;
      } catch {
        /* not the HTTP entry (inspector, debug port, ...) */
      } finally {
        probe.close();
      }
    }
  }
  return undefined;
}

async function benchDirect(c: LocalCluster, roles: RoleOf): Promise<void> {
  const entry = await findWorkerEntry(roles, c.url);
  if (!entry) {
    results.findings.push("direct-to-Worker diagnostic skipped: the Worker's HTTP entry port was not found");
    return;
  }
  log(`direct: the Worker's own entry is ${entry} (plain HTTP, no wrangler proxy)`);
  const direct = new Client({ baseUrl: entry, token: c.token, maxSockets: MAX_C, timeoutMs: 30_000, originalUrlBase: c.url });
  try {
    await ensureNamespace(direct, "bench-direct");
    for (const conc of CONCURRENCY) {
      // A namespace watch is open, also straight from the Worker, as in the main phases.
      const prefix = `direct-c${conc}-`;
      const tracker = await openWatch(direct, "/api/v1/namespaces/bench-direct/configmaps", "bench-direct", prefix);
      try {
        const objects: Objects = { names: names(`direct-c${conc}`, count(conc)), rv: new Map() };
        noteOps("direct", await runOps(direct, "bench-direct", "create", objects, conc, PHASE_BUDGET_MS, { watch: tracker, roles }));
        await tracker.drain(DRAIN_MS);
        noteWatch("namespace, direct", "create", conc, tracker.take());
      } finally {
        tracker.close();
      }
    }
  } finally {
    direct.close();
  }
}

/** The controllers bench on a stack of its own, with the Worker's debug lines (controller runs) captured. */
async function benchControllers(): Promise<void> {
  const runLog = new RunLog();
  // Worker log level debug: the controller runs' figures come from their log lines.
  const stack = await startStack("controllers: ", { logLevel: "debug", onOutput: (chunk) => runLog.feed(chunk) });
  cluster = stack.started;
  const startupS = stack.startupS;
  const roles: RoleOf = serverRoles(cluster.port);
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: CTL_CONCURRENCY + 4, timeoutMs: 30_000 });
  try {
    const r = await runControllersBench(
      client,
      runLog,
      { namespace: "bench-ctl", replicas: REPLICAS, nodes: CTL_NODES, concurrency: CTL_CONCURRENCY, phaseBudgetMs: CTL_PHASE_BUDGET_MS, pokes: 3 },
      log,
      roles,
    );
    results.controllers = { ...r, startupS };
    results.findings.push(...r.findings);
    for (const p of r.phases) backgroundLoad.push(p.backgroundCores);
  } finally {
    client.close();
    await stopStack();
  }
}

/** The scheduler bench on a stack of its own: hollow nodes in this process, bare pods through the API. */
async function benchScheduler(): Promise<void> {
  const runLog = new SchedulerRunLog();
  const controllerLog = new RunLog();
  const stack = await startStack("scheduler: ", {
    logLevel: "debug",
    onOutput: (chunk) => {
      runLog.feed(chunk);
      controllerLog.feed(chunk);
    },
  });
  cluster = stack.started;
  const startupS = stack.startupS;
  const roles: RoleOf = serverRoles(cluster.port);
  // The bench's own requests (creates, its watch) go straight to the Worker's workerd: wrangler's
  // TLS proxy exists only locally and costs about as much CPU as the Worker on this machine. The
  // agent keeps going through it, as a remote node goes through Cloudflare's edge.
  const entry = await findWorkerEntry(roles, cluster.url);
  if (!entry) results.findings.push("scheduler: the Worker's own HTTP entry was not found; the bench's requests go through wrangler's proxy");
  const client = new Client({ baseUrl: entry ?? cluster.url, token: cluster.token, maxSockets: SCHED_CONCURRENCY + 4, timeoutMs: 60_000, originalUrlBase: entry ? cluster.url : undefined });
  try {
    const r = await runSchedulerBench(
      stack.root,
      { url: cluster.url, token: cluster.token, kubeconfig: cluster.kubeconfig },
      client,
      { namespace: "bench-sched", nodes: SCHED_NODES, pods: SCHED_PODS, steadyPods: SCHED_STEADY_PODS, steadyRate: SCHED_STEADY_RATE, concurrency: SCHED_CONCURRENCY, budgetMs: SCHED_BUDGET_MS, idleS: SCHED_IDLE_S, settleS: SCHED_SETTLE_S },
      log,
      runLog,
      () => cpuWindow(roles),
    );
    // The namespace's controllers run on the same hub as its commits: what they cost meanwhile.
    const ctl = controllerLog.since(0, "bench-sched");
    results.scheduler = { ...r, startupS, controllerRuns: ctl.length, controllerPasses: ctl.reduce((n, c) => n + c.passes, 0), controllerMs: ctl.reduce((n, c) => n + c.ms, 0) };
    results.findings.push(...r.findings);
    const at = `${r.config.nodes} hollow nodes, ${r.config.pods} pods`;
    results.targets.push({ name: `scheduler: backlog pods bound per second (committed), ${at}`, value: r.committedPerSec, target: ">= 1000", met: r.committedPerSec >= 1000 && r.bound === r.config.pods && r.committedBound === r.config.pods });
    const p99 = round(r.startup.p99, 0);
    results.targets.push({ name: `scheduler: pod startup p99 ms (hollow), ${r.steadyCreated} pods at ${r.config.steadyRate}/s beside them`, value: p99, target: "< 1000", met: p99 < 1000 && r.steadyReady === r.steadyCreated && r.steadyCreated > 0 });
  } finally {
    client.close();
    await stopStack();
  }
}

/** The proxy bench on a stack of its own: a process-runtime agent in this process, load from a pod's netns. */
async function benchProxy(): Promise<void> {
  const stack = await startStack("proxy: ");
  cluster = stack.started;
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: 8, timeoutMs: 60_000 });
  try {
    const r = await runProxyBench(
      stack.root,
      { url: cluster.url, token: cluster.token },
      client,
      { seconds: PROXY_SECONDS, concurrency: PROXY_CONCURRENCY, closeConcurrency: PROXY_CLOSE_CONCURRENCY },
      log,
    );
    results.proxy = { ...r, startupS: stack.startupS };
    results.findings.push(...r.findings);
  } finally {
    client.close();
    await stopStack();
  }
}

/** The fuzz part on a stack of its own; the fuzz tenant's request rate limit is raised so its cases are judged, not throttled. */
async function benchFuzz(): Promise<void> {
  const stack = await startStack("fuzz: ", { vars: { RATE_LIMIT_QPS: "100000", RATE_LIMIT_BURST: "100000" } });
  cluster = stack.started;
  try {
    const r = await runFuzzBench(
      { url: cluster.url, token: cluster.token },
      { seed: FUZZ_SEED, count: FUZZ_CASES, concurrency: FUZZ_CONCURRENCY, boundMs: FUZZ_BOUND_MS, namespace: "fuzz" },
      log,
    );
    results.fuzz = { ...r, startupS: stack.startupS };
    results.targets.push({ name: "fuzz: cases answered 5xx, improperly, too late, or changing the store when refused", value: r.failures.length, target: "0", met: r.failures.length === 0 });
    for (const f of r.failures.slice(0, 50)) results.findings.push(`fuzz: ${f}`);
  } finally {
    await stopStack();
  }
}

/** The edge bench on a stack of its own: a real agent (process runtime) with busybox httpd pods. */
async function benchEdge(): Promise<void> {
  const stack = await startStack("edge: ");
  cluster = stack.started;
  try {
    const r = await runEdgeBench(
      stack.root,
      { url: cluster.url, token: cluster.token },
      {
        namespace: "bench-edge",
        replicas: 2,
        requests: envInt("BENCH_EDGE_N", quick ? 300 : 2000),
        requestsSequential: envInt("BENCH_EDGE_N_SEQ", quick ? 100 : 500),
        concurrency: (process.env.BENCH_EDGE_CONCURRENCY ?? "1,16").split(",").map((x) => Number(x.trim())),
        budgetMs: PHASE_BUDGET_MS,
      },
      log,
    );
    results.edge = { ...r, startupS: stack.startupS };
    results.findings.push(...r.findings);
  } finally {
    await stopStack();
  }
}

/** The node tunnel bench on a stack of its own: a process-runtime agent in this process, real kubectl for port-forward. */
async function benchTunnel(): Promise<void> {
  const stack = await startStack("tunnel: ");
  cluster = stack.started;
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: 8, timeoutMs: 60_000 });
  try {
    const r = await runTunnelBench(
      stack.root,
      { url: cluster.url, token: cluster.token, kubeconfig: cluster.kubeconfig },
      client,
      { echoes: TUNNEL_ECHOES, sessions: TUNNEL_SESSIONS, logMB: TUNNEL_LOG_MB, blobMB: TUNNEL_BLOB_MB },
      log,
    );
    results.tunnel = { ...r, startupS: stack.startupS };
    results.findings.push(...r.findings);
  } finally {
    client.close();
    await stopStack();
  }
}

/** The volume controller bench (static binding, reclaim) on a stack of its own. */
async function benchVolumes(): Promise<void> {
  const runLog = new VolumeRunLog();
  const stack = await startStack("volumes: ", { logLevel: "debug", onOutput: (chunk) => runLog.feed(chunk) });
  cluster = stack.started;
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: VOLUMES_CONCURRENCY + 4, timeoutMs: 60_000 });
  try {
    const r = await runVolumesBench(client, runLog, { claims: VOLUMES_N, concurrency: VOLUMES_CONCURRENCY, budgetMs: 120_000 }, log);
    results.volumes = { ...r, startupS: stack.startupS };
    results.findings.push(...r.findings);
  } finally {
    client.close();
    await stopStack();
  }
}

function printVolumes(out: string[]): void {
  const v = results.volumes;
  out.push("");
  out.push("PersistentVolume controller (static binding and reclaim; create -> 201 is the baseline, the same requests):");
  if (!v) {
    out.push("  (did not run)");
    return;
  }
  out.push(
    table(
      ["phase", "claims", "done", "in flight", "s", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
      v.rows.map((r) => [r.phase, String(r.count), String(r.done), String(r.concurrency), fmt(r.totalS), fmt(r.perSec), fmtInt(r.latency.p50), fmtInt(r.latency.p90), fmtInt(r.latency.p99), fmtInt(r.latency.max)]),
    ),
  );
  const c = v.controller;
  out.push(
    `  create -> Bound p50 is ${fmt(v.bindOverCreateP50)}x create -> 201 p50; volume controller: ${c.runs} runs, ${c.actions} actions, ` +
      `${fmt(c.runs ? c.ms / c.runs : NaN)} ms per run, D1 rows read ${fmtInt(c.runs ? c.rowsRead / c.runs : NaN)} per run (largest ${c.maxRowsRead})`,
  );
}

/** The pod startup bench on a stack of its own: a real agent per runtime in this process. */
async function benchPodStart(): Promise<void> {
  const stack = await startStack("podstart: ");
  cluster = stack.started;
  const client = new Client({ baseUrl: cluster.url, token: cluster.token, maxSockets: PODSTART_CONCURRENCY + 4, timeoutMs: 60_000 });
  try {
    const r = await runPodStartBench(
      stack.root,
      { url: cluster.url, token: cluster.token },
      client,
      { pods: PODSTART_PODS, concurrency: PODSTART_CONCURRENCY, oneAtATime: PODSTART_ONE_AT_A_TIME, runtimes: PODSTART_RUNTIMES, budgetMs: PODSTART_BUDGET_MS },
      log,
    );
    results.podstart = { ...r, startupS: stack.startupS };
    results.findings.push(...r.findings);
    for (const row of r.rows)
      if (row.runtime === "podman")
        results.targets.push({ name: `pod startup p99 ms, ${row.pods} pods ${row.mode} on one podman node`, value: round(row.startup.p99, 0), target: `< ${PODSTART_TARGET_P99_MS}`, met: row.startup.p99 < PODSTART_TARGET_P99_MS });
  } finally {
    client.close();
    await stopStack();
  }
}

function printPodStart(out: string[]): void {
  const p = results.podstart;
  out.push("");
  out.push(`Pod startup on one node (create request -> Running in the watch; scheduler included; target podman p99 < ${PODSTART_TARGET_P99_MS} ms):`);
  if (!p) {
    out.push("  (did not run)");
    return;
  }
  out.push(
    table(
      ["runtime", "mode", "pods", "Running", "in flight", "s", "pods/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "-> bound p50/p99", "bound -> Running p50/p99", "processes/pod", "agent CPU s"],
      p.rows.map((r) => [
        r.runtime,
        r.mode,
        String(r.pods),
        String(r.running),
        String(r.concurrency),
        fmt(r.totalS),
        fmt(r.podsPerSec),
        fmtInt(r.startup.p50),
        fmtInt(r.startup.p90),
        fmtInt(r.startup.p99),
        fmtInt(r.startup.max),
        `${fmtInt(r.toBound.p50)} / ${fmtInt(r.toBound.p99)}`,
        `${fmtInt(r.boundToRunning.p50)} / ${fmtInt(r.boundToRunning.p99)}`,
        r.processesPerPod === undefined ? "-" : fmt(r.processesPerPod),
        fmt(r.agentCpuS),
      ]),
    ),
  );
}

function printTunnel(out: string[]): void {
  const t = results.tunnel;
  out.push("");
  out.push("Node tunnel (client -> wrangler -> NodeTunnel DO -> agent -> container, vs straight to the container on this machine):");
  if (!t) {
    out.push("  (did not run)");
    return;
  }
  out.push(
    table(
      ["what", "unit", "through the tunnel", "direct", "ratio tunnel/direct", "detail"],
      t.rows.map((r) => [r.what, r.unit, fmt(r.tunnel, 2), fmt(r.direct, 2), fmt(r.ratio, 3), r.detail ?? ""]),
    ),
  );
}

function printEdge(out: string[]): void {
  const e = results.edge;
  out.push("");
  out.push("Edge: GET of a 2 KiB file from busybox httpd pods (process runtime, one agent), through the Worker's edge vs straight to a pod IP:");
  if (!e) {
    out.push("  (did not run)");
    return;
  }
  const rows = e.phases.map((p) => {
    const base = e.phases.find((b) => b.concurrency === p.concurrency && b.target === "direct to pod");
    return [
      p.target,
      p.concurrency,
      `${p.ok}/${p.attempted}`,
      fmtInt(p.reqPerSec),
      fmt(p.latency.p50, 1),
      fmt(p.latency.p99, 1),
      base && base.reqPerSec ? fmt(p.reqPerSec / base.reqPerSec, 3) : "-",
      base && base.latency.p99 ? fmt(p.latency.p99 / base.latency.p99, 1) : "-",
    ];
  });
  out.push(table(["target", "concurrency", "ok", "req/s", "p50 ms", "p99 ms", "req/s vs direct", "p99 vs direct"], rows));
  out.push("");
}

function printProxy(out: string[]): void {
  const p = results.proxy;
  out.push("");
  out.push("Services data plane (one backend pod, load from a client pod's network namespace; ratio = rps / direct to the pod):");
  if (!p) {
    out.push("  (did not run)");
    return;
  }
  out.push(
    table(
      ["path", "connections", "in flight", "requests", "errors", "req/s", "p50 ms", "p99 ms", "ratio vs direct"],
      p.rows.map((r) => [r.path, r.connections, String(r.concurrency), fmtInt(r.requests), String(r.errors), fmtInt(r.rps), fmt(r.p50), fmt(r.p99), fmt(r.ratio, 2)]),
    ),
  );
}

/** The audit log's cost: two stacks side by side, one with AUDIT_LOG=off; the rate limiter as on both (a grant of 10, never empty). */
async function benchAuditCost(): Promise<void> {
  const limits = { RATE_LIMIT_QPS: "10000", RATE_LIMIT_BURST: "200" };
  const on = await startStack("audit cost (audit on): ", { vars: limits });
  cluster = on.started;
  const off = await startStack("audit cost (audit off): ", { vars: { ...limits, AUDIT_LOG: "off" } });
  sideCluster = off.started;
  try {
    results.auditCost = await runAuditCostBench(
      { url: on.started.url, token: on.started.token },
      { url: off.started.url, token: off.started.token },
      { perRound: AUDIT_PER_ROUND, rounds: AUDIT_ROUNDS, concurrency: AUDIT_CONCURRENCY, budgetMs: PHASE_BUDGET_MS },
      log,
    );
  } finally {
    const side = sideCluster;
    sideCluster = undefined;
    await side?.stop();
    await stopStack();
  }
}

async function benchIdentity(): Promise<void> {
  // the per-identity rate limit would otherwise be what is measured
  const s = await startStack("identity: ", { vars: { RATE_LIMIT_QPS: "100000", RATE_LIMIT_BURST: "10000" } });
  cluster = s.started;
  try {
    results.identity = await runIdentityBench(
      { url: s.started.url, token: s.started.token },
      { perRound: IDENTITY_PER_ROUND, rounds: IDENTITY_ROUNDS, concurrency: IDENTITY_CONCURRENCY, budgetMs: PHASE_BUDGET_MS },
      log,
    );
  } finally {
    await stopStack();
  }
}

function printAuditCost(out: string[]): void {
  const a = results.auditCost;
  if (!a) return;
  out.push("");
  out.push(`Audit log cost: a tenant's ConfigMap creates and deletes, ${a.rounds} alternating rounds of ${a.perRound} per side, ${a.concurrency} in flight, two stacks side by side`);
  const rows: (string | number)[][] = [];
  for (const side of a.sides)
    for (const op of ["create", "delete"] as const) {
      const s = sideSummary(side[op]);
      rows.push([`audit ${side.audit}`, op, fmtInt(s.opsPerSec), fmt(s.p50), fmt(s.p99), s.errors]);
    }
  out.push(table(["stack", "op", "ops/s", "worst round p50 ms", "worst round p99 ms", "errors"], rows));
  out.push(`ratio audit on / off: creates ${fmt(a.createRatio, 2)}, deletes ${fmt(a.deleteRatio, 2)}`);
}

function printFuzz(out: string[]): void {
  const f = results.fuzz;
  if (!f) return;
  out.push("");
  out.push(`Fuzz (seed ${f.seed}): ${fmtInt(f.cases)} hostile requests in ${fmt(f.seconds)} s, ${FUZZ_CONCURRENCY} in flight`);
  out.push(
    table(
      ["", "value"],
      [
        ["cases/s", fmtInt(f.casesPerSec)],
        ["baseline GET /version/s (same concurrency, side by side)", fmtInt(f.baselinePerSec)],
        ["ratio fuzz / baseline", fmt(f.casesPerSec / f.baselinePerSec, 2)],
        ["latency p50 / p99 / max (ms)", `${fmtInt(f.latencyMs.p50)} / ${fmtInt(f.latencyMs.p99)} / ${fmtInt(f.latencyMs.max)}`],
        ["waves checked for no store change / with accepted writes", `${f.wavesChecked} / ${f.wavesWithAcceptedWrites}`],
        ["failures", String(f.failures.length)],
      ],
    ),
  );
  out.push(table(["status", "cases"], Object.entries(f.byStatus).map(([s, n]) => [s, n])));
  out.push(table(["family", "cases", "refused", "slowest ms"], Object.entries(f.byFamily).map(([k, v]) => [k, v.cases, v.refused, v.maxMs])));
}

function printScheduler(out: string[]): void {
  const s = results.scheduler;
  if (!s) {
    out.push("7. Scheduler: no figures (the part was aborted; see the findings)");
    out.push("");
    return;
  }
  out.push(
    `7. Scheduler: ${s.config.nodes} hollow nodes (one agent process of their own) Ready in ${s.registerS} s. Backlog: ${s.config.pods} bare pods created ` +
      `(${s.config.concurrency} in flight, ${fmt(s.createS, 1)} s, ${fmtInt(s.createdPerSec)}/s) while the bench held kube-scheduler's lease; after its deletion ` +
      `${s.bound} bound on ${s.nodesUsed} nodes (first after ${fmt(s.firstBoundS, 2)} s), ${s.ready} Ready after ${fmt(s.allReadyS, 1)} s`,
  );
  out.push(
    table(
      ["", "pods/s bound", "s", `kube-scheduler ${KUBE_SCHEDULER_REFERENCE.low}-${KUBE_SCHEDULER_REFERENCE.high}/s`, "ratio"],
      [
        ["lease deleted -> last binding committed (scheduler's rounds)", fmtInt(s.committedPerSec), fmt(s.committedS, 2), "5,000 nodes (CI minimum)", `${fmt(s.ratioLow, 2)}-${fmt(s.ratioHigh, 2)}`],
        ["lease deleted -> last binding seen (bench's watch)", fmtInt(s.boundPerSec), fmt(s.scheduleS, 2), "", ""],
        ["per second of scheduler rounds", fmtInt(s.boundPerSchedulerSec), fmt(s.schedulerMs / 1000, 2), "", ""],
      ],
    ),
  );
  const cpuLine = (what: string, c: CpuSeconds) =>
    `   CPU ${what} (${fmt(c.wallS, 1)} s wall): ${Object.entries(c.byRole).map(([k, v]) => `${k} ${fmt(v, 1)} s`).join(", ")}, this bench ${fmt(c.bench, 1)} s, other ${fmt(c.other, 1)} s`;
  out.push(cpuLine(`with the ${s.config.nodes} nodes Ready and idle (heartbeats only)`, s.cpu.idle));
  out.push(cpuLine("while creating the backlog", s.cpu.create));
  out.push(cpuLine("from the lease's deletion to the last binding", s.cpu.backlog));
  if (s.config.settleS > 0) out.push(cpuLine("after the backlog's last pod Ready, before the steady phase", s.cpu.settle));
  out.push(cpuLine("in the steady phase", s.cpu.steady));
  out.push(`   the namespace's controllers meanwhile (same hub as its commits): ${s.controllerRuns} runs, ${s.controllerPasses} passes, ${fmt(s.controllerMs / 1000, 1)} s`);
  out.push(
    `   scheduler (both phases): ${s.schedulerRuns} rounds, ${fmt(s.schedulerMs / 1000, 1)} s in them (copies up to date ${fmt(s.syncMs / 1000, 1)} s, ` +
      `placing ${fmt(s.placeMs / 1000, 1)} s, writing ${fmt(s.writeMs / 1000, 1)} s); ${fmt(s.d1RowsReadPerBound, 1)} D1 rows read and ` +
      `${fmt(s.writesPerBound, 2)} objects written (binding, event) per pod bound`,
  );
  const l = (name: string, x: LatencySummary) => [name, x.samples, fmt(x.p50, 0), fmt(x.p90, 0), fmt(x.p99, 0), fmt(x.max, 0)];
  out.push(
    `   steady: ${s.steadyCreated} more pods created at ${s.config.steadyRate}/s with the backlog's pods and nodes in place; ${s.steadyReady} Ready ` +
      `(target: pod startup p99 < 1,000 ms with hollow nodes: ${s.startup.samples > 0 && s.startup.p99 < 1000 && s.steadyReady === s.steadyCreated ? "met" : "missed"})`,
  );
  out.push(
    table(
      ["latency (ms)", "samples", "p50", "p90", "p99", "max"],
      [l("create sent -> created (API answer)", s.createLatency), l("create sent -> created seen in the watch", s.toAdded), l("create sent -> bound seen", s.toBound), l("pod startup: create sent -> Ready seen", s.startup)],
    ),
  );
  out.push("");
}

async function benchEtcd(found: ReturnType<typeof ensureEtcd>): Promise<void> {
  if ("skip" in found) {
    results.etcd.skipped = found.skip;
    log(`SKIPPING the etcd baseline: ${found.skip}`);
    return;
  }
  try {
    etcd = await startEtcd(found.path, log);
  } catch (e) {
    results.etcd.skipped = `etcd did not start: ${String(e).slice(0, 500)}`;
    log(`SKIPPING the etcd baseline: ${results.etcd.skipped}`);
    return;
  }
  results.etcd.version = etcd.version;
  const client = new Client({ baseUrl: etcd.url, maxSockets: MAX_C, timeoutMs: 30_000 });
  try {
    await runEtcdOps(client, "put", "warm", 100, 8, 20_000); // warm-up, as for Edgeplane
    for (const c of CONCURRENCY) {
      for (const mode of ["put", "txn-create"] as const) {
        const f = await runEtcdOps(client, mode, `${mode}-c${c}`, count(c), c, PHASE_BUDGET_MS);
        results.etcd.ops.push(f);
        log(
          `etcd ${mode} at concurrency ${c}: ${f.ok}/${f.attempted} ok, ${fmt(f.opsPerSec, 0)} ops/s, p50 ${fmt(f.latency.p50)} ms, p99 ${fmt(f.latency.p99)} ms, other load ${fmt(f.backgroundCores, 2)} cores`,
        );
        if (Object.keys(f.errors).length) results.findings.push(`etcd ${mode} at concurrency ${c}: errors ${JSON.stringify(f.errors)}; e.g. ${f.errorSamples[0]}`);
        backgroundLoad.push(f.backgroundCores);
      }
    }
  } finally {
    client.close();
    log("stopping etcd");
    const e = etcd;
    etcd = undefined;
    await e?.stop();
  }
}

function evaluate(): void {
  const ctl = results.controllers;
  if (ctl) {
    for (const [name, l] of [["initial", ctl.startup.initial], ["rolling update", ctl.startup.rollout]] as const)
      if (l?.samples)
        results.targets.push({ name: `pod startup p99 ms (hollow readiness), ${name}`, value: round(l.p99, 0), target: `<= ${POD_STARTUP_SLO_P99_MS}`, met: l.p99 <= POD_STARTUP_SLO_P99_MS });
    for (const r of ctl.unchangedReconcile.slice(0, 1)) {
      results.targets.push({ name: "unchanged ReplicaSet reconcile: D1 rows written", value: r.rowsWritten, target: "0", met: r.rowsWritten === 0 });
      // At most one list: the hub's cache makes it none once built.
      results.targets.push({ name: "unchanged ReplicaSet reconcile: D1 queries (at most one list)", value: r.queries, target: "<= 1", met: r.queries <= 1 });
    }
  }
  for (const f of results.edgeplane.ops.filter((o) => o.scope === "namespace")) {
    results.targets.push({
      name: `mutating ${f.op} p99 ms, concurrency ${f.concurrency}`,
      value: round(f.latency.p99),
      target: `< ${TARGET_MUTATING_P99_MS}`,
      met: f.latency.p99 < TARGET_MUTATING_P99_MS && Object.keys(f.errors).length === 0,
    });
  }
  for (const w of results.edgeplane.watch.filter((x) => x.op === "create" && x.scope !== "namespace, direct")) {
    results.targets.push({
      name: `watch delivery (${w.scope}) p99 ms, creates at concurrency ${w.concurrency}`,
      value: round(w.figures.fromRequest.p99),
      target: `< ${TARGET_WATCH_P99_MS}`,
      met: w.figures.fromRequest.p99 < TARGET_WATCH_P99_MS && w.figures.received === w.figures.expected,
    });
  }
  for (const c of CONCURRENCY) {
    const ours = results.edgeplane.ops.find((o) => o.scope === "namespace" && o.op === "create" && o.concurrency === c);
    const put = results.etcd.ops.find((o) => o.op === "put" && o.concurrency === c);
    const txn = results.etcd.ops.find((o) => o.op === "txn-create" && o.concurrency === c);
    const direct = results.edgeplane.ops.find((o) => o.scope === "direct" && o.concurrency === c);
    if (!ours || !put) continue;
    const row = {
      concurrency: c,
      edgeplaneCreateOpsPerSec: round(ours.opsPerSec, 0),
      etcdPutOpsPerSec: round(put.opsPerSec, 0),
      ratioVsPut: round(ours.opsPerSec / put.opsPerSec, 2),
      etcdTxnCreateOpsPerSec: round(txn?.opsPerSec ?? NaN, 0),
      ratioVsTxnCreate: round(txn ? ours.opsPerSec / txn.opsPerSec : NaN, 2),
      directCreateOpsPerSec: round(direct?.opsPerSec ?? NaN, 0),
      directRatioVsPut: round(direct ? direct.opsPerSec / put.opsPerSec : NaN, 2),
      otherLoadEdgeplane: round(ours.backgroundCores, 2),
      otherLoadEtcd: round(put.backgroundCores, 2),
    };
    results.comparison.push(row);
    if (Math.abs(row.otherLoadEdgeplane - row.otherLoadEtcd) > BUSY_MACHINE_CORES)
      results.findings.push(
        `unfair comparison at concurrency ${c}: other processes used ${fmt(row.otherLoadEdgeplane, 2)} cores while Edgeplane ran ` +
          `and ${fmt(row.otherLoadEtcd, 2)} while etcd ran; rerun on a quiet machine for a meaningful ratio`,
      );
    results.targets.push({
      name: `create throughput edgeplane/etcd-put, concurrency ${c}`,
      value: row.ratioVsPut,
      target: `>= ${TARGET_RATIO}`,
      met: row.ratioVsPut >= TARGET_RATIO,
    });
  }
}

const label = (f: OpFigures & { scope: Scope }) =>
  f.scope === "all-ns watch open" ? `${f.op} (all-ns watch)` : f.scope === "direct" ? `${f.op} (direct, no proxy)` : f.op;
const errorsCell = (f: OpFigures) => Object.entries(f.errors).map(([s, n]) => `${s === "0" ? "net" : s}x${n}`).join(" ") || "0";

function print(): void {
  const out: string[] = [];
  const m = results.machine;
  const cfg = results.config;
  out.push("");
  out.push(`Edgeplane bench, ${results.startedAt}: ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, load ${m.loadavg1mAtStart} at start`);
  out.push(
    `Stack: wrangler dev (local D1 + Durable Objects, HTTPS) from a ${cfg.source}; up in ${RUN_API ? results.edgeplane.startupS : RUN_CONTROLLERS ? results.controllers?.startupS : RUN_SCHEDULER ? results.scheduler?.startupS : RUN_PROXY ? results.proxy?.startupS : RUN_EDGE ? results.edge?.startupS : RUN_TUNNEL ? results.tunnel?.startupS : RUN_PODSTART ? results.podstart?.startupS : RUN_VOLUMES ? results.volumes?.startupS : results.fuzz?.startupS} s`,
  );
  out.push("'other load' = CPU used by processes outside this bench meanwhile, in cores (of " + m.cpus + ")");
  if (RUN_API) printApi(out);
  if (RUN_CONTROLLERS) printControllers(out);
  if (RUN_SCHEDULER) printScheduler(out);
  if (RUN_PROXY) printProxy(out);
  if (RUN_EDGE) printEdge(out);
  if (RUN_TUNNEL) printTunnel(out);
  if (RUN_PODSTART) printPodStart(out);
  if (RUN_VOLUMES) printVolumes(out);
  if (RUN_FUZZ) printFuzz(out);
  if (RUN_AUDIT) printAuditCost(out);
  if (RUN_IDENTITY && results.identity) out.push(...identityReport(results.identity));
  const met = results.targets.filter((t) => t.met).length;
  out.push(`Targets met: ${met}/${results.targets.length}`);
  for (const t of results.targets.filter((x) => !x.met)) out.push(`  missed: ${t.name} = ${t.value} (target ${t.target})`);
  if (results.findings.length) {
    out.push("Findings:");
    for (const f of results.findings) out.push(`  - ${f}`);
  }
  out.push(`Total ${results.totalS} s. JSON: bench/results/latest.json`);
  process.stdout.write(out.join("\n") + "\n");
}

function printApi(out: string[]): void {
  const cfg = results.config;
  out.push(`Writes: ConfigMaps with a ${VALUE_BYTES} B value; ${N_SEQ} per phase at concurrency 1, ${N} at higher concurrency; phases capped at ${cfg.phaseBudgetS} s`);
  out.push("");
  out.push("1. Edgeplane API calls. Writes: HTTPS + bearer auth + admission + CAS group commit in D1 + watch fan-out (a watch is open)");
  out.push(
    table(
      ["call", "conc", "ok/tried", "errors", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "server CPU ms/op", "other load", `p99<${TARGET_MUTATING_P99_MS}ms`],
      results.edgeplane.ops.map((f) => [
        label(f),
        f.concurrency,
        `${f.ok}/${f.attempted}`,
        errorsCell(f),
        fmtInt(f.opsPerSec),
        fmt(f.latency.p50),
        fmt(f.latency.p90),
        fmt(f.latency.p99),
        fmt(f.latency.max),
        fmt(f.serverCpuMsPerOp, 2),
        fmt(f.backgroundCores, 2),
        f.scope === "namespace" ? (f.latency.p99 < TARGET_MUTATING_P99_MS && !Object.keys(f.errors).length ? "yes" : "NO") : "",
      ]),
    ),
  );
  out.push("");
  out.push("2. Where the server CPU goes, ms per call (wrangler's dev proxy exists only locally; on Cloudflare the edge does TLS)");
  out.push(
    table(
      ["call", "conc", "proxy workerd", "Worker workerd", "wrangler node", "other", "client (this bench)"],
      results.edgeplane.ops.map((f) => {
        const r = f.serverCpuMsPerOpByRole;
        const known = (r[ROLE_PROXY] ?? 0) + (r[ROLE_WORKER] ?? 0) + (r[ROLE_WRANGLER] ?? 0);
        return [
          label(f),
          f.concurrency,
          fmt(r[ROLE_PROXY] ?? 0, 2),
          fmt(r[ROLE_WORKER] ?? 0, 2),
          fmt(r[ROLE_WRANGLER] ?? 0, 2),
          fmt(f.serverCpuMsPerOp - known, 2),
          fmt(f.clientCpuMsPerOp, 2),
        ];
      }),
    ),
  );
  out.push("");
  out.push("3. Watch delivery latency: event arrival at the client minus the write's request start (and minus its response's arrival)");
  out.push(
    table(
      ["watch", "writes", "conc", "events", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 after resp", "p99 after resp", "writes/s", "events/s", `p99<${TARGET_WATCH_P99_MS}ms`],
      results.edgeplane.watch.map((w) => [
        w.scope,
        w.op,
        w.concurrency,
        `${w.figures.received}/${w.figures.expected}`,
        fmt(w.figures.fromRequest.p50),
        fmt(w.figures.fromRequest.p90),
        fmt(w.figures.fromRequest.p99),
        fmt(w.figures.fromRequest.max),
        fmt(w.figures.fromResponse.p50),
        fmt(w.figures.fromResponse.p99),
        fmtInt(w.figures.writesPerSec),
        fmtInt(w.figures.eventsPerSec),
        w.figures.fromRequest.p99 < TARGET_WATCH_P99_MS && w.figures.received === w.figures.expected ? "yes" : "NO",
      ]),
    ),
  );
  out.push("");
  if (results.etcd.skipped) {
    out.push(`4. etcd baseline SKIPPED: ${results.etcd.skipped}`);
  } else {
    out.push(`4. etcd ${results.etcd.version} baseline: one member on 127.0.0.1, fsync on, HTTP/JSON gateway, same value bytes, same counts`);
    out.push(
      table(
        ["etcd call", "conc", "ok/tried", "errors", "ops/s", "p50 ms", "p99 ms", "max ms", "etcd CPU ms/op", "other load"],
        results.etcd.ops.map((f) => [
          f.op,
          f.concurrency,
          `${f.ok}/${f.attempted}`,
          errorsCell(f),
          fmtInt(f.opsPerSec),
          fmt(f.latency.p50),
          fmt(f.latency.p99),
          fmt(f.latency.max),
          fmt(f.serverCpuMsPerOp, 2),
          fmt(f.backgroundCores, 2),
        ]),
      ),
    );
    out.push("");
    out.push("5. Write throughput side by side. Not like for like, and in etcd's favour: an Edgeplane create is a full API call");
    out.push("   (HTTPS through wrangler's proxy, auth, validation, CAS, watch fan-out); an etcd put is a bare key-value write over");
    out.push("   plain HTTP; txn-create (put if absent) is what kube-apiserver sends etcd for a create. 'direct' (diagnostic):");
    out.push("   the same creates sent over plain HTTP straight to the Worker's workerd, skipping wrangler's local-only dev proxy.");
    out.push(
      table(
        ["conc", "edgeplane create ops/s", "etcd put ops/s", "ratio", "etcd txn-create ops/s", "ratio", `ratio>=${TARGET_RATIO}`, "direct create ops/s", "direct/put", "other load ep/etcd"],
        results.comparison.map((r) => [
          r.concurrency,
          fmtInt(r.edgeplaneCreateOpsPerSec),
          fmtInt(r.etcdPutOpsPerSec),
          fmt(r.ratioVsPut, 2),
          fmtInt(r.etcdTxnCreateOpsPerSec),
          fmt(r.ratioVsTxnCreate, 2),
          r.ratioVsPut >= TARGET_RATIO ? "yes" : "NO",
          fmtInt(r.directCreateOpsPerSec),
          fmt(r.directRatioVsPut, 2),
          `${fmt(r.otherLoadEdgeplane, 2)}/${fmt(r.otherLoadEtcd, 2)}`,
        ]),
      ),
    );
  }
  out.push("");
}

function printControllers(out: string[]): void {
  const c = results.controllers;
  if (!c) {
    out.push("6. Controllers: no figures (the part was aborted; see the findings)");
    out.push("");
    return;
  }
  const k = c.kubelet;
  out.push(
    `6. Controllers: a Deployment of ${c.config.replicas} replicas in namespace ${c.config.namespace}; hollow kubelet (this bench, through the API): ` +
      `${c.config.nodes} fake nodes, ${c.config.concurrency} requests in flight; pods bound by the server ${k.boundByServer}, by the bench ${k.boundByBench} ` +
      `(${k.bindConflicts} bench bindings refused: bound already); ` +
      `${k.statusWrites} status writes, ${k.deletesConfirmed} deletions confirmed`,
  );
  out.push(
    table(
      ["phase", "done", "s", "pods/s", "controller runs", "passes", "host run s", "D1 rows read", "D1 rows written", "written/pod", "server CPU s", "other load"],
      c.phases.map((p) => [
        p.name,
        p.done ? "yes" : "NO",
        fmt(p.elapsedMs / 1000, 2),
        fmtInt(p.podsPerSec),
        p.controllerRuns,
        p.controllerPasses,
        fmt(p.controllerMs / 1000, 1),
        p.d1RowsRead,
        p.d1RowsWritten,
        fmt(p.d1RowsWritten / p.pods, 1),
        fmt(p.serverCpuMs / 1000, 1),
        fmt(p.backgroundCores, 2),
      ]),
    ),
  );
  out.push("   (D1 rows: the controller host's own reads and writes, from its per-run debug line; the hollow kubelet's API calls are not in them)");
  const startup = (name: string, l: LatencySummary | undefined) =>
    l && l.samples ? [name, l.samples, fmt(l.p50, 0), fmt(l.p90, 0), fmt(l.p99, 0), fmt(l.max, 0), l.p99 <= POD_STARTUP_SLO_P99_MS ? "yes" : "NO"] : [name, 0, "-", "-", "-", "-", "-"];
  out.push("");
  out.push("   Pod startup with hollow readiness: first watch event of a pod to its Ready event (Kubernetes SLO: p99 <= 5 s, image pulls excluded)");
  out.push(table(["pods", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms", "p99<=5s"], [startup("initial", c.startup.initial), startup("rolling update", c.startup.rollout)]));
  out.push("");
  out.push("   Where the time goes (ms, p50 / p99 per pod; the kubelet's steps are this bench's, the rest is the server)");
  out.push(
    table(
      ["step", "initial p50", "initial p99", "rollout p50", "rollout p99"],
      c.startupBreakdown.map((b) => [b.step, fmt(b.initial.p50, 0), fmt(b.initial.p99, 0), fmt(b.rollout.p50, 0), fmt(b.rollout.p99, 0)]),
    ),
  );
  out.push("");
  out.push("   One reconcile of the unchanged ReplicaSet (the run after a poke: a bare pod nothing selects). Target: reads bounded by one list, 0 writes");
  out.push(
    table(
      ["poke", "objects observed", "passes", "actions", "D1 queries", "rows read", "rows read/object", "rows written", "ms"],
      c.unchangedReconcile.map((r, i) => [i + 1, r.objectsObserved, r.passes, r.actions, r.queries, r.rowsRead, fmt(r.rowsRead / r.objectsObserved, 2), r.rowsWritten, r.ms]),
    ),
  );
  const api = results.edgeplane.ops.find((o) => o.scope === "namespace" && o.op === "create" && o.concurrency === MAX_C);
  const exist = c.phases[0];
  if (api && exist?.done)
    out.push(
      `   Baseline: pods created by the controllers ${fmtInt(exist.podsPerSec)}/s against ConfigMap creates through the API at concurrency ${MAX_C} ` +
        `${fmtInt(api.opsPerSec)}/s in this run: ratio ${fmt(exist.podsPerSec / api.opsPerSec, 2)}`,
    );
  out.push("");
}

async function main(): Promise<number> {
  let failed = false;
  if (results.machine.loadavg1mAtStart > results.machine.cpus * 0.5)
    log(`warning: load average ${results.machine.loadavg1mAtStart} on ${results.machine.cpus} cores: other work will slow the figures down`);
  // Installed first (apt-get, if missing), so the timed phases run back to back.
  const etcdBinary = !RUN_API ? undefined : SKIP_ETCD ? { skip: "BENCH_SKIP_ETCD=1" } : ensureEtcd(log);
  if (RUN_API) {
    try {
      await benchEdgeplane();
    } catch (e) {
      failed = true;
      results.findings.push(`Edgeplane bench aborted: ${String(e).slice(0, 1000)}`);
      log(`Edgeplane bench aborted: ${String(e)}`);
    }
    try {
      await benchEtcd(etcdBinary!);
    } catch (e) {
      results.findings.push(`etcd bench aborted: ${String(e).slice(0, 1000)}`);
      log(`etcd bench aborted: ${String(e)}`);
    }
  }
  try {
    if (RUN_CONTROLLERS) await benchControllers();
  } catch (e) {
    failed = true;
    results.findings.push(`controllers bench aborted: ${String(e).slice(0, 1000)}`);
    log(`controllers bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_SCHEDULER) await benchScheduler();
  } catch (e) {
    failed = true;
    results.findings.push(`scheduler bench aborted: ${String(e).slice(0, 1000)}`);
    log(`scheduler bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_PROXY) await benchProxy();
  } catch (e) {
    failed = true;
    results.findings.push(`proxy bench aborted: ${String(e).slice(0, 1000)}`);
    log(`proxy bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_EDGE) await benchEdge();
  } catch (e) {
    failed = true;
    results.findings.push(`edge bench aborted: ${String(e).slice(0, 1000)}`);
    log(`edge bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_TUNNEL) await benchTunnel();
  } catch (e) {
    failed = true;
    results.findings.push(`tunnel bench aborted: ${String(e).slice(0, 1000)}`);
    log(`tunnel bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_VOLUMES) await benchVolumes();
  } catch (e) {
    failed = true;
    results.findings.push(`volumes bench aborted: ${String(e).slice(0, 1000)}`);
    log(`volumes bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_PODSTART) await benchPodStart();
  } catch (e) {
    failed = true;
    results.findings.push(`podstart bench aborted: ${String(e).slice(0, 1000)}`);
    log(`podstart bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_FUZZ) {
      await benchFuzz();
      if (results.fuzz && results.fuzz.failures.length > 0) failed = true;
    }
  } catch (e) {
    failed = true;
    results.findings.push(`fuzz bench aborted: ${String(e).slice(0, 1000)}`);
    log(`fuzz bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_AUDIT) await benchAuditCost();
  } catch (e) {
    failed = true;
    results.findings.push(`audit cost bench aborted: ${String(e).slice(0, 1000)}`);
    log(`audit cost bench aborted: ${String(e)}`);
  }
  try {
    if (RUN_IDENTITY) await benchIdentity();
  } catch (e) {
    failed = true;
    results.findings.push(`identity bench aborted: ${String(e).slice(0, 1000)}`);
    log(`identity bench aborted: ${String(e)}`);
  } finally {
    await cleanup();
  }
  evaluate();
  noteBackgroundLoad();
  results.totalS = round((performance.now() - t0) / 1000, 1);
  const file = join(BENCH_DIR, "results", "latest.json");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  print();
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    log(`bench failed: ${String(e)}`);
    await cleanup();
    process.exit(1);
  },
);
