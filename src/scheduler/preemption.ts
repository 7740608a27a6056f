import type { KubeObject } from "../resources/types.ts";
import { hasPodAffinity } from "./affinity-terms.ts";
import { addPod, nodeInfo } from "./node-info.ts";
import { FILTERS } from "./plugins.ts";
import type { ClusterState, NodeInfo, PodInfo } from "./types.ts";

/**
 * Preemption, as kube-scheduler's default plugin does it: for a pod that fits nowhere,
 * find a node where removing pods of lower priority makes it fit; keep (reprieve) as
 * many of them as still leaves room, highest priority first; among such nodes prefer the
 * one whose most important victim is least important, then the smallest sum of victim
 * priorities, then the fewest victims, then the node name. Pods with preemptionPolicy
 * Never preempt nothing, and a pod whose earlier victims are still terminating waits
 * for them instead of preempting more.
 */

export interface Preemption {
  node: NodeInfo;
  victims: PodInfo[];
  /** The pods that stay on the node. */
  keep: PodInfo[];
}

const isTerminating = (p: PodInfo) => Boolean(p.pod.metadata.deletionTimestamp);
const creation = (p: PodInfo) => Date.parse(p.pod.metadata.creationTimestamp ?? "") || 0;

/** The node as it would be holding only `pods`, and the cluster around it. */
function withPods(cluster: ClusterState, node: NodeInfo, pods: PodInfo[]): { cluster: ClusterState; node: NodeInfo } {
  const fresh = nodeInfo(node.node);
  for (const p of pods) addPod(fresh, p);
  const nodes = cluster.nodes.map((n) => (n === node ? fresh : n));
  const kept = new Set(pods);
  return {
    node: fresh,
    cluster: {
      ...cluster,
      nodes,
      byName: new Map(nodes.map((n) => [n.name, n])),
      affinityPods: cluster.affinityPods
        .filter((a) => a.node !== node || kept.has(a.pod))
        .map((a) => (a.node === node ? { pod: a.pod, node: fresh } : a)),
    },
  };
}

function fits(pod: PodInfo, cluster: ClusterState, node: NodeInfo, pods: PodInfo[]): boolean {
  const what = withPods(cluster, node, pods);
  return FILTERS.every((f) => f.prepare(pod, what.cluster)(what.node) === undefined);
}

function rank(p: Preemption): [number, number, number] {
  const priorities = p.victims.map((v) => v.priority);
  return [Math.max(...priorities), priorities.reduce((a, b) => a + b, 0), p.victims.length];
}

function better(a: Preemption, b: Preemption): boolean {
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] < rb[i];
  return a.node.name < b.node.name;
}

export function findPreemption(pod: PodInfo, cluster: ClusterState): Preemption | undefined {
  if (pod.spec.preemptionPolicy === "Never") return undefined;
  const nominated = (pod.pod.status as { nominatedNodeName?: string } | undefined)?.nominatedNodeName;
  const waitingOn = nominated ? cluster.byName.get(nominated) : undefined;
  if (waitingOn?.pods.some((p) => isTerminating(p) && p.priority < pod.priority)) return undefined;
  let best: Preemption | undefined;
  for (const node of cluster.nodes) {
    const lower = node.pods.filter((p) => p.priority < pod.priority && !isTerminating(p));
    if (lower.length === 0) continue;
    const keep = node.pods.filter((p) => !lower.includes(p));
    if (!fits(pod, cluster, node, keep)) continue;
    const victims: PodInfo[] = [];
    // Reprieve the most important (then the oldest) first.
    for (const p of [...lower].sort((a, b) => b.priority - a.priority || creation(a) - creation(b))) {
      keep.push(p);
      if (!fits(pod, cluster, node, keep)) {
        keep.pop();
        victims.push(p);
      }
    }
    if (victims.length === 0) continue; // it fits as is: not a preemption case
    const candidate = { node, victims, keep };
    if (!best || better(candidate, best)) best = candidate;
  }
  return best;
}

/** Accounts a preemption in the batch's view: the victims leave, the pod takes their room. */
export function applyPreemption(cluster: ClusterState, p: Preemption, pod: PodInfo): void {
  const what = withPods(cluster, p.node, [...p.keep, pod]);
  Object.assign(p.node, what.node);
  cluster.affinityPods = cluster.affinityPods.filter((a) => !p.victims.includes(a.pod));
  if (hasPodAffinity(pod)) cluster.affinityPods.push({ pod, node: p.node });
}

export const victimsOf = (p: Preemption): KubeObject[] => p.victims.map((v) => v.pod);
