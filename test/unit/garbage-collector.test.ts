import { describe, expect, it } from "vitest";
import { reconcile } from "../../src/controllers/garbage-collector.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import type { KubeObject, OwnerReference } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const T0 = "2024-01-01T00:00:00Z";

function observed(parts: Partial<Observed>): Observed {
  return {
    ...emptyObserved("ns", Date.parse("2024-01-01T00:10:00Z")),
    ...parts,
  };
}

const API: Record<string, string> = { Deployment: "apps/v1", ReplicaSet: "apps/v1", StatefulSet: "apps/v1", DaemonSet: "apps/v1", Job: "batch/v1", CronJob: "batch/v1", Pod: "v1", PersistentVolumeClaim: "v1", Node: "v1", ConfigMap: "v1" };

function obj(kind: string, name: string, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: API[kind], kind, metadata: { name, namespace: "ns", uid: `${kind}-${name}`, resourceVersion: "7", creationTimestamp: T0, ...meta }, spec: {} };
}

/** A reference to `owner` (controller + blockOwnerDeletion by default). */
function ref(owner: KubeObject, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true, ...extra };
}

const owned = (kind: string, name: string, ...refs: OwnerReference[]) => obj(kind, name, { ownerReferences: refs });
const deleting = (o: KubeObject, finalizers?: string[]): KubeObject => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: T0, ...(finalizers ? { finalizers } : {}) } });

const del = (resource: string, o: KubeObject, propagationPolicy = "Background"): Action =>
  ({ type: "delete", resource, name: o.metadata.name!, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, propagationPolicy }) as Action;
const upd = (resource: string, o: KubeObject, metadata: Record<string, unknown>): Action => {
  const next = structuredClone(o);
  next.metadata = { ...next.metadata, ...metadata };
  for (const [k, v] of Object.entries(metadata)) if (v === undefined) delete next.metadata[k];
  return { type: "update", resource, object: next } as Action;
};

describe("garbage collector: background", () => {
  it("deletes dependents whose owner is gone, at every level, and leaves owned objects with live owners", () => {
    const deploy = obj("Deployment", "web");
    const rsLive = owned("ReplicaSet", "web-1", ref(deploy));
    const rsOrphaned = owned("ReplicaSet", "old-1", ref(obj("Deployment", "old")));
    const podLive = owned("Pod", "web-1-a", ref(rsLive));
    const podGone = owned("Pod", "gone-a", ref(obj("ReplicaSet", "gone-1")));
    const r = reconcile(observed({ deployments: [deploy], replicaSets: [rsLive, rsOrphaned], pods: [podLive, podGone] }));
    expect(r).toEqual({ actions: [del("apps/replicasets", rsOrphaned), del("core/pods", podGone)] });
  });

  it("a recreated owner with the same name does not save dependents of the old one", () => {
    const oldJob = obj("Job", "pi", { uid: "job-old" });
    const newJob = obj("Job", "pi", { uid: "job-new" });
    const oldPod = owned("Pod", "pi-old", ref(oldJob));
    const newPod = owned("Pod", "pi-new", ref(newJob));
    const r = reconcile(observed({ jobs: [newJob], pods: [oldPod, newPod] }));
    expect(r.actions).toEqual([del("core/pods", oldPod)]);
  });

  it("a uid of another kind does not count as the owner", () => {
    const rs = obj("ReplicaSet", "web-1", { uid: "shared" });
    const p = owned("Pod", "p", { apiVersion: "apps/v1", kind: "StatefulSet", name: "web-1", uid: "shared" });
    expect(reconcile(observed({ replicaSets: [rs], pods: [p] })).actions).toEqual([del("core/pods", p)]);
  });

  it("references to kinds it does not observe (Nodes, ConfigMaps) count as live", () => {
    const n = owned("Pod", "mirror", { apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid" });
    const c = owned("PersistentVolumeClaim", "c", { apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "cm-uid" });
    expect(reconcile(observed({ pods: [n], persistentVolumeClaims: [c] })).actions).toEqual([]);
  });

  it("with several owners, only dangling references go while one owner lives", () => {
    const sts = obj("StatefulSet", "db");
    const claim = owned("PersistentVolumeClaim", "data-db-0", ref(sts, { controller: undefined, blockOwnerDeletion: undefined }), { apiVersion: "v1", kind: "Pod", name: "db-0", uid: "pod-gone" });
    const r = reconcile(observed({ statefulSets: [sts], persistentVolumeClaims: [claim] }));
    expect(r.actions).toEqual([upd("core/persistentvolumeclaims", claim, { ownerReferences: [claim.metadata.ownerReferences![0]] })]);
    // All owners gone: deleted.
    expect(reconcile(observed({ persistentVolumeClaims: [claim] })).actions).toEqual([del("core/persistentvolumeclaims", claim)]);
  });

  it("a claim owned by a deleted pod (StatefulSet whenScaled: Delete) is deleted", () => {
    const claim = owned("PersistentVolumeClaim", "data-db-1", { apiVersion: "v1", kind: "Pod", name: "db-1", uid: "pod-db-1" });
    expect(reconcile(observed({ persistentVolumeClaims: [claim] })).actions).toEqual([del("core/persistentvolumeclaims", claim)]);
    expect(reconcile(observed({ persistentVolumeClaims: [claim], pods: [obj("Pod", "db-1", { uid: "pod-db-1" })] })).actions).toEqual([]);
  });

  it("never deletes an object already being deleted", () => {
    const p = deleting(owned("Pod", "p", ref(obj("ReplicaSet", "gone"))));
    expect(reconcile(observed({ pods: [p] })).actions).toEqual([]);
  });

  it("an owner being deleted without the collector's finalizers still counts as live", () => {
    const job = deleting(obj("Job", "j"), ["example.com/hold"]);
    const p = owned("Pod", "p", ref(job));
    expect(reconcile(observed({ jobs: [job], pods: [p] })).actions).toEqual([]);
  });

  it("is idempotent: nothing to do when every owner exists", () => {
    const deploy = obj("Deployment", "web");
    const rs = owned("ReplicaSet", "web-1", ref(deploy));
    const o = observed({ deployments: [deploy], replicaSets: [rs], pods: [owned("Pod", "a", ref(rs))] });
    expect(reconcile(o)).toEqual({ actions: [] });
  });
});

describe("garbage collector: bare objects", () => {
  it("nothing to do for objects without owners or the collector's finalizers, even when one is being deleted", () => {
    const o = observed({ pods: [obj("Pod", "a"), deleting(obj("Pod", "b"), ["example.com/keep"])], jobs: [obj("Job", "j")] });
    expect(reconcile(o)).toEqual({ actions: [] });
  });

  it("an owner being deleted in the foreground with no dependents left loses its finalizer, among bare objects", () => {
    const deploy = deleting(obj("Deployment", "web"), ["foregroundDeletion"]);
    const r = reconcile(observed({ deployments: [deploy], pods: [obj("Pod", "a")] }));
    expect(r.actions).toEqual([upd("apps/deployments", deploy, { finalizers: [] })]);
  });
});

describe("garbage collector: foreground", () => {
  it("deletes the dependents (Foreground for those with dependents of their own) and keeps the owner while blocking ones remain", () => {
    const deploy = deleting(obj("Deployment", "web"), ["foregroundDeletion"]);
    const rs = owned("ReplicaSet", "web-1", ref(deploy));
    const p = owned("Pod", "web-1-a", ref(rs));
    const r = reconcile(observed({ deployments: [deploy], replicaSets: [rs], pods: [p] }));
    expect(r.actions).toEqual([del("apps/replicasets", rs, "Foreground")]);
  });

  it("walks the chain: pods of a ReplicaSet being deleted in the foreground go next", () => {
    const deploy = deleting(obj("Deployment", "web"), ["foregroundDeletion"]);
    const rs = deleting(owned("ReplicaSet", "web-1", ref(deploy)), ["foregroundDeletion"]);
    const pods = [owned("Pod", "a", ref(rs)), owned("Pod", "b", ref(rs))];
    const r = reconcile(observed({ deployments: [deploy], replicaSets: [rs], pods }));
    expect(r.actions).toEqual([del("core/pods", pods[0]), del("core/pods", pods[1])]);
    // Pods terminating: everyone waits.
    const terminating = pods.map((p) => deleting(p));
    expect(reconcile(observed({ deployments: [deploy], replicaSets: [rs], pods: terminating })).actions).toEqual([]);
    // Pods gone: the ReplicaSet's finalizer goes (the store then deletes it).
    expect(reconcile(observed({ deployments: [deploy], replicaSets: [rs] })).actions).toEqual([upd("apps/replicasets", rs, { finalizers: [] })]);
    // ReplicaSet gone: the Deployment's finalizer goes.
    expect(reconcile(observed({ deployments: [deploy] })).actions).toEqual([upd("apps/deployments", deploy, { finalizers: [] })]);
  });

  it("non-blocking dependents are deleted but do not hold the owner", () => {
    const job = deleting(obj("Job", "j"), ["foregroundDeletion", "example.com/keep"]);
    const p = owned("Pod", "p", ref(job, { blockOwnerDeletion: false }));
    expect(reconcile(observed({ jobs: [job], pods: [p] })).actions).toEqual([del("core/pods", p), upd("batch/jobs", job, { finalizers: ["example.com/keep"] })]);
  });

  it("a dependent with another live owner is detached instead of deleted", () => {
    const job = deleting(obj("Job", "j"), ["foregroundDeletion"]);
    const other = obj("Job", "k");
    const p = owned("Pod", "p", ref(job), ref(other, { controller: false }));
    const r = reconcile(observed({ jobs: [job, other], pods: [p] }));
    expect(r.actions).toEqual([upd("core/pods", p, { ownerReferences: [ref(other, { controller: false })] })]);
  });
});

describe("garbage collector: orphan", () => {
  it("removes the owner's reference from each dependent, then the orphan finalizer", () => {
    const rs = deleting(obj("ReplicaSet", "web-1"), ["orphan"]);
    const a = owned("Pod", "a", ref(rs));
    const b = owned("Pod", "b", ref(rs), ref(obj("Job", "j"), { controller: false }));
    const j = obj("Job", "j");
    const r1 = reconcile(observed({ replicaSets: [rs], jobs: [j], pods: [a, b] }));
    expect(r1.actions).toEqual([
      upd("core/pods", a, { ownerReferences: undefined }),
      upd("core/pods", b, { ownerReferences: [ref(j, { controller: false })] }),
    ]);
    const orphans = [upd("core/pods", a, { ownerReferences: undefined }), upd("core/pods", b, { ownerReferences: [ref(j, { controller: false })] })].map(
      (x) => (x as { object: KubeObject }).object,
    );
    const r2 = reconcile(observed({ replicaSets: [rs], jobs: [j], pods: orphans }));
    expect(r2.actions).toEqual([upd("apps/replicasets", rs, { finalizers: [] })]);
  });

  it("orphaned dependents are not garbage even if their only other owner is gone", () => {
    const sts = deleting(obj("StatefulSet", "db"), ["orphan"]);
    const p = owned("Pod", "db-0", ref(sts), { apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "rs-gone" });
    expect(reconcile(observed({ statefulSets: [sts], pods: [p] })).actions).toEqual([upd("core/pods", p, { ownerReferences: undefined })]);
  });

  it("does not wait for (or touch) dependents that are being deleted", () => {
    const ds = deleting(obj("DaemonSet", "agent"), ["orphan"]);
    const p = deleting(owned("Pod", "agent-x", ref(ds)));
    expect(reconcile(observed({ daemonSets: [ds], pods: [p] })).actions).toEqual([upd("apps/daemonsets", ds, { finalizers: [] })]);
  });

  it("orphan takes precedence over foregroundDeletion on the same owner", () => {
    const cj = deleting(obj("CronJob", "c"), ["orphan", "foregroundDeletion"]);
    const job = owned("Job", "c-1", ref(cj));
    expect(reconcile(observed({ cronJobs: [cj], jobs: [job] })).actions).toEqual([upd("batch/jobs", job, { ownerReferences: undefined })]);
    expect(reconcile(observed({ cronJobs: [cj] })).actions).toEqual([upd("batch/cronjobs", cj, { finalizers: ["foregroundDeletion"] })]);
  });
});
