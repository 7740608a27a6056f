import { domainCounts, termsOf } from "./affinity-terms.ts";
import type { FilterPlugin } from "./types.ts";

/**
 * InterPodAffinity: required pod affinity (the node's domain must hold a selected pod;
 * the first pod of a group that selects itself may go anywhere with the topology keys),
 * required anti-affinity (no selected pod in the node's domain), and the anti-affinity
 * of pods already placed (the newcomer may not join a domain whose pod repels it).
 */
export const interPodAffinityFilter: FilterPlugin = {
  name: "InterPodAffinity",
  prepare(pod, cluster) {
    const { affinity, antiAffinity } = termsOf(pod, cluster);
    const affinityCounts = domainCounts(affinity, cluster);
    const antiCounts = domainCounts(antiAffinity, cluster);
    // No selected pod anywhere, and the pod selects itself: it starts the group.
    const firstOfGroup = affinity.length > 0 && affinityCounts.every((c) => c.size === 0) && affinity.every((t) => t.matches(pod));
    const repelled: [string, string][] = [];
    for (const { pod: other, node } of cluster.affinityPods)
      for (const t of termsOf(other, cluster).antiAffinity) {
        const value = node.labels[t.topologyKey];
        if (value !== undefined && t.matches(pod)) repelled.push([t.topologyKey, value]);
      }
    if (affinity.length === 0 && antiAffinity.length === 0 && repelled.length === 0) return () => undefined;
    return (node) => {
      const ok = affinity.every((t, i) => {
        const value = node.labels[t.topologyKey];
        return value !== undefined && (firstOfGroup || (affinityCounts[i].get(value) ?? 0) > 0);
      });
      if (!ok) return ["node(s) didn't match pod affinity rules"];
      if (antiAffinity.some((t, i) => {
        const value = node.labels[t.topologyKey];
        return value !== undefined && (antiCounts[i].get(value) ?? 0) > 0;
      })) return ["node(s) didn't match pod anti-affinity rules"];
      if (repelled.some(([key, value]) => node.labels[key] === value)) return ["node(s) didn't satisfy existing pods anti-affinity rules"];
      return undefined;
    };
  },
};
