import type { KubeObject } from "../resources/types.ts";
import { hasPodAffinity } from "./affinity-terms.ts";
import { failureMessage } from "./failure-message.ts";
import { addPod, nodeInfo } from "./node-info.ts";
import { FILTERS, SCORERS } from "./plugins.ts";
import { holdsResources, podInfo } from "./pod-info.ts";
import { applyPreemption, findPreemption, victimsOf } from "./preemption.ts";
import { chooseVolumes, claimKey, claimsOfPod, nodeTermsFor, volumeNodeTerms, type ClaimState } from "./volume-binding.ts";
import { DEFAULT_CONFIG, type ClusterState, type Decision, type NodeInfo, type PodInfo, type SchedulerConfig } from "./types.ts";

/**
 * Places many pods in one call: highest spec.priority first (then oldest, then by
 * name), each through the filters, then the weighted scores over the feasible nodes
 * (ties go to the first node by name), and each placement is accounted on its node
 * before the next pod, so one batch never overcommits a node. A pod that fits nowhere
 * gets the reasons every node gave. Pods that failed only for want of pods placed
 * later in the batch (pod affinity) are tried again while placements keep happening.
 */

const MIN_FEASIBLE_NODES = 100;

/** How many feasible nodes to find before scoring (kube-scheduler's percentageOfNodesToScore). */
export function feasibleNodesToFind(total: number, percentage: number): number {
  if (total < MIN_FEASIBLE_NODES) return total;
  const pct = percentage > 0 ? Math.min(percentage, 100) : Math.max(5, 50 - Math.floor(total / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.floor((total * pct) / 100));
}

const creationOf = (p: KubeObject) => Date.parse(p.metadata.creationTimestamp ?? "") || 0;
const keyOf = (p: PodInfo) => `${p.namespace}/${p.name}`;

export function queueOrder(a: PodInfo, b: PodInfo): number {
  return b.priority - a.priority || creationOf(a.pod) - creationOf(b.pod) || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
}

export function buildCluster(nodes: KubeObject[], boundPods: KubeObject[], namespaces: KubeObject[] = []): ClusterState {
  const infos = nodes.map(nodeInfo);
  const cluster: ClusterState = {
    nodes: infos,
    byName: new Map(infos.map((n) => [n.name, n])),
    namespaceLabels: new Map(namespaces.map((ns) => [ns.metadata.name ?? "", ns.metadata.labels ?? {}])),
    affinityPods: [],
  };
  for (const pod of boundPods) {
    const node = cluster.byName.get((pod.spec as { nodeName?: string } | undefined)?.nodeName ?? "");
    if (node && holdsResources(pod)) place(cluster, node, podInfo(pod));
  }
  return cluster;
}

/**
 * Claims bound or provisioned for a pod placed in this round go where it went: later pods
 * sharing them follow, and a static volume it takes is not offered to another claim.
 */
function pinClaims(cluster: ClusterState, pod: PodInfo, node: NodeInfo): void {
  if (!cluster.claims) return;
  const keys = claimsOfPod(pod.pod).map((name) => claimKey(pod.namespace, name));
  const unbound = keys.filter((k) => cluster.claims!.get(k)?.claim && !cluster.claims!.get(k)?.nodeTerms);
  const chosen = chooseVolumes(unbound.map((k) => cluster.claims!.get(k)!), node, cluster.takenVolumes);
  unbound.forEach((key, i) => {
    const state = cluster.claims!.get(key)!;
    const pv = chosen[i];
    if (pv === "provision") cluster.claims!.set(key, { ...state, nodeTerms: nodeTermsFor(node.node) });
    else if (pv) {
      (cluster.takenVolumes ??= new Set()).add(pv.metadata.name!);
      const terms = volumeNodeTerms(pv);
      cluster.claims!.set(key, terms ? { nodeTerms: terms } : {}); // no node affinity: any node
    }
  });
}

function place(cluster: ClusterState, node: NodeInfo, pod: PodInfo): void {
  addPod(node, pod);
  if (hasPodAffinity(pod)) cluster.affinityPods.push({ pod, node });
}

interface Attempt {
  node?: NodeInfo;
  score: number;
  reasons: Record<string, number>;
}

function attempt(pod: PodInfo, cluster: ClusterState, config: SchedulerConfig, start: number): { result: Attempt; evaluated: number } {
  const filters = FILTERS.map((f) => f.prepare(pod, cluster));
  const total = cluster.nodes.length;
  const want = feasibleNodesToFind(total, config.percentageOfNodesToScore);
  const feasible: NodeInfo[] = [];
  const reasons: Record<string, number> = {};
  let evaluated = 0;
  for (; evaluated < total && feasible.length < want; evaluated++) {
    const node = cluster.nodes[(start + evaluated) % total];
    let failed: string[] | undefined;
    for (const f of filters) if ((failed = f(node))) break;
    if (!failed) feasible.push(node);
    else for (const r of failed) reasons[r] = (reasons[r] ?? 0) + 1;
  }
  if (feasible.length === 0) return { result: { score: 0, reasons }, evaluated };
  if (feasible.length === 1) return { result: { node: feasible[0], score: 0, reasons }, evaluated };
  const totals = feasible.map(() => 0);
  for (const s of SCORERS) {
    const weight = config.pluginWeights[s.name] ?? 0;
    if (weight === 0) continue;
    s.score(pod, feasible, cluster, config).forEach((v, i) => (totals[i] += weight * v));
  }
  let best = 0;
  for (let i = 1; i < feasible.length; i++)
    if (totals[i] > totals[best] || (totals[i] === totals[best] && feasible[i].name < feasible[best].name)) best = i;
  return { result: { node: feasible[best], score: totals[best], reasons }, evaluated };
}

export function schedule(
  pods: KubeObject[],
  nodes: KubeObject[],
  boundPods: KubeObject[],
  config: Partial<SchedulerConfig> = {},
  namespaces: KubeObject[] = [],
  claims?: Map<string, ClaimState>,
): Decision[] {
  return scheduleOn(buildCluster(nodes, boundPods, namespaces), pods, config, claims);
}

/** `schedule` on a cluster state made already (the scheduler's PodIndex keeps one current between rounds); places pods on it. */
export function scheduleOn(cluster: ClusterState, pods: KubeObject[], config: Partial<SchedulerConfig> = {}, claims?: Map<string, ClaimState>): Decision[] {
  const cfg: SchedulerConfig = { ...DEFAULT_CONFIG, ...config };
  if (claims) cluster.claims = new Map(claims);
  const decisions = new Map<PodInfo, Decision>();
  let queue = pods.map(podInfo).sort(queueOrder);
  let start = 0;
  for (;;) {
    const failed: PodInfo[] = [];
    let placed = 0;
    for (const pod of queue) {
      const { result, evaluated } = attempt(pod, cluster, cfg, start);
      if (cluster.nodes.length > 0) start = (start + evaluated) % cluster.nodes.length;
      if (result.node) {
        place(cluster, result.node, pod);
        pinClaims(cluster, pod, result.node);
        decisions.set(pod, { pod: pod.pod, nodeName: result.node.name, score: result.score });
        placed++;
      } else {
        const message = failureMessage(cluster.nodes.length, result.reasons);
        const preemption = cfg.preemption ? findPreemption(pod, cluster) : undefined;
        if (preemption) {
          // The victims go now; the pod is bound in a later round, once they are gone.
          applyPreemption(cluster, preemption, pod);
          const preempt = { nodeName: preemption.node.name, victims: victimsOf(preemption) };
          decisions.set(pod, { pod: pod.pod, message, reasons: result.reasons, preemption: preempt });
          continue;
        }
        decisions.set(pod, { pod: pod.pod, message, reasons: result.reasons });
        if (hasPodAffinity(pod)) failed.push(pod);
      }
    }
    if (placed === 0 || failed.length === 0) break;
    queue = failed;
  }
  return [...decisions.values()];
}
