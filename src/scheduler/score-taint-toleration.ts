import { tolerationsOf, tolerates } from "./tolerations.ts";
import { MAX_NODE_SCORE, type ScorePlugin } from "./types.ts";

/** TaintToleration scoring: fewer untolerated PreferNoSchedule taints is better (none: 100). */
export const taintTolerationScore: ScorePlugin = {
  name: "TaintToleration",
  score(pod, nodes) {
    const tolerations = tolerationsOf(pod.spec).filter((t) => !t.effect || t.effect === "PreferNoSchedule");
    const raw = nodes.map((n) => n.taints.filter((taint) => taint.effect === "PreferNoSchedule" && !tolerations.some((t) => tolerates(t, taint))).length);
    const max = Math.max(0, ...raw);
    return raw.map((r) => (max > 0 ? MAX_NODE_SCORE - Math.floor((r * MAX_NODE_SCORE) / max) : MAX_NODE_SCORE));
  },
};
