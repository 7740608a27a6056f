import { LogLines } from "./log-lines.ts";
import { cpuWindow, type CpuWindow, type RoleOf } from "./cpu.ts";
import type { Client, Reply, Stream } from "./http.ts";
import { sleep, summarize, type LatencySummary } from "./stats.ts";

/**
 * The controllers bench (issue 4): a Deployment of N replicas against the real local
 * stack, with a *hollow kubelet* played by this process through the public API, then a
 * full rolling update, then the D1 cost of reconciling the unchanged ReplicaSet.
 *
 * The hollow kubelet registers a few fake Nodes, watches the namespace's pods and, with
 * a bounded pool of requests in flight: binds pods nobody bound (if a scheduler in the
 * server binds them, it leaves them alone and counts who bound what), reports every bound
 * pod Running and Ready (status subresource, merge patch), and confirms graceful
 * deletions (DELETE gracePeriodSeconds=0), as a kubelet does for a pod it stopped.
 */

type Json = Record<string, any>;

export const POD_STARTUP_SLO_P99_MS = 5000;

export interface ControllersConfig {
  namespace: string;
  replicas: number;
  nodes: number;
  /** Hollow kubelet requests in flight. */
  concurrency: number;
  /** Each phase (pods exist + ready, rollout) gives up after this long. */
  phaseBudgetMs: number;
  /** Unchanged-ReplicaSet reconciles to measure. */
  pokes: number;
}

/** One controller run of a namespace hub, from its debug log line (src/controllers/host.ts formatRunStats). */
export interface ControllerRun {
  at: number;
  namespace: string;
  passes: number;
  actions: number;
  ms: number;
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  lastPassQueries: number;
  lastPassRowsRead: number;
  lastPassRowsWritten: number;
}

const RUN_LINE =
  /controllers ns=(\S+) passes=(\d+) actions=(\d+) ms=(\d+) d1_queries=(\d+) d1_rows_read=(\d+) d1_rows_written=(\d+) last_pass_queries=(\d+) last_pass_rows_read=(\d+) last_pass_rows_written=(\d+)/;

/** Collects the controller hosts' run lines from wrangler's output (the Worker's console.debug). */
export class RunLog {
  readonly runs: ControllerRun[] = [];
  private readonly lines = new LogLines((line) => this.parse(line));

  feed(chunk: string): void {
    this.lines.feed(chunk);
  }

  private parse(line: string): void {
    const m = RUN_LINE.exec(line);
    if (!m) return;
    const n = m.slice(2).map(Number);
    this.runs.push({
      at: performance.now(),
      namespace: m[1],
      passes: n[0],
      actions: n[1],
      ms: n[2],
      queries: n[3],
      rowsRead: n[4],
      rowsWritten: n[5],
      lastPassQueries: n[6],
      lastPassRowsRead: n[7],
      lastPassRowsWritten: n[8],
    });
  }

  since(t: number, namespace: string): ControllerRun[] {
    return this.runs.filter((r) => r.at >= t && r.namespace === namespace);
  }
}

export interface PodState {
  obj: Json;
  firstSeen: number;
  readyAt?: number;
  /** Arrival/send times (performance.now()) along the pod's way to Ready, for the breakdown. */
  t: { bindSent?: number; bindDone?: number; boundSeen?: number; statusSent?: number; statusDone?: number };
  /** The bench sent its binding / status / deletion confirmation already. */
  bindSent?: boolean;
  statusSent?: boolean;
  deleteSent?: boolean;
}

const isReady = (p: Json) => (p.status?.conditions ?? []).some((c: Json) => c.type === "Ready" && c.status === "True");
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export class HollowKubelet {
  readonly pods = new Map<string, PodState>();
  readonly nodeNames: string[];
  private stream?: Stream;
  private queue = new Set<string>();
  private busy = new Set<string>();
  private again = new Set<string>();
  private inFlight = 0;
  private nextNode = 0;
  private ipCounter = 0;
  private stopped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  /** Pods the server bound (spec.nodeName set without a binding from us), and pods the bench bound. */
  boundByServer = 0;
  boundByBench = 0;
  /** Bindings the server refused because the pod was bound already (by its scheduler). */
  bindConflicts = 0;
  statusWrites = 0;
  deletesConfirmed = 0;
  readonly errors: Record<string, number> = {};
  readonly errorSamples: string[] = [];
  streamEnded = false;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    nodes: number,
    private readonly concurrency: number,
    private readonly selects: (pod: Json) => boolean,
  ) {
    this.nodeNames = Array.from({ length: nodes }, (_, i) => `hollow-node-${i}`);
  }

  private fail(what: string, r: Reply | Error): void {
    const key = r instanceof Error ? `${what} transport` : `${what} ${r.status}`;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
    if (this.errorSamples.length < 5) this.errorSamples.push(r instanceof Error ? `${what}: ${String(r).slice(0, 300)}` : `${what} -> ${r.status}: ${r.body.slice(0, 300)}`);
  }

  async start(): Promise<void> {
    for (const name of this.nodeNames) {
      const r = await this.client.request("POST", "/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { "kubernetes.io/hostname": name, "edgeplane.dev/hollow": "true" } },
        status: {
          capacity: { cpu: "64", memory: "256Gi", pods: "1000" },
          allocatable: { cpu: "64", memory: "256Gi", pods: "1000" },
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: nowIso(), lastTransitionTime: nowIso() }],
        },
      });
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating node ${name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    }
    const path = `/api/v1/namespaces/${this.namespace}/pods`;
    const list = await this.client.request("GET", path);
    if (list.status !== 200) throw new Error(`listing pods: HTTP ${list.status}: ${list.body.slice(0, 300)}`);
    const body = JSON.parse(list.body) as { items: Json[]; metadata: { resourceVersion: string } };
    for (const p of body.items) this.observe("ADDED", p, performance.now());
    this.stream = await this.client.stream(`${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${body.metadata.resourceVersion}&timeoutSeconds=3600`, (line, at) => {
      let ev: { type: string; object: Json };
      try {
        ev = JSON.parse(line);
      } catch {
        return;
      }
      if (ev.type === "ADDED" || ev.type === "MODIFIED" || ev.type === "DELETED") this.observe(ev.type, ev.object, at);
      else if (ev.type === "ERROR") this.fail("watch ERROR event", new Error(line.slice(0, 300)));
    });
  }

  private observe(type: string, pod: Json, at: number): void {
    if (!this.selects(pod)) return;
    const name = pod.metadata.name as string;
    if (type === "DELETED") {
      this.pods.delete(name);
      return;
    }
    let s = this.pods.get(name);
    if (!s) {
      s = { obj: pod, firstSeen: at, t: {} };
      this.pods.set(name, s);
    }
    const hadNode = !!s.obj.spec?.nodeName;
    s.obj = pod;
    if (!hadNode && pod.spec?.nodeName) {
      s.t.boundSeen = at;
      if (!s.bindSent) this.boundByServer++;
    }
    if (s.readyAt === undefined && isReady(pod)) s.readyAt = at;
    this.enqueue(name);
  }

  private enqueue(name: string): void {
    if (this.stopped) return;
    if (this.busy.has(name)) {
      this.again.add(name);
      return;
    }
    this.queue.add(name);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.size > 0) {
      const name = this.queue.values().next().value as string;
      this.queue.delete(name);
      this.busy.add(name);
      this.inFlight++;
      void this.handle(name).finally(() => {
        this.inFlight--;
        this.busy.delete(name);
        if (this.again.delete(name)) this.queue.add(name);
        this.pump();
      });
    }
  }

  /**
   * How long an unbound pod is left to a scheduler in the server before the bench binds it.
   * Once the server is seen binding (a pod bound without us, or our binding refused with 409
   * because it was bound already), the bench binds only what it leaves alone for a long time;
   * the watch may lag many seconds behind under load.
   */
  private bindGraceMs(): number {
    if (this.boundByServer > 0 || this.bindConflicts > 0) return 30_000;
    if (this.boundByBench > 0) return 0; // nobody else binds
    return 500; // not known yet
  }

  private later(name: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.enqueue(name);
    }, ms);
    this.timers.add(t);
  }

  private async handle(name: string): Promise<void> {
    const s = this.pods.get(name);
    if (!s) return;
    const pod = s.obj;
    const base = `/api/v1/namespaces/${this.namespace}/pods/${name}`;
    try {
      if (pod.metadata.deletionTimestamp) {
        if (s.deleteSent || !pod.spec?.nodeName) return;
        s.deleteSent = true;
        const r = await this.client.request("DELETE", `${base}?gracePeriodSeconds=0`);
        if (r.status === 200 || r.status === 202 || r.status === 404) this.deletesConfirmed++;
        else {
          s.deleteSent = false;
          this.fail("confirm deletion", r);
        }
        return;
      }
      const node = pod.spec?.nodeName as string | undefined;
      if (!node) {
        if (s.bindSent) return;
        const wait = s.firstSeen + this.bindGraceMs() - performance.now();
        if (wait > 0) return this.later(name, wait);
        s.bindSent = true;
        s.t.bindSent = performance.now();
        const target = this.nodeNames[this.nextNode++ % this.nodeNames.length];
        const r = await this.client.request("POST", `${base}/binding`, {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, uid: pod.metadata.uid },
          target: { apiVersion: "v1", kind: "Node", name: target },
        });
        if (r.status === 201 || r.status === 200) {
          this.boundByBench++;
          s.t.bindDone = r.end;
        }
        else if (r.status === 409) {
          // Bound meanwhile (by the server's scheduler): its watch event follows; not ours to count.
          this.bindConflicts++;
          s.t.bindSent = undefined;
        }
        else {
          s.bindSent = false;
          this.fail("bind", r);
        }
        return;
      }
      if (!this.nodeNames.includes(node) || isReady(pod) || s.statusSent) return;
      s.statusSent = true;
      s.t.statusSent = performance.now();
      const now = nowIso();
      const hostIP = `10.0.0.${this.nodeNames.indexOf(node) + 1}`;
      const ip = ++this.ipCounter;
      const status = {
        phase: "Running",
        hostIP,
        podIP: `10.244.${(ip >> 8) & 255}.${ip & 255}`,
        startTime: now,
        conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
        containerStatuses: (pod.spec.containers ?? []).map((c: Json) => ({
          name: c.name,
          image: c.image,
          imageID: `hollow://${c.image}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      };
      const r = await this.client.request("PATCH", `${base}/status`, { status }, "application/merge-patch+json");
      if (r.status === 200) {
        this.statusWrites++;
        s.t.statusDone = r.end;
      }
      else {
        s.statusSent = false;
        if (r.status !== 404) this.fail("status", r);
      }
    } catch (e) {
      s.bindSent = s.statusSent = s.deleteSent = false;
      this.fail("request", e as Error);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.streamEnded = this.stream?.closed ?? false;
    this.stream?.close();
  }
}

export interface PhaseFigures {
  name: string;
  pods: number;
  done: boolean;
  elapsedMs: number;
  podsPerSec: number;
  serverCpuMs: number;
  backgroundCores: number;
  serverProcessesExited: number;
  controllerRuns: number;
  controllerPasses: number;
  /** Sum of the runs' own durations (the Worker's clock, which advances at I/O): how long the host kept its hub busy. */
  controllerMs: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  note?: string;
}

export interface ReconcileFigures {
  /** Objects the host observes in the namespace (pods, ReplicaSets, Deployments) at that time. */
  objectsObserved: number;
  passes: number;
  actions: number;
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  ms: number;
}

/** Where a pod's way to Ready went (ms, p50 and p99 over the pods that have both ends). */
export interface StartupBreakdown {
  step: string;
  initial: LatencySummary;
  rollout: LatencySummary;
}

export const STARTUP_STEPS: [string, (s: PodState) => number | undefined][] = [
  ["first seen -> bound pod seen (scheduler or bench binding, + watch)", (s) => dt(s.firstSeen, s.t.boundSeen)],
  ["  bench bindings: first seen -> bind sent (grace, queue)", (s) => dt(s.firstSeen, s.t.bindDone && s.t.bindSent)],
  ["  bench bindings: bind sent -> response", (s) => dt(s.t.bindSent, s.t.bindDone)],
  ["  bench bindings: response -> bound pod seen (watch lag)", (s) => dt(s.t.bindDone, s.t.boundSeen)],
  ["bound seen -> status sent (kubelet queue)", (s) => dt(s.t.boundSeen, s.t.statusSent)],
  ["status sent -> status response", (s) => dt(s.t.statusSent, s.t.statusDone)],
  ["status response -> Ready seen (watch lag)", (s) => dt(s.t.statusDone, s.readyAt)],
];
const dt = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : b - a);

export interface ControllersResults {
  config: ControllersConfig;
  phases: PhaseFigures[];
  startup: { initial?: LatencySummary; rollout?: LatencySummary };
  startupBreakdown: StartupBreakdown[];
  kubelet: { boundByServer: number; boundByBench: number; bindConflicts: number; statusWrites: number; deletesConfirmed: number; errors: Record<string, number>; errorSamples: string[] };
  unchangedReconcile: ReconcileFigures[];
  findings: string[];
}

async function waitFor(cond: () => boolean | Promise<boolean>, budgetMs: number, stepMs = 50): Promise<boolean> {
  const deadline = performance.now() + budgetMs;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
}

const IMAGE_V1 = "registry.invalid/hollow:v1";
const IMAGE_V2 = "registry.invalid/hollow:v2";
const APP = "hollow";

export async function runControllersBench(
  client: Client,
  runLog: RunLog,
  cfg: ControllersConfig,
  log: (s: string) => void,
  roles?: RoleOf,
): Promise<ControllersResults> {
  const ns = cfg.namespace;
  const results: ControllersResults = {
    config: cfg,
    phases: [],
    startup: {},
    startupBreakdown: [],
    kubelet: { boundByServer: 0, boundByBench: 0, bindConflicts: 0, statusWrites: 0, deletesConfirmed: 0, errors: {}, errorSamples: [] },
    unchangedReconcile: [],
    findings: [],
  };
  const r = await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${ns}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);

  const kubelet = new HollowKubelet(client, ns, cfg.nodes, cfg.concurrency, (p) => p.metadata?.labels?.app === APP);
  await kubelet.start();
  const dpath = `/apis/apps/v1/namespaces/${ns}/deployments`;
  const live = () => [...kubelet.pods.values()].filter((s) => !s.obj.metadata.deletionTimestamp);
  const withImage = (image: string) => live().filter((s) => s.obj.spec?.containers?.[0]?.image === image);

  const phase = (name: string, pods: number, t0: number, end: number | undefined, cpu: CpuWindow, runs: ControllerRun[], note?: string): PhaseFigures => {
    const elapsedMs = (end ?? performance.now()) - t0;
    const f: PhaseFigures = {
      name,
      pods,
      done: end !== undefined,
      elapsedMs,
      podsPerSec: end !== undefined ? pods / (elapsedMs / 1000) : NaN,
      serverCpuMs: cpu.serverMs,
      backgroundCores: cpu.otherMs / cpu.wallMs,
      serverProcessesExited: cpu.exited,
      controllerRuns: runs.length,
      controllerPasses: runs.reduce((a, x) => a + x.passes, 0),
      controllerMs: runs.reduce((a, x) => a + x.ms, 0),
      d1RowsRead: runs.reduce((a, x) => a + x.rowsRead, 0),
      d1RowsWritten: runs.reduce((a, x) => a + x.rowsWritten, 0),
      ...(note ? { note } : {}),
    };
    results.phases.push(f);
    log(
      `controllers: ${name}: ${f.done ? `${(elapsedMs / 1000).toFixed(2)} s, ${f.podsPerSec.toFixed(0)} pods/s` : `NOT DONE after ${(elapsedMs / 1000).toFixed(1)} s`}; ` +
        `${f.controllerRuns} controller runs (${f.controllerPasses} passes, ${(f.controllerMs / 1000).toFixed(1)} s), D1 rows read ${f.d1RowsRead}, written ${f.d1RowsWritten}; other load ${f.backgroundCores.toFixed(2)} cores`,
    );
    if (!f.done) results.findings.push(`controllers: ${name} did not finish within ${cfg.phaseBudgetMs / 1000} s${note ? ` (${note})` : ""}`);
    if (f.serverProcessesExited > 0) results.findings.push(`controllers: ${name}: ${f.serverProcessesExited} server process(es) exited during the phase`);
    return f;
  };

  try {
    // 1. Create the Deployment: until N pods exist, and until N are Ready (hollow readiness).
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: APP, labels: { app: APP } },
      spec: {
        replicas: cfg.replicas,
        selector: { matchLabels: { app: APP } },
        template: { metadata: { labels: { app: APP } }, spec: { containers: [{ name: "c", image: IMAGE_V1 }] } },
      },
    };
    log(`controllers: creating Deployment ${ns}/${APP} with ${cfg.replicas} replicas (hollow kubelet: ${cfg.nodes} nodes, ${cfg.concurrency} requests in flight)`);
    let cpu = cpuWindow(roles);
    const t0 = performance.now();
    const c = await client.request("POST", dpath, deployment);
    if (c.status !== 201) throw new Error(`creating the Deployment: HTTP ${c.status}: ${c.body.slice(0, 300)}`);
    let tExist: number | undefined;
    let tReady: number | undefined;
    await waitFor(() => {
      if (tExist === undefined && live().length >= cfg.replicas) tExist = performance.now();
      if (tReady === undefined && live().filter((s) => isReady(s.obj)).length >= cfg.replicas) tReady = performance.now();
      return tReady !== undefined;
    }, cfg.phaseBudgetMs);
    const cpuAll = cpu();
    const runsCreate = runLog.since(t0, ns);
    phase(`${cfg.replicas} pods exist`, cfg.replicas, t0, tExist, cpuAll, runsCreate.filter((x) => tExist === undefined || x.at <= tExist));
    phase(`${cfg.replicas} pods Ready`, cfg.replicas, t0, tReady, cpuAll, runsCreate, `${live().filter((s) => isReady(s.obj)).length} ready`);
    const initialPods = withImage(IMAGE_V1);
    results.startup.initial = summarize(initialPods.filter((s) => s.readyAt !== undefined).map((s) => s.readyAt! - s.firstSeen));
    // The Deployment reports them available (its controller caught up).
    const available = await waitFor(async () => {
      const d = await client.request("GET", `${dpath}/${APP}`);
      if (d.status !== 200) return false;
      const st = JSON.parse(d.body).status ?? {};
      return st.availableReplicas === cfg.replicas && st.updatedReplicas === cfg.replicas;
    }, 30_000, 200);
    if (!available) results.findings.push("controllers: the Deployment did not report all replicas available within 30 s of their pods being Ready");

    // 2. Rolling update (`kubectl set image`): until all new pods are Ready and the old ReplicaSet is at 0.
    cpu = cpuWindow(roles);
    const t1 = performance.now();
    const p = await client.request(
      "PATCH",
      `${dpath}/${APP}`,
      { spec: { template: { spec: { containers: [{ name: "c", image: IMAGE_V2 }] } } } },
      "application/strategic-merge-patch+json",
    );
    if (p.status !== 200) throw new Error(`patching the Deployment's image: HTTP ${p.status}: ${p.body.slice(0, 300)}`);
    const generation = JSON.parse(p.body).metadata.generation as number;
    let why = "";
    let tRolled: number | undefined;
    await waitFor(async () => {
      const [d, rs] = await Promise.all([client.request("GET", `${dpath}/${APP}`), client.request("GET", `/apis/apps/v1/namespaces/${ns}/replicasets`)]);
      if (d.status !== 200 || rs.status !== 200) return false;
      const st = JSON.parse(d.body).status ?? {};
      const sets = (JSON.parse(rs.body).items as Json[]).map((x) => ({
        image: x.spec.template.spec.containers[0].image,
        spec: x.spec.replicas ?? 1,
        have: x.status?.replicas ?? 0,
        ready: x.status?.readyReplicas ?? 0,
      }));
      const newRs = sets.find((x) => x.image === IMAGE_V2);
      const old = sets.filter((x) => x.image !== IMAGE_V2);
      why = `deployment observedGeneration ${st.observedGeneration}/${generation}, updated ${st.updatedReplicas ?? 0}, ready ${st.readyReplicas ?? 0}, replicas ${st.replicas ?? 0}; old ReplicaSets ${JSON.stringify(old)}`;
      const done =
        (st.observedGeneration ?? 0) >= generation &&
        st.updatedReplicas === cfg.replicas &&
        st.readyReplicas === cfg.replicas &&
        st.availableReplicas === cfg.replicas &&
        st.replicas === cfg.replicas &&
        newRs !== undefined &&
        newRs.ready === cfg.replicas &&
        old.every((x) => x.spec === 0 && x.have === 0);
      if (done) tRolled = performance.now();
      return done;
    }, cfg.phaseBudgetMs, 200);
    phase(`rolling update of ${cfg.replicas}`, cfg.replicas, t1, tRolled, cpu(), runLog.since(t1, ns), tRolled ? undefined : why);
    // The hollow kubelet's watch may still be behind the server's status: let it catch up (bounded) before taking latencies.
    const caughtUp = await waitFor(() => withImage(IMAGE_V2).filter((s) => s.readyAt !== undefined).length >= cfg.replicas, 30_000);
    if (tRolled && !caughtUp) results.findings.push("controllers: the hollow kubelet's pod watch had not seen every new pod Ready 30 s after the rollout completed");
    results.startup.rollout = summarize(withImage(IMAGE_V2).filter((s) => s.readyAt !== undefined).map((s) => s.readyAt! - s.firstSeen));
    const of = (pods: PodState[], f: (s: PodState) => number | undefined) => summarize(pods.map(f).filter((x): x is number => x !== undefined));
    results.startupBreakdown = STARTUP_STEPS.map(([step, f]) => ({ step, initial: of(initialPods, f), rollout: of(withImage(IMAGE_V2), f) }));

    // 3. D1 cost of one reconcile of the unchanged ReplicaSet: poke the namespace's controller host with
    // a write it observes (a bare pod nothing selects) and take the run that follows.
    for (let i = 0; i < cfg.pokes; i++) {
      // Quiet first: no controller run for 1.5 s (bounded).
      await waitFor(() => {
        const last = runLog.since(0, ns).at(-1);
        return !last || performance.now() - last.at > 1500;
      }, 20_000, 100);
      const [pods, rss, ds] = await Promise.all([
        client.request("GET", `/api/v1/namespaces/${ns}/pods`),
        client.request("GET", `/apis/apps/v1/namespaces/${ns}/replicasets`),
        client.request("GET", dpath),
      ]);
      const objectsObserved = [pods, rss, ds].reduce((a, x) => a + (x.status === 200 ? (JSON.parse(x.body).items as unknown[]).length : 0), 0) + 1;
      const tp = performance.now();
      const poke = await client.request("POST", `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `poke-${i}`, labels: { "edgeplane.dev/bench": "poke" } },
        spec: { containers: [{ name: "c", image: "registry.invalid/poke" }] },
      });
      if (poke.status !== 201) {
        results.findings.push(`controllers: the poke pod could not be created: HTTP ${poke.status}: ${poke.body.slice(0, 200)}`);
        break;
      }
      const got = await waitFor(() => runLog.since(tp, ns).length > 0, 10_000, 20);
      if (!got) {
        results.findings.push("controllers: no controller run line seen after a poke (is the Worker's console.debug reaching wrangler's output?)");
        break;
      }
      const run = runLog.since(tp, ns)[0];
      const f: ReconcileFigures = {
        objectsObserved,
        passes: run.passes,
        actions: run.actions,
        queries: run.queries,
        rowsRead: run.rowsRead,
        rowsWritten: run.rowsWritten,
        ms: run.ms,
      };
      results.unchangedReconcile.push(f);
      log(
        `controllers: reconcile of the unchanged ReplicaSet (poke ${i + 1}): ${f.passes} pass(es), ${f.actions} actions, ${f.queries} D1 queries, ` +
          `${f.rowsRead} rows read for ${objectsObserved} objects observed, ${f.rowsWritten} rows written, ${f.ms} ms`,
      );
    }
  } finally {
    kubelet.stop();
    results.kubelet = {
      boundByServer: kubelet.boundByServer,
      boundByBench: kubelet.boundByBench,
      bindConflicts: kubelet.bindConflicts,
      statusWrites: kubelet.statusWrites,
      deletesConfirmed: kubelet.deletesConfirmed,
      errors: kubelet.errors,
      errorSamples: kubelet.errorSamples,
    };
    if (kubelet.streamEnded) results.findings.push("controllers: the server ended the hollow kubelet's pod watch");
    if (Object.keys(kubelet.errors).length)
      results.findings.push(`controllers: hollow kubelet request failures ${JSON.stringify(kubelet.errors)}; e.g. ${kubelet.errorSamples[0]}`);
  }
  return results;
}
