import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { getJson, kubectl, ok, startCluster, waitForObject } from "./cluster.ts";

/**
 * Two real node agents on one machine, each in a network namespace of its own (a veth into a
 * test bridge, its own --pod-cidr), as two machines on one LAN: each routes the other's pod CIDR
 * via the other's address, so a cluster IP and a node port reach the pods of both nodes.
 * The control plane stays on the host's loopback; the test forwards the LAN address to it.
 */

type Json = Record<string, any>;
const LAN = "10.251.7";
const BRIDGE = "eplan7";
const NODES = [
  { name: "lan-a", netns: "eplan7-a", ip: `${LAN}.2`, cidr: "10.244.231.0/24" },
  { name: "lan-b", netns: "eplan7-b", ip: `${LAN}.3`, cidr: "10.244.232.0/24" },
];
const NS = "lan";
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* absent */
  }
};

function teardownLan(): void {
  for (const n of NODES) quiet("ip", ["netns", "del", n.netns]);
  quiet("ip", ["link", "del", BRIDGE]);
}

function setupLan(): void {
  teardownLan();
  sh("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  sh("ip", ["addr", "add", `${LAN}.1/24`, "dev", BRIDGE]);
  sh("ip", ["link", "set", BRIDGE, "up"]);
  NODES.forEach((n, i) => {
    sh("ip", ["netns", "add", n.netns]);
    sh("ip", ["link", "add", `eplan7v${i}`, "type", "veth", "peer", "name", "eth0", "netns", n.netns]);
    sh("ip", ["link", "set", `eplan7v${i}`, "master", BRIDGE, "up"]);
    sh("ip", ["-n", n.netns, "addr", "add", `${n.ip}/24`, "dev", "eth0"]);
    sh("ip", ["-n", n.netns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", n.netns, "link", "set", "lo", "up"]);
    // A node forwards to its pods (the agent leaves this sysctl to the node's owner).
    sh("ip", ["netns", "exec", n.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  });
}

/** <LAN>.1:<port> -> 127.0.0.1:<apiPort>: the API as the nodes on the LAN see it. */
function forwardApi(apiPort: number): Promise<Server> {
  const server = createServer((c) => {
    const up = connect(apiPort, "127.0.0.1");
    c.pipe(up).pipe(c);
    up.on("error", () => c.destroy());
    c.on("error", () => up.destroy());
  });
  return new Promise((resolve) => server.listen(0, `${LAN}.1`, () => resolve(server)));
}

const pod = (name: string, node: string, labels: Json, command: string[]) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS, labels },
  spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "localhost/busybox:latest", command }] },
});
const httpd = ["sh", "-c", 'echo "$HOSTNAME" > index.html && exec busybox httpd -f -p 8080 -h .'];

describe("services across two nodes (separate network namespaces)", { skip: process.getuid?.() !== 0 ? "needs root (network namespaces, routes, iptables)" : undefined }, () => {
  let cluster: LocalCluster;
  let forwarder: Server;
  const agents: ChildProcess[] = [];
  const output: string[] = [];

  before(async () => {
    setupLan();
    cluster = await startCluster();
    const apiPort = Number(new URL(cluster.url).port);
    forwarder = await forwardApi(apiPort);
    const server = `https://${LAN}.1:${(forwarder.address() as { port: number }).port}`;
    const root = join(import.meta.dirname, "..", "..");
    for (const n of NODES) {
      const dataDir = mkdtempSync(join(tmpdir(), `edgeplane-${n.name}-`));
      const args = ["netns", "exec", n.netns, process.execPath, join(root, "bin", "edgeplane.js"), "agent", "--server", server, "--token", cluster.token];
      args.push("--insecure-skip-tls-verify", "--name", n.name, "--runtime", "process", "--pod-cidr", n.cidr, "--data-dir", dataDir);
      const child = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.on("data", (d: Buffer) => output.push(`${n.name}: ${d}`));
      child.stderr!.on("data", (d: Buffer) => output.push(`${n.name}: ${d}`));
      agents.push(child);
    }
    for (const n of NODES) await waitForObject(cluster, ["node", n.name], (o) => o?.spec?.podCIDR === n.cidr, `${n.name} registered with its pod CIDR`, 90_000);
    ok(await kubectl(cluster, ["create", "namespace", NS]));
    const objects = [
      pod("web-a", "lan-a", { app: "web" }, httpd),
      pod("web-b", "lan-b", { app: "web" }, httpd),
      pod("client", "lan-a", {}, ["sleep", "100000"]),
      { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS }, spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] } },
    ];
    ok(await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") }));
    for (const name of ["web-a", "web-b", "client"]) await waitForObject(cluster, ["pod", "-n", NS, name], (p) => p?.status?.phase === "Running", `${name} Running`, 90_000);
  });

  after(async () => {
    await Promise.all(
      agents.map(
        (a) =>
          new Promise<void>((resolve) => {
            if (a.exitCode !== null) return resolve();
            a.once("exit", () => resolve());
            a.kill("SIGTERM");
            setTimeout(() => (a.kill("SIGKILL"), resolve()), 20_000).unref();
          }),
      ),
    );
    forwarder?.close();
    await cluster?.stop();
    teardownLan();
    if (process.env.EDGEPLANE_VERBOSE === "1") console.log(output.join(""));
  });

  it("each node routes the other's pod CIDR and its pods get IPs from their node's CIDR", async () => {
    const a = (await getJson(cluster, ["pod", "-n", NS, "web-a"]))!;
    const b = (await getJson(cluster, ["pod", "-n", NS, "web-b"]))!;
    assert.match(a.status.podIP, /^10\.244\.231\./);
    assert.match(b.status.podIP, /^10\.244\.232\./);
    const deadline = Date.now() + 30_000;
    let routes = "";
    while (Date.now() < deadline) {
      routes = sh("ip", ["-n", NODES[0].netns, "route"]);
      if (routes.includes(`10.244.232.0/24 via ${NODES[1].ip}`)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(routes, new RegExp(`10\\.244\\.232\\.0/24 via ${NODES[1].ip.replace(/\./g, "\\.")}`));
  });

  it("a client pod on one node reaches the pods of both nodes through the cluster IP", async () => {
    const ip = (await getJson(cluster, ["svc", "-n", NS, "web"]))!.spec.clusterIP;
    const deadline = Date.now() + 60_000;
    let seen = new Set<string>();
    while (Date.now() < deadline && seen.size < 2) {
      const r = await kubectl(cluster, ["exec", "-n", NS, "client", "--", "sh", "-c", `for i in 1 2 3 4 5 6; do wget -q -T 5 -t 1 -O - http://${ip}/ || echo ERR; done`], { timeoutMs: 90_000 });
      seen = new Set(r.stdout.trim().split("\n").filter((l) => l === "web-a" || l === "web-b"));
      if (seen.size < 2) await new Promise((res) => setTimeout(res, 500));
    }
    assert.deepEqual([...seen].sort(), ["web-a", "web-b"]);
  });

  it("the node port of either node reaches the pods of both", async () => {
    const port = (await getJson(cluster, ["svc", "-n", NS, "web"]))!.spec.ports[0].nodePort;
    for (const n of NODES) {
      const seen = new Set<string>();
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && seen.size < 2) {
        const res = await fetch(`http://${n.ip}:${port}/`).catch(() => undefined);
        if (res?.status === 200) seen.add((await res.text()).trim());
        else await new Promise((r) => setTimeout(r, 300));
      }
      assert.deepEqual([...seen].sort(), ["web-a", "web-b"], `node port on ${n.name}`);
    }
  });
});
