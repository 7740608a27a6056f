import type { FilterPlugin } from "./types.ts";

/** NodeName: a pod naming a node in spec.nodeName fits only there. */
export const nodeNameFilter: FilterPlugin = {
  name: "NodeName",
  prepare(pod) {
    const want = pod.spec.nodeName;
    if (typeof want !== "string" || !want) return () => undefined;
    return (node) => (node.name === want ? undefined : ["node(s) didn't match the requested node name"]);
  },
};
