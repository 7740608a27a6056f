import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { WsClient } from "../src/agent/ws-client.ts";
import { freePort } from "../src/cli/local-cluster.ts";
import type { Client } from "./http.ts";
import { round, summarize, waitFor, type LatencySummary } from "./stats.ts";

/**
 * The node tunnel bench (`npm run bench -- tunnel`): a real node agent (process runtime) joined
 * only by its outbound tunnel WebSocket; every figure is taken through the control plane
 * (wrangler dev, the NodeTunnel Durable Object, the agent) and side by side straight to the
 * container on the same machine:
 *   - exec round trip: one byte to `cat` on exec stdin and back on stdout (an interactive
 *     keystroke's echo), vs the same through a local `cat`'s pipes;
 *   - exec session: WebSocket upgrade to the exit status of `true`, vs spawning `true` here;
 *   - log throughput: `GET pods/x/log` of a container that wrote LOG_MB, vs reading its log file;
 *   - port-forward throughput: a blob fetched through `kubectl port-forward`, vs from the pod's IP.
 */

export interface TunnelRow {
  what: string;
  unit: string;
  tunnel: number;
  direct: number;
  /** tunnel / direct (latency: how many times slower; throughput: the fraction kept). */
  ratio: number;
  detail?: string;
}

export interface TunnelBenchResults {
  rows: TunnelRow[];
  echo: { tunnel: LatencySummary; direct: LatencySummary };
  findings: string[];
}

type Json = Record<string, any>;

/** Downloads a URL, discarding the body: bytes, seconds, and seconds to the first body byte. */
function download(url: string, token?: string): Promise<{ bytes: number; s: number; firstS: number }> {
  const u = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(
      u,
      { headers: token ? { authorization: `Bearer ${token}` } : {}, rejectUnauthorized: false, agent: false },
      (res) => {
        let bytes = 0;
        let firstS = 0;
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        res.on("data", (c: Buffer) => {
          if (bytes === 0) firstS = (performance.now() - t0) / 1000;
          bytes += c.byteLength;
        });
        res.on("end", () => resolve({ bytes, s: (performance.now() - t0) / 1000, firstS }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Echo round trips of one byte through a writer/reader pair. */
async function echoRounds(n: number, write: (b: Buffer) => void, onData: (cb: (d: Buffer) => void) => void): Promise<number[]> {
  const times: number[] = [];
  let waiting: (() => void) | undefined;
  onData(() => waiting?.());
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      waiting = resolve;
      write(Buffer.from("x"));
    });
    times.push(performance.now() - t0);
  }
  return times;
}

const STDIN = 0;
const STDOUT = 1;
const STATUS = 3;

export async function runTunnelBench(
  root: string,
  api: { url: string; token: string; kubeconfig: string },
  client: Client,
  o: { echoes: number; sessions: number; logMB: number; blobMB: number },
  log: (s: string) => void,
): Promise<TunnelBenchResults> {
  const { startAgent } = (await import(join(root, "src", "agent", "agent.ts"))) as typeof import("../src/agent/agent.ts");
  const node = "bench-tunnel";
  const ns = "bench-tunnel";
  const agent = await startAgent({ api: { server: api.url, token: api.token, insecure: true }, name: node, runtime: "process", dataDir: join(root, ".bench-tunnel-agent"), metricsMs: 0, log: () => {} });
  const findings: string[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  try {
    const post = async (path: string, body: Json) => {
      const r = await client.request("POST", path, body);
      if (r.status !== 201 && r.status !== 409) throw new Error(`POST ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    };
    const get = async (path: string) => {
      const r = await client.request("GET", path);
      return r.status === 200 ? (JSON.parse(r.body) as Json) : undefined;
    };
    await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const port = await freePort();
    const blob = `const b=Buffer.alloc(65536,120);require("http").createServer((q,s)=>{let n=${o.blobMB * 16};s.writeHead(200,{"content-length":n*65536});` +
      `const w=()=>{while(n>0){n--;if(!s.write(b))return s.once("drain",w)}s.end()};w()}).listen(${port})`;
    const logger = `const l="x".repeat(99)+"\\n";let n=${o.logMB * 10486};const w=()=>{while(n>0){n--;if(!process.stdout.write(l))return process.stdout.once("drain",w)}` +
      `process.stdout.write("done\\n");setInterval(()=>{},1e9)};w()`;
    const pod = (name: string, command: string[]) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns },
      spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "busybox", command }] },
    });
    await post(`/api/v1/namespaces/${ns}/pods`, pod("srv", [process.execPath, "-e", blob]));
    await post(`/api/v1/namespaces/${ns}/pods`, pod("logger", [process.execPath, "-e", logger]));
    const running = (name: string) =>
      waitFor(`${name} Running`, async () => {
        const p = await get(`/api/v1/namespaces/${ns}/pods/${name}`);
        return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
      });
    const srv = await running("srv");
    await running("logger");
    await waitFor("the logger's last line", async () => {
      const r = await client.request("GET", `/api/v1/namespaces/${ns}/pods/logger/log?tailLines=1`);
      return r.status === 200 && r.body === "done\n" ? true : undefined;
    }, 120_000);
    const rows: TunnelRow[] = [];

    // 1. Exec echo round trips: `cat` through the tunnel vs a local `cat`.
    const wsBase = `${api.url}/api/v1/namespaces/${ns}/pods/srv`;
    const headers = { authorization: `Bearer ${api.token}`, "sec-websocket-protocol": "v5.channel.k8s.io" };
    const ws = await WsClient.connect(`${wsBase}/exec?command=cat&stdin=true&stdout=true&stderr=true`, { headers, insecure: true });
    const tunnelEcho = await echoRounds(
      o.echoes,
      (b) => ws.send(Buffer.concat([Buffer.from([STDIN]), b])),
      (cb) => ws.on("message", (d: Buffer) => d[0] === STDOUT && cb(d.subarray(1))),
    );
    ws.close(1000, "done");
    const cat = spawn("cat", [], { stdio: ["pipe", "pipe", "ignore"] });
    children.push(cat);
    const directEcho = await echoRounds(o.echoes, (b) => cat.stdin!.write(b), (cb) => cat.stdout!.on("data", cb));
    cat.stdin!.end();
    const echo = { tunnel: summarize(tunnelEcho), direct: summarize(directEcho) };
    rows.push({ what: "exec stdin->stdout echo p50", unit: "ms", tunnel: echo.tunnel.p50, direct: echo.direct.p50, ratio: round(echo.tunnel.p50 / echo.direct.p50, 1), detail: `${o.echoes} round trips` });
    rows.push({ what: "exec stdin->stdout echo p99", unit: "ms", tunnel: echo.tunnel.p99, direct: echo.direct.p99, ratio: round(echo.tunnel.p99 / echo.direct.p99, 1) });

    // 2. Exec sessions: upgrade -> status of `true`, vs spawning `true` here.
    const session = async () => {
      const t0 = performance.now();
      const s = await WsClient.connect(`${wsBase}/exec?command=true&stdout=true&stderr=true`, { headers, insecure: true });
      await new Promise<void>((resolve) => s.on("message", (d: Buffer) => d[0] === STATUS && resolve()));
      s.close(1000, "done");
      return performance.now() - t0;
    };
    const local = () =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        spawn("true").once("exit", () => resolve(performance.now() - t0));
      });
    const viaTunnel: number[] = [];
    const here: number[] = [];
    for (let i = 0; i < o.sessions; i++) {
      viaTunnel.push(await session());
      here.push(await local());
    }
    const st = summarize(viaTunnel);
    const sd = summarize(here);
    rows.push({ what: "exec session (true) p50", unit: "ms", tunnel: st.p50, direct: sd.p50, ratio: round(st.p50 / sd.p50, 1), detail: `${o.sessions} sessions` });

    // 3. Log throughput: the whole log through the API vs reading the container's log file here.
    log(`tunnel: log of ${o.logMB} MB`);
    const viaApi = await download(`${api.url}/api/v1/namespaces/${ns}/pods/logger/log`, api.token);
    const loggerPod = (await get(`/api/v1/namespaces/${ns}/pods/logger`))!;
    const logDir = join(root, ".bench-tunnel-agent", "agent", "logs", loggerPod.metadata.uid, "c");
    const t0 = performance.now();
    let fileBytes = 0;
    for (const f of readdirSync(logDir)) fileBytes += readFileSync(join(logDir, f)).byteLength;
    const fileS = (performance.now() - t0) / 1000;
    const logTunnel = viaApi.bytes / 2 ** 20 / viaApi.s;
    const logDirect = fileBytes / 2 ** 20 / fileS;
    rows.push({ what: "log throughput", unit: "MB/s", tunnel: round(logTunnel, 1), direct: round(logDirect, 1), ratio: round(logTunnel / logDirect, 3), detail: `${round(viaApi.bytes / 2 ** 20, 1)} MB in ${round(viaApi.s, 2)} s (first byte after ${round(viaApi.firstS, 2)} s); ${round(fileBytes / 2 ** 20, 1)} MB of CRI files read` });

    // 4. Port-forward throughput: kubectl port-forward vs the pod's IP.
    const localPort = await freePort();
    const pf = spawn("kubectl", ["--kubeconfig", api.kubeconfig, "-n", ns, "port-forward", "pod/srv", `${localPort}:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(pf);
    let pfOut = "";
    pf.stdout!.on("data", (d) => (pfOut += d));
    pf.stderr!.on("data", (d) => (pfOut += d));
    await waitFor(`kubectl port-forward ready (${pfOut})`, async () => (pfOut.includes("Forwarding from") ? true : undefined), 30_000);
    const best = async (url: string) => {
      let top = 0;
      for (let i = 0; i < 3; i++) {
        const d = await download(url);
        if (d.bytes !== o.blobMB * 2 ** 20) throw new Error(`GET ${url}: ${d.bytes} bytes, expected ${o.blobMB * 2 ** 20}`);
        top = Math.max(top, d.bytes / 2 ** 20 / d.s);
      }
      return top;
    };
    log(`tunnel: port-forward, ${o.blobMB} MB x 3`);
    const pfTunnel = await best(`http://127.0.0.1:${localPort}/`);
    const pfDirect = await best(`http://${srv.status.podIP}:${port}/`);
    rows.push({ what: "port-forward throughput (best of 3)", unit: "MB/s", tunnel: round(pfTunnel, 1), direct: round(pfDirect, 1), ratio: round(pfTunnel / pfDirect, 3), detail: `${o.blobMB} MB blob over HTTP` });
    return { rows, echo, findings };
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await agent.stop();
  }
}
