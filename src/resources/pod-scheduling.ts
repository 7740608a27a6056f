import { dns1123Label, labelValue, qualifiedName } from "./meta.ts";
import { TAINT_EFFECTS } from "./node.ts";
import type { FieldError } from "./types.ts";
import { duplicate, invalid, isObj, notSupported, required, validateLabelSelector, validateNodeSelectorTerms, type Obj } from "./validation.ts";

/**
 * Validation of the scheduling fields of a PodSpec: tolerations, affinity (node, pod,
 * pod anti-affinity) and topologySpreadConstraints, with Kubernetes' wording, so a
 * malformed one is a 422 at the API instead of a pod the scheduler cannot read.
 */

const list = (errs: FieldError[], field: string, v: unknown): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errs.push(invalid(field, v, "must be a list"));
    return [];
  }
  return v;
};

function object(errs: FieldError[], field: string, v: unknown): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    errs.push(invalid(field, v, "must be an object"));
    return undefined;
  }
  return v;
}

function weight(errs: FieldError[], field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 100) errs.push(invalid(field, v, "must be in the range 1-100"));
}

export function validateTolerations(errs: FieldError[], field: string, tolerations: unknown): void {
  list(errs, field, tolerations).forEach((t, i) => {
    const at = `${field}[${i}]`;
    if (!isObj(t)) return void errs.push(invalid(at, t, "must be an object"));
    const key = t.key ?? "";
    if (typeof key !== "string") errs.push(invalid(`${at}.key`, key, "must be a string"));
    else if (key !== "") errs.push(...qualifiedName(key, `${at}.key`));
    const op = t.operator ?? "";
    if (key === "" && op !== "Exists") errs.push(invalid(`${at}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) {
      if (typeof t.tolerationSeconds !== "number" || !Number.isInteger(t.tolerationSeconds)) errs.push(invalid(`${at}.tolerationSeconds`, t.tolerationSeconds, "must be an integer"));
      if (t.effect !== "NoExecute") errs.push(invalid(`${at}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === "" || op === "Equal") {
      if (t.value !== undefined && t.value !== "") errs.push(...labelValue(t.value, `${at}.value`));
    } else if (op === "Exists") {
      if (t.value !== undefined && t.value !== "") errs.push(invalid(`${at}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(`${at}.operator`, op, ["Equal", "Exists"]));
    if (t.effect !== undefined && t.effect !== "" && !TAINT_EFFECTS.includes(t.effect as string)) errs.push(notSupported(`${at}.effect`, t.effect, TAINT_EFFECTS));
  });
}

/** matchFields of a node selector term at `field`: only metadata.name, one value for In/NotIn. */
function validateMatchFields(errs: FieldError[], field: string, term: unknown): void {
  if (!isObj(term)) return;
  (Array.isArray(term.matchFields) ? term.matchFields : []).forEach((r: unknown, j) => {
    const at = `${field}.matchFields[${j}]`;
    if (!isObj(r)) return;
    if (r.key !== "metadata.name") errs.push(notSupported(`${at}.key`, r.key, ["metadata.name"]));
    if ((r.operator === "In" || r.operator === "NotIn") && (!Array.isArray(r.values) || r.values.length !== 1))
      errs.push(required(`${at}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
  });
}

function validateNodeAffinity(errs: FieldError[], field: string, v: unknown): void {
  const na = object(errs, field, v);
  if (!na) return;
  const req = object(errs, `${field}.requiredDuringSchedulingIgnoredDuringExecution`, na.requiredDuringSchedulingIgnoredDuringExecution);
  if (req) {
    const at = `${field}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    validateNodeSelectorTerms(errs, at, req.nodeSelectorTerms);
    if (Array.isArray(req.nodeSelectorTerms)) req.nodeSelectorTerms.forEach((t, i) => validateMatchFields(errs, `${at}[${i}]`, t));
  }
  const prefField = `${field}.preferredDuringSchedulingIgnoredDuringExecution`;
  list(errs, prefField, na.preferredDuringSchedulingIgnoredDuringExecution).forEach((p, i) => {
    const at = `${prefField}[${i}]`;
    if (!isObj(p)) return void errs.push(invalid(at, p, "must be an object"));
    weight(errs, `${at}.weight`, p.weight);
    if (!isObj(p.preference)) return void errs.push(required(`${at}.preference`));
    // One term, validated as a list of one.
    const inner: FieldError[] = [];
    validateNodeSelectorTerms(inner, `${at}.preference`, [p.preference]);
    errs.push(...inner.map((e) => ({ ...e, field: e.field.replace(`${at}.preference[0]`, `${at}.preference`) })));
    validateMatchFields(errs, `${at}.preference`, p.preference);
  });
}

function validatePodAffinityTerm(errs: FieldError[], at: string, term: unknown): void {
  if (!isObj(term)) return void errs.push(invalid(at, term, "must be an object"));
  if (typeof term.topologyKey !== "string" || term.topologyKey === "") errs.push(required(`${at}.topologyKey`, "can not be empty"));
  else errs.push(...qualifiedName(term.topologyKey, `${at}.topologyKey`));
  validateLabelSelector(errs, `${at}.labelSelector`, term.labelSelector);
  validateLabelSelector(errs, `${at}.namespaceSelector`, term.namespaceSelector);
  list(errs, `${at}.namespaces`, term.namespaces).forEach((ns, i) => {
    if (typeof ns !== "string") errs.push(invalid(`${at}.namespaces[${i}]`, ns, "must be a string"));
    else errs.push(...dns1123Label(ns, `${at}.namespaces[${i}]`));
  });
}

function validatePodAffinity(errs: FieldError[], field: string, v: unknown): void {
  const pa = object(errs, field, v);
  if (!pa) return;
  const reqField = `${field}.requiredDuringSchedulingIgnoredDuringExecution`;
  list(errs, reqField, pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) => validatePodAffinityTerm(errs, `${reqField}[${i}]`, t));
  const prefField = `${field}.preferredDuringSchedulingIgnoredDuringExecution`;
  list(errs, prefField, pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((p, i) => {
    const at = `${prefField}[${i}]`;
    if (!isObj(p)) return void errs.push(invalid(at, p, "must be an object"));
    weight(errs, `${at}.weight`, p.weight);
    validatePodAffinityTerm(errs, `${at}.podAffinityTerm`, p.podAffinityTerm);
  });
}

const WHEN_UNSATISFIABLE = ["DoNotSchedule", "ScheduleAnyway"];
const NODE_INCLUSION_POLICIES = ["Honor", "Ignore"];

function validateTopologySpread(errs: FieldError[], field: string, v: unknown): void {
  const seen = new Set<string>();
  list(errs, field, v).forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (!isObj(c)) return void errs.push(invalid(at, c, "must be an object"));
    if (typeof c.maxSkew !== "number" || !Number.isInteger(c.maxSkew) || c.maxSkew <= 0) errs.push(invalid(`${at}.maxSkew`, c.maxSkew, "must be greater than zero"));
    if (typeof c.topologyKey !== "string" || c.topologyKey === "") errs.push(required(`${at}.topologyKey`, "can not be empty"));
    else errs.push(...qualifiedName(c.topologyKey, `${at}.topologyKey`));
    if (!WHEN_UNSATISFIABLE.includes(c.whenUnsatisfiable as string)) errs.push(notSupported(`${at}.whenUnsatisfiable`, c.whenUnsatisfiable, WHEN_UNSATISFIABLE));
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (typeof c.minDomains !== "number" || !Number.isInteger(c.minDomains) || c.minDomains <= 0) errs.push(invalid(`${at}.minDomains`, c.minDomains, "must be greater than zero"));
      else if (c.whenUnsatisfiable !== "DoNotSchedule") errs.push(invalid(`${at}.minDomains`, c.minDomains, "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"));
    }
    for (const policy of ["nodeAffinityPolicy", "nodeTaintsPolicy"])
      if (c[policy] !== undefined && c[policy] !== null && !NODE_INCLUSION_POLICIES.includes(c[policy] as string))
        errs.push(notSupported(`${at}.${policy}`, c[policy], NODE_INCLUSION_POLICIES));
    validateLabelSelector(errs, `${at}.labelSelector`, c.labelSelector);
    const pair = `${String(c.topologyKey)}/${String(c.whenUnsatisfiable)}`;
    if (seen.has(pair)) errs.push(duplicate(`${at}.{topologyKey, whenUnsatisfiable}`, pair));
    seen.add(pair);
  });
}

/** Errors in spec.tolerations, spec.affinity and spec.topologySpreadConstraints of a PodSpec at `field`. */
export function validatePodScheduling(spec: Obj, field: string): FieldError[] {
  const errs: FieldError[] = [];
  validateTolerations(errs, `${field}.tolerations`, spec.tolerations);
  const affinity = object(errs, `${field}.affinity`, spec.affinity);
  if (affinity) {
    validateNodeAffinity(errs, `${field}.affinity.nodeAffinity`, affinity.nodeAffinity);
    validatePodAffinity(errs, `${field}.affinity.podAffinity`, affinity.podAffinity);
    validatePodAffinity(errs, `${field}.affinity.podAntiAffinity`, affinity.podAntiAffinity);
  }
  validateTopologySpread(errs, `${field}.topologySpreadConstraints`, spec.topologySpreadConstraints);
  if (spec.priority !== undefined && spec.priority !== null && (typeof spec.priority !== "number" || !Number.isInteger(spec.priority)))
    errs.push(invalid(`${field}.priority`, spec.priority, "must be an integer"));
  if (spec.nodeSelector !== undefined && spec.nodeSelector !== null && !isObj(spec.nodeSelector)) errs.push(invalid(`${field}.nodeSelector`, spec.nodeSelector, "must be a map of labels"));
  return errs;
}

