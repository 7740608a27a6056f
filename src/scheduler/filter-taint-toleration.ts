import { firstUntolerated, tolerationsOf } from "./tolerations.ts";
import type { FilterPlugin } from "./types.ts";

/** TaintToleration: every NoSchedule and NoExecute taint must be tolerated (PreferNoSchedule only scores). */
export const taintTolerationFilter: FilterPlugin = {
  name: "TaintToleration",
  prepare(pod) {
    const tolerations = tolerationsOf(pod.spec);
    return (node) => {
      const taint = firstUntolerated(node.taints, tolerations, ["NoSchedule", "NoExecute"]);
      return taint ? [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`] : undefined;
    };
  },
};
