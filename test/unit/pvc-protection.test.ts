import { describe, expect, it } from "vitest";
import { emptyObserved } from "../../src/controllers/observed.ts";
import { reconcile } from "../../src/controllers/pvc-protection.ts";
import type { KubeObject } from "../../src/resources/types.ts";

/** kubernetes.io/pvc-protection (pure): exact actions. */

const FINALIZER = "kubernetes.io/pvc-protection";
const T0 = "2024-01-01T00:00:00Z";

const claim = (name: string, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "4", finalizers: [FINALIZER], ...meta },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  status: { phase: "Bound" },
});
const pod = (name: string, claimName: string, phase: string, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns", uid: `pod-${name}`, ...meta },
  spec: { containers: [{ name: "c", image: "i" }], volumes: [{ name: "v", persistentVolumeClaim: { claimName } }] },
  status: { phase },
});
const observed = (pvcs: KubeObject[], pods: KubeObject[]) => ({ ...emptyObserved("ns", 0), persistentVolumeClaims: pvcs, pods });
const withFinalizers = (o: KubeObject, finalizers: string[]) => ({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), finalizers } });

describe("pvc-protection controller", () => {
  it("a claim being deleted keeps the finalizer while a non-terminated pod (pending, running or terminating) mounts it", () => {
    const deleting = claim("data", { deletionTimestamp: T0 });
    for (const p of [pod("p", "data", "Pending"), pod("p", "data", "Running"), pod("p", "data", "Running", { deletionTimestamp: T0 })])
      expect(reconcile(observed([deleting], [p])).actions).toEqual([]);
  });

  it("removes the finalizer once no pod uses the claim (terminated pods and other claims' pods do not count)", () => {
    const deleting = claim("data", { deletionTimestamp: T0, finalizers: ["example.com/keep", FINALIZER] });
    const pods = [pod("done", "data", "Succeeded"), pod("failed", "data", "Failed"), pod("other", "logs", "Running")];
    expect(reconcile(observed([deleting], pods)).actions).toEqual([
      { type: "update", resource: "core/persistentvolumeclaims", object: withFinalizers(deleting, ["example.com/keep"]) },
    ]);
  });

  it("adds the finalizer to claims made without it; leaves protected claims and deleting claims without it alone", () => {
    const bare = claim("bare", { finalizers: undefined });
    const other = claim("gone", { deletionTimestamp: T0, finalizers: ["example.com/keep"] });
    expect(reconcile(observed([bare, claim("ok"), other], [])).actions).toEqual([
      { type: "update", resource: "core/persistentvolumeclaims", object: withFinalizers(bare, [FINALIZER]) },
    ]);
  });
});
