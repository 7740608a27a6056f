import { termsOf, type AffinityTerm } from "./affinity-terms.ts";
import { MAX_NODE_SCORE, type ScorePlugin } from "./types.ts";

/**
 * InterPodAffinity scoring: for each placed pod a preferred term of the newcomer
 * selects, the term's weight is added (affinity) or subtracted (anti-affinity) in that
 * pod's topology domain; placed pods' own preferred terms (and required affinity, at
 * weight 1) that select the newcomer count the same way. Min-max scaled to 0..100.
 */
export const interPodAffinityScore: ScorePlugin = {
  name: "InterPodAffinity",
  score(pod, nodes, cluster) {
    const own = termsOf(pod, cluster);
    const byKey = new Map<string, Map<string, number>>();
    const add = (key: string, value: string | undefined, w: number) => {
      if (value === undefined || w === 0) return;
      const m = byKey.get(key) ?? new Map<string, number>();
      m.set(value, (m.get(value) ?? 0) + w);
      byKey.set(key, m);
    };
    const mine: [AffinityTerm, number][] = [...own.preferredAffinity.map((t) => [t, 1] as [AffinityTerm, number]), ...own.preferredAntiAffinity.map((t) => [t, -1] as [AffinityTerm, number])];
    if (mine.length > 0)
      for (const node of cluster.nodes)
        for (const other of node.pods)
          for (const [t, sign] of mine) if (t.matches(other)) add(t.topologyKey, node.labels[t.topologyKey], sign * t.weight);
    for (const { pod: other, node } of cluster.affinityPods) {
      const theirs = termsOf(other, cluster);
      for (const t of theirs.affinity) if (t.matches(pod)) add(t.topologyKey, node.labels[t.topologyKey], 1);
      for (const t of theirs.preferredAffinity) if (t.matches(pod)) add(t.topologyKey, node.labels[t.topologyKey], t.weight);
      for (const t of theirs.preferredAntiAffinity) if (t.matches(pod)) add(t.topologyKey, node.labels[t.topologyKey], -t.weight);
    }
    if (byKey.size === 0) return nodes.map(() => 0);
    const raw = nodes.map((n) => {
      let s = 0;
      for (const [key, values] of byKey) {
        const v = n.labels[key];
        if (v !== undefined) s += values.get(v) ?? 0;
      }
      return s;
    });
    const min = Math.min(...raw);
    const max = Math.max(...raw);
    return raw.map((r) => (max > min ? Math.floor((MAX_NODE_SCORE * (r - min)) / (max - min)) : 0));
  },
};
