import { podMatchesNode } from "./label-match.ts";
import type { FilterPlugin } from "./types.ts";

/** NodeAffinity: spec.nodeSelector and required node affinity (matchExpressions, matchFields metadata.name). */
export const nodeAffinityFilter: FilterPlugin = {
  name: "NodeAffinity",
  prepare(pod) {
    return (node) => (podMatchesNode(pod.spec, node.labels, node.name) ? undefined : ["node(s) didn't match Pod's node affinity/selector"]);
  },
};
