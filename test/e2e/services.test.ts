import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, ok, waitForOutput as waitFor } from "./cluster.ts";
import { startKubeletSim, type KubeletSim } from "./kubelet-sim.ts";

/**
 * Services under real kubectl against the real local stack: `kubectl expose` gets a cluster IP,
 * the endpoints controller lists the ready pods (made Ready by the simulated kubelet) in
 * Endpoints and EndpointSlices, NodePort services get a port in range, and a taken one is refused;
 * a real node agent (process runtime) gives a pod the namespace's services as environment variables.
 */

const NS = ["-n", "svc"];

const sorted = (s: string) => s.trim().split(/\s+/).filter(Boolean).sort();

describe("services with kubectl", () => {
  let cluster: LocalCluster;
  let kubelet: KubeletSim;
  let agent: RunningAgent | undefined;
  before(async () => {
    cluster = await startCluster();
    kubelet = await startKubeletSim(cluster);
    ok(await kubectl(cluster, ["create", "namespace", "svc"]));
    ok(await kubectl(cluster, ["create", "deployment", "web", "--image=localhost/busybox:1", "--replicas=2", "--port=8080", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
  });
  after(async () => {
    await agent?.stop();
    await kubelet?.stop();
    await cluster?.stop();
  });

  it("kubectl expose gives a ClusterIP service whose endpoints list the ready pods", async () => {
    assert.match(ok(await kubectl(cluster, ["expose", "deployment", "web", "--port", "80", "--target-port", "8080", ...NS])), /service\/web exposed/);
    const svc = JSON.parse(ok(await kubectl(cluster, ["get", "service", "web", "-o", "json", ...NS])));
    assert.equal(svc.spec.type, "ClusterIP");
    assert.match(svc.spec.clusterIP, /^10\.96\.\d+\.\d+$/);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
    const podIPs = sorted(ok(await kubectl(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}", ...NS])));
    assert.equal(podIPs.length, 2);
    assert.notEqual(podIPs[0], podIPs[1]);
    await waitFor(cluster, ["get", "endpoints", "web", "-o", "jsonpath={.subsets[*].addresses[*].ip}", ...NS], (o) => sorted(o).join() === podIPs.join());
    const ep = JSON.parse(ok(await kubectl(cluster, ["get", "endpoints", "web", "-o", "json", ...NS])));
    assert.deepEqual(ep.subsets[0].ports, [{ port: 8080, protocol: "TCP" }]);
    assert.equal(ep.subsets[0].notReadyAddresses, undefined);

    const table = ok(await kubectl(cluster, ["get", "endpoints", "web", ...NS])).trim().split("\n");
    assert.match(table[0], /^NAME\s+ENDPOINTS\s+AGE$/);
    assert.match(table[1], new RegExp(`^web\\s+${podIPs.map((ip) => `${ip.replace(/\./g, "\\.")}:8080`).join(",")}\\s+\\S+$`));

    const slices = ok(await kubectl(cluster, ["get", "endpointslices", ...NS])).trim().split("\n");
    assert.match(slices[0], /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    assert.equal(slices.length, 2);
    assert.match(slices[1], new RegExp(`^web-[a-z0-9]{5}\\s+IPv4\\s+8080\\s+${podIPs.map((ip) => ip.replace(/\./g, "\\.")).join(",")}\\s+\\S+$`));
    const conditions = ok(await kubectl(cluster, ["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "jsonpath={.items[0].endpoints[*].conditions.ready}", ...NS]));
    assert.equal(conditions, "true true");
    const described = ok(await kubectl(cluster, ["describe", "service", "web", ...NS]));
    assert.match(described, new RegExp(`^IP:\\s+${svc.spec.clusterIP.replace(/\./g, "\\.")}$`, "m"));
    assert.match(described, new RegExp(`^Endpoints:\\s+${podIPs.map((ip) => `${ip.replace(/\./g, "\\.")}:8080`).join(",")}$`, "m"));
  });

  it("scaling the deployment adds an endpoint", async () => {
    ok(await kubectl(cluster, ["scale", "deployment/web", "--replicas=3", ...NS]));
    await waitFor(cluster, ["get", "endpoints", "web", "-o", "jsonpath={.subsets[*].addresses[*].ip}", ...NS], (o) => sorted(o).length === 3);
  });

  it("--type NodePort gets a port from 30000-32767; a taken port is refused with 422", async () => {
    ok(await kubectl(cluster, ["expose", "deployment", "web", "--name", "web-np", "--type", "NodePort", "--port", "80", "--target-port", "8080", ...NS]));
    const port = Number(ok(await kubectl(cluster, ["get", "service", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}", ...NS])));
    assert.ok(port >= 30000 && port <= 32767, `nodePort ${port}`);
    const row = ok(await kubectl(cluster, ["get", "service", "web-np", "--no-headers", ...NS]));
    assert.match(row, new RegExp(`^web-np\\s+NodePort\\s+10\\.96\\.\\d+\\.\\d+\\s+<none>\\s+80:${port}/TCP\\s+`));
    const manifest = `apiVersion: v1
kind: Service
metadata:
  name: dup
  namespace: svc
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: ${port}}]
`;
    const dup = await kubectl(cluster, ["apply", "-f", "-"], { input: manifest });
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`spec\\.ports\\[0\\]\\.nodePort: Invalid value: ${port}: provided port is already allocated`));
  });

  it("a pod started by the node agent gets <SVC>_SERVICE_HOST/_PORT of its namespace's services", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-svc-"));
    const out = join(dataDir, "env.txt");
    agent = await startAgent({ api: { server: cluster.url, token: cluster.token, insecure: true }, name: "svc-agent", runtime: "process", dataDir, log: () => {} });
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "envpod", namespace: "svc" },
      spec: { nodeName: "svc-agent", restartPolicy: "Never", containers: [{ name: "c", image: "localhost/busybox:1", command: ["sh", "-c", `env > ${out}`] }] },
    };
    ok(await kubectl(cluster, ["apply", "-f", "-"], { input: JSON.stringify(pod) }));
    await waitFor(cluster, ["get", "pod", "envpod", "-o", "jsonpath={.status.phase}", ...NS], (o) => o === "Succeeded" || o === "Failed", 60_000);
    const env = Object.fromEntries(readFileSync(out, "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const ip = ok(await kubectl(cluster, ["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}", ...NS]));
    const npIP = ok(await kubectl(cluster, ["get", "service", "web-np", "-o", "jsonpath={.spec.clusterIP}", ...NS]));
    assert.equal(env.WEB_SERVICE_HOST, ip);
    assert.equal(env.WEB_SERVICE_PORT, "80");
    assert.equal(env.WEB_PORT, `tcp://${ip}:80`);
    assert.equal(env.WEB_PORT_80_TCP_ADDR, ip);
    assert.equal(env.WEB_NP_SERVICE_HOST, npIP);
  });
});
