import { selectorMatches } from "./label-match.ts";
import type { ClusterState, PodInfo } from "./types.ts";

/**
 * Pod (anti-)affinity terms: which pods a term selects (label selector within the
 * term's namespaces) and in which topology domain (the value of topologyKey on the
 * node a selected pod runs on).
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export interface AffinityTerm {
  topologyKey: string;
  weight: number;
  /** Does the term select this pod? (namespaces are resolved against the term owner's namespace) */
  matches(pod: PodInfo): boolean;
}

function term(raw: unknown, weight: number, owner: PodInfo, cluster: ClusterState): AffinityTerm | undefined {
  if (!isObj(raw) || typeof raw.topologyKey !== "string" || !raw.topologyKey) return undefined;
  const listed = (Array.isArray(raw.namespaces) ? raw.namespaces : []).map(String);
  const nsSelector = raw.namespaceSelector;
  const all = isObj(nsSelector) && !Object.keys(nsSelector.matchLabels ?? {}).length && !((nsSelector.matchExpressions as unknown[]) ?? []).length;
  const namespaces = new Set(listed);
  if (isObj(nsSelector) && !all)
    for (const [ns, labels] of cluster.namespaceLabels) if (selectorMatches(nsSelector, labels)) namespaces.add(ns);
  if (listed.length === 0 && (nsSelector === undefined || nsSelector === null)) namespaces.add(owner.namespace);
  const selector = raw.labelSelector;
  return {
    topologyKey: raw.topologyKey,
    weight,
    matches: (pod) => (all || namespaces.has(pod.namespace)) && selectorMatches(selector, pod.labels),
  };
}

type Kind = "podAffinity" | "podAntiAffinity";

function section(pod: PodInfo, kind: Kind): Obj | undefined {
  const affinity = pod.spec.affinity;
  return isObj(affinity) && isObj(affinity[kind]) ? affinity[kind] : undefined;
}

export function requiredTerms(pod: PodInfo, kind: Kind, cluster: ClusterState): AffinityTerm[] {
  const raw = section(pod, kind)?.requiredDuringSchedulingIgnoredDuringExecution;
  return (Array.isArray(raw) ? raw : []).map((t) => term(t, 1, pod, cluster)).filter((t): t is AffinityTerm => !!t);
}

export function preferredTerms(pod: PodInfo, kind: Kind, cluster: ClusterState): AffinityTerm[] {
  const raw = section(pod, kind)?.preferredDuringSchedulingIgnoredDuringExecution;
  return (Array.isArray(raw) ? raw : [])
    .map((w) => (isObj(w) && typeof w.weight === "number" ? term(w.podAffinityTerm, w.weight, pod, cluster) : undefined))
    .filter((t): t is AffinityTerm => !!t);
}

export function hasPodAffinity(pod: PodInfo): boolean {
  return section(pod, "podAffinity") !== undefined || section(pod, "podAntiAffinity") !== undefined;
}

/** For each term: topology value -> number of placed pods the term selects there. */
export function domainCounts(terms: AffinityTerm[], cluster: ClusterState): Map<string, number>[] {
  const counts = terms.map(() => new Map<string, number>());
  if (terms.length === 0) return counts;
  for (const node of cluster.nodes)
    for (const pod of node.pods)
      terms.forEach((t, i) => {
        const value = node.labels[t.topologyKey];
        if (value !== undefined && t.matches(pod)) counts[i].set(value, (counts[i].get(value) ?? 0) + 1);
      });
  return counts;
}

const cache = new WeakMap<PodInfo, Record<string, AffinityTerm[]>>();

/** A placed pod's terms, parsed once per scheduling call. */
export function termsOf(pod: PodInfo, cluster: ClusterState): Record<"affinity" | "antiAffinity" | "preferredAffinity" | "preferredAntiAffinity", AffinityTerm[]> {
  let t = cache.get(pod);
  if (!t) {
    t = {
      affinity: requiredTerms(pod, "podAffinity", cluster),
      antiAffinity: requiredTerms(pod, "podAntiAffinity", cluster),
      preferredAffinity: preferredTerms(pod, "podAffinity", cluster),
      preferredAntiAffinity: preferredTerms(pod, "podAntiAffinity", cluster),
    };
    cache.set(pod, t);
  }
  return t as ReturnType<typeof termsOf>;
}
