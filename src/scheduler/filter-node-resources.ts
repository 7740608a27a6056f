import type { FilterPlugin } from "./types.ts";

/**
 * NodeResourcesFit: the node's allocatable minus what its pods request must cover the
 * pod's requests, for every resource the pod asks for, and the node's pod count must
 * stay within allocatable pods. Every shortfall is a reason ("Insufficient cpu", ...).
 */
export const nodeResourcesFilter: FilterPlugin = {
  name: "NodeResourcesFit",
  prepare(pod) {
    const wanted = Object.entries(pod.requests).filter(([k, v]) => k !== "pods" && v > 0);
    return (node) => {
      const reasons: string[] = [];
      if (node.pods.length + 1 > (node.allocatable.pods ?? 0)) reasons.push("Too many pods");
      for (const [k, v] of wanted) if (v > (node.allocatable[k] ?? 0) - (node.requested[k] ?? 0)) reasons.push(`Insufficient ${k}`);
      return reasons.length ? reasons : undefined;
    };
  },
};
