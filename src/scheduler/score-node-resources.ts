import { MAX_NODE_SCORE, type NodeInfo, type PodInfo, type ScorePlugin } from "./types.ts";

/**
 * NodeResourcesFit scoring: MostAllocated (bin packing: the fuller the node would be
 * after placing the pod, the better) or LeastAllocated (spread: the emptier, the
 * better), a weighted average over the configured resources. cpu and memory count
 * pods without requests as 100m / 200Mi, as Kubernetes does.
 */
function requestedAfter(node: NodeInfo, pod: PodInfo, resource: string): number {
  if (resource === "cpu") return node.nonZeroRequested.cpu + pod.nonZero.cpu;
  if (resource === "memory") return node.nonZeroRequested.memory + pod.nonZero.memory;
  return (node.requested[resource] ?? 0) + (pod.requests[resource] ?? 0);
}

export const nodeResourcesScore: ScorePlugin = {
  name: "NodeResourcesFit",
  score(pod, nodes, _cluster, config) {
    const most = config.scoringStrategy !== "LeastAllocated";
    const resourceWeights = Object.entries(config.resourceWeights);
    return nodes.map((node) => {
      let total = 0;
      let weights = 0;
      for (const [resource, weight] of resourceWeights) {
        const capacity = node.allocatable[resource] ?? 0;
        if (capacity <= 0 || weight <= 0) continue;
        const requested = Math.min(requestedAfter(node, pod, resource), capacity);
        const used = (requested * MAX_NODE_SCORE) / capacity;
        total += weight * Math.floor(most ? used : ((capacity - requested) * MAX_NODE_SCORE) / capacity);
        weights += weight;
      }
      return weights ? Math.floor(total / weights) : 0;
    });
  },
};
