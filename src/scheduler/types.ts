import type { KubeObject } from "../resources/types.ts";
import type { ClaimState } from "./volume-binding.ts";

/**
 * Shapes shared by the scheduler's plugins. The scheduler is pure: it gets pending
 * pods, nodes and the pods already bound, and returns one decision per pending pod.
 */

/** Amounts per resource name: cpu in millicores, everything else in whole units (bytes, pods, devices). */
export type Resources = Record<string, number>;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface HostPort {
  hostIP: string;
  protocol: string;
  hostPort: number;
}

/** A pod as the scheduler sees it (pending or bound), with what it needs precomputed. */
export interface PodInfo {
  pod: KubeObject;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: Record<string, unknown>;
  /** Effective requests (init containers: the max rule; plus overhead). */
  requests: Resources;
  /** cpu/memory with Kubernetes' defaults for unset requests (100m, 200Mi): used for scoring only. */
  nonZero: { cpu: number; memory: number };
  hostPorts: HostPort[];
  priority: number;
}

/** A node and what is placed on it; `schedule` adds each placement before the next pod. */
export interface NodeInfo {
  node: KubeObject;
  name: string;
  labels: Record<string, string>;
  /** spec.taints plus the not-ready/unreachable taint a node that is not Ready implicitly has. */
  taints: Taint[];
  unschedulable: boolean;
  allocatable: Resources;
  requested: Resources;
  nonZeroRequested: { cpu: number; memory: number };
  pods: PodInfo[];
  usedPorts: HostPort[];
}

/** Everything a plugin may look at: nodes by name (in input order) and namespaces' labels. */
export interface ClusterState {
  nodes: NodeInfo[];
  byName: Map<string, NodeInfo>;
  /** Labels of each namespace (for namespaceSelector in pod affinity terms). */
  namespaceLabels: Map<string, Record<string, string>>;
  /** Placed pods that have pod affinity or anti-affinity of their own (they constrain newcomers). */
  affinityPods: { pod: PodInfo; node: NodeInfo }[];
  /** What the PersistentVolumeClaims of pending pods allow, by "<namespace>/<claim>" (volume-binding.ts; none: no pod mounts one). */
  claims?: Map<string, ClaimState>;
  /** Static volumes given to claims of pods placed earlier in this round. */
  takenVolumes?: Set<string>;
}

export type ScoringStrategy = "MostAllocated" | "LeastAllocated";

export interface SchedulerConfig {
  /** MostAllocated packs pods onto the fullest nodes (default); LeastAllocated spreads them. */
  scoringStrategy: ScoringStrategy;
  /** Resources and their weights the resource score looks at. */
  resourceWeights: Record<string, number>;
  /** Weight of each score plugin in the final sum. */
  pluginWeights: Record<string, number>;
  /** Share of nodes to find feasible before scoring (0: Kubernetes' adaptive default; 100: all). */
  percentageOfNodesToScore: number;
  /** Whether a pod that fits nowhere may preempt pods of lower priority. */
  preemption: boolean;
}

export const DEFAULT_CONFIG: SchedulerConfig = {
  scoringStrategy: "MostAllocated",
  resourceWeights: { cpu: 1, memory: 1 },
  pluginWeights: { TaintToleration: 3, NodeAffinity: 2, PodTopologySpread: 2, InterPodAffinity: 2, NodeResourcesFit: 1 },
  percentageOfNodesToScore: 0,
  preemption: true,
};

/**
 * A filter, prepared for one pod (precomputing what does not depend on the node),
 * answers undefined when the node fits, or the reasons it does not.
 */
export type NodeFilter = (node: NodeInfo) => string[] | undefined;
export interface FilterPlugin {
  name: string;
  prepare(pod: PodInfo, cluster: ClusterState): NodeFilter;
}

/** A score plugin rates the feasible nodes 0..100 (already normalized), in their order. */
export interface ScorePlugin {
  name: string;
  score(pod: PodInfo, nodes: NodeInfo[], cluster: ClusterState, config: SchedulerConfig): number[];
}

export type Decision =
  | { pod: KubeObject; nodeName: string; score: number }
  | {
      pod: KubeObject;
      nodeName?: undefined;
      message: string;
      reasons: Record<string, number>;
      /** Preemption: the node the pod will go to once these lower-priority pods are gone. */
      preemption?: { nodeName: string; victims: KubeObject[] };
    };

export const MAX_NODE_SCORE = 100;
