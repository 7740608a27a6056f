import { podsOf } from "../controllers/disruption.ts";
import { isPodReady, rfc3339 } from "../controllers/pod-utils.ts";
import { podDisruptionBudgetKind } from "../resources/poddisruptionbudget.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { ApiError } from "./errors.ts";

/**
 * pods/eviction (policy/v1 Eviction), as kube-apiserver's: a pod that is terminal, not yet
 * Pending, or already being deleted is deleted without looking at budgets; otherwise the one
 * PodDisruptionBudget covering it (more than one is a 500, as in Kubernetes) must allow a
 * disruption: its disruptionsAllowed is decremented and the pod recorded in disruptedPods
 * (a compare-and-swap on the budget, retried), then the pod is deleted. No allowance: 429
 * "Cannot evict pod as it would violate the pod's disruption budget.", which kubectl drain retries.
 * An unready pod may go without an allowance while the budget is healthy (IfHealthyBudget) or
 * always (AlwaysAllow).
 */

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";
const ATTEMPTS = 5;

export interface EvictionOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  now?: number;
}

export async function evictPod(store: ObjectStore, namespace: string, name: string, o: EvictionOptions = {}): Promise<void> {
  const remove = () => store.delete(podKind, namespace, name, { gracePeriodSeconds: o.gracePeriodSeconds, preconditions: o.preconditions, dryRun: o.dryRun });
  for (let attempt = 0; ; attempt++) {
    const pod = await store.get(podKind, namespace, name);
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Succeeded" || phase === "Failed" || phase === "Pending") {
      await remove();
      return;
    }
    const budgets = podsCovering(pod, (await store.list(podDisruptionBudgetKind, namespace)).items);
    if (budgets.length === 0) {
      await remove();
      return;
    }
    if (budgets.length > 1)
      throw new ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    const pdb = budgets[0];
    const status = (pdb.status ?? {}) as { observedGeneration?: number; disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; disruptedPods?: Record<string, string> };
    const policy = (pdb.spec as { unhealthyPodEvictionPolicy?: string } | undefined)?.unhealthyPodEvictionPolicy ?? "IfHealthyBudget";
    if (!isPodReady(pod) && (policy === "AlwaysAllow" || (status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0))) {
      await remove();
      return;
    }
    // As kube-apiserver: no Retry-After (client-go would retry inside one request); kubectl drain retries itself.
    const cause = (message: string) => new ApiError(429, "TooManyRequests", VIOLATION, { causes: [{ reason: "DisruptionBudget", message }] });
    if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1))
      throw cause(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
    if ((status.disruptionsAllowed ?? 0) <= 0)
      throw cause(`The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`);
    if (!o.dryRun) {
      const next = structuredClone(pdb);
      const s = next.status as typeof status;
      s.disruptionsAllowed = (s.disruptionsAllowed ?? 0) - 1;
      s.disruptedPods = { ...(s.disruptedPods ?? {}), [name]: rfc3339(o.now ?? Date.now()) };
      try {
        await store.update(podDisruptionBudgetKind, next, { part: "status", current: pdb });
      } catch (e) {
        if (e instanceof ApiError && e.code === 409 && attempt < ATTEMPTS) continue;
        throw e;
      }
    }
    await remove();
    return;
  }
}

function podsCovering(pod: KubeObject, budgets: KubeObject[]): KubeObject[] {
  return budgets.filter((b) => !b.metadata.deletionTimestamp && podsOf(b, [pod]).length > 0);
}
