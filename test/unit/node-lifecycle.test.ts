import { describe, expect, it } from "vitest";
import { evictionTime, reconcileNodes, type NodeLifecycleState } from "../../src/controllers/node-lifecycle.ts";
import { defaultTolerationSeconds } from "../../src/resources/pod.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const GRACE = 40_000;

function node(name: string, opts: { ready?: string; heartbeat?: number; taints?: unknown[] } = {}): KubeObject {
  const hb = iso(opts.heartbeat ?? T0);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, resourceVersion: "7", creationTimestamp: iso(T0 - 3600_000) },
    spec: opts.taints ? { taints: opts.taints } : {},
    status: {
      conditions: [
        { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", lastHeartbeatTime: hb, lastTransitionTime: iso(T0 - 3600_000) },
        { type: "Ready", status: opts.ready ?? "True", reason: "KubeletReady", lastHeartbeatTime: hb, lastTransitionTime: iso(T0 - 3600_000) },
      ],
    },
  };
}

function pod(name: string, nodeName: string, tolerations?: unknown[], extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "9", ...extra },
    spec: { nodeName, containers: [{ name: "c", image: "i" }], ...(tolerations ? { tolerations } : {}) },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
}

const state = (s: Partial<NodeLifecycleState>): NodeLifecycleState => ({ now: T0, gracePeriodMs: GRACE, nodes: [], leases: {}, ...s });
const tol300 = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
];
const unreachable = (at: number) => ({ key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: iso(at) });

describe("reconcileNodes", () => {
  it("leaves a node with a fresh lease alone and needs no pods", () => {
    const r = reconcileNodes(state({ nodes: [node("a", { heartbeat: T0 - 300_000 })], leases: { a: iso(T0 - 5_000) } }));
    expect(r).toEqual({ actions: [], needsPods: false });
  });

  it("marks a node whose lease is older than the grace period Unknown and taints it unreachable:NoExecute", () => {
    const now = T0 + 41_000;
    const r = reconcileNodes(state({ now, nodes: [node("a")], leases: { a: iso(T0) } }));
    expect(r.actions).toEqual([
      {
        type: "update-node",
        node: "a",
        resourceVersion: "7",
        conditions: [
          { type: "MemoryPressure", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastHeartbeatTime: iso(T0), lastTransitionTime: iso(now) },
          { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastHeartbeatTime: iso(T0), lastTransitionTime: iso(now) },
          { type: "DiskPressure", status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: iso(now), lastTransitionTime: iso(now) },
          { type: "PIDPressure", status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: iso(now), lastTransitionTime: iso(now) },
        ],
        taints: [unreachable(now)],
      },
    ]);
    expect(r.needsPods).toBe(true);
  });

  it("counts the newer of lease renewal and Ready heartbeat: exactly the grace period is not late", () => {
    const r = reconcileNodes(state({ now: T0 + GRACE, nodes: [node("a", { heartbeat: T0 })], leases: { a: iso(T0 - 100_000) } }));
    expect(r.actions).toEqual([]);
  });

  it("taints a NotReady node not-ready:NoExecute, keeping other taints", () => {
    const other = { key: "dedicated", value: "x", effect: "NoSchedule" };
    const r = reconcileNodes(state({ nodes: [node("a", { ready: "False", taints: [other] })], leases: { a: iso(T0) } }));
    expect(r.actions).toEqual([
      { type: "update-node", node: "a", resourceVersion: "7", taints: [other, { key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: iso(T0) }] },
    ]);
  });

  it("removes the taint once the node is Ready again with a fresh lease", () => {
    const r = reconcileNodes(state({ nodes: [node("a", { taints: [unreachable(T0 - 60_000)] })], leases: { a: iso(T0) } }));
    expect(r.actions).toEqual([{ type: "update-node", node: "a", resourceVersion: "7", taints: [] }]);
    expect(r.needsPods).toBe(false);
  });

  it("swaps unreachable for not-ready when the node reports NotReady", () => {
    const r = reconcileNodes(state({ nodes: [node("a", { ready: "False", taints: [unreachable(T0 - 60_000)] })], leases: { a: iso(T0) } }));
    expect(r.actions).toEqual([
      { type: "update-node", node: "a", resourceVersion: "7", taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: iso(T0) }] },
    ]);
  });

  it("evicts untolerating pods at once, marks tolerating pods not ready and says when they are due", () => {
    const tainted = node("a", { ready: "Unknown", taints: [unreachable(T0 - 100_000)] });
    const healthy = node("b");
    const pods = [
      pod("plain", "a"),
      pod("tolerating", "a", tol300),
      pod("forever", "a", [{ operator: "Exists" }]),
      pod("elsewhere", "b"),
      pod("going", "a", undefined, { deletionTimestamp: iso(T0) }),
    ];
    const r = reconcileNodes(state({ nodes: [tainted, healthy], leases: { a: iso(T0), b: iso(T0) }, pods }));
    expect(r.actions).toEqual([
      { type: "evict-pod", namespace: "default", name: "plain", uid: "uid-plain", node: "a", taint: "node.kubernetes.io/unreachable" },
      { type: "mark-pod-not-ready", namespace: "default", name: "tolerating", uid: "uid-tolerating", resourceVersion: "9" },
      { type: "mark-pod-not-ready", namespace: "default", name: "forever", uid: "uid-forever", resourceVersion: "9" },
    ]);
    expect(r.nextEvictionAt).toBe(T0 - 100_000 + 300_000);
  });

  it("evicts a tolerating pod once its tolerationSeconds have passed since the taint was added", () => {
    const tainted = node("a", { ready: "Unknown", taints: [unreachable(T0 - 300_000)] });
    const p = pod("tolerating", "a", tol300);
    (p.status as { conditions: unknown[] }).conditions = [{ type: "Ready", status: "False" }];
    const r = reconcileNodes(state({ nodes: [tainted], leases: {}, pods: [p] }));
    expect(r.actions).toEqual([{ type: "evict-pod", namespace: "default", name: "tolerating", uid: "uid-tolerating", node: "a", taint: "node.kubernetes.io/unreachable" }]);
  });

  it("evicts for any NoExecute taint, e.g. one added with kubectl taint", () => {
    const n = node("a", { taints: [{ key: "maintenance", effect: "NoExecute", timeAdded: iso(T0) }] });
    const r = reconcileNodes(state({ nodes: [n], leases: { a: iso(T0) }, pods: [pod("p", "a", tol300)] }));
    expect(r.actions).toEqual([{ type: "evict-pod", namespace: "default", name: "p", uid: "uid-p", node: "a", taint: "maintenance" }]);
  });
});

describe("evictionTime", () => {
  const taint = { key: "k", effect: "NoExecute", timeAdded: iso(T0) };
  it("is the smallest tolerationSeconds of the matching tolerations", () => {
    expect(evictionTime([taint], [{ key: "k", operator: "Exists", tolerationSeconds: 60 }, { operator: "Exists", tolerationSeconds: 30 }], T0 + 1)).toEqual({ at: T0 + 30_000, taint: "k" });
  });
  it("is never for a toleration without tolerationSeconds, and ignores other effects", () => {
    expect(evictionTime([taint, { key: "n", effect: "NoSchedule" }], [{ key: "k", operator: "Exists" }], T0)).toBeUndefined();
  });
});

describe("defaultTolerationSeconds", () => {
  it("adds 300 s tolerations for not-ready and unreachable, keeping the pod's own", () => {
    const spec: Record<string, unknown> = { tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 }] };
    defaultTolerationSeconds(spec);
    expect(spec.tolerations).toEqual([
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 },
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);
  });
  it("adds nothing to a pod tolerating everything", () => {
    const spec: Record<string, unknown> = { tolerations: [{ operator: "Exists" }] };
    defaultTolerationSeconds(spec);
    expect(spec.tolerations).toEqual([{ operator: "Exists" }]);
  });
});
