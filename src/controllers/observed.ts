import type { Observed } from "./types.ts";

/** An observation of a namespace holding nothing: what the host fills, and what tests start from. */
export function emptyObserved(namespace: string, now: number): Observed {
  return {
    now,
    namespace,
    pods: [],
    resourceQuotas: [],
    replicaSets: [],
    deployments: [],
    statefulSets: [],
    daemonSets: [],
    jobs: [],
    cronJobs: [],
    persistentVolumeClaims: [],
    horizontalPodAutoscalers: [],
    podMetrics: [],
    podDisruptionBudgets: [],
    services: [],
    endpoints: [],
    endpointSlices: [],
    ingresses: [],
    nodes: [],
  };
}
