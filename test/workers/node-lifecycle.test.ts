import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { NodeMonitor } from "../../src/controllers/node-monitor.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/**
 * The node lifecycle controller over real D1 and Durable Objects. The checks are run with a
 * clock moved past the grace period and the tolerationSeconds instead of waiting for them.
 */

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";

async function node(name: string, now: number) {
  const r = await apiJson("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name },
    status: {
      allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: iso(now), lastTransitionTime: iso(now) }],
    },
  });
  expect(r.status).toBe(201);
  const lease = await apiJson("POST", LEASES, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: iso(now) },
  });
  expect(lease.status).toBe(201);
}

async function boundPod(ns: string, name: string, nodeName: string, tolerations?: unknown[]) {
  const r = await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    // Placed already (the scheduler would otherwise race the test to bind it).
    spec: { nodeName, containers: [{ name: "c", image: "i" }], ...(tolerations ? { tolerations } : {}) },
  });
  expect(r.status).toBe(201);
  const st = await apiJson("PATCH", `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }, { contentType: "application/merge-patch+json" });
  expect(st.status).toBe(200);
}

const getNode = async (name: string) => (await apiJson("GET", `/api/v1/nodes/${name}`)).body;
const getPod = async (ns: string, name: string) => (await apiJson("GET", `/api/v1/namespaces/${ns}/pods/${name}`)).body;
const condition = (obj: any, type: string) => (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

describe("node lifecycle", () => {
  it("reads only the leases while every node is healthy", async () => {
    const now = Date.now();
    await node("calm-1", now);
    const monitor = new NodeMonitor();
    const first = await monitor.run(env, now + 1000);
    expect(first.nodes).toBe(1);
    expect(monitor.lastReads).toEqual(["nodes", "leases"]);
    const second = await monitor.run(env, now + 2000);
    expect(monitor.lastReads).toEqual(["leases"]);
    expect(second).toEqual({ nodes: 1, podsRead: false, actions: [], nextEvictionAt: undefined });
  });

  it("lease expiry -> Ready Unknown + unreachable taint -> pods not ready, evicted after their tolerationSeconds; the taint goes when the node is back", async () => {
    const ns = "node-loss";
    await createNamespace(ns);
    const t0 = Date.now();
    await node("lost-1", t0);
    const zero = [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 0 }];
    await boundPod(ns, "default-tol", "lost-1");
    await boundPod(ns, "zero-tol", "lost-1", zero);
    const defaulted = await getPod(ns, "default-tol");
    expect(defaulted.spec.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);

    // Within the grace period: nothing happens.
    expect((await new NodeMonitor().run(env, t0 + 39_000)).actions.filter((a) => "node" in a && a.node === "lost-1")).toEqual([]);

    const lost = t0 + 41_000;
    await new NodeMonitor().run(env, lost);
    const n = await getNode("lost-1");
    expect(condition(n, "Ready")).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." });
    expect(n.spec.taints).toEqual([{ key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: iso(lost) }]);
    // The node changed state: the next check looks at its pods.
    await new NodeMonitor().run(env, lost + 1000);
    expect((await getPod(ns, "zero-tol")).metadata.deletionTimestamp).toBeDefined();
    const tolerating = await getPod(ns, "default-tol");
    expect(tolerating.metadata.deletionTimestamp).toBeUndefined();
    expect(condition(tolerating, "Ready").status).toBe("False");
    const events = (await apiJson("GET", `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dzero-tol`)).body.items;
    expect(events.map((e: any) => [e.reason, e.message])).toEqual([["TaintManagerEviction", `Marking for deletion Pod ${ns}/zero-tol`]]);

    // 299 s after the taint: still there; 300 s: evicted.
    await new NodeMonitor().run(env, lost + 299_000);
    expect((await getPod(ns, "default-tol")).metadata.deletionTimestamp).toBeUndefined();
    const r = await new NodeMonitor().run(env, lost + 300_000);
    expect(r.actions).toEqual([{ type: "evict-pod", namespace: ns, name: "default-tol", uid: tolerating.metadata.uid, node: "lost-1", taint: "node.kubernetes.io/unreachable" }]);
    expect((await getPod(ns, "default-tol")).metadata.deletionTimestamp).toBeDefined();

    // The kubelet comes back: renews its lease and posts Ready; the taint goes.
    const back = lost + 400_000;
    const lease = (await apiJson("GET", `${LEASES}/lost-1`)).body;
    expect((await apiJson("PUT", `${LEASES}/lost-1`, { ...lease, spec: { ...lease.spec, renewTime: iso(back) } })).status).toBe(200);
    const ready = { type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: iso(back), lastTransitionTime: iso(back) };
    expect((await apiJson("PATCH", "/api/v1/nodes/lost-1/status", { status: { conditions: [ready] } }, { contentType: "application/strategic-merge-patch+json" })).status).toBe(200);
    await new NodeMonitor().run(env, back + 1000);
    const healed = await getNode("lost-1");
    expect(healed.spec.taints).toBeUndefined();
    expect(condition(healed, "Ready").status).toBe("True");
  });
});
