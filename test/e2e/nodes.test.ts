import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, getJson, waitForObject as waitFor } from "./cluster.ts";

/**
 * Scheduling and node lifecycle with hollow nodes under real kubectl: labels and
 * nodeSelector, taints, cordon, resource exhaustion, drain with a PodDisruptionBudget, and
 * node loss (one hollow agent stopped) -> Unknown + unreachable taint -> pods evicted and
 * recreated elsewhere by their ReplicaSet. Short grace period through Worker vars, short
 * tolerationSeconds through the pods' own tolerations.
 */

type Json = Record<string, any>;

async function ok(cluster: LocalCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, { input, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const pod = (name: string, spec: Json, labels: Json = {}) => JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name, labels }, spec: { containers: [{ name: "c", image: "i" }], ...spec } });

function deployment(name: string, replicas: number, podSpec: Json): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "i" }], ...podSpec } } },
  });
}

const running = (p: Json | undefined) => p?.status?.phase === "Running";
const schedMessage = (p: Json | undefined) => p?.status?.conditions?.find((c: Json) => c.type === "PodScheduled" && c.status === "False")?.message as string | undefined;
const readyCondition = (n: Json | undefined) => n?.status?.conditions?.find((c: Json) => c.type === "Ready");

describe("nodes: scheduling and lifecycle with hollow nodes", () => {
  let cluster: LocalCluster;
  let zoneA: RunningAgent;
  let zoneB: RunningAgent;

  before(async () => {
    cluster = await startCluster({ NODE_MONITOR_GRACE_SECONDS: "3", NODE_MONITOR_PERIOD_SECONDS: "1" });
    const api = { server: cluster.url, token: cluster.token, insecure: true };
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-nodes-"));
    const common = { api, runtime: "hollow" as const, nodes: 2, hollowStartDelayMs: 100, dataDir, leaseDurationSeconds: 2, log: () => {} };
    zoneA = await startAgent({ ...common, name: "zone-a", labels: { zone: "a" } });
    zoneB = await startAgent({ ...common, name: "zone-b", labels: { zone: "b" } });
  });

  after(async () => {
    await zoneA?.stop();
    await zoneB?.stop();
    await cluster?.stop();
  });

  it("places pods by nodeSelector on the labelled nodes", async () => {
    const out = await ok(cluster, ["get", "nodes", "-l", "zone=b", "-o", "name"]);
    assert.deepEqual(out.trim().split("\n"), ["node/zone-b-0", "node/zone-b-1"]);
    await ok(cluster, ["apply", "-f", "-"], pod("in-b", { nodeSelector: { zone: "b" } }));
    const p = await waitFor(cluster, ["pod", "in-b"], running, "in-b Running");
    assert.match(p!.spec.nodeName, /^zone-b-[01]$/);
    await ok(cluster, ["delete", "pod", "in-b"]);
  });

  it("keeps pods off a node whose taint they do not tolerate, until the taint goes", async () => {
    await ok(cluster, ["taint", "node", "zone-a-0", "dedicated=infra:NoSchedule"]);
    await ok(cluster, ["apply", "-f", "-"], pod("pinned", { nodeSelector: { "kubernetes.io/hostname": "zone-a-0" } }));
    const p = await waitFor(cluster, ["pod", "pinned"], (o) => !!schedMessage(o), "pinned unschedulable");
    assert.equal(schedMessage(p), "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 3 node(s) didn't match Pod's node affinity/selector.");
    assert.equal(p!.spec.nodeName, undefined);
    await ok(cluster, ["taint", "node", "zone-a-0", "dedicated-"]);
    const placed = await waitFor(cluster, ["pod", "pinned"], running, "pinned Running after untaint");
    assert.equal(placed!.spec.nodeName, "zone-a-0");
    await ok(cluster, ["delete", "pod", "pinned"]);
  });

  it("cordon keeps new pods off a node; uncordon lets them on", async () => {
    await ok(cluster, ["cordon", "zone-a-1"]);
    const n = await getJson(cluster, ["node", "zone-a-1"]);
    assert.equal(n!.spec.unschedulable, true);
    assert.match((await ok(cluster, ["get", "node", "zone-a-1", "--no-headers"])).split(/\s+/)[1], /^Ready,SchedulingDisabled$/);
    await ok(cluster, ["apply", "-f", "-"], pod("to-a1", { nodeSelector: { "kubernetes.io/hostname": "zone-a-1" } }));
    const p = await waitFor(cluster, ["pod", "to-a1"], (o) => !!schedMessage(o), "to-a1 unschedulable");
    assert.equal(schedMessage(p), "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector.");
    await ok(cluster, ["uncordon", "zone-a-1"]);
    const placed = await waitFor(cluster, ["pod", "to-a1"], running, "to-a1 Running after uncordon");
    assert.equal(placed!.spec.nodeName, "zone-a-1");
    await ok(cluster, ["delete", "pod", "to-a1"]);
  });

  it("a pod requesting more cpu than any node has stays Pending with a FailedScheduling event", async () => {
    await ok(cluster, ["apply", "-f", "-"], pod("big", { containers: [{ name: "c", image: "i", resources: { requests: { cpu: "5" } } }] }));
    const p = await waitFor(cluster, ["pod", "big"], (o) => !!schedMessage(o), "big unschedulable");
    assert.equal(p!.status.phase, "Pending");
    assert.equal(schedMessage(p), "0/4 nodes are available: 4 Insufficient cpu.");
    const events = await waitFor(cluster, ["events", "--field-selector", "involvedObject.name=big,reason=FailedScheduling"], (l) => (l?.items?.length ?? 0) > 0, "FailedScheduling event");
    assert.equal(events!.items[0].message, "0/4 nodes are available: 4 Insufficient cpu.");
    assert.equal(events!.items[0].type, "Warning");
    await ok(cluster, ["delete", "pod", "big"]);
  });

  it("kubectl drain honours a PodDisruptionBudget and moves the pods to another node", async () => {
    // Three replicas packed on zone-a-0 (bin packing; ties go to the first node by name).
    await ok(cluster, ["apply", "-f", "-"], deployment("web", 3, { nodeSelector: { zone: "a" } }));
    await ok(cluster, ["rollout", "status", "deployment/web", "--timeout=60s"]);
    const before = (await getJson(cluster, ["pods", "-l", "app=web"]))!.items;
    assert.deepEqual(before.map((p: Json) => p.spec.nodeName), ["zone-a-0", "zone-a-0", "zone-a-0"]);
    await ok(cluster, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web" }, spec: { minAvailable: 3, selector: { matchLabels: { app: "web" } } } }));
    await waitFor(cluster, ["pdb", "web"], (o) => o?.status?.expectedPods === 3 && o.status.currentHealthy === 3, "pdb status");
    const refused = await kubectl(cluster, ["drain", "zone-a-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=3s"], { timeoutMs: 30_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
    assert.equal((await getJson(cluster, ["node", "zone-a-0"]))!.spec.unschedulable, true, "drain cordons first");
    // With one disruption allowed, drain evicts one pod at a time as replacements become Ready on zone-a-1.
    await ok(cluster, ["patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":2}}']);
    const drained = await kubectl(cluster, ["drain", "zone-a-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s"], { timeoutMs: 120_000 });
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /node\/zone-a-0 drained/);
    const moved = await waitFor(cluster, ["pods", "-l", "app=web"], (l) => l?.items?.length === 3 && l.items.every((p: Json) => running(p) && !p.metadata.deletionTimestamp), "web pods Running again");
    assert.deepEqual(moved!.items.map((p: Json) => p.spec.nodeName), ["zone-a-1", "zone-a-1", "zone-a-1"]);
    await ok(cluster, ["uncordon", "zone-a-0"]);
    await ok(cluster, ["delete", "pdb", "web"]);
    await ok(cluster, ["delete", "deployment", "web"]);
  });

  it("node loss: a stopped agent's nodes go Unknown and are tainted; their pods are evicted and recreated elsewhere", async () => {
    const tolerations = ["not-ready", "unreachable"].map((k) => ({ key: `node.kubernetes.io/${k}`, operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 }));
    const preferB = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] } }] } };
    await ok(cluster, ["apply", "-f", "-"], deployment("loss", 2, { tolerations, affinity: preferB }));
    await ok(cluster, ["rollout", "status", "deployment/loss", "--timeout=60s"]);
    const first = (await getJson(cluster, ["pods", "-l", "app=loss"]))!.items;
    assert.ok(first.every((p: Json) => p.spec.nodeName.startsWith("zone-b-")), JSON.stringify(first.map((p: Json) => p.spec.nodeName)));

    await zoneB.stop();
    const lost = await waitFor(cluster, ["node", "zone-b-0"], (n) => readyCondition(n)?.status === "Unknown", "zone-b-0 Unknown", 30_000);
    assert.equal(readyCondition(lost).reason, "NodeStatusUnknown");
    assert.equal(readyCondition(lost).message, "Kubelet stopped posting node status.");
    assert.deepEqual(lost!.spec.taints.map((t: Json) => `${t.key}:${t.effect}`), ["node.kubernetes.io/unreachable:NoExecute"]);
    assert.match((await ok(cluster, ["get", "node", "zone-b-0", "--no-headers"])).split(/\s+/)[1], /^NotReady$/);

    // Evicted after their 2 s toleration; the ReplicaSet replaces them on zone a.
    const replaced = await waitFor(
      cluster,
      ["pods", "-l", "app=loss"],
      (l) => (l?.items ?? []).filter((p: Json) => !p.metadata.deletionTimestamp && running(p) && p.spec.nodeName.startsWith("zone-a-")).length === 2,
      "loss pods recreated on zone a",
    );
    const old = replaced!.items.filter((p: Json) => first.some((f: Json) => f.metadata.uid === p.metadata.uid));
    assert.ok(old.every((p: Json) => p.metadata.deletionTimestamp), "the lost pods are being deleted (Terminating until their node confirms)");
    const events = (await getJson(cluster, ["events", "--field-selector", "reason=TaintManagerEviction"]))!.items;
    assert.deepEqual(events.map((e: Json) => e.involvedObject.name).sort(), first.map((p: Json) => p.metadata.name).sort());
  });
});
