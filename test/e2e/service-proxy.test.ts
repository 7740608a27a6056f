import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import { internalIP } from "../../src/agent/host-info.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { getJson, kubectl, ok, startCluster, waitForObject } from "./cluster.ts";

/**
 * The Services data plane on a real node agent (process and podman runtimes, per-pod network namespaces):
 * a client pod reaches a Deployment's pods through the Service's cluster IP (balanced over both
 * replicas), by DNS name, and through the node port on the node's address; readiness failures
 * remove an endpoint, scaling adds one, ClientIP affinity sticks.
 */

type Json = Record<string, any>;
const NS = "shop";

// Each replica serves its pod name; /healthz.html is its readiness.
const web = (replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "httpd",
            image: "localhost/busybox:latest",
            command: ["sh", "-c", 'echo "$HOSTNAME" > index.html && echo ok > healthz.html && exec busybox httpd -f -p 8080 -h .'],
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/healthz.html", port: "http" }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
    },
  },
});

const services = [
  { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } },
  { apiVersion: "v1", kind: "Service", metadata: { name: "web-np", namespace: NS }, spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] } },
];

const client = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "client", namespace: NS },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "localhost/busybox:latest", command: ["sleep", "100000"] }] },
};

async function apply(cluster: LocalCluster, objects: Json[]): Promise<void> {
  ok(await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") }));
}

/**
 * `n` requests from the client pod to `http://<target>/` (one exec), each answer's body on its own
 * line ("ERR" for a failed one). The process runtime runs the node's GNU wget; in the podman
 * busybox image wget crashes (static glibc), so there the request is made with nc (IP targets).
 */
async function fromClient(cluster: LocalCluster, runtime: string, target: string, n: number): Promise<string[]> {
  const [host, port = "80"] = target.split(":");
  const one =
    runtime === "process"
      ? `wget -q -T 5 -t 1 -O - http://${target}/ || echo ERR`
      : `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} ${port} | tail -n 1); [ -n "$out" ] && echo "$out" || echo ERR`;
  const script = `for i in $(seq ${n}); do ${one}; done`;
  const out = ok(await kubectl(cluster, ["exec", "-n", NS, "client", "--", "sh", "-c", script], { timeoutMs: 120_000 }));
  return out.trim().split("\n");
}

const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());

async function readyWebPods(cluster: LocalCluster, n: number): Promise<string[]> {
  const list = await waitForObject(
    cluster,
    ["pods", "-n", NS, "-l", "app=web"],
    (o) => (o?.items ?? []).filter((p: Json) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: Json) => c.type === "Ready" && c.status === "True")).length === n,
    `${n} ready web pods`,
    90_000,
  );
  return list.items.filter((p: Json) => !p.metadata.deletionTimestamp).map((p: Json) => p.metadata.name).sort();
}

/** Polls requests through `url` until the set of answering pods is exactly `pods`. */
async function waitForBackends(cluster: LocalCluster, runtime: string, target: string, pods: string[], what: string): Promise<Map<string, number>> {
  const deadline = Date.now() + 60_000;
  let last = new Map<string, number>();
  while (Date.now() < deadline) {
    last = count(await fromClient(cluster, runtime, target, 3 * pods.length));
    if ([...last.keys()].sort().join(",") === pods.join(",")) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: answers came from ${JSON.stringify([...last])}, expected ${pods.join(",")}`);
}

for (const runtime of ["process", "podman"] as const) {
  describe(`services data plane (cluster IP, node port, DNS), ${runtime} runtime`, { skip: process.getuid?.() !== 0 ? "needs root (network namespaces, iptables)" : undefined }, () => {
    const NODE = `proxy-${runtime}`;
    let cluster: LocalCluster;
    let agent: RunningAgent;
    let clusterIP: string;
    let nodePort: number;
    const logs: string[] = [];

    before(async () => {
      // scripts/setup-podman.sh: idempotent, under a second once podman is installed (as the podman suite does).
      if (runtime === "podman") execFileSync("bash", [join(import.meta.dirname, "..", "..", "scripts", "setup-podman.sh")], { stdio: "ignore" });
      cluster = await startCluster();
      const api = { server: cluster.url, token: cluster.token, insecure: true };
      agent = await startAgent({ api, name: NODE, runtime, dataDir: mkdtempSync(join(tmpdir(), "edgeplane-proxy-")), statusUpdateMs: 1000, log: (l) => logs.push(l) });
      ok(await kubectl(cluster, ["create", "namespace", NS]));
      await apply(cluster, [web(2), ...services, client]);
      clusterIP = (await waitForObject(cluster, ["svc", "-n", NS, "web"], (s) => !!s?.spec?.clusterIP, "cluster IP")).spec.clusterIP;
      nodePort = (await getJson(cluster, ["svc", "-n", NS, "web-np"]))!.spec.ports[0].nodePort;
      await waitForObject(cluster, ["pod", "-n", NS, "client"], (p) => p?.status?.phase === "Running", "client Running");
    });

    after(async () => {
      await agent?.stop();
      await cluster?.stop();
      if (process.env.EDGEPLANE_VERBOSE === "1") console.log(logs.join("\n"));
    });

    it("a client pod reaches both replicas through the cluster IP", async () => {
      const pods = await readyWebPods(cluster, 2);
      const answers = await waitForBackends(cluster, runtime, `${clusterIP}:80`, pods, "cluster IP");
      // Round-robin: over many requests each replica gets a fair share.
      const many = count(await fromClient(cluster, runtime, clusterIP, 20));
      assert.deepEqual([...many.keys()].sort(), pods, JSON.stringify([...many]));
      for (const p of pods) assert.ok(many.get(p)! >= 5, `${p} got ${many.get(p)} of 20`);
      assert.ok(answers.size === 2);
      const node = (await getJson(cluster, ["node", NODE]))!;
      const degraded = node.status.conditions.find((c: Json) => c.type === "RuntimeDegraded");
      assert.doesNotMatch(degraded?.message ?? "", /service proxy|cluster DNS/);
    });

    it("resolves web, web.shop and web.shop.svc.cluster.local in pods", async () => {
      const pods = await readyWebPods(cluster, 2);
      if (runtime === "process")
        for (const name of ["web", `web.${NS}`, `web.${NS}.svc.cluster.local`]) {
          const lines = await fromClient(cluster, runtime, name, 4);
          assert.ok(lines.every((l) => pods.includes(l)), `${name}: ${lines.join(",")}`);
        }
      else {
        // busybox's own resolver (nslookup) asks the node's DNS server named in resolv.conf.
        const r = await kubectl(cluster, ["exec", "-n", NS, "client", "--", "nslookup", `web.${NS}.svc.cluster.local`]);
        assert.match(r.stdout, new RegExp(`Address:\\s+${clusterIP.replace(/\./g, "\\.")}\\b`), r.stdout + r.stderr);
      }
      const resolv = ok(await kubectl(cluster, ["exec", "-n", NS, "client", "--", "cat", "/etc/resolv.conf"]));
      assert.match(resolv, new RegExp(`search ${NS}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`));
      if (runtime === "process") assert.deepEqual(await fromClient(cluster, runtime, `nope.${NS}.svc.cluster.local`, 1), ["ERR"]);
      else {
        const missing = await kubectl(cluster, ["exec", "-n", NS, "client", "--", "nslookup", `nope.${NS}.svc.cluster.local`]);
        assert.match(missing.stdout + missing.stderr, /NXDOMAIN/);
      }
    });

    it("serves the node port on the node's address, from the host and from pods", async () => {
      const pods = await readyWebPods(cluster, 2);
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`http://${internalIP()}:${nodePort}/`);
        assert.equal(res.status, 200);
        seen.add((await res.text()).trim());
      }
      assert.deepEqual([...seen].sort(), pods);
      const lines = await fromClient(cluster, runtime, `${internalIP()}:${nodePort}`, 4);
      assert.ok(lines.every((l) => pods.includes(l)), lines.join(","));
    });

    it("a replica failing readiness leaves the endpoints; it comes back when ready again", async () => {
      const pods = await readyWebPods(cluster, 2);
      ok(await kubectl(cluster, ["exec", "-n", NS, pods[0], "--", "rm", "healthz.html"]));
      await waitForObject(cluster, ["endpointslices", "-n", NS, "-l", "kubernetes.io/service-name=web"], (o) => o?.items?.[0]?.endpoints?.some((e: Json) => e.conditions?.ready === false), "an unready endpoint");
      await waitForBackends(cluster, runtime, clusterIP, [pods[1]], "after readiness failure");
      ok(await kubectl(cluster, ["exec", "-n", NS, pods[0], "--", "sh", "-c", "echo ok > healthz.html"]));
      await waitForBackends(cluster, runtime, clusterIP, pods, "after readiness is back");
    });

    it("scaling up adds an endpoint", async () => {
      ok(await kubectl(cluster, ["scale", "-n", NS, "deployment/web", "--replicas=3"]));
      const pods = await readyWebPods(cluster, 3);
      await waitForBackends(cluster, runtime, clusterIP, pods, "after scaling to 3");
    });

    it("default/kubernetes takes pods to the API server the agent uses", { skip: runtime !== "process" ? "busybox in the podman image has no working TLS client" : undefined }, async () => {
      ok(await kubectl(cluster, ["create", "service", "clusterip", "kubernetes", "-n", "default", "--tcp=443:443", "--clusterip=10.96.0.1"]));
      const deadline = Date.now() + 30_000;
      let out: string[] = [];
      while (Date.now() < deadline) {
        const r = await kubectl(cluster, ["exec", "-n", NS, "client", "--", "wget", "-q", "-T", "5", "-t", "1", "--no-check-certificate", "-O", "-", "https://kubernetes.default.svc.cluster.local/version"]);
        out = [r.stdout, r.stderr];
        if (r.code === 0) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      assert.match(out[0], /"gitVersion"/, out.join("\n"));
    });

    it("sessionAffinity ClientIP keeps the client on one replica", async () => {
      ok(await kubectl(cluster, ["patch", "-n", NS, "svc", "web", "--type=merge", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}']));
      const deadline = Date.now() + 30_000;
      let last = new Map<string, number>();
      while (Date.now() < deadline) {
        last = count(await fromClient(cluster, runtime, clusterIP, 10));
        if (last.size === 1 && !last.has("ERR")) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(last.size, 1, JSON.stringify([...last]));
      assert.ok(!last.has("ERR"), JSON.stringify([...last]));
    });
  });
}
