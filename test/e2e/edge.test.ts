import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, ok, startCluster, waitForOutput, startTestAgent } from "./cluster.ts";
import { httpdDeployment } from "./httpd-deployment.ts";

/**
 * The Worker's edge with the real stack: wrangler dev (HTTPS), a real agent (process runtime,
 * pods in their own network namespaces) serving busybox httpd pods, kubectl, and curl sending
 * requests with the Host header of an Ingress or a LoadBalancer Service to the control plane's
 * own address. `API_HOSTS` names the API's host, so `/api` paths on other hosts are the edge's.
 */

const NODE = "edge-node";

/** `<app> <pod name>` at /, `<app>-api <pod name>` at /api/; unready while /tmp/edge-<pod>/unready exists. */
const deployment = (name: string, replicas: number) =>
  httpdDeployment({ name, node: NODE, replicas, readinessFile: true, zerosMiB: 16, files: { "index.html": `${name} $POD_NAME`, "api/index.html": `${name}-api $POD_NAME` } });

const service = (name: string, type = "ClusterIP", app = name) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { type, selector: { app }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
});

const ingress = {
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "site" },
  spec: {
    tls: [{ hosts: ["web.example"], secretName: "web-tls" }],
    rules: [
      {
        host: "web.example",
        http: {
          paths: [
            { path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { name: "http" } } } },
            { path: "/api", pathType: "Prefix", backend: { service: { name: "api", port: { number: 80 } } } },
            { path: "/gone", pathType: "Exact", backend: { service: { name: "nothing", port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
};

interface CurlResult {
  status: number;
  body: string;
}

/** curl -k -H 'Host: <host>' https://127.0.0.1:<port><path> */
function curl(cluster: LocalCluster, host: string, path: string): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sk", "-m", "20", "-H", `Host: ${host}`, "-w", "\n%{http_code}", `https://127.0.0.1:${cluster.port}${path}`], (err, stdout) => {
      if (err && !stdout) return reject(err);
      const nl = stdout.lastIndexOf("\n");
      resolve({ status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) });
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms${last ? ` (${last})` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Which pods answer `path` on `host` over `n` requests. */
async function answering(cluster: LocalCluster, host: string, path: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await curl(cluster, host, path);
    if (r.status === 200) seen.add(r.body.trim());
  }
  return seen;
}

const readyPods = async (cluster: LocalCluster, app: string) =>
  (await kubectl(cluster, ["get", "pods", "-l", `app=${app}`, "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"])).stdout
    .trim()
    .split(" ")
    .filter((s) => s.endsWith("=True"))
    .map((s) => s.split("=")[0]);

describe("edge: Ingress and LoadBalancer Services served at the Worker", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;

  before(async () => {
    cluster = await startCluster({ API_HOSTS: "api.edgeplane.localhost" });
    agent = await startTestAgent(cluster, { name: NODE, runtime: "process" });
    const manifest = [deployment("web", 2), deployment("api", 1), service("web"), service("api"), service("front", "LoadBalancer", "web"), ingress]
      .map((o) => JSON.stringify(o))
      .join("\n");
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    await until("web and api pods ready", async () => ((await readyPods(cluster, "web")).length === 2 && (await readyPods(cluster, "api")).length === 1 ? true : undefined), 120_000);
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("kubectl shows the Ingress's ADDRESS and the LoadBalancer Service's EXTERNAL-IP", async () => {
    const ing = await waitForOutput(cluster, ["get", "ingress", "site"], (out) => out.includes("site.default.ingress.edgeplane.localhost"));
    assert.match(ing, /site\s+<none>\s+web\.example\s+site\.default\.ingress\.edgeplane\.localhost\s+80, 443/);
    const svc = await waitForOutput(cluster, ["get", "svc", "front"], (out) => out.includes("front.default.lb.edgeplane.localhost"));
    assert.match(svc, /front\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+front\.default\.lb\.edgeplane\.localhost\s+80:3\d{4}\/TCP/);
  });

  it("curl with the Ingress's Host reaches the pods; paths pick the Service; pods answer round-robin", async () => {
    const webPods = await readyPods(cluster, "web");
    const seen = await until("both web pods answer", async () => {
      const s = await answering(cluster, "web.example", "/", 6);
      return s.size === 2 ? s : undefined;
    });
    assert.deepEqual([...seen].sort(), webPods.map((p) => `web ${p}`).sort());
    const [apiPod] = await readyPods(cluster, "api");
    const api = await curl(cluster, "web.example", "/api/");
    assert.equal(api.status, 200);
    assert.equal(api.body.trim(), `api-api ${apiPod}`);
    // The API's own host still serves the API, and the IP the kubeconfig uses too.
    assert.equal(ok(await kubectl(cluster, ["get", "ns", "default", "-o", "name"])).trim(), "namespace/default");
    const apiHost = await curl(cluster, "api.edgeplane.localhost", "/version");
    assert.equal(apiHost.status, 200);
    assert.match(apiHost.body, /"gitVersion"/);
  });

  it("a large response (16 MiB) arrives whole to a rate-limited client", async () => {
    // Locally wrangler's proxy reads the Worker's response eagerly, so this checks the stream end to end (frames,
    // acks, integrity), not the flow control itself: test/workers/edge.test.ts sees the acks follow the client's reads.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "curl",
        ["-sk", "-m", "60", "--limit-rate", "4M", "-H", "Host: web.example", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", `https://127.0.0.1:${cluster.port}/zeros`],
        (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)),
      ),
    );
    assert.equal(out, `200 ${16 * 1024 * 1024}`);
  });

  it("the LoadBalancer Service answers at its hostname", async () => {
    let last: CurlResult | undefined;
    const r = await until("front answers", async () => {
      last = await curl(cluster, "front.default.lb.edgeplane.localhost", "/");
      return last.status === 200 ? last : undefined;
    }, 30_000).catch((e) => assert.fail(`${e}; last answer ${last?.status} ${last?.body}`));
    assert.match(r.body, /^web web-/);
  });

  it("scaling and readiness change which pods answer", async () => {
    ok(await kubectl(cluster, ["scale", "deployment", "web", "--replicas=3"]));
    const three = await until("three web pods answer", async () => {
      if ((await readyPods(cluster, "web")).length !== 3) return undefined;
      const s = await answering(cluster, "web.example", "/", 9);
      return s.size === 3 ? s : undefined;
    }, 120_000);
    assert.equal(three.size, 3);
    const [victim] = await readyPods(cluster, "web");
    ok(await kubectl(cluster, ["exec", victim, "--", "touch", `/tmp/edge-${victim}/unready`]));
    await until(`${victim} unready`, async () => (!(await readyPods(cluster, "web")).includes(victim) ? true : undefined));
    // Within the routing table's second, the unready pod stops answering.
    const rest = await until("only the ready pods answer", async () => {
      const s = await answering(cluster, "web.example", "/", 9);
      return s.size === 2 && ![...s].some((b) => b.endsWith(victim)) ? s : undefined;
    });
    assert.equal(rest.size, 2);
  });

  it("no ready endpoints: 503 with a clear body; unknown host and unmatched path: 404", async () => {
    ok(await kubectl(cluster, ["scale", "deployment", "api", "--replicas=0"]));
    const down = await until("api has no endpoints", async () => {
      const r = await curl(cluster, "web.example", "/api/");
      return r.status === 503 ? r : undefined;
    });
    const status = JSON.parse(down.body);
    assert.equal(status.reason, "ServiceUnavailable");
    assert.equal(status.message, 'service "default/api" has no ready endpoints for port http');
    const missing = await curl(cluster, "web.example", "/gone");
    assert.equal(missing.status, 503);
    assert.equal(JSON.parse(missing.body).message, 'service "default/nothing" not found');
    const unknown = await curl(cluster, "nobody.example", "/");
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).message, 'no Ingress or LoadBalancer Service serves host "nobody.example"');
  });

  it("another namespace cannot claim the host (422)", async () => {
    ok(await kubectl(cluster, ["create", "namespace", "other"]));
    const r = await kubectl(cluster, ["apply", "--validate=false", "-n", "other", "-f", "-"], { input: JSON.stringify(ingress) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.rules\[0\]\.host: Invalid value: "web\.example": host is already claimed by an Ingress in another namespace/);
  });
});
