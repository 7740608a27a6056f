import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "./http.ts";
import { round, waitFor } from "./stats.ts";

/**
 * The Services data plane bench (`npm run bench -- proxy`): a real node agent (process runtime,
 * per-pod network namespaces) runs one backend pod (a Node HTTP server answering its name) and a
 * client pod; a load generator in the client pod's network namespace sends HTTP requests for a
 * fixed time, straight to the pod IP (the baseline), through the Service's cluster IP and through
 * its node port on the node's address. Figures: requests/s and p50/p99, and each path's ratio to
 * the direct one measured side by side, with keep-alive connections and with a new connection per
 * request (where the proxy's per-connection work shows).
 */

export interface ProxyRow {
  path: "direct" | "cluster IP" | "node port";
  connections: "keep-alive" | "new per request";
  concurrency: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** rps / the direct path's rps with the same connections. */
  ratio: number;
}

export interface ProxyBenchResults {
  rows: ProxyRow[];
  findings: string[];
}

type Json = Record<string, any>;

function load(netns: string, root: string, url: string, concurrency: number, seconds: number, mode: string): Promise<Json> {
  const args = [`--net=${netns}`, "--", process.execPath, "--import", "tsx", fileURLToPath(new URL("./proxy-load.ts", import.meta.url)), url, String(concurrency), String(seconds), mode];
  return new Promise((resolve, reject) => {
    execFile("nsenter", args, { cwd: root, timeout: (seconds + 60) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`load generator: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()!));
    });
  });
}

export async function runProxyBench(
  root: string,
  api: { url: string; token: string },
  client: Client,
  o: { seconds: number; concurrency: number; closeConcurrency: number },
  log: (s: string) => void,
): Promise<ProxyBenchResults> {
  if (process.getuid?.() !== 0) throw new Error("the proxy bench needs root (per-pod network namespaces, iptables)");
  const { startAgent } = (await import(join(root, "src", "agent", "agent.ts"))) as typeof import("../src/agent/agent.ts");
  const { internalIP } = (await import(join(root, "src", "agent", "host-info.ts"))) as typeof import("../src/agent/host-info.ts");
  const { netnsName, nodeTag } = (await import(join(root, "src", "agent", "runtime-plan.ts"))) as typeof import("../src/agent/runtime-plan.ts");
  const node = "bench-proxy";
  const ns = "bench-proxy";
  const agent = await startAgent({ api: { server: api.url, token: api.token, insecure: true }, name: node, runtime: "process", dataDir: join(root, ".bench-agent"), metricsMs: 0, log: () => {} });
  const findings: string[] = [];
  try {
    const post = async (path: string, body: Json) => {
      const r = await client.request("POST", path, body);
      if (r.status !== 201 && r.status !== 409) throw new Error(`POST ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body) as Json;
    };
    await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const server = `require("http").createServer((q, s) => s.end(process.env.HOSTNAME + "\\n")).listen(8080)`;
    const pod = (name: string, labels: Json, command: string[]) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels },
      spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "localhost/busybox:latest", command }] },
    });
    await post(`/api/v1/namespaces/${ns}/pods`, pod("backend", { app: "backend" }, [process.execPath, "-e", server]));
    await post(`/api/v1/namespaces/${ns}/pods`, pod("client", {}, ["sleep", "100000"]));
    await post(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "backend", namespace: ns },
      spec: { type: "NodePort", selector: { app: "backend" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const get = async (path: string) => {
      const r = await client.request("GET", path);
      return r.status === 200 ? (JSON.parse(r.body) as Json) : undefined;
    };
    const running = (name: string) => waitFor(`${name} Running`, async () => {
      const p = await get(`/api/v1/namespaces/${ns}/pods/${name}`);
      return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
    });
    const backend = await running("backend");
    const clientPod = await running("client");
    const svc = (await get(`/api/v1/namespaces/${ns}/services/backend`))!;
    const urls = {
      direct: `http://${backend.status.podIP}:8080/`,
      "cluster IP": `http://${svc.spec.clusterIP}:80/`,
      "node port": `http://${internalIP()}:${svc.spec.ports[0].nodePort}/`,
    } as const;
    const netns = `/run/netns/${netnsName(nodeTag(node), clientPod.metadata.uid)}`;
    // Every path answers before measuring (the proxy has seen the endpoint).
    for (const [path, url] of Object.entries(urls)) {
      let last = "";
      await waitFor(`${path} answering (${url}): ${last}`, async () => {
        const r = await load(netns, root, url, 1, 0.2, "keepalive").catch((e: Error) => void (last = e.message));
        if (r) last = JSON.stringify(r);
        return r && r.requests > 0 && r.errors === 0 ? r : undefined;
      }, 60_000).catch((e: Error) => {
        throw new Error(`${e.message}; last try: ${last}`);
      });
    }
    const rows: ProxyRow[] = [];
    for (const [connections, mode, concurrency] of [
      ["keep-alive", "keepalive", o.concurrency],
      ["new per request", "close", o.closeConcurrency],
    ] as const) {
      let direct = 0;
      for (const path of ["direct", "cluster IP", "node port"] as const) {
        log(`proxy: ${path}, ${connections}, ${concurrency} in flight, ${o.seconds} s`);
        const r = await load(netns, root, urls[path], concurrency, o.seconds, mode);
        if (path === "direct") direct = r.rps;
        rows.push({ path, connections, concurrency, requests: r.requests, errors: r.errors, rps: round(r.rps, 0), p50: round(r.p50, 2), p99: round(r.p99, 2), ratio: round(r.rps / direct, 2) });
        if (r.errors) findings.push(`proxy: ${path} (${connections}): ${r.errors} failed requests`);
      }
    }
    return { rows, findings };
  } finally {
    await agent.stop();
  }
}
