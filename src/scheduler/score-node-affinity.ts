import { nodeSelectorTermMatches } from "./label-match.ts";
import { MAX_NODE_SCORE, type ScorePlugin } from "./types.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** NodeAffinity scoring: the weights of the preferred terms a node matches, scaled so the best node gets 100. */
export const nodeAffinityScore: ScorePlugin = {
  name: "NodeAffinity",
  score(pod, nodes) {
    const affinity = isObj(pod.spec.affinity) && isObj(pod.spec.affinity.nodeAffinity) ? pod.spec.affinity.nodeAffinity : {};
    const preferred = (Array.isArray(affinity.preferredDuringSchedulingIgnoredDuringExecution) ? affinity.preferredDuringSchedulingIgnoredDuringExecution : [])
      .filter(isObj)
      .filter((p) => typeof p.weight === "number" && p.weight > 0);
    if (preferred.length === 0) return nodes.map(() => 0);
    const raw = nodes.map((n) => preferred.reduce((s, p) => s + (nodeSelectorTermMatches(p.preference, n.labels, n.name) ? (p.weight as number) : 0), 0));
    const max = Math.max(...raw);
    return raw.map((r) => (max > 0 ? Math.floor((r * MAX_NODE_SCORE) / max) : 0));
  },
};
