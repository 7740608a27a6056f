import { podMatchesNode, selectorMatches } from "./label-match.ts";
import { firstUntolerated, tolerationsOf } from "./tolerations.ts";
import type { ClusterState, NodeInfo, PodInfo } from "./types.ts";

/**
 * topologySpreadConstraints: how many pods a constraint selects in each topology
 * domain, counted over the nodes the constraint considers (they carry every topology
 * key of the pod's constraints of that kind, match the pod's node affinity unless
 * nodeAffinityPolicy is Ignore, and have only tolerated taints if nodeTaintsPolicy is Honor).
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export interface SpreadConstraint {
  topologyKey: string;
  maxSkew: number;
  minDomains: number;
  /** Does the constraint select this pod (same namespace as the owner, selector incl. matchLabelKeys)? */
  selects(pod: PodInfo): boolean;
  /** Pods selected per domain value; every considered domain is present (maybe with 0). */
  counts: Map<string, number>;
  /** Smallest count over the domains (0 if fewer domains than minDomains). */
  min: number;
  /** 1 if the incoming pod itself matches the selector. */
  self: number;
}

export function spreadConstraints(pod: PodInfo, cluster: ClusterState, when: "DoNotSchedule" | "ScheduleAnyway"): SpreadConstraint[] {
  const raw = (Array.isArray(pod.spec.topologySpreadConstraints) ? pod.spec.topologySpreadConstraints : [])
    .filter(isObj)
    .filter((c) => (c.whenUnsatisfiable ?? "DoNotSchedule") === when && typeof c.topologyKey === "string" && c.topologyKey);
  if (raw.length === 0) return [];
  const keys = raw.map((c) => c.topologyKey as string);
  const tolerations = tolerationsOf(pod.spec);
  const considered = (node: NodeInfo, c: Obj) =>
    keys.every((k) => node.labels[k] !== undefined) &&
    (c.nodeAffinityPolicy === "Ignore" || podMatchesNode(pod.spec, node.labels, node.name)) &&
    (c.nodeTaintsPolicy !== "Honor" || !firstUntolerated(node.taints, tolerations, ["NoSchedule", "NoExecute"]));
  return raw.map((c) => {
    const key = c.topologyKey as string;
    const extra: Record<string, string> = {};
    for (const k of Array.isArray(c.matchLabelKeys) ? c.matchLabelKeys : []) if (typeof k === "string" && k in pod.labels) extra[k] = pod.labels[k];
    const selector = c.labelSelector;
    const selects = (p: PodInfo) =>
      p.namespace === pod.namespace && selectorMatches(selector, p.labels) && Object.entries(extra).every(([k, v]) => p.labels[k] === v);
    const counts = new Map<string, number>();
    for (const node of cluster.nodes) {
      if (!considered(node, c)) continue;
      const value = node.labels[key];
      let n = counts.get(value) ?? 0;
      for (const p of node.pods) if (!p.pod.metadata.deletionTimestamp && selects(p)) n++;
      counts.set(value, n);
    }
    const minDomains = typeof c.minDomains === "number" && c.minDomains > 0 ? c.minDomains : 1;
    const min = counts.size < minDomains ? 0 : Math.min(...counts.values());
    return {
      topologyKey: key,
      maxSkew: typeof c.maxSkew === "number" && c.maxSkew > 0 ? c.maxSkew : 1,
      minDomains,
      selects,
      counts,
      min: Number.isFinite(min) ? min : 0,
      self: selects(pod) ? 1 : 0,
    };
  });
}
