import { spreadConstraints } from "./spread-constraints.ts";
import { MAX_NODE_SCORE, type ScorePlugin } from "./types.ts";

/**
 * PodTopologySpread scoring (ScheduleAnyway constraints): nodes whose domains hold
 * fewer selected pods score higher. Each constraint weighs its count by log(domains + 2)
 * (more domains: more weight) and adds maxSkew - 1; nodes missing a topology key get 0.
 */
export const topologySpreadScore: ScorePlugin = {
  name: "PodTopologySpread",
  score(pod, nodes, cluster) {
    const constraints = spreadConstraints(pod, cluster, "ScheduleAnyway");
    if (constraints.length === 0) return nodes.map(() => 0);
    const raw = nodes.map((node) => {
      let s = 0;
      for (const c of constraints) {
        const value = node.labels[c.topologyKey];
        if (value === undefined) return undefined;
        s += ((c.counts.get(value) ?? 0) + c.maxSkew - 1) * Math.log(c.counts.size + 2);
      }
      return Math.round(s);
    });
    const valid = raw.filter((r): r is number => r !== undefined);
    if (valid.length === 0) return nodes.map(() => 0);
    const min = Math.min(...valid);
    const max = Math.max(...valid);
    return raw.map((r) => (r === undefined ? 0 : max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - r)) / max)));
  },
};
