import { describe, expect, it } from "vitest";
import { reconcile as reconcileDaemonSets } from "../../src/controllers/daemonset.ts";
import { reconcile as reconcileGarbage } from "../../src/controllers/garbage-collector.ts";
import { reconcile, templateHash } from "../../src/controllers/statefulset.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const NOW = Date.parse("2024-01-01T00:10:00Z");
const T0 = "2024-01-01T00:00:00Z";

const template = (image = "nginx:1") => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "c", image }] },
});

function sts(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "ns", uid: "sts-uid", resourceVersion: "10", generation: 1, creationTimestamp: T0, ...meta },
    spec: { replicas: 3, serviceName: "web-svc", selector: { matchLabels: { app: "web" } }, template: template(), ...spec },
    ...(status ? { status } : {}),
  };
}

const rev = (image = "nginx:1") => `web-${templateHash(template(image))}`;
const REV1 = rev("nginx:1");
const REV2 = rev("nginx:2");

function observed(parts: Partial<Observed>): Observed {
  return {
    ...emptyObserved("ns", NOW),
    ...parts,
  };
}

interface PodOpts {
  ready?: boolean;
  phase?: string;
  revision?: string;
  deleting?: boolean;
  readySince?: string;
  owner?: KubeObject | null;
  labels?: Record<string, string>;
}

/** A pod as the store would hold it after the controller created it. */
function pod(name: string, o: PodOpts = {}): KubeObject {
  const ordinal = name.split("-").pop()!;
  const owner = o.owner === undefined ? sts() : o.owner;
  const phase = o.phase ?? (o.ready === false ? "Pending" : "Running");
  const ready = o.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "5",
      creationTimestamp: T0,
      labels: o.labels ?? { app: "web", "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": ordinal, "controller-revision-hash": o.revision ?? REV1 },
      ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: "2024-01-01T00:09:00Z" } : {}),
    },
    spec: { containers: [{ name: "c", image: "nginx:1" }], hostname: name, subdomain: "web-svc", nodeName: "n1" },
    status: { phase, conditions: [{ type: "Ready", status: ready && phase === "Running" ? "True" : "False", lastTransitionTime: o.readySince ?? T0 }] },
  };
}

function pvc(name: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "3", ...extra }, spec: { accessModes: ["ReadWriteOnce"] } };
}

/** Actions as short strings (check status contents with statusOf). */
function summary(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "create":
        return `create ${a.resource} ${a.object.metadata.name}`;
      case "delete":
        return `delete ${a.resource} ${a.name}`;
      case "event":
        return `event ${a.reason}: ${a.message}`;
      case "update":
        if (a.subresource === "status") return "update status";
        return `update ${a.resource} ${a.object.metadata.name}`;
    }
  });
}

const nonStatus = (actions: Action[]) => summary(actions.filter((a) => !(a.type === "update" && a.subresource === "status")));
const statusOf = (actions: Action[]) => {
  const a = actions.find((x) => x.type === "update" && x.subresource === "status");
  return a?.type === "update" ? (a.object.status as Record<string, unknown>) : undefined;
};

describe("StatefulSet: OrderedReady scale up", () => {
  it("creates web-0 only, with identity labels, hostname/subdomain and an owner reference, and reports status", () => {
    const set = sts();
    const r = reconcile(observed({ statefulSets: [set] }));
    expect(summary(r.actions)).toEqual(["create core/pods web-0", "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful", "update status"]);
    expect(r.actions[2]).toEqual({
      type: "update",
      resource: "apps/statefulsets",
      subresource: "status",
      object: { ...set, status: { observedGeneration: 1, replicas: 0, currentRevision: REV1, updateRevision: REV1, collisionCount: 0, availableReplicas: 0 } },
    });
    expect(r.actions[0]).toEqual({
      type: "create",
      resource: "core/pods",
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "web-0",
          namespace: "ns",
          labels: { app: "web", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": REV1 },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid", controller: true, blockOwnerDeletion: true }],
        },
        spec: { containers: [{ name: "c", image: "nginx:1" }], hostname: "web-0", subdomain: "web-svc" },
      },
    });
    expect(r.actions[1]).toMatchObject({ type: "event", involved: set, eventType: "Normal" });
    expect(r.requeueAfterMs).toBeUndefined();
  });

  it("waits while web-0 is not Running and Ready", () => {
    const status = { observedGeneration: 1, replicas: 1, currentReplicas: 1, updatedReplicas: 1, currentRevision: REV1, updateRevision: REV1, collisionCount: 0, availableReplicas: 0 };
    const r = reconcile(observed({ statefulSets: [sts({}, {}, status)], pods: [pod("web-0", { ready: false })] }));
    expect(r.actions).toEqual([]);
    // Running but not ready: still waiting.
    const running = pod("web-0", { ready: false, phase: "Running" });
    expect(reconcile(observed({ statefulSets: [sts({}, {}, status)], pods: [running] })).actions).toEqual([]);
  });

  it("creates the next ordinal once its predecessors are ready, then converges", () => {
    const r1 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0")] }));
    expect(nonStatus(r1.actions)).toEqual(["create core/pods web-1", "event SuccessfulCreate: create Pod web-1 in StatefulSet web successful"]);
    const r2 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0"), pod("web-1")] }));
    expect(nonStatus(r2.actions)).toEqual(["create core/pods web-2", "event SuccessfulCreate: create Pod web-2 in StatefulSet web successful"]);
    const full = { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: REV1, updateRevision: REV1, collisionCount: 0, availableReplicas: 3 };
    const r3 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0"), pod("web-1"), pod("web-2")] }));
    expect(summary(r3.actions)).toEqual(["update status"]);
    expect(statusOf(r3.actions)).toEqual(full);
    // Converged: nothing at all once the status is stored.
    expect(reconcile(observed({ statefulSets: [sts({}, {}, full)], pods: [pod("web-0"), pod("web-1"), pod("web-2")] })).actions).toEqual([]);
  });

  it("recreates a missing lower ordinal before anything else", () => {
    const r = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-1"), pod("web-2")] }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods web-0", "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful"]);
  });

  it("deletes a Failed pod and recreates it once it is gone", () => {
    const failed = pod("web-1", { phase: "Failed", ready: false });
    const r1 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0"), failed] }));
    expect(nonStatus(r1.actions)).toEqual(["delete core/pods web-1", "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful"]);
    expect(r1.actions[0]).toEqual({ type: "delete", resource: "core/pods", name: "web-1", uid: "uid-web-1", resourceVersion: "5" });
    const r2 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0"), { ...failed, metadata: { ...failed.metadata, deletionTimestamp: T0 } }] }));
    expect(nonStatus(r2.actions)).toEqual([]);
    const r3 = reconcile(observed({ statefulSets: [sts()], pods: [pod("web-0")] }));
    expect(nonStatus(r3.actions)).toEqual(["create core/pods web-1", "event SuccessfulCreate: create Pod web-1 in StatefulSet web successful"]);
  });

  it("waits for minReadySeconds before the next ordinal, and says when to look again", () => {
    const set = sts({ minReadySeconds: 60 });
    const fresh = pod("web-0", { readySince: new Date(NOW - 20_000).toISOString() });
    const r = reconcile(observed({ statefulSets: [set], pods: [fresh] }));
    expect(nonStatus(r.actions)).toEqual([]);
    expect(r.requeueAfterMs).toBe(40_000);
    expect(statusOf(r.actions)).toMatchObject({ readyReplicas: 1, availableReplicas: 0 });
    const old = pod("web-0", { readySince: new Date(NOW - 61_000).toISOString() });
    expect(nonStatus(reconcile(observed({ statefulSets: [set], pods: [old] })).actions)).toEqual([
      "create core/pods web-1",
      "event SuccessfulCreate: create Pod web-1 in StatefulSet web successful",
    ]);
  });

  it("honours spec.ordinals.start", () => {
    const r = reconcile(observed({ statefulSets: [sts({ replicas: 2, ordinals: { start: 5 } })], pods: [pod("web-5")] }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods web-6", "event SuccessfulCreate: create Pod web-6 in StatefulSet web successful"]);
  });
});

describe("StatefulSet: OrderedReady scale down", () => {
  const three = () => [pod("web-0"), pod("web-1"), pod("web-2")];

  it("deletes the highest ordinal first, one at a time, waiting for termination", () => {
    const set = sts({ replicas: 1 });
    const r1 = reconcile(observed({ statefulSets: [set], pods: three() }));
    expect(nonStatus(r1.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
    // web-2 terminating: wait.
    const r2 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { deleting: true })] }));
    expect(nonStatus(r2.actions)).toEqual([]);
    const r3 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1")] }));
    expect(nonStatus(r3.actions)).toEqual(["delete core/pods web-1", "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful"]);
    expect(nonStatus(reconcile(observed({ statefulSets: [set], pods: [pod("web-0")] })).actions)).toEqual([]);
  });

  it("does not scale down while a remaining pod is unhealthy", () => {
    const set = sts({ replicas: 1 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0", { ready: false }), pod("web-1"), pod("web-2")] }));
    expect(nonStatus(r.actions)).toEqual([]);
  });

  it("deletes an unhealthy condemned pod only when it is the first unhealthy one", () => {
    const set = sts({ replicas: 1 });
    // web-2 unhealthy (highest): it is the first unhealthy, so it goes.
    const r1 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { ready: false })] }));
    expect(nonStatus(r1.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
    // web-1 unhealthy below a healthy web-2: web-2 goes first (healthy), then web-1.
    const r2 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1", { ready: false }), pod("web-2")] }));
    expect(nonStatus(r2.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
  });

  it("scales to zero", () => {
    const set = sts({ replicas: 0 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0")] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods web-0", "event SuccessfulDelete: delete Pod web-0 in StatefulSet web successful"]);
  });
});

describe("StatefulSet: Parallel", () => {
  it("creates every missing pod at once", () => {
    const r = reconcile(observed({ statefulSets: [sts({ podManagementPolicy: "Parallel" })], pods: [pod("web-1", { ready: false })] }));
    expect(nonStatus(r.actions)).toEqual([
      "create core/pods web-0",
      "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful",
      "create core/pods web-2",
      "event SuccessfulCreate: create Pod web-2 in StatefulSet web successful",
    ]);
  });

  it("deletes every condemned pod at once, even unhealthy ones", () => {
    const set = sts({ podManagementPolicy: "Parallel", replicas: 1 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0", { ready: false }), pod("web-1"), pod("web-2", { ready: false })] }));
    expect(nonStatus(r.actions)).toEqual([
      "delete core/pods web-2",
      "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful",
      "delete core/pods web-1",
      "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful",
    ]);
  });
});

describe("StatefulSet: volumeClaimTemplates", () => {
  const claimTemplate = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", labels: { tier: "db" } },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    status: { phase: "Pending" },
  };
  const withClaims = (extra: Record<string, unknown> = {}) =>
    sts({ volumeClaimTemplates: [claimTemplate], ...extra });

  it("creates the claim before the pod and mounts it as a persistentVolumeClaim volume", () => {
    const set = withClaims({ template: { ...template(), spec: { containers: [{ name: "c", image: "nginx:1" }], volumes: [{ name: "cfg", configMap: { name: "c" } }] } } });
    const r = reconcile(observed({ statefulSets: [set] }));
    expect(nonStatus(r.actions)).toEqual([
      "create core/persistentvolumeclaims data-web-0",
      "event SuccessfulCreate: create Claim data-web-0 Pod web-0 in StatefulSet web success",
      "create core/pods web-0",
      "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful",
    ]);
    expect(r.actions[0]).toEqual({
      type: "create",
      resource: "core/persistentvolumeclaims",
      object: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data-web-0", namespace: "ns", labels: { tier: "db", app: "web" } },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    });
    const created = r.actions[2] as { object: KubeObject };
    expect((created.object.spec as { volumes: unknown }).volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: "data-web-0" } },
      { name: "cfg", configMap: { name: "c" } },
    ]);
  });

  it("reuses an existing claim (they survive pod deletion) and creates only the pod", () => {
    const r = reconcile(observed({ statefulSets: [withClaims()], persistentVolumeClaims: [pvc("data-web-0")] }));
    expect(nonStatus(r.actions)).toEqual(["create core/pods web-0", "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful"]);
  });

  it("does not delete claims on scale down with the default Retain policy", () => {
    const set = withClaims({ replicas: 1 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1")], persistentVolumeClaims: [pvc("data-web-0"), pvc("data-web-1")] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods web-1", "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful"]);
  });

  it("creates a missing claim for a Pending pod", () => {
    const r = reconcile(observed({ statefulSets: [withClaims()], pods: [pod("web-0", { ready: false })] }));
    expect(nonStatus(r.actions)).toEqual([
      "create core/persistentvolumeclaims data-web-0",
      "event SuccessfulCreate: create Claim data-web-0 Pod web-0 in StatefulSet web success",
    ]);
  });

  it("waits for a claim that is being deleted before creating the pod", () => {
    const r = reconcile(observed({ statefulSets: [withClaims()], persistentVolumeClaims: [pvc("data-web-0", { deletionTimestamp: T0, finalizers: ["kubernetes.io/pvc-protection"] })] }));
    expect(nonStatus(r.actions)).toEqual(["event FailedCreate: create Pod web-0 in StatefulSet web failed error: pvc data-web-0 is being deleted"]);
  });

  it("whenDeleted: Delete makes the StatefulSet an owner of new and existing claims", () => {
    const set = withClaims({ persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" }, replicas: 1 });
    const r1 = reconcile(observed({ statefulSets: [set] }));
    expect((r1.actions[0] as { object: KubeObject }).object.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid" }]);
    const r2 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0")], persistentVolumeClaims: [pvc("data-web-0")] }));
    expect(nonStatus(r2.actions)).toEqual(["update core/persistentvolumeclaims data-web-0"]);
    expect((r2.actions[0] as { object: KubeObject }).object.metadata).toEqual({
      ...pvc("data-web-0").metadata,
      ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid" }],
    });
  });

  it("whenScaled: Delete hands condemned claims to their pod before deleting it, and waits for stale claims", () => {
    const set = withClaims({ persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Delete" }, replicas: 1 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1")], persistentVolumeClaims: [pvc("data-web-0"), pvc("data-web-1")] }));
    expect(nonStatus(r.actions)).toEqual([
      "update core/persistentvolumeclaims data-web-1",
      "delete core/pods web-1",
      "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful",
    ]);
    expect((r.actions[0] as { object: KubeObject }).object.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Pod", name: "web-1", uid: "uid-web-1" }]);
    // Scaled back up before the garbage collector removed the claim: wait for it.
    const stale = pvc("data-web-1", { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "web-1", uid: "uid-web-1" }] });
    const up = withClaims({ persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Delete" }, replicas: 2 });
    expect(nonStatus(reconcile(observed({ statefulSets: [up], pods: [pod("web-0")], persistentVolumeClaims: [pvc("data-web-0"), stale] })).actions)).toEqual([]);
  });
});

describe("StatefulSet: RollingUpdate", () => {
  const v2 = (extra: Record<string, unknown> = {}, status: Record<string, unknown> = { currentRevision: REV1, updateRevision: REV1 }) =>
    sts({ template: template("nginx:2"), ...extra }, { generation: 2 }, status);

  it("replaces pods from the highest ordinal down, one at a time, waiting for Ready", () => {
    const set = v2();
    const r1 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2")] }));
    expect(summary(r1.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful", "update status"]);
    expect(statusOf(r1.actions)).toEqual({ currentRevision: REV1, updateRevision: REV2, observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, collisionCount: 0, availableReplicas: 3 });
    // Terminating: wait.
    expect(nonStatus(reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { deleting: true })] })).actions)).toEqual([]);
    // Gone: recreated from the new template.
    const r3 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1")] }));
    expect(nonStatus(r3.actions)).toEqual(["create core/pods web-2", "event SuccessfulCreate: create Pod web-2 in StatefulSet web successful"]);
    const created = (r3.actions[0] as { object: KubeObject }).object;
    expect(created.metadata.labels!["controller-revision-hash"]).toBe(REV2);
    expect((created.spec as { containers: { image: string }[] }).containers[0].image).toBe("nginx:2");
    // New web-2 not ready yet: wait.
    expect(nonStatus(reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { revision: REV2, ready: false })] })).actions)).toEqual([]);
    // Ready: next is web-1.
    const r5 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { revision: REV2 })] }));
    expect(nonStatus(r5.actions)).toEqual(["delete core/pods web-1", "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful"]);
    expect(statusOf(r5.actions)).toMatchObject({ currentReplicas: 2, updatedReplicas: 1, currentRevision: REV1, updateRevision: REV2 });
  });

  it("completes the rollout: currentRevision becomes the update revision", () => {
    const set = v2();
    const r = reconcile(observed({ statefulSets: [set], pods: ["web-0", "web-1", "web-2"].map((n) => pod(n, { revision: REV2 })) }));
    expect(summary(r.actions)).toEqual(["update status"]);
    expect(statusOf(r.actions)).toEqual({ currentRevision: REV2, updateRevision: REV2, observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, collisionCount: 0, availableReplicas: 3 });
  });

  it("updates only ordinals at or above the partition, and recreates lower ones at the current revision", () => {
    const set = v2({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } });
    const r1 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2")] }));
    expect(nonStatus(r1.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
    const pods = [pod("web-0"), pod("web-1"), pod("web-2", { revision: REV2 })];
    const r2 = reconcile(observed({ statefulSets: [set], pods }));
    expect(nonStatus(r2.actions)).toEqual([]);
    expect(statusOf(r2.actions)).toMatchObject({ currentRevision: REV1, updateRevision: REV2, currentReplicas: 2, updatedReplicas: 1 });
    // web-0 deleted by someone: it comes back at the old revision, with the old template.
    const r3 = reconcile(observed({ statefulSets: [set], pods: [pods[1], pods[2]] }));
    expect(nonStatus(r3.actions)).toEqual(["create core/pods web-0", "event SuccessfulCreate: create Pod web-0 in StatefulSet web successful"]);
    expect((r3.actions[0] as { object: KubeObject }).object).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-0",
        namespace: "ns",
        labels: { app: "web", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": REV1 },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid", controller: true, blockOwnerDeletion: true }],
      },
      spec: { containers: [{ name: "c", image: "nginx:1" }], hostname: "web-0", subdomain: "web-svc" },
    });
  });

  it("lowering the partition continues the rollout", () => {
    const set = v2({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } } });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { revision: REV2 })] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods web-1", "event SuccessfulDelete: delete Pod web-1 in StatefulSet web successful"]);
  });

  it("Parallel pods are still updated one at a time", () => {
    const set = v2({ podManagementPolicy: "Parallel" });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2", { revision: REV2, ready: false })] }));
    expect(nonStatus(r.actions)).toEqual([]);
  });

  it("OnDelete replaces nothing; a deleted pod comes back with the new template", () => {
    const set = v2({ updateStrategy: { type: "OnDelete" } });
    const r1 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2")] }));
    expect(nonStatus(r1.actions)).toEqual([]);
    const r2 = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-2")] }));
    expect(nonStatus(r2.actions)).toEqual(["create core/pods web-1", "event SuccessfulCreate: create Pod web-1 in StatefulSet web successful"]);
    expect((r2.actions[0] as { object: KubeObject }).object.metadata.labels!["controller-revision-hash"]).toBe(REV2);
  });

  it("scaling takes precedence over updates", () => {
    const set = v2({ replicas: 2 });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0"), pod("web-1"), pod("web-2")] }));
    expect(nonStatus(r.actions)).toEqual(["delete core/pods web-2", "event SuccessfulDelete: delete Pod web-2 in StatefulSet web successful"]);
  });
});

describe("StatefulSet: ownership", () => {
  it("adopts an orphan member matching the selector (and does nothing else that pass)", () => {
    const orphan = pod("web-0", { owner: null });
    const r = reconcile(observed({ statefulSets: [sts()], pods: [orphan] }));
    expect(r.actions).toEqual([
      {
        type: "update",
        resource: "core/pods",
        object: { ...orphan, metadata: { ...orphan.metadata, ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid", controller: true, blockOwnerDeletion: true }] } },
      },
    ]);
  });

  it("releases an owned pod whose labels no longer match", () => {
    const stray = pod("web-0", { labels: { app: "other" } });
    const r = reconcile(observed({ statefulSets: [sts()], pods: [stray] }));
    const released = structuredClone(stray);
    delete released.metadata.ownerReferences;
    expect(r.actions).toEqual([{ type: "update", resource: "core/pods", object: released }]);
  });

  it("does not create over a pod of the same name it does not own", () => {
    const other = pod("web-0", { owner: { ...sts(), metadata: { ...sts().metadata, name: "web", uid: "old-uid" } } });
    const r = reconcile(observed({ statefulSets: [sts()], pods: [other] }));
    expect(nonStatus(r.actions)).toEqual([`event FailedCreate: create Pod web-0 in StatefulSet web failed error: pods "web-0" already exists`]);
  });

  it("ignores pods of another StatefulSet", () => {
    const other = sts({}, { name: "db", uid: "db-uid" });
    const full = { observedGeneration: 1, replicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1, currentRevision: REV1, updateRevision: REV1, collisionCount: 0, availableReplicas: 1 };
    const r = reconcile(observed({ statefulSets: [sts({ replicas: 1 }, {}, full)], pods: [pod("web-0"), { ...pod("db-0", { owner: other }) }] }));
    expect(r.actions).toEqual([]);
  });

  it("puts back identity labels a user removed", () => {
    const p = pod("web-0");
    delete p.metadata.labels!["apps.kubernetes.io/pod-index"];
    const r = reconcile(observed({ statefulSets: [sts({ replicas: 1 })], pods: [p] }));
    expect(nonStatus(r.actions)).toEqual(["update core/pods web-0", "event SuccessfulUpdate: update Pod web-0 in StatefulSet web successful"]);
    expect((r.actions[0] as { object: KubeObject }).object.metadata.labels).toEqual(pod("web-0").metadata.labels);
  });

  it("a StatefulSet being deleted only reports status", () => {
    const set = sts({ replicas: 3 }, { deletionTimestamp: T0, finalizers: ["foregroundDeletion"] });
    const r = reconcile(observed({ statefulSets: [set], pods: [pod("web-0")] }));
    expect(nonStatus(r.actions)).toEqual([]);
  });
});

describe("StatefulSet: revisions", () => {
  it("hashes the template stably, independent of key order, and differently for a different template", () => {
    expect(templateHash({ a: 1, b: { c: [1, 2] } })).toBe(templateHash({ b: { c: [1, 2] }, a: 1 }));
    expect(templateHash(template("nginx:1"))).not.toBe(templateHash(template("nginx:2")));
    expect(templateHash(template())).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });

  it("is deterministic: the same observation gives the same actions", () => {
    const o = observed({ statefulSets: [sts({ podManagementPolicy: "Parallel" })], pods: [pod("web-2")] });
    expect(reconcile(o)).toEqual(reconcile(structuredClone(o)));
  });
});

// ---------------------------------------------------------------------------
// Runs against a tiny in-memory store with the host's and the store's semantics
// (CAS updates, generateName, finalizers, graceful pod deletion) and a fake kubelet,
// to check the controllers converge and never fight each other.

const LISTS: Record<string, keyof Observed> = {
  "core/pods": "pods",
  "core/persistentvolumeclaims": "persistentVolumeClaims",
  "apps/statefulsets": "statefulSets",
  "apps/daemonsets": "daemonSets",
};

class FakeCluster {
  rev = 100;
  seq = 0;
  now = NOW;
  objects = new Map<string, KubeObject>(); // "<resource>/<name>"
  nodes: KubeObject[] = [];

  put(resource: string, o: KubeObject) {
    o.metadata.resourceVersion = String(++this.rev);
    this.objects.set(`${resource}/${o.metadata.name}`, o);
  }
  list(resource: string) {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/`)).map(([, o]) => structuredClone(o));
  }
  observe(): Observed {
    const parts: Partial<Observed> = { nodes: structuredClone(this.nodes) };
    for (const [resource, list] of Object.entries(LISTS)) (parts as Record<string, unknown>)[list] = this.list(resource);
    return observed({ ...parts, now: this.now });
  }
  apply(a: Action): boolean {
    if (a.type === "event") return false;
    const resource = a.resource;
    if (a.type === "create") {
      const o = structuredClone(a.object);
      if (!o.metadata.name) o.metadata.name = `${o.metadata.generateName}${(++this.seq).toString(36).padStart(5, "x")}`;
      if (this.objects.has(`${resource}/${o.metadata.name}`)) return false;
      o.metadata.uid = `uid-${o.metadata.name}-${++this.seq}`;
      o.metadata.creationTimestamp = new Date(this.now).toISOString().replace(/\.\d+Z$/, "Z");
      if (resource === "core/pods") o.status = { phase: "Pending" };
      this.put(resource, o);
      return true;
    }
    if (a.type === "update") {
      const cur = this.objects.get(`${resource}/${a.object.metadata.name}`);
      if (!cur || cur.metadata.resourceVersion !== a.object.metadata.resourceVersion) return false;
      const next = structuredClone(a.object);
      if (a.subresource === "status") next.metadata = cur.metadata;
      else next.status = cur.status;
      next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      if (!next.metadata.deletionTimestamp) delete next.metadata.deletionTimestamp;
      if (JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: "" } }) === JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: "" } }))
        throw new Error(`no-op update of ${a.object.metadata.name}`);
      if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
        this.objects.delete(`${resource}/${next.metadata.name}`);
        return true;
      }
      this.put(resource, next);
      return true;
    }
    const cur = this.objects.get(`${resource}/${a.name}`);
    if (!cur || (a.uid && a.uid !== cur.metadata.uid) || (a.resourceVersion && a.resourceVersion !== cur.metadata.resourceVersion)) return false;
    if (cur.metadata.deletionTimestamp) throw new Error(`deleted twice: ${a.name}`);
    const finalizers = new Set(cur.metadata.finalizers ?? []);
    if (a.propagationPolicy === "Foreground") finalizers.add("foregroundDeletion");
    if (a.propagationPolicy === "Orphan") finalizers.add("orphan");
    const graceful = resource === "core/pods" && (cur.spec as { nodeName?: string }).nodeName;
    if (finalizers.size || graceful) {
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = new Date(this.now).toISOString();
      if (finalizers.size) next.metadata.finalizers = [...finalizers];
      this.put(resource, next);
    } else this.objects.delete(`${resource}/${a.name}`);
    return true;
  }
  /** Runs the reconcilers until nothing changes (like the host); returns how many passes it took. */
  settle(reconcilers = [reconcile, reconcileDaemonSets, reconcileGarbage]): number {
    for (let pass = 1; pass <= 50; pass++) {
      let changed = 0;
      for (const r of reconcilers) {
        const o = this.observe();
        const first = r(o);
        expect(r(structuredClone(o))).toEqual(first); // deterministic
        for (const a of first.actions) if (this.apply(a)) changed++;
      }
      if (changed === 0) return pass;
    }
    throw new Error("did not converge");
  }
  /** The kubelet: pods start (Running and Ready), terminating pods finish. Returns whether anything changed. */
  kubelet(): boolean {
    let changed = false;
    for (const [key, o] of [...this.objects]) {
      if (!key.startsWith("core/pods/")) continue;
      if (o.metadata.deletionTimestamp && !o.metadata.finalizers?.length) {
        this.objects.delete(key);
        changed = true;
      } else if (!o.metadata.deletionTimestamp && (o.status as { phase?: string }).phase === "Pending") {
        const next = structuredClone(o);
        next.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date(this.now).toISOString() }] };
        this.put("core/pods", next);
        changed = true;
      }
    }
    return changed;
  }
  /** Controllers and kubelet until both are idle; returns the number of kubelet rounds. */
  run(): number {
    let rounds = 0;
    this.settle();
    while (this.kubelet()) {
      rounds++;
      this.now += 1000;
      this.settle();
      if (rounds > 100) throw new Error("kubelet never idle");
    }
    return rounds;
  }
  names(resource: string) {
    return this.list(resource).map((o) => o.metadata.name).sort();
  }
}

describe("controllers against a fake store and kubelet", () => {
  const claimTemplate = { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } };

  it("StatefulSet: scale up one by one, roll out a new template, scale down, converge with zero actions", () => {
    const c = new FakeCluster();
    c.put("apps/statefulsets", sts({ volumeClaimTemplates: [claimTemplate] }));
    // OrderedReady: each kubelet round readies exactly one new pod.
    expect(c.run()).toBe(3);
    expect(c.names("core/pods")).toEqual(["web-0", "web-1", "web-2"]);
    expect(c.names("core/persistentvolumeclaims")).toEqual(["data-web-0", "data-web-1", "data-web-2"]);
    let set = c.list("apps/statefulsets")[0];
    expect(set.status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(set.status).toMatchObject({ currentRevision: (set.status as { updateRevision: string }).updateRevision });
    expect(c.settle()).toBe(1);

    // New template: three replacements, highest first, each taking a termination and a start.
    set.spec = { ...(set.spec as object), template: template("nginx:2") };
    set.metadata.generation = 2;
    c.put("apps/statefulsets", set);
    c.run();
    const pods = c.list("core/pods");
    expect(pods.map((p) => (p.spec as { containers: { image: string }[] }).containers[0].image)).toEqual(["nginx:2", "nginx:2", "nginx:2"]);
    set = c.list("apps/statefulsets")[0];
    const revision = `web-${templateHash((set.spec as { template: unknown }).template)}`;
    expect(set.status).toMatchObject({ observedGeneration: 2, currentRevision: revision, updateRevision: revision, currentReplicas: 3, updatedReplicas: 3 });

    // Scale down: pods go, claims stay.
    set.spec = { ...(set.spec as object), replicas: 1 };
    c.put("apps/statefulsets", set);
    c.run();
    expect(c.names("core/pods")).toEqual(["web-0"]);
    expect(c.names("core/persistentvolumeclaims")).toEqual(["data-web-0", "data-web-1", "data-web-2"]);
    expect(c.settle()).toBe(1);
  });

  it("StatefulSet deleted in the foreground: the collector removes its pods, then the set", () => {
    const c = new FakeCluster();
    c.put("apps/statefulsets", sts({ podManagementPolicy: "Parallel" }));
    expect(c.run()).toBe(1);
    expect(c.names("core/pods")).toEqual(["web-0", "web-1", "web-2"]);
    expect(c.apply({ type: "delete", resource: "apps/statefulsets", name: "web", propagationPolicy: "Foreground" })).toBe(true);
    c.run();
    expect(c.names("core/pods")).toEqual([]);
    expect(c.names("apps/statefulsets")).toEqual([]);
  });

  it("StatefulSet deleted with orphan: pods stay, without owner references, and a new set adopts them", () => {
    const c = new FakeCluster();
    c.put("apps/statefulsets", sts({ replicas: 2, podManagementPolicy: "Parallel" }));
    c.run();
    c.apply({ type: "delete", resource: "apps/statefulsets", name: "web", propagationPolicy: "Orphan" });
    c.run();
    expect(c.names("apps/statefulsets")).toEqual([]);
    expect(c.list("core/pods").map((p) => p.metadata.ownerReferences)).toEqual([undefined, undefined]);
    c.put("apps/statefulsets", sts({ replicas: 2, podManagementPolicy: "Parallel" }, { uid: "sts-uid-2" }));
    c.run();
    expect(c.list("core/pods").map((p) => p.metadata.ownerReferences?.[0].uid)).toEqual(["sts-uid-2", "sts-uid-2"]);
  });

  it("StatefulSet with retention Delete/Delete: scaled-away claims and, with the set, all claims go", () => {
    const c = new FakeCluster();
    c.put("apps/statefulsets", sts({ volumeClaimTemplates: [claimTemplate], persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" } }));
    c.run();
    const set = c.list("apps/statefulsets")[0];
    set.spec = { ...(set.spec as object), replicas: 1 };
    c.put("apps/statefulsets", set);
    c.run();
    expect(c.names("core/pods")).toEqual(["web-0"]);
    expect(c.names("core/persistentvolumeclaims")).toEqual(["data-web-0"]);
    c.apply({ type: "delete", resource: "apps/statefulsets", name: "web" });
    c.run();
    expect(c.names("core/pods")).toEqual([]);
    expect(c.names("core/persistentvolumeclaims")).toEqual([]);
  });

  it("DaemonSet: pods follow nodes and a rolling update replaces them one node at a time", () => {
    const c = new FakeCluster();
    const node = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name, uid: `node-${name}`, labels: {} }, spec: {} });
    c.nodes = [node("n1"), node("n2")];
    const ds: KubeObject = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "ns", uid: "ds-uid", generation: 1 },
      spec: { selector: { matchLabels: { app: "web" } }, template: template(), updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } } },
    };
    c.put("apps/daemonsets", ds);
    c.run();
    const nodesOf = () => c.list("core/pods").map((p) => (p.spec as { nodeName: string }).nodeName).sort();
    expect(nodesOf()).toEqual(["n1", "n2"]);
    c.nodes.push(node("n3"));
    c.run();
    expect(nodesOf()).toEqual(["n1", "n2", "n3"]);
    c.nodes = c.nodes.filter((n) => n.metadata.name !== "n1");
    c.run();
    expect(nodesOf()).toEqual(["n2", "n3"]);
    const stored = c.list("apps/daemonsets")[0];
    stored.spec = { ...(stored.spec as object), template: template("nginx:2") };
    stored.metadata.generation = 2;
    c.put("apps/daemonsets", stored);
    c.run();
    expect(c.list("core/pods").map((p) => (p.spec as { containers: { image: string }[] }).containers[0].image)).toEqual(["nginx:2", "nginx:2"]);
    expect(c.list("apps/daemonsets")[0].status).toEqual({
      currentNumberScheduled: 2,
      numberMisscheduled: 0,
      desiredNumberScheduled: 2,
      numberReady: 2,
      observedGeneration: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
    });
    expect(c.settle()).toBe(1);
  });
});
