import { describe, expect, it } from "vitest";
import { BURST, reconcile } from "../../src/controllers/replicaset.ts";
import type { Observed } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const T = (minutesBeforeNow: number) => new Date(NOW - minutesBeforeNow * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");

function observed(o: Partial<Observed>): Observed {
  return {
    ...emptyObserved("ns", NOW),
    ...o,
  };
}

const template = {
  metadata: { labels: { app: "web", tier: "fe" }, annotations: { note: "x" } },
  spec: { containers: [{ name: "c", image: "nginx" }] },
};

function replicaSet(
  name: string,
  replicas: number,
  opts: { status?: Record<string, unknown>; minReadySeconds?: number; deleting?: boolean; generation?: number; owner?: KubeObject } = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "10",
      generation: opts.generation ?? 1,
      creationTimestamp: T(60),
      ...(opts.deleting ? { deletionTimestamp: T(1) } : {}),
      ...(opts.owner
        ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: opts.owner.metadata.name!, uid: opts.owner.metadata.uid!, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: {
      replicas,
      ...(opts.minReadySeconds ? { minReadySeconds: opts.minReadySeconds } : {}),
      selector: { matchLabels: { app: "web" } },
      template,
    },
    status: opts.status ?? { replicas: 0, observedGeneration: opts.generation ?? 1 },
  };
}

const ref = (rs: KubeObject) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true });

interface PodOpts {
  owner?: KubeObject | null;
  labels?: Record<string, string>;
  node?: string;
  phase?: string;
  /** Ready since this many minutes before now. */
  readyFor?: number;
  created?: number;
  deleting?: boolean;
  cost?: string;
  restarts?: number;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  const conditions = o.readyFor !== undefined ? [{ type: "Ready", status: "True", lastTransitionTime: T(o.readyFor) }] : [{ type: "Ready", status: "False" }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "5",
      creationTimestamp: T(o.created ?? 30),
      labels: o.labels ?? { app: "web", tier: "fe" },
      ...(o.owner ? { ownerReferences: [ref(o.owner)] } : {}),
      ...(o.deleting ? { deletionTimestamp: T(0) } : {}),
      ...(o.cost !== undefined ? { annotations: { "controller.kubernetes.io/pod-deletion-cost": o.cost } } : {}),
    },
    spec: { containers: [{ name: "c", image: "nginx" }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? (o.readyFor !== undefined ? "Running" : "Pending"),
      conditions,
      ...(o.restarts ? { containerStatuses: [{ name: "c", restartCount: o.restarts }] } : {}),
    },
  };
}

const running = (name: string, owner: KubeObject, readyFor = 5, extra: PodOpts = {}) => pod(name, { owner, node: "n1", readyFor, ...extra });

const expectedPod = (rs: KubeObject) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    generateName: `${rs.metadata.name}-`,
    namespace: "ns",
    labels: { app: "web", tier: "fe" },
    annotations: { note: "x" },
    ownerReferences: [ref(rs)],
  },
  spec: { containers: [{ name: "c", image: "nginx" }] },
});

const deleted = (name: string) => ({ type: "delete", resource: "core/pods", name, uid: `uid-${name}` });
const deletedEvent = (rs: KubeObject, name: string) => ({ type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulDelete", message: `Deleted pod: ${name}` });
const statusUpdate = (rs: KubeObject, status: Record<string, unknown>) => ({ type: "update", resource: "apps/replicasets", subresource: "status", object: { ...rs, status } });

describe("ReplicaSet reconciler", () => {
  it("does nothing for a converged ReplicaSet", () => {
    const rs = replicaSet("web", 2, { status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 } });
    const obs = observed({ replicaSets: [rs], pods: [running("web-a", rs), running("web-b", rs)] });
    expect(reconcile(obs)).toEqual({ actions: [] });
  });

  it("creates the missing pods from the template with one aggregated event", () => {
    const rs = replicaSet("web", 3);
    expect(reconcile(observed({ replicaSets: [rs] }))).toEqual({
      actions: [
        { type: "create", resource: "core/pods", object: expectedPod(rs) },
        { type: "create", resource: "core/pods", object: expectedPod(rs) },
        { type: "create", resource: "core/pods", object: expectedPod(rs) },
        { type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: "Created 3 pods: web-*" },
      ],
    });
  });

  it("names the single pod it creates", () => {
    const rs = replicaSet("web", 2, { status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 } });
    expect(reconcile(observed({ replicaSets: [rs], pods: [running("web-a", rs)] })).actions).toEqual([
      { type: "create", resource: "core/pods", object: expectedPod(rs) },
      { type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: "Created pod: web-*" },
    ]);
  });

  it("does not share objects between created pods", () => {
    const rs = replicaSet("web", 2);
    const [a, b] = reconcile(observed({ replicaSets: [rs] })).actions as { object: KubeObject }[];
    expect(a.object).not.toBe(b.object);
    expect(a.object.spec).not.toBe(b.object.spec);
    expect(a.object.spec).not.toBe(rs.spec);
  });

  it("creates at most BURST pods per pass", () => {
    const rs = replicaSet("big", BURST + 20);
    const actions = reconcile(observed({ replicaSets: [rs] })).actions;
    expect(actions.filter((a) => a.type === "create")).toHaveLength(BURST);
    expect(actions.at(-1)).toEqual({ type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: `Created ${BURST} pods: big-*` });
  });

  it("does not count terminating or finished pods, and replaces them", () => {
    const rs = replicaSet("web", 2, { status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 } });
    const pods = [running("web-a", rs), running("web-b", rs, 5, { deleting: true }), pod("web-c", { owner: rs, phase: "Failed" }), pod("web-d", { owner: rs, phase: "Succeeded" })];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      { type: "create", resource: "core/pods", object: expectedPod(rs) },
      { type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: "Created pod: web-*" },
    ]);
  });

  it("deletes surplus pods: unscheduled, then pending, then not ready, then ready", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 5, fullyLabeledReplicas: 5, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 } });
    const pods = [
      running("web-ready-old", rs, 20),
      running("web-ready-new", rs, 2),
      pod("web-notready", { owner: rs, node: "n1", phase: "Running" }),
      pod("web-pending", { owner: rs, node: "n1", phase: "Pending" }),
      pod("web-unscheduled", { owner: rs }),
    ];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      deleted("web-unscheduled"),
      deleted("web-pending"),
      deleted("web-notready"),
      deleted("web-ready-new"),
      deletedEvent(rs, "web-unscheduled"),
      deletedEvent(rs, "web-pending"),
      deletedEvent(rs, "web-notready"),
      deletedEvent(rs, "web-ready-new"),
    ]);
  });

  it("among equally ranked pods deletes the newest first", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 } });
    const pods = [pod("web-b", { owner: rs, created: 10 }), pod("web-a", { owner: rs, created: 2 }), pod("web-c", { owner: rs, created: 20 })];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      deleted("web-a"),
      deleted("web-b"),
      deletedEvent(rs, "web-a"),
      deletedEvent(rs, "web-b"),
    ]);
  });

  it("honours pod-deletion-cost, co-location and restarts among ready pods", () => {
    const rs = replicaSet("web", 2, { status: { replicas: 5, fullyLabeledReplicas: 5, readyReplicas: 5, availableReplicas: 5, observedGeneration: 1 } });
    const pods = [
      pod("web-cheap", { owner: rs, node: "n3", readyFor: 9, cost: "-10" }),
      pod("web-n1a", { owner: rs, node: "n1", readyFor: 9 }),
      pod("web-n1b", { owner: rs, node: "n1", readyFor: 9, restarts: 3 }),
      pod("web-n2", { owner: rs, node: "n2", readyFor: 1 }),
      pod("web-dear", { owner: rs, node: "n1", readyFor: 1, cost: "100" }),
    ];
    // cost -10 first; then the n1 pods (3 replicas there) before n2; between those two the one with more restarts.
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      deleted("web-cheap"),
      deleted("web-n1b"),
      deleted("web-n1a"),
      deletedEvent(rs, "web-cheap"),
      deletedEvent(rs, "web-n1b"),
      deletedEvent(rs, "web-n1a"),
    ]);
  });

  it("deletes the more recently ready pod first", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 } });
    const pods = [pod("web-a", { owner: rs, node: "n1", readyFor: 3, created: 50 }), pod("web-b", { owner: rs, node: "n2", readyFor: 8, created: 10 })];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([deleted("web-a"), deletedEvent(rs, "web-a")]);
  });

  it("adopts matching orphans, leaving pods being deleted, owned by others or not matching alone", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 0, observedGeneration: 1 } });
    const other = replicaSet("other", 0);
    const orphan = pod("orphan", { node: "n1", readyFor: 5 });
    const pods = [
      orphan,
      pod("orphan-deleting", { deleting: true, readyFor: 5, node: "n1" }),
      pod("orphan-nomatch", { labels: { app: "db" } }),
      pod("theirs", { owner: { ...other, metadata: { ...other.metadata, uid: "uid-elsewhere" } } }),
    ];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      { type: "update", resource: "core/pods", object: { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [ref(rs)] } } },
      statusUpdate(rs, { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 }),
    ]);
  });

  it("keeps non-controller owner references when adopting", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 1, fullyLabeledReplicas: 1, observedGeneration: 1 } });
    const orphan = pod("p", {});
    orphan.metadata.ownerReferences = [{ apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "uid-cm" }];
    expect(reconcile(observed({ replicaSets: [rs], pods: [orphan] })).actions).toEqual([
      { type: "update", resource: "core/pods", object: { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [orphan.metadata.ownerReferences[0], ref(rs)] } } },
    ]);
  });

  it("gives an orphan matched by two ReplicaSets to the first by name only", () => {
    const a = replicaSet("a", 1, { status: { replicas: 1, fullyLabeledReplicas: 1, observedGeneration: 1 } });
    const b = replicaSet("b", 0);
    const orphan = pod("p", {});
    expect(reconcile(observed({ replicaSets: [b, a], pods: [orphan] })).actions).toEqual([
      { type: "update", resource: "core/pods", object: { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [ref(a)] } } },
    ]);
  });

  it("releases owned pods that no longer match the selector and replaces them", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 1, fullyLabeledReplicas: 1, observedGeneration: 1 } });
    const relabelled = pod("web-a", { owner: rs, labels: { app: "debug" } });
    const { ownerReferences: _, ...meta } = relabelled.metadata;
    expect(reconcile(observed({ replicaSets: [rs], pods: [relabelled] })).actions).toEqual([
      { type: "update", resource: "core/pods", object: { ...relabelled, metadata: meta } },
      { type: "create", resource: "core/pods", object: expectedPod(rs) },
      { type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: "Created pod: web-*" },
      statusUpdate(rs, { replicas: 0, observedGeneration: 1 }),
    ]);
  });

  it("for a ReplicaSet being deleted only releases pods and reports status", () => {
    const rs = replicaSet("web", 3, { deleting: true, status: { replicas: 2, fullyLabeledReplicas: 2, observedGeneration: 1 } });
    const stray = pod("web-stray", { owner: rs, labels: { app: "other" } });
    const { ownerReferences: _, ...meta } = stray.metadata;
    const pods = [pod("web-a", { owner: rs }), stray, pod("orphan", {})];
    expect(reconcile(observed({ replicaSets: [rs], pods })).actions).toEqual([
      { type: "update", resource: "core/pods", object: { ...stray, metadata: meta } },
      statusUpdate(rs, { replicas: 1, fullyLabeledReplicas: 1, observedGeneration: 1 }),
    ]);
  });

  it("writes status only when it changed: ready, available, fully labelled, observedGeneration", () => {
    const rs = replicaSet("web", 3, { generation: 2, status: { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1, conditions: [{ type: "X", status: "True" }] } });
    const pods = [running("web-a", rs), running("web-b", rs, 1), pod("web-c", { owner: rs, labels: { app: "web" }, node: "n1", phase: "Running" })];
    expect(reconcile(observed({ replicaSets: [rs], pods }))).toEqual({
      actions: [
        statusUpdate(rs, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 2, conditions: [{ type: "X", status: "True" }] }),
      ],
    });
  });

  it("counts absent and zero status fields as equal", () => {
    const rs = replicaSet("web", 0, { status: { replicas: 0, readyReplicas: 0, availableReplicas: 0, fullyLabeledReplicas: 0, observedGeneration: 1 } });
    expect(reconcile(observed({ replicaSets: [rs] }))).toEqual({ actions: [] });
  });

  it("with minReadySeconds counts a pod available only after it, and asks to be woken then", () => {
    const rs = replicaSet("web", 2, { minReadySeconds: 120, status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 } });
    // web-a ready 5 minutes ago (available), web-b ready 1 minute ago (available in 60s).
    const pods = [running("web-a", rs, 5), running("web-b", rs, 1)];
    expect(reconcile(observed({ replicaSets: [rs], pods }))).toEqual({ actions: [], requeueAfterMs: 60_001 });
    // Exactly at the boundary it is not yet available (strictly longer than minReadySeconds).
    const atBoundary = observed({ replicaSets: [rs], pods: [running("web-a", rs, 5), running("web-b", rs, 2)] });
    expect(reconcile(atBoundary)).toEqual({ actions: [], requeueAfterMs: 1 });
    // Later both are available.
    expect(reconcile({ ...atBoundary, now: NOW + 1 })).toEqual({
      actions: [statusUpdate(rs, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 })],
    });
  });

  it("treats an absent spec.replicas as 1 and ignores a ReplicaSet without a selector", () => {
    const rs = replicaSet("web", 0);
    delete (rs.spec as Record<string, unknown>).replicas;
    const noSel = replicaSet("nosel", 2);
    delete (noSel.spec as Record<string, unknown>).selector;
    expect(reconcile(observed({ replicaSets: [rs, noSel] })).actions).toEqual([
      { type: "create", resource: "core/pods", object: expectedPod(rs) },
      { type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulCreate", message: "Created pod: web-*" },
    ]);
  });

  it("is deterministic: the same observation gives the same actions", () => {
    const rs = replicaSet("web", 1, { status: { replicas: 3, observedGeneration: 1 } });
    const obs = observed({ replicaSets: [rs], pods: [pod("web-a", { owner: rs }), pod("web-b", { owner: rs }), pod("orphan", {})] });
    expect(reconcile(obs)).toEqual(reconcile(structuredClone(obs)));
  });
});
