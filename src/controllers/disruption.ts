import { selectorMatches } from "../resources/deployment.ts";
import type { KubeObject } from "../resources/types.ts";
import { isPodReady, parseTime, rfc3339, semanticEqual } from "./pod-utils.ts";
import type { Action, Observed, ReconcileResult } from "./types.ts";

/**
 * The disruption controller (policy/v1 PodDisruptionBudget status), as Kubernetes':
 * expectedPods is the number of matching pods for an integer minAvailable, otherwise the
 * scale of the pods' controllers (ReplicaSets, StatefulSets; a pod without one counts
 * itself); desiredHealthy is minAvailable (a percentage of expectedPods, rounded up) or
 * expectedPods minus maxUnavailable (a percentage rounded up); currentHealthy counts the
 * Ready pods not being deleted and not recently evicted (status.disruptedPods, which the
 * eviction subresource fills and which expire after 2 minutes or when the pod goes);
 * disruptionsAllowed = max(0, currentHealthy - desiredHealthy).
 */

/** How long an eviction's entry in disruptedPods holds a pod out of currentHealthy. */
export const DELETION_TIMEOUT_MS = 2 * 60_000;

export interface PdbStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions: { type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime: string }[];
}

const specOf = (pdb: KubeObject) => (pdb.spec ?? {}) as { minAvailable?: number | string; maxUnavailable?: number | string; selector?: unknown; unhealthyPodEvictionPolicy?: string };

/** An int-or-percent scaled to `total`, rounded up (intstr.GetScaledValueFromIntOrPercent with roundUp). */
export function scaled(v: number | string | undefined, total: number): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.endsWith("%")) return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** The pods a budget covers: its namespace's pods its selector matches (null selects none, {} all). */
export function podsOf(pdb: KubeObject, pods: KubeObject[]): KubeObject[] {
  const selector = specOf(pdb).selector;
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && selectorMatches(selector, p.metadata.labels));
}

function expectedFromControllers(pods: KubeObject[], observed: Pick<Observed, "replicaSets" | "statefulSets">): number {
  const scales = new Map<string, number>();
  let standalone = 0;
  for (const p of pods) {
    const ref = p.metadata.ownerReferences?.find((r) => r.controller);
    const owner = ref && [...observed.replicaSets, ...observed.statefulSets].find((o) => o.metadata.uid === ref.uid);
    if (!owner) standalone++;
    else scales.set(ref!.uid, Number((owner.spec as { replicas?: number } | undefined)?.replicas ?? 1));
  }
  return standalone + [...scales.values()].reduce((a, b) => a + b, 0);
}

/** The budget's status as of `now`, and when an entry of disruptedPods expires next. */
export function computeStatus(pdb: KubeObject, observed: Pick<Observed, "pods" | "replicaSets" | "statefulSets" | "now">): { status: PdbStatus; requeueAfterMs?: number } {
  const { now } = observed;
  const spec = specOf(pdb);
  const pods = podsOf(pdb, observed.pods);
  const intMin = typeof spec.minAvailable === "number";
  const expectedPods = intMin ? pods.length : expectedFromControllers(pods, observed);
  let desiredHealthy: number;
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) desiredHealthy = Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods));
  else desiredHealthy = scaled(spec.minAvailable ?? 1, expectedPods);
  const old = (pdb.status ?? {}) as Partial<PdbStatus>;
  const disrupted: Record<string, string> = {};
  let requeueAfterMs: number | undefined;
  for (const [name, at] of Object.entries(old.disruptedPods ?? {})) {
    const pod = pods.find((p) => p.metadata.name === name);
    const t = parseTime(at);
    if (!pod || pod.metadata.deletionTimestamp || t === undefined || t + DELETION_TIMEOUT_MS <= now) continue;
    disrupted[name] = at;
    requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, t + DELETION_TIMEOUT_MS - now);
  }
  const currentHealthy = pods.filter((p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p)).length;
  const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
  const allowed = disruptionsAllowed > 0 ? "True" : "False";
  const oldCondition = old.conditions?.find((c) => c.type === "DisruptionAllowed");
  const generation = pdb.metadata.generation;
  const status: PdbStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: [
      {
        type: "DisruptionAllowed",
        status: allowed,
        reason: disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods",
        message: "",
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        lastTransitionTime: oldCondition?.status === allowed && oldCondition.lastTransitionTime ? oldCondition.lastTransitionTime : rfc3339(now),
      },
    ],
  };
  return { status, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let requeueAfterMs: number | undefined;
  for (const pdb of observed.podDisruptionBudgets ?? []) {
    if (pdb.metadata.deletionTimestamp) continue;
    const { status, requeueAfterMs: r } = computeStatus(pdb, observed);
    if (r !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, r);
    if (semanticEqual(pdb.status ?? {}, status)) continue;
    actions.push({ type: "update", resource: "policy/poddisruptionbudgets", subresource: "status", object: { ...pdb, status: status as unknown as Record<string, unknown> } });
  }
  return { actions, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
