import { spreadConstraints } from "./spread-constraints.ts";
import type { FilterPlugin } from "./types.ts";

/**
 * PodTopologySpread (DoNotSchedule constraints): the node must carry each topology key,
 * and placing the pod in its domain must keep count - min within maxSkew.
 */
export const topologySpreadFilter: FilterPlugin = {
  name: "PodTopologySpread",
  prepare(pod, cluster) {
    const constraints = spreadConstraints(pod, cluster, "DoNotSchedule");
    if (constraints.length === 0) return () => undefined;
    return (node) => {
      for (const c of constraints) {
        const value = node.labels[c.topologyKey];
        if (value === undefined) return ["node(s) didn't match pod topology spread constraints (missing required label)"];
        if ((c.counts.get(value) ?? 0) + c.self - c.min > c.maxSkew) return ["node(s) didn't match pod topology spread constraints"];
      }
      return undefined;
    };
  },
};
