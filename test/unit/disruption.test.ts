import { describe, expect, it } from "vitest";
import { computeStatus, reconcile, scaled } from "../../src/controllers/disruption.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

const rs = (replicas: number): KubeObject => ({ apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "web-1", namespace: "n", uid: "rs-uid" }, spec: { replicas } });
function pod(name: string, ready: boolean, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "n", labels: { app: "web" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "rs-uid", controller: true }], ...extra },
    spec: { nodeName: "a" },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}
const pdb = (spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "web", namespace: "n", generation: 2, resourceVersion: "5" },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
  ...(status ? { status } : {}),
});
const observed = (pdbs: KubeObject[], pods: KubeObject[], replicas = 3) => ({ ...emptyObserved("n", T0), pods, replicaSets: [rs(replicas)], podDisruptionBudgets: pdbs });

describe("disruption controller", () => {
  it("scales percentages rounding up", () => {
    expect([scaled("50%", 3), scaled(2, 3), scaled("34%", 3)]).toEqual([2, 2, 2]);
  });

  it("writes the status of a minAvailable budget: expectedPods are the matching pods, healthy the Ready ones", () => {
    const pods = [pod("a", true), pod("b", true), pod("c", false), { ...pod("other", true), metadata: { name: "other", namespace: "n", labels: { app: "db" } } }];
    const r = reconcile(observed([pdb({ minAvailable: 1 })], pods));
    expect(r.actions).toEqual([
      {
        type: "update",
        resource: "policy/poddisruptionbudgets",
        subresource: "status",
        object: {
          ...pdb({ minAvailable: 1 }),
          status: {
            observedGeneration: 2,
            disruptionsAllowed: 1,
            currentHealthy: 2,
            desiredHealthy: 1,
            expectedPods: 3,
            conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: 2, lastTransitionTime: iso(T0) }],
          },
        },
      },
    ]);
  });

  it("counts expectedPods from the controllers' scale for maxUnavailable and percentages", () => {
    const pods = [pod("a", true), pod("b", true)];
    expect(computeStatus(pdb({ maxUnavailable: 1 }), observed([], pods, 3)).status).toMatchObject({ expectedPods: 3, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
    expect(computeStatus(pdb({ minAvailable: "50%" }), observed([], pods, 3)).status).toMatchObject({ expectedPods: 3, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(computeStatus(pdb({ maxUnavailable: "50%" }), observed([], pods, 4)).status).toMatchObject({ expectedPods: 4, desiredHealthy: 2, disruptionsAllowed: 0 });
  });

  it("keeps recently evicted pods out of currentHealthy until they go or 2 minutes pass, and requeues for the expiry", () => {
    const disruptedPods = { a: iso(T0 - 30_000), gone: iso(T0 - 10_000), old: iso(T0 - 200_000) };
    const pods = [pod("a", true), pod("b", true), pod("old", true)];
    const r = computeStatus(pdb({ minAvailable: 1 }, { disruptedPods }), observed([], pods));
    expect(r.status).toMatchObject({ disruptedPods: { a: iso(T0 - 30_000) }, currentHealthy: 2, disruptionsAllowed: 1 });
    expect(r.requeueAfterMs).toBe(90_000);
  });

  it("does nothing when the stored status is current", () => {
    const pods = [pod("a", true)];
    const { status } = computeStatus(pdb({ minAvailable: 1 }), observed([], pods));
    expect(status.conditions[0]).toMatchObject({ status: "False", reason: "InsufficientPods" });
    expect(reconcile(observed([pdb({ minAvailable: 1 }, status as unknown as Record<string, unknown>)], pods))).toEqual({ actions: [] });
  });
});
