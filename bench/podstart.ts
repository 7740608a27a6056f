import { execFile } from "node:child_process";
import { join } from "node:path";
import type { Client } from "./http.ts";
import { round, runPool, sleep, summarize, type LatencySummary } from "./stats.ts";

/**
 * Pod startup on one real node (`npm run bench -- podstart`): for each runtime (podman, then
 * process), a node agent in this process and N pods created through the API (nodeSelector on the
 * node, so the scheduler places them), `requests` in flight; each pod's startup is the time from
 * its create request to the watch event that shows it Running with its container started
 * (kube's pod startup SLI, images already present). Figures: p50/p90/p99/max, pods/s, and where
 * the time went (create -> scheduled, scheduled -> Running) from the same watch.
 */

export interface PodStartRow {
  runtime: string;
  /** "one at a time": each create waits for the previous pod to be Running; "burst": `concurrency` creates in flight. */
  mode: "one at a time" | "burst";
  pods: number;
  running: number;
  concurrency: number;
  totalS: number;
  podsPerSec: number;
  startup: LatencySummary;
  /** create request -> the pod bound to the node (scheduler), and bound -> Running (agent + runtime). */
  toBound: LatencySummary;
  boundToRunning: LatencySummary;
  /** podman processes the runtime started during the phase, per pod, and by kind (none: the runtime does not count). */
  processesPerPod?: number;
  processes?: Record<string, number>;
  /** CPU seconds this process used during the phase (the node agent runs in it, with the bench's client and watch). */
  agentCpuS: number;
}

export interface PodStartResults {
  rows: PodStartRow[];
  findings: string[];
}

type Json = Record<string, any>;

function removePodmanContainers(node: string): Promise<void> {
  return new Promise((resolve) =>
    execFile("sh", ["-c", `podman ps -aq --filter label=edgeplane.dev/node=${node} | xargs -r podman rm -f -t 0`], { timeout: 180_000 }, () => resolve()),
  );
}

export async function runPodStartBench(
  root: string,
  api: { url: string; token: string },
  client: Client,
  o: { pods: number; concurrency: number; oneAtATime: number; runtimes: string[]; budgetMs: number },
  log: (s: string) => void,
): Promise<PodStartResults> {
  const { startAgent } = (await import(join(root, "src", "agent", "agent.ts"))) as typeof import("../src/agent/agent.ts");
  const rows: PodStartRow[] = [];
  const findings: string[] = [];
  for (const runtime of o.runtimes) {
    const node = `bench-podstart-${runtime}`;
    const ns = node;
    let agent: Awaited<ReturnType<typeof startAgent>>;
    try {
      agent = await startAgent({ api: { server: api.url, token: api.token, insecure: true }, name: node, runtime: runtime as "podman" | "process", dataDir: join(root, `.bench-podstart-${runtime}`), metricsMs: 0, log: () => {} });
    } catch (e) {
      findings.push(`podstart: the ${runtime} runtime could not start here: ${String(e).slice(0, 300)}`);
      continue;
    }
    try {
      const created = await client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      if (created.status !== 201 && created.status !== 409) throw new Error(`namespace: HTTP ${created.status}`);
      const sent = new Map<string, number>();
      const bound = new Map<string, number>();
      const running = new Map<string, number>();
      let resourceVersion = "";
      const onLine = (line: string, at: number) => {
        const e = JSON.parse(line) as { type: string; object: Json };
        if (e.object?.metadata?.resourceVersion) resourceVersion = e.object.metadata.resourceVersion;
        const name = e.object?.metadata?.name;
        if (!name || e.type === "BOOKMARK") return;
        if (e.object.spec?.nodeName && !bound.has(name)) bound.set(name, at);
        if (e.object.status?.phase === "Running" && e.object.status?.containerStatuses?.[0]?.state?.running && !running.has(name)) running.set(name, at);
      };
      const path = () => `/api/v1/namespaces/${ns}/pods?watch=true&allowWatchBookmarks=true${resourceVersion ? `&resourceVersion=${resourceVersion}` : ""}`;
      let watch = await client.stream(path(), onLine);
      const image = runtime === "podman" ? "localhost/busybox:latest" : "busybox";
      const phase = async (mode: PodStartRow["mode"], pods: number, concurrency: number) => {
        const prefix = mode === "burst" ? "p" : "s";
        log(`podstart: ${runtime}: creating ${pods} pods on ${node} (${mode}, ${concurrency} in flight)`);
        const t0 = performance.now();
        const before = agent.processCounts?.() ?? {};
        const cpu0 = process.cpuUsage();
        const untilRunning = async (names: string[], deadline: number) => {
          while (names.some((n) => !running.has(n)) && Date.now() < deadline) {
            // A watch the server ended is resumed from the last resourceVersion seen.
            if (watch.closed) watch = await client.stream(path(), onLine);
            await sleep(mode === "burst" ? 200 : 5);
          }
        };
        await runPool(pods, concurrency, o.budgetMs, async (i) => {
          const name = `${prefix}-${i}`;
          sent.set(name, performance.now());
          const r = await client.request("POST", `/api/v1/namespaces/${ns}/pods`, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name },
            spec: {
              nodeSelector: { "kubernetes.io/hostname": node },
              terminationGracePeriodSeconds: 0,
              enableServiceLinks: false,
              containers: [{ name: "c", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }],
            },
          });
          if (r.status !== 201) throw new Error(`create ${name}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          if (mode === "one at a time") await untilRunning([name], Date.now() + 60_000);
          return r;
        });
        const names = [...sent.keys()].filter((n) => n.startsWith(`${prefix}-`));
        await untilRunning(names, Date.now() + o.budgetMs);
        const totalS = (performance.now() - t0) / 1000;
        const runningHere = names.filter((n) => running.has(n)).length;
        const of = (m: Map<string, number>, from: Map<string, number>) => names.filter((n) => m.has(n) && from.has(n)).map((n) => m.get(n)! - from.get(n)!);
        const startup = summarize(of(running, sent));
        const cpu = process.cpuUsage(cpu0);
        const after = agent.processCounts?.();
        const processes: Record<string, number> | undefined = after
          ? Object.fromEntries(Object.entries(after).map(([k, n]): [string, number] => [k, n - (before[k] ?? 0)]).filter(([, n]) => n > 0))
          : undefined;
        const spawned = processes ? Object.values(processes).reduce((a, b) => a + b, 0) : undefined;
        rows.push({
          runtime,
          mode,
          pods,
          running: runningHere,
          concurrency,
          totalS: round(totalS, 1),
          podsPerSec: round(runningHere / totalS, 1),
          startup,
          toBound: summarize(of(bound, sent)),
          boundToRunning: summarize(of(running, bound)),
          ...(processes && spawned !== undefined ? { processes, processesPerPod: round(spawned / pods, 2) } : {}),
          agentCpuS: round((cpu.user + cpu.system) / 1e6, 1),
        });
        log(
          `podstart: ${runtime} (${mode}): ${runningHere}/${pods} Running in ${totalS.toFixed(1)} s; startup p50 ${startup.p50.toFixed(0)} ms, p99 ${startup.p99.toFixed(0)} ms` +
            (processes ? `; processes started: ${JSON.stringify(processes)}` : "") +
            `; agent process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
        );
        if (runningHere < pods) findings.push(`podstart: ${runtime} (${mode}): only ${runningHere} of ${pods} pods Running within ${o.budgetMs / 1000} s`);
      };
      if (o.oneAtATime > 0) {
        await phase("one at a time", o.oneAtATime, 1);
        // Their room on the node (110 pods) goes back before the burst.
        await Promise.all([...sent.keys()].filter((n) => n.startsWith("s-")).map((n) => client.request("DELETE", `/api/v1/namespaces/${ns}/pods/${n}?gracePeriodSeconds=0`)));
        const gone = Date.now() + 120_000;
        while (Date.now() < gone) {
          const list = JSON.parse((await client.request("GET", `/api/v1/namespaces/${ns}/pods`)).body) as { items: Json[] };
          if (!list.items.some((p) => String(p.metadata.name).startsWith("s-"))) break;
          await sleep(500);
        }
      }
      await phase("burst", o.pods, o.concurrency);
      watch.close();
    } finally {
      // The agent stops its containers (podman: in batches), then anything left goes in one bulk removal.
      await agent.stop();
      if (runtime === "podman") await removePodmanContainers(node);
      await client.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => undefined);
    }
  }
  return { rows, findings };
}
