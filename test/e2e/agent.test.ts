import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import { internalIP } from "../../src/agent/host-info.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, getJson, waitForObject as waitFor } from "./cluster.ts";

/**
 * The node agent against the real local control plane: a process-runtime node and five
 * hollow nodes register and go Ready, pods bound to them run, report status, finish and
 * are deleted gracefully; the Lease heartbeat never rewrites the Node.
 */

type Json = Record<string, any>;
const NODE = "e2e-node";

/** Host processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").includes(marker)) pids.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return pids;
}

function pod(name: string, node: string, spec: Json): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: node, ...spec } });
}

async function apply(cluster: LocalCluster, manifest: string): Promise<void> {
  const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
}

describe("node agent", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  let hollow: RunningAgent;
  const logs: string[] = [];

  before(async () => {
    cluster = await startCluster();
    const api = { server: cluster.url, token: cluster.token, insecure: true };
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-agent-"));
    const log = (l: string) => logs.push(l);
    agent = await startAgent({ api, name: NODE, runtime: "process", dataDir, leaseDurationSeconds: 4, statusUpdateMs: 1000, log });
    hollow = await startAgent({ api, name: "hollow-e2e", runtime: "hollow", nodes: 5, hollowStartDelayMs: 200, dataDir, log });
  });

  after(async () => {
    await agent?.stop();
    await hollow?.stop();
    await cluster?.stop();
  });

  it("registers Ready nodes with capacity, addresses, labels and node info", async () => {
    const r = await kubectl(cluster, ["get", "nodes", "--no-headers"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => l.split(/\s+/).slice(0, 2).join(" ")).sort();
    assert.deepEqual(rows, [`${NODE} Ready`, ...[0, 1, 2, 3, 4].map((i) => `hollow-e2e-${i} Ready`)]);
    const node = (await getJson(cluster, ["node", NODE]))!;
    assert.equal(node.metadata.labels["kubernetes.io/hostname"], NODE);
    assert.equal(node.metadata.labels["kubernetes.io/os"], "linux");
    assert.ok(node.metadata.labels["kubernetes.io/arch"]);
    assert.equal(node.status.capacity.pods, "110");
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    assert.deepEqual(node.status.allocatable, node.status.capacity);
    assert.deepEqual(node.status.addresses, [
      { type: "InternalIP", address: internalIP() },
      { type: "Hostname", address: node.status.addresses[1].address },
    ]);
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, "process://0.1.0");
    // What the process runtime lacks is said on the node.
    const degraded = node.status.conditions.find((c: Json) => c.type === "RuntimeDegraded");
    assert.match(degraded.message, /images are not pulled/);
    const hollowNode = (await getJson(cluster, ["node", "hollow-e2e-3"]))!;
    assert.equal(hollowNode.status.capacity.cpu, "4");
    assert.equal(hollowNode.metadata.labels["edgeplane.dev/hollow"], "true");
  });

  it("heartbeats through its Lease without rewriting the Node", async () => {
    const lease1 = await waitFor(cluster, ["lease", "-n", "kube-node-lease", NODE], (l) => !!l?.spec?.renewTime, "lease");
    const before = (await getJson(cluster, ["node", NODE]))!.metadata.resourceVersion;
    await waitFor(cluster, ["lease", "-n", "kube-node-lease", NODE], (l) => l!.spec.renewTime !== lease1!.spec.renewTime, "lease renewed", 20_000);
    const lease2 = (await getJson(cluster, ["lease", "-n", "kube-node-lease", NODE]))!;
    await waitFor(cluster, ["lease", "-n", "kube-node-lease", NODE], (l) => l!.spec.renewTime !== lease2.spec.renewTime, "lease renewed again", 20_000);
    assert.equal(lease2.spec.holderIdentity, NODE);
    assert.equal(lease2.spec.leaseDurationSeconds, 4);
    assert.equal(lease2.metadata.ownerReferences[0].kind, "Node");
    const afterRv = (await getJson(cluster, ["node", NODE]))!.metadata.resourceVersion;
    assert.equal(afterRv, before, "lease renewals and unchanged status must not write the Node");
  });

  it("runs a pod as a process, reports it Running with IPs, and stops it on graceful deletion", async () => {
    const marker = "31337";
    await apply(cluster, pod("web", NODE, { terminationGracePeriodSeconds: 2, containers: [{ name: "main", image: "localhost/busybox:latest", command: ["sleep", marker] }] }));
    const p = (await waitFor(cluster, ["pod", "web"], (o) => o?.status?.phase === "Running", "web Running"))!;
    assert.equal(p.status.hostIP, internalIP());
    // As root each pod gets a network namespace and an IP of the node's pod CIDR; else the host's IP.
    const ownIP = process.getuid?.() === 0;
    if (ownIP) assert.match(p.status.podIP, /^10\.244\.\d+\.\d+$/);
    else assert.equal(p.status.podIP, internalIP());
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.ok(p.status.startTime);
    assert.deepEqual(
      p.status.conditions.map((c: Json) => `${c.type}=${c.status}`),
      ["PodScheduled=True", "Initialized=True", "ContainersReady=True", "Ready=True"],
    );
    const cs = p.status.containerStatuses[0];
    assert.equal(cs.ready, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, "localhost/busybox:latest");
    assert.match(cs.containerID, /^process:\/\/[0-9a-f]{32}$/);
    assert.ok(cs.state.running.startedAt);
    assert.ok(processesWith(`sleep ${marker}`).length > 0, "the container's process runs on this machine");

    const del = await kubectl(cluster, ["delete", "pod", "web", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
    const gone = await kubectl(cluster, ["get", "pod", "web"]);
    assert.match(gone.stderr, /NotFound/);
    assert.deepEqual(processesWith(`sleep ${marker}`), [], "the container's process is stopped");
  });

  it("gives a process pod its own network namespace and IP that the host reaches; deletion removes the namespace", { skip: process.getuid?.() !== 0 ? "per-pod network namespaces need root" : false }, async () => {
    const server = "require('http').createServer((q, s) => s.end('pod ' + require('os').hostname())).listen(8081)";
    await apply(cluster, pod("netpod", NODE, { terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "node", command: [process.execPath, "-e", server] }] }));
    const p = (await waitFor(cluster, ["pod", "netpod"], (o) => o?.status?.phase === "Running", "netpod Running"))!;
    const ip: string = p.status.podIP;
    assert.match(ip, /^10\.244\.\d+\.\d+$/);
    let body = "";
    for (let i = 0; i < 40 && !body; i++) {
      const r = spawnSync("curl", ["-s", "--max-time", "2", `http://${ip}:8081/`]);
      body = r.stdout.toString();
      if (!body) await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(body, "pod netpod", "the pod's server answers on its own IP (and sees its own hostname)");
    // the host's loopback is not the pod's: nothing listens on 127.0.0.1:8081 here
    assert.notEqual(spawnSync("curl", ["-s", "--max-time", "2", "http://127.0.0.1:8081/"]).status, 0);
    const ns = `-${p.metadata.uid.replace(/-/g, "").slice(0, 8)}`;
    assert.ok(spawnSync("ip", ["netns", "list"]).stdout.toString().includes(ns));
    const del = await kubectl(cluster, ["delete", "pod", "netpod", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!spawnSync("ip", ["netns", "list"]).stdout.toString().includes(ns), "the pod's network namespace is removed");
  });

  it("runs init containers first, completes a Job's pod as Succeeded, and the Job completes", async () => {
    await apply(
      cluster,
      JSON.stringify({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "once" },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              nodeName: NODE,
              restartPolicy: "Never",
              initContainers: [{ name: "first", image: "busybox", command: ["sh", "-c", "exit 0"] }],
              containers: [{ name: "main", image: "busybox", command: ["sh", "-c", 'test "$GREETING" = "hi once" && echo done'], env: [{ name: "WHO", value: "once" }, { name: "GREETING", value: "hi $(WHO)" }] }],
            },
          },
        },
      }),
    );
    const pods = (await waitFor(cluster, ["pods", "-l", "job-name=once"], (l) => l?.items?.[0]?.status?.phase === "Succeeded", "job pod Succeeded"))!;
    const s = pods.items[0].status;
    assert.equal(s.initContainerStatuses[0].state.terminated.reason, "Completed");
    assert.equal(s.containerStatuses[0].state.terminated.exitCode, 0);
    assert.equal(s.containerStatuses[0].state.terminated.reason, "Completed");
    await waitFor(cluster, ["job", "once"], (j) => (j?.status?.conditions ?? []).some((c: Json) => c.type === "Complete" && c.status === "True"), "job Complete");
  });

  it("reports failures: exit codes, CrashLoopBackOff with restarts, a missing command", async () => {
    await apply(cluster, pod("fails", NODE, { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "exit 3"] }] }));
    await apply(cluster, pod("crashes", NODE, { containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "exit 2"] }] }));
    await apply(cluster, pod("nocmd", NODE, { containers: [{ name: "main", image: "busybox", command: ["no-such-command-here"] }] }));
    const fails = (await waitFor(cluster, ["pod", "fails"], (o) => o?.status?.phase === "Failed", "fails Failed"))!;
    assert.equal(fails.status.containerStatuses[0].state.terminated.exitCode, 3);
    assert.equal(fails.status.containerStatuses[0].state.terminated.reason, "Error");
    const crashes = (await waitFor(cluster, ["pod", "crashes"], (o) => o?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff", "crashes CrashLoopBackOff"))!;
    const c = crashes.status.containerStatuses[0];
    assert.ok(c.restartCount >= 1);
    assert.equal(c.lastState.terminated.exitCode, 2);
    assert.equal(crashes.status.phase, "Running");
    const nocmd = (await waitFor(cluster, ["pod", "nocmd"], (o) => o?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff", "nocmd CrashLoopBackOff"))!;
    assert.match(nocmd.status.containerStatuses[0].lastState.terminated.message, /"no-such-command-here": executable file not found/);
    assert.equal(nocmd.status.containerStatuses[0].lastState.terminated.reason, "StartError");
    const del = await kubectl(cluster, ["delete", "pod", "fails", "crashes", "nocmd", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
  });

  it("runs pods on hollow nodes: Running with made-up IPs, starting nothing, deleted on request", async () => {
    for (let i = 0; i < 5; i++) await apply(cluster, pod(`h${i}`, `hollow-e2e-${i}`, { containers: [{ name: "main", image: "nothing:1", command: ["never-run"] }] }));
    for (let i = 0; i < 5; i++) {
      const p = (await waitFor(cluster, ["pod", `h${i}`], (o) => o?.status?.phase === "Running", `h${i} Running`))!;
      assert.match(p.status.podIP, /^10\.64\.\d+\.\d+$/);
      assert.equal(p.status.hostIP, `10.63.0.${i}`);
      assert.match(p.status.containerStatuses[0].containerID, /^hollow:\/\//);
    }
    assert.deepEqual(processesWith("never-run"), []);
    const del = await kubectl(cluster, ["delete", "pod", "h0", "h1", "h2", "h3", "h4", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
    const left = await kubectl(cluster, ["get", "pods", "-o", "name"]);
    assert.doesNotMatch(left.stdout, /pod\/h\d/);
  });
});
