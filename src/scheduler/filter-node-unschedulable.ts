import { tolerationsOf, tolerates } from "./tolerations.ts";
import type { FilterPlugin } from "./types.ts";

const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

/** NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods tolerating the unschedulable taint. */
export const nodeUnschedulableFilter: FilterPlugin = {
  name: "NodeUnschedulable",
  prepare(pod) {
    const tolerated = tolerationsOf(pod.spec).some((t) => tolerates(t, UNSCHEDULABLE_TAINT));
    return (node) => (node.unschedulable && !tolerated ? ["node(s) were unschedulable"] : undefined);
  },
};
