import { describe, expect, it } from "vitest";
import { daemonTolerations, nodeShouldRunDaemonPod, reconcile, scaledValue } from "../../src/controllers/daemonset.ts";
import { templateHash } from "../../src/controllers/statefulset.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const NOW = Date.parse("2024-01-01T00:10:00Z");
const T0 = "2024-01-01T00:00:00Z";

const template = (image = "agent:1", spec: Record<string, unknown> = {}) => ({
  metadata: { labels: { app: "agent" } },
  spec: { containers: [{ name: "c", image }], ...spec },
});

function ds(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "ns", uid: "ds-uid", resourceVersion: "10", generation: 1, creationTimestamp: T0, ...meta },
    spec: { selector: { matchLabels: { app: "agent" } }, template: template(), updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, ...spec },
    ...(status ? { status } : {}),
  };
}

const HASH1 = templateHash(template("agent:1"));
const HASH2 = templateHash(template("agent:2"));

function node(name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Node", metadata: { name, uid: `uid-${name}`, resourceVersion: "1", labels: { "kubernetes.io/hostname": name, ...labels }, ...meta }, spec };
}

interface PodOpts {
  ready?: boolean;
  phase?: string;
  hash?: string;
  deleting?: boolean;
  created?: string;
  readySince?: string;
  owner?: KubeObject | null;
}

function pod(name: string, nodeName: string, o: PodOpts = {}): KubeObject {
  const owner = o.owner === undefined ? ds() : o.owner;
  const phase = o.phase ?? "Running";
  const ready = (o.ready ?? true) && phase === "Running";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "5",
      creationTimestamp: o.created ?? T0,
      labels: { app: "agent", "controller-revision-hash": o.hash ?? HASH1, "pod-template-generation": "1" },
      ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: T0 } : {}),
    },
    spec: { containers: [{ name: "c", image: "agent:1" }], nodeName },
    status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: o.readySince ?? T0 }] },
  };
}

function observed(parts: Partial<Observed>): Observed {
  return {
    ...emptyObserved("ns", NOW),
    ...parts,
  };
}

function summary(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "create":
        return `create ${a.resource} on ${(a.object.spec as { nodeName: string }).nodeName}`;
      case "delete":
        return `delete ${a.resource} ${a.name}`;
      case "event":
        return `event ${a.reason}: ${a.message}`;
      case "update":
        return a.subresource === "status" ? "update status" : `update ${a.resource} ${a.object.metadata.name}`;
    }
  });
}
const nonStatus = (actions: Action[]) => summary(actions.filter((a) => !(a.type === "update" && a.subresource === "status")));
const statusOf = (actions: Action[]) => {
  const a = actions.find((x) => x.type === "update" && x.subresource === "status");
  return a?.type === "update" ? (a.object.status as Record<string, unknown>) : undefined;
};

const DEFAULT_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

describe("DaemonSet: one pod per node", () => {
  it("creates a bound pod on every node, with generateName, owner, revision labels and default tolerations", () => {
    const set = ds();
    const r = reconcile(observed({ daemonSets: [set], nodes: [node("n2"), node("n1")] }));
    expect(summary(r.actions)).toEqual(["create core/pods on n1", "create core/pods on n2", "update status"]);
    expect(r.actions[0]).toEqual({
      type: "create",
      resource: "core/pods",
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: "agent-",
          namespace: "ns",
          labels: { app: "agent", "controller-revision-hash": HASH1, "pod-template-generation": "1" },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true }],
        },
        spec: { containers: [{ name: "c", image: "agent:1" }], nodeName: "n1", tolerations: DEFAULT_TOLERATIONS },
      },
    });
    expect(statusOf(r.actions)).toEqual({ currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 0, observedGeneration: 1, numberUnavailable: 2 });
  });

  it("converges: nothing to do once every node runs a ready pod and the status is stored", () => {
    const status = { currentNumberScheduled: 2, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 2, observedGeneration: 1, updatedNumberScheduled: 2, numberAvailable: 2 };
    const pods = [pod("agent-a", "n1"), pod("agent-b", "n2")];
    const r1 = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1"), node("n2")], pods }));
    expect(summary(r1.actions)).toEqual(["update status"]);
    expect(statusOf(r1.actions)).toEqual(status);
    expect(reconcile(observed({ daemonSets: [ds({}, {}, status)], nodes: [node("n1"), node("n2")], pods })).actions).toEqual([]);
  });

  it("follows nodes joining and leaving", () => {
    const pods = [pod("agent-a", "n1"), pod("agent-b", "n2")];
    const joined = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1"), node("n2"), node("n3")], pods }));
    expect(nonStatus(joined.actions)).toEqual(["create core/pods on n3"]);
    const left = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")], pods }));
    expect(nonStatus(left.actions)).toEqual(["delete core/pods agent-b", "event SuccessfulDelete: Deleted pod: agent-b"]);
    expect(left.actions[0]).toEqual({ type: "delete", resource: "core/pods", name: "agent-b", uid: "uid-agent-b", resourceVersion: "5" });
    // A node being deleted is no longer eligible.
    const draining = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1"), node("n2", {}, {}, { deletionTimestamp: T0 })], pods }));
    expect(nonStatus(draining.actions)).toEqual(["delete core/pods agent-b", "event SuccessfulDelete: Deleted pod: agent-b"]);
  });

  it("keeps the oldest of several pods on a node", () => {
    const pods = [pod("agent-z", "n1", { created: "2024-01-01T00:05:00Z" }), pod("agent-y", "n1", { created: "2024-01-01T00:01:00Z" }), pod("agent-x", "n1", { created: "2024-01-01T00:05:00Z" })];
    const r = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")], pods }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods agent-x", "event SuccessfulDelete: Deleted pod: agent-x", "delete core/pods agent-z", "event SuccessfulDelete: Deleted pod: agent-z"]);
  });

  it("waits for a terminating pod to go before creating its replacement", () => {
    const r = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")], pods: [pod("agent-a", "n1", { deleting: true })] }));
    expect(nonStatus(r.actions)).toEqual([]);
  });

  it("deletes a failed pod (with a warning) and replaces it once it is gone", () => {
    const r = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")], pods: [pod("agent-a", "n1", { phase: "Failed" })] }));
    expect(nonStatus(r.actions)).toEqual([
      "event FailedDaemonPod: Found failed daemon pod ns/agent-a on node n1, will try to kill it",
      "delete core/pods agent-a",
      "event SuccessfulDelete: Deleted pod: agent-a",
    ]);
    expect(nonStatus(reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")] })).actions)).toEqual(["create core/pods on n1"]);
  });

  it("deletes pods on nodes that do not exist", () => {
    const r = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1")], pods: [pod("agent-a", "n1"), pod("agent-gone", "n9")] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods agent-gone", "event SuccessfulDelete: Deleted pod: agent-gone"]);
  });

  it("does nothing while the DaemonSet is being deleted", () => {
    const r = reconcile(observed({ daemonSets: [ds({}, { deletionTimestamp: T0, finalizers: ["foregroundDeletion"] })], nodes: [node("n1"), node("n2")], pods: [pod("agent-a", "n1")] }));
    expect(r.actions).toEqual([]);
  });

  it("adopts orphans matching its selector, one pass before anything else", () => {
    const orphan = pod("agent-a", "n1", { owner: null });
    const r = reconcile(observed({ daemonSets: [ds()], nodes: [node("n1"), node("n2")], pods: [orphan] }));
    expect(r.actions).toEqual([
      {
        type: "update",
        resource: "core/pods",
        object: { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true }] } },
      },
    ]);
  });
});

describe("DaemonSet: node eligibility", () => {
  const spec = (s: Record<string, unknown>) => template("agent:1", s).spec;

  it("nodeSelector", () => {
    const r = reconcile(observed({ daemonSets: [ds({ template: template("agent:1", { nodeSelector: { disk: "ssd" } }) })], nodes: [node("n1", { disk: "ssd" }), node("n2", { disk: "hdd" }), node("n3")] }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods on n1"]);
    expect(statusOf(r.actions)).toMatchObject({ desiredNumberScheduled: 1 });
  });

  it("a pod on a node that stopped matching is misscheduled and deleted", () => {
    const set = ds({ template: template("agent:1", { nodeSelector: { disk: "ssd" } }) });
    const r = reconcile(observed({ daemonSets: [set], nodes: [node("n1", { disk: "hdd" })], pods: [pod("agent-a", "n1", { hash: templateHash(template("agent:1", { nodeSelector: { disk: "ssd" } })) })] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a"]);
    expect(statusOf(r.actions)).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 1 });
  });

  it("required node affinity: In, NotIn, Exists, DoesNotExist, Gt, Lt and matchFields; terms are ORed", () => {
    const affinity = (terms: unknown[]) => spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
    const n = node("n1", { zone: "a", gpu: "yes", cores: "8" });
    const runs = (terms: unknown[]) => nodeShouldRunDaemonPod(n, affinity(terms)).shouldRun;
    expect(runs([{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }])).toBe(true);
    expect(runs([{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }])).toBe(false);
    expect(runs([{ matchExpressions: [{ key: "absent", operator: "NotIn", values: ["a"] }] }])).toBe(true);
    expect(runs([{ matchExpressions: [{ key: "gpu", operator: "Exists" }] }])).toBe(true);
    expect(runs([{ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }])).toBe(false);
    expect(runs([{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] }])).toBe(true);
    expect(runs([{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["4"] }] }])).toBe(false);
    expect(runs([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }])).toBe(true);
    expect(runs([{ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["n1"] }] }])).toBe(false);
    expect(runs([{ matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }, { matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }])).toBe(true);
    expect(runs([{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }], matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }])).toBe(false);
    expect(runs([{}])).toBe(false);
  });

  it("taints: untolerated NoSchedule blocks new pods but keeps existing ones; NoExecute evicts; PreferNoSchedule is ignored", () => {
    const taint = (key: string, effect: string, value?: string) => node("n1", {}, { taints: [{ key, effect, ...(value ? { value } : {}) }] });
    expect(nodeShouldRunDaemonPod(taint("dedicated", "NoSchedule"), spec({}))).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(taint("dedicated", "NoExecute"), spec({}))).toEqual({ shouldRun: false, shouldContinueRunning: false });
    expect(nodeShouldRunDaemonPod(taint("dedicated", "PreferNoSchedule"), spec({}))).toEqual({ shouldRun: true, shouldContinueRunning: true });
    const tolerating = spec({ tolerations: [{ key: "dedicated", operator: "Equal", value: "infra", effect: "NoSchedule" }] });
    expect(nodeShouldRunDaemonPod(taint("dedicated", "NoSchedule", "infra"), tolerating).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(taint("dedicated", "NoSchedule", "other"), tolerating).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(taint("anything", "NoExecute"), spec({ tolerations: [{ operator: "Exists" }] })).shouldRun).toBe(true);

    const pods = [pod("agent-a", "n1")];
    const kept = reconcile(observed({ daemonSets: [ds()], nodes: [taint("dedicated", "NoSchedule")], pods }));
    expect(nonStatus(kept.actions)).toEqual([]);
    expect(statusOf(kept.actions)).toMatchObject({ desiredNumberScheduled: 0, numberMisscheduled: 1 });
    const evicted = reconcile(observed({ daemonSets: [ds()], nodes: [taint("dedicated", "NoExecute")], pods }));
    expect(nonStatus(evicted.actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a"]);
  });

  it("tolerates the node condition taints by default (not-ready, unreachable, pressure, unschedulable)", () => {
    const nodes = [
      node("n1", {}, { taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }),
      node("n2", {}, { unschedulable: true, taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
      node("n3", {}, { taints: [{ key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" }] }),
      node("n4", {}, { taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }] }),
    ];
    const r = reconcile(observed({ daemonSets: [ds()], nodes }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods on n1", "create core/pods on n2", "create core/pods on n3"]);
    // network-unavailable only with hostNetwork.
    expect(daemonTolerations(true).map((t) => t.key)).toContain("node.kubernetes.io/network-unavailable");
    const hostNet = reconcile(observed({ daemonSets: [ds({ template: template("agent:1", { hostNetwork: true }) })], nodes: [nodes[3]] }));
    expect(nonStatus(hostNet.actions)).toEqual(["create core/pods on n4"]);
  });

  it("does not duplicate a default toleration the template already has", () => {
    const own = { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" };
    const r = reconcile(observed({ daemonSets: [ds({ template: template("agent:1", { tolerations: [own] }) })], nodes: [node("n1")] }));
    const created = r.actions[0] as { object: KubeObject };
    expect((created.object.spec as { tolerations: unknown[] }).tolerations).toEqual(DEFAULT_TOLERATIONS);
  });

  it("a template nodeName pins the pod to that node", () => {
    expect(nodeShouldRunDaemonPod(node("n1"), spec({ nodeName: "n2" })).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(node("n2"), spec({ nodeName: "n2" })).shouldRun).toBe(true);
  });
});

describe("DaemonSet: rolling update", () => {
  const v2 = (ru: Record<string, unknown> = { maxUnavailable: 1, maxSurge: 0 }, extra: Record<string, unknown> = {}) =>
    ds({ template: template("agent:2"), updateStrategy: { type: "RollingUpdate", rollingUpdate: ru }, ...extra }, { generation: 2 });
  const nodes = [node("n1"), node("n2"), node("n3")];
  const oldPods = () => [pod("agent-a", "n1"), pod("agent-b", "n2"), pod("agent-c", "n3")];

  it("maxUnavailable 1: deletes one old pod, then creates its replacement once it is gone", () => {
    const r1 = reconcile(observed({ daemonSets: [v2()], nodes, pods: oldPods() }));
    expect(nonStatus(r1.actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a"]);
    expect(statusOf(r1.actions)).toMatchObject({ observedGeneration: 2, desiredNumberScheduled: 3, numberReady: 3, numberAvailable: 3 });
    expect(statusOf(r1.actions)!.updatedNumberScheduled).toBeUndefined();
    // Terminating: counts as unavailable, nothing else goes.
    const r2 = reconcile(observed({ daemonSets: [v2()], nodes, pods: [pod("agent-a", "n1", { deleting: true }), pod("agent-b", "n2"), pod("agent-c", "n3")] }));
    expect(nonStatus(r2.actions)).toEqual([]);
    const r3 = reconcile(observed({ daemonSets: [v2()], nodes, pods: [pod("agent-b", "n2"), pod("agent-c", "n3")] }));
    expect(nonStatus(r3.actions)).toEqual(["create core/pods on n1"]);
    const created = (r3.actions[0] as { object: KubeObject }).object;
    expect(created.metadata.labels).toEqual({ app: "agent", "controller-revision-hash": HASH2, "pod-template-generation": "2" });
    // New pod not ready: waits.
    const r4 = reconcile(observed({ daemonSets: [v2()], nodes, pods: [pod("agent-d", "n1", { hash: HASH2, ready: false }), pod("agent-b", "n2"), pod("agent-c", "n3")] }));
    expect(nonStatus(r4.actions)).toEqual([]);
    // Ready: next old pod.
    const r5 = reconcile(observed({ daemonSets: [v2()], nodes, pods: [pod("agent-d", "n1", { hash: HASH2 }), pod("agent-b", "n2"), pod("agent-c", "n3")] }));
    expect(nonStatus(r5.actions)).toEqual(["delete core/pods agent-b", "event SuccessfulDelete: Deleted pod: agent-b"]);
    expect(statusOf(r5.actions)).toMatchObject({ updatedNumberScheduled: 1 });
  });

  it("maxUnavailable as a percentage (rounded up) deletes several at once", () => {
    const r = reconcile(observed({ daemonSets: [v2({ maxUnavailable: "50%", maxSurge: 0 })], nodes, pods: oldPods() }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a", "delete core/pods agent-b", "event SuccessfulDelete: Deleted pod: agent-b"]);
    expect(scaledValue("50%", 3, 1)).toBe(2);
    expect(scaledValue("10%", 3, 1)).toBe(1);
    expect(scaledValue(0, 3, 1)).toBe(0);
  });

  it("old pods that are not available are replaced regardless of the budget", () => {
    const pods = [pod("agent-a", "n1", { ready: false }), pod("agent-b", "n2", { ready: false }), pod("agent-c", "n3")];
    const r = reconcile(observed({ daemonSets: [v2()], nodes, pods }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a", "delete core/pods agent-b", "event SuccessfulDelete: Deleted pod: agent-b"]);
  });

  it("minReadySeconds: a ready new pod counts as unavailable until then, and a requeue is asked for", () => {
    const set = v2({ maxUnavailable: 1, maxSurge: 0 }, { minReadySeconds: 30 });
    const pods = [pod("agent-d", "n1", { hash: HASH2, readySince: new Date(NOW - 10_000).toISOString() }), pod("agent-b", "n2"), pod("agent-c", "n3")];
    const r = reconcile(observed({ daemonSets: [set], nodes, pods }));
    expect(nonStatus(r.actions)).toEqual([]);
    expect(r.requeueAfterMs).toBe(20_000);
  });

  it("OnDelete replaces nothing; a deleted pod comes back at the new revision", () => {
    const set = ds({ template: template("agent:2"), updateStrategy: { type: "OnDelete" } }, { generation: 2 });
    expect(nonStatus(reconcile(observed({ daemonSets: [set], nodes, pods: oldPods() })).actions)).toEqual([]);
    const r = reconcile(observed({ daemonSets: [set], nodes, pods: oldPods().slice(1) }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods on n1"]);
    expect((r.actions[0] as { object: KubeObject }).object.metadata.labels!["controller-revision-hash"]).toBe(HASH2);
  });

  it("maxSurge: starts the new pod first, deletes the old one once the new one is available", () => {
    const set = v2({ maxUnavailable: 0, maxSurge: 1 });
    const r1 = reconcile(observed({ daemonSets: [set], nodes, pods: oldPods() }));
    expect(nonStatus(r1.actions)).toEqual(["create core/pods on n1"]);
    const surged = [pod("agent-d", "n1", { hash: HASH2, ready: false, created: "2024-01-01T00:09:00Z" }), ...oldPods()];
    expect(nonStatus(reconcile(observed({ daemonSets: [set], nodes, pods: surged })).actions)).toEqual([]);
    const ready = [pod("agent-d", "n1", { hash: HASH2, created: "2024-01-01T00:09:00Z" }), ...oldPods()];
    expect(nonStatus(reconcile(observed({ daemonSets: [set], nodes, pods: ready })).actions)).toEqual(["delete core/pods agent-a", "event SuccessfulDelete: Deleted pod: agent-a"]);
  });
});
