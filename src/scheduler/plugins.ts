import { interPodAffinityFilter } from "./filter-inter-pod-affinity.ts";
import { nodeAffinityFilter } from "./filter-node-affinity.ts";
import { nodeNameFilter } from "./filter-node-name.ts";
import { nodePortsFilter } from "./filter-node-ports.ts";
import { nodeResourcesFilter } from "./filter-node-resources.ts";
import { nodeUnschedulableFilter } from "./filter-node-unschedulable.ts";
import { taintTolerationFilter } from "./filter-taint-toleration.ts";
import { topologySpreadFilter } from "./filter-topology-spread.ts";
import { volumeBindingFilter } from "./filter-volume-binding.ts";
import { interPodAffinityScore } from "./score-inter-pod-affinity.ts";
import { nodeAffinityScore } from "./score-node-affinity.ts";
import { nodeResourcesScore } from "./score-node-resources.ts";
import { taintTolerationScore } from "./score-taint-toleration.ts";
import { topologySpreadScore } from "./score-topology-spread.ts";
import type { FilterPlugin, ScorePlugin } from "./types.ts";

/** Filters in kube-scheduler's order: a node is rejected by the first one that fails. */
export const FILTERS: FilterPlugin[] = [
  nodeUnschedulableFilter,
  nodeNameFilter,
  taintTolerationFilter,
  nodeAffinityFilter,
  nodePortsFilter,
  nodeResourcesFilter,
  volumeBindingFilter,
  topologySpreadFilter,
  interPodAffinityFilter,
];

/** Score plugins; config.pluginWeights weighs each in the sum. */
export const SCORERS: ScorePlugin[] = [taintTolerationScore, nodeAffinityScore, topologySpreadScore, interPodAffinityScore, nodeResourcesScore];
