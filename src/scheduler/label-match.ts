import { selectorMatches } from "../resources/deployment.ts";

/**
 * Matching of node selector requirements (node affinity) and label selectors (pod
 * affinity, topology spread). A node selector term ANDs its requirements; terms are
 * ORed; a term with no requirements matches nothing.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export { selectorMatches };

/** One requirement against a value lookup; matchFields support In/NotIn only. */
export function requirementMatches(req: Obj, get: (key: string) => string | undefined, fields = false): boolean {
  const values = (Array.isArray(req.values) ? req.values : []).map(String);
  const v = get(String(req.key ?? ""));
  switch (req.operator) {
    case "In":
      return v !== undefined && values.includes(v);
    case "NotIn":
      return v === undefined || !values.includes(v);
    case "Exists":
      return !fields && v !== undefined;
    case "DoesNotExist":
      return !fields && v === undefined;
    case "Gt":
    case "Lt": {
      if (fields || v === undefined || values.length !== 1) return false;
      const have = Number(v);
      const want = Number(values[0]);
      if (!/^-?\d+$/.test(v) || !/^-?\d+$/.test(values[0])) return false;
      return req.operator === "Gt" ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** A NodeSelectorTerm against a node's labels and name (matchFields: metadata.name). */
export function nodeSelectorTermMatches(term: unknown, labels: Record<string, string>, nodeName: string): boolean {
  if (!isObj(term)) return false;
  const exprs = (Array.isArray(term.matchExpressions) ? term.matchExpressions : []).filter(isObj);
  const fields = (Array.isArray(term.matchFields) ? term.matchFields : []).filter(isObj);
  if (exprs.length === 0 && fields.length === 0) return false;
  const label = (k: string) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  const field = (k: string) => (k === "metadata.name" ? nodeName : undefined);
  return exprs.every((e) => requirementMatches(e, label)) && fields.every((f) => requirementMatches(f, field, true));
}

/** Required node affinity plus nodeSelector: does the pod accept this node? */
export function podMatchesNode(spec: Obj, labels: Record<string, string>, nodeName: string): boolean {
  if (isObj(spec.nodeSelector)) for (const [k, v] of Object.entries(spec.nodeSelector)) if (labels[k] !== v) return false;
  const affinity = isObj(spec.affinity) && isObj(spec.affinity.nodeAffinity) ? spec.affinity.nodeAffinity : undefined;
  const required = affinity && isObj(affinity.requiredDuringSchedulingIgnoredDuringExecution) ? affinity.requiredDuringSchedulingIgnoredDuringExecution : undefined;
  if (!required || !Array.isArray(required.nodeSelectorTerms)) return true;
  return required.nodeSelectorTerms.some((t) => nodeSelectorTermMatches(t, labels, nodeName));
}
