import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client, type Reply } from "./http.ts";
import { round, runPool, sleep, summarize, type LatencySummary } from "./stats.ts";
import { httpdDeployment } from "../test/e2e/httpd-deployment.ts";

/**
 * `npm run bench -- edge`: HTTP requests through the Worker's edge (an Ingress host, a
 * LoadBalancer Service's name: wrangler's TLS proxy -> Worker -> routing table -> the node's
 * tunnel Durable Object -> the agent -> the pod) against the same requests sent straight to the
 * pod's IP from this machine (the baseline, measured side by side), plus what the edge's routing
 * alone costs (an unknown host: a cached 404) next to the API's cheapest answer (/healthz).
 * Pods: busybox httpd serving a 2 KiB file, on a real agent (process runtime).
 */

export interface EdgeBenchConfig {
  namespace: string;
  replicas: number;
  requests: number;
  requestsSequential: number;
  concurrency: number[];
  budgetMs: number;
}

export interface EdgePhase {
  target: "direct to pod" | "edge: Ingress host" | "edge: LoadBalancer name" | "edge: unknown host (404)" | "API /healthz";
  concurrency: number;
  ok: number;
  attempted: number;
  errors: Record<string, number>;
  reqPerSec: number;
  latency: LatencySummary;
}

export interface EdgeBenchResults {
  config: EdgeBenchConfig;
  phases: EdgePhase[];
  findings: string[];
}

const BODY = "x".repeat(2047); // + newline: 2 KiB
const NODE = "bench-edge";

function manifests(ns: string, replicas: number): { path: string; body: object }[] {
  return [
    { path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: httpdDeployment({ name: "web", node: NODE, replicas, files: { "index.html": BODY } }) },
    {
      path: `/api/v1/namespaces/${ns}/services`,
      body: { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { type: "LoadBalancer", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } },
    },
    {
      path: `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
      body: {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: "web" },
        spec: { rules: [{ host: "web.bench.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { name: "http" } } } }] } }] },
      },
    },
  ];
}

async function measure(target: EdgePhase["target"], client: Client, path: string, expect: number, count: number, concurrency: number, budgetMs: number): Promise<EdgePhase> {
  const errors: Record<string, number> = {};
  const r = await runPool(count, concurrency, budgetMs, async (): Promise<Reply | undefined> => {
    try {
      const reply = await client.request("GET", path);
      if (reply.status === expect) return reply;
      errors[String(reply.status)] = (errors[String(reply.status)] ?? 0) + 1;
    } catch {
      errors["0"] = (errors["0"] ?? 0) + 1;
    }
    return undefined;
  });
  const good = r.results.filter((x): x is Reply => x !== undefined);
  return { target, concurrency, ok: good.length, attempted: r.attempted, errors, reqPerSec: round((good.length / r.elapsedMs) * 1000, 1), latency: summarize(good.map((x) => x.ms)) };
}

export async function runEdgeBench(root: string, server: { url: string; token: string }, cfg: EdgeBenchConfig, log: (s: string) => void): Promise<EdgeBenchResults> {
  const findings: string[] = [];
  const { startAgent } = (await import(join(root, "src", "agent", "agent.ts"))) as typeof import("../src/agent/agent.ts");
  const maxC = Math.max(...cfg.concurrency);
  const api = new Client({ baseUrl: server.url, token: server.token, maxSockets: 4 });
  const agent = await startAgent({ api: { server: server.url, token: server.token, insecure: true }, name: NODE, runtime: "process", dataDir: join(root, ".bench-edge-agent"), log: () => {} });
  const clients: Client[] = [api];
  try {
    await api.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: cfg.namespace } });
    for (const m of manifests(cfg.namespace, cfg.replicas)) {
      const r = await api.request("POST", m.path, m.body);
      if (r.status !== 201) throw new Error(`POST ${m.path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    }
    log(`edge: waiting for ${cfg.replicas} httpd pods and the edge to answer`);
    const lbHost = `web.${cfg.namespace}.lb.edgeplane.localhost`;
    const ingress = new Client({ baseUrl: server.url, maxSockets: maxC, headers: { host: "web.bench.example" } });
    const lb = new Client({ baseUrl: server.url, maxSockets: maxC, headers: { host: lbHost } });
    const unknown = new Client({ baseUrl: server.url, maxSockets: maxC, headers: { host: "nobody.bench.example" } });
    const health = new Client({ baseUrl: server.url, maxSockets: maxC });
    clients.push(ingress, lb, unknown, health);
    const deadline = performance.now() + 120_000;
    let podIPs: string[] = [];
    for (;;) {
      const eps = await api.request("GET", `/apis/discovery.k8s.io/v1/namespaces/${cfg.namespace}/endpointslices`);
      const items = (JSON.parse(eps.body) as { items?: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }).items ?? [];
      podIPs = items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => e.addresses[0]));
      if (podIPs.length === cfg.replicas && (await ingress.request("GET", "/").catch(() => undefined))?.status === 200) break;
      if (performance.now() > deadline) throw new Error(`edge bench: pods not ready/served within 120 s (${podIPs.length} ready)`);
      await sleep(500);
    }
    const direct = new Client({ baseUrl: `http://${podIPs[0]}:8080`, maxSockets: maxC });
    clients.push(direct);
    const phases: EdgePhase[] = [];
    for (const c of cfg.concurrency) {
      const n = c === 1 ? cfg.requestsSequential : cfg.requests;
      for (const [target, client, expect] of [
        ["direct to pod", direct, 200],
        ["edge: Ingress host", ingress, 200],
        ["edge: LoadBalancer name", lb, 200],
        ["edge: unknown host (404)", unknown, 404],
        ["API /healthz", health, 200],
      ] as const) {
        const path = target === "API /healthz" ? "/healthz" : "/";
        await measure(target, client, path, expect, Math.min(n, 20), c, cfg.budgetMs); // warm-up
        const p = await measure(target, client, path, expect, n, c, cfg.budgetMs);
        phases.push(p);
        log(`edge: ${target} at concurrency ${c}: ${p.ok}/${p.attempted} ok, ${p.reqPerSec} req/s, p50 ${round(p.latency.p50)} ms, p99 ${round(p.latency.p99)} ms`);
        const errs = Object.entries(p.errors);
        if (errs.length) findings.push(`edge: ${target} at concurrency ${c}: ${errs.map(([s, k]) => `${k} x ${s === "0" ? "transport error" : `HTTP ${s}`}`).join(", ")}`);
      }
    }
    return { config: cfg, phases, findings };
  } finally {
    for (const c of clients) c.close();
    await agent.stop();
  }
}
