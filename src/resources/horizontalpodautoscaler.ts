import { ageColumn, getPath } from "./columns.ts";
import { validateName } from "./meta.ts";
import { canonicalQuantity, parseQuantity, QUANTITY_FORMAT_MESSAGE } from "./quantity.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { enumField, forbidden, invalid, isInt, isObj, notSupported, required, sub, type Obj } from "./validation.ts";

export const METRIC_TYPES = ["Object", "Pods", "Resource", "External", "ContainerResource"];
const SOURCE_FIELD: Record<string, string> = { Object: "object", Pods: "pods", Resource: "resource", External: "external", ContainerResource: "containerResource" };
const MAX_WINDOW = 3600;
const MAX_PERIOD = 1800;

const scaleUpDefaults = (): Obj => ({
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
});
const scaleDownDefaults = (): Obj => ({ stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] });

/** Fills what a given scaling rule leaves out, from Kubernetes' default rule. */
function withDefaults(rules: unknown, defaults: Obj): Obj {
  if (!isObj(rules)) return defaults;
  for (const k of ["selectPolicy", "stabilizationWindowSeconds", "policies"]) if (rules[k] === undefined || rules[k] === null) rules[k] = defaults[k];
  return rules;
}

function positiveQuantity(errs: FieldError[], field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  const q = parseQuantity(v);
  if (!q) errs.push(invalid(field, v, QUANTITY_FORMAT_MESSAGE));
  else if (q.mantissa <= 0n) errs.push(invalid(field, canonicalQuantity(v), "must be positive"));
}

function validateTarget(errs: FieldError[], field: string, target: unknown): Obj {
  const t = isObj(target) ? target : {};
  if (!t.type) errs.push(required(`${field}.type`, "must specify a metric target type"));
  else if (!["Utilization", "Value", "AverageValue"].includes(t.type as string)) errs.push(invalid(`${field}.type`, t.type, "must be either Utilization, Value, or AverageValue"));
  positiveQuantity(errs, `${field}.value`, t.value);
  positiveQuantity(errs, `${field}.averageValue`, t.averageValue);
  if (t.averageUtilization !== undefined && t.averageUtilization !== null && (!isInt(t.averageUtilization) || t.averageUtilization < 1))
    errs.push(invalid(`${field}.averageUtilization`, t.averageUtilization, "must be greater than 0"));
  return t;
}

function validateMetricIdentifier(errs: FieldError[], field: string, metric: unknown): void {
  const m = isObj(metric) ? metric : {};
  if (!m.name) errs.push(required(`${field}.name`, "must specify a metric name"));
}

function validateMetric(errs: FieldError[], at: string, metric: unknown): void {
  const m = isObj(metric) ? metric : {};
  const type = m.type;
  if (!type) return void errs.push(required(`${at}.type`, "must specify a metric source type"));
  if (!METRIC_TYPES.includes(type as string)) return void errs.push(notSupported(`${at}.type`, type, METRIC_TYPES));
  const expected = SOURCE_FIELD[type as string];
  for (const f of Object.values(SOURCE_FIELD)) if (f !== expected && m[f] !== undefined && m[f] !== null) errs.push(forbidden(`${at}.${f}`, "must populate the given metric source only"));
  const src = m[expected];
  if (!isObj(src)) return void errs.push(required(`${at}.${expected}`, "must populate information for the given metric source"));
  const base = `${at}.${expected}`;
  if (type === "Resource" || type === "ContainerResource") {
    if (!src.name) errs.push(required(`${base}.name`, "must specify a resource name"));
    if (type === "ContainerResource" && !src.container) errs.push(required(`${base}.container`, "must specify a container"));
    const t = validateTarget(errs, `${base}.target`, src.target);
    if (t.averageUtilization === undefined && t.averageValue === undefined)
      errs.push(required(`${base}.target.averageUtilization`, "must set either a target raw value or a target utilization"));
    else if (t.averageUtilization !== undefined && t.averageValue !== undefined)
      errs.push(forbidden(`${base}.target.averageValue`, "may not set both a target raw value and a target utilization"));
  } else if (type === "Pods") {
    validateMetricIdentifier(errs, `${base}.metric`, src.metric);
    const t = validateTarget(errs, `${base}.target`, src.target);
    if (t.averageValue === undefined) errs.push(required(`${base}.target.averageValue`, "must specify a positive target averageValue"));
  } else {
    if (type === "Object") {
      const d = sub(src, "describedObject");
      if (!d.kind) errs.push(required(`${base}.describedObject.kind`));
      if (!d.name) errs.push(required(`${base}.describedObject.name`));
    }
    validateMetricIdentifier(errs, `${base}.metric`, src.metric);
    const t = validateTarget(errs, `${base}.target`, src.target);
    if (t.value === undefined && t.averageValue === undefined) errs.push(required(`${base}.target.value`, "must set either a target value or averageValue"));
  }
}

function validateRules(errs: FieldError[], field: string, rules: unknown): void {
  if (!isObj(rules)) return;
  enumField(errs, `${field}.selectPolicy`, rules.selectPolicy, ["Disabled", "Max", "Min"]);
  const w = rules.stabilizationWindowSeconds;
  if (w !== undefined && w !== null) {
    if (!isInt(w) || w < 0) errs.push(invalid(`${field}.stabilizationWindowSeconds`, w, "must be greater than or equal to zero"));
    else if (w > MAX_WINDOW) errs.push(invalid(`${field}.stabilizationWindowSeconds`, w, `must be less than or equal to ${MAX_WINDOW}`));
  }
  const policies = rules.policies;
  if (Array.isArray(policies)) {
    if (policies.length === 0) errs.push(required(`${field}.policies`, "must specify at least one Policy"));
    policies.forEach((p, i) => {
      const at = `${field}.policies[${i}]`;
      const policy = isObj(p) ? p : {};
      enumField(errs, `${at}.type`, policy.type, ["Percent", "Pods"]);
      if (policy.type === undefined) errs.push(required(`${at}.type`));
      if (!isInt(policy.value) || policy.value <= 0) errs.push(invalid(`${at}.value`, policy.value, "must be greater than zero"));
      if (!isInt(policy.periodSeconds) || policy.periodSeconds <= 0) errs.push(invalid(`${at}.periodSeconds`, policy.periodSeconds, "must be greater than zero"));
      else if (policy.periodSeconds > MAX_PERIOD) errs.push(invalid(`${at}.periodSeconds`, policy.periodSeconds, `must be less than or equal to ${MAX_PERIOD}`));
    });
  }
}

function validateHPA(hpa: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(hpa, "spec");
  const ref = sub(spec, "scaleTargetRef");
  if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind"));
  else errs.push(...validateName(String(ref.kind), "path-segment", "spec.scaleTargetRef.kind"));
  if (!ref.name) errs.push(required("spec.scaleTargetRef.name"));
  else errs.push(...validateName(String(ref.name), "path-segment", "spec.scaleTargetRef.name"));
  const min = spec.minReplicas;
  const max = spec.maxReplicas;
  if (min !== undefined && min !== null && (!isInt(min) || min < 1)) errs.push(invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
  if (!isInt(max) || max < 1) errs.push(invalid("spec.maxReplicas", max ?? 0, "must be greater than 0"));
  else if (isInt(min) && max < min) errs.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  if (spec.metrics !== undefined && spec.metrics !== null) {
    if (!Array.isArray(spec.metrics)) errs.push(invalid("spec.metrics", spec.metrics, "must be a list"));
    else spec.metrics.forEach((m, i) => validateMetric(errs, `spec.metrics[${i}]`, m));
  }
  const behavior = spec.behavior;
  if (isObj(behavior)) {
    validateRules(errs, "spec.behavior.scaleUp", behavior.scaleUp);
    validateRules(errs, "spec.behavior.scaleDown", behavior.scaleDown);
  }
  return errs;
}

const q = (v: unknown) => canonicalQuantity(v) ?? String(v ?? "");

/** TARGETS: "cpu: 40%/80%", "<unknown>/500m", ... (two shown, then "+ N more..."). */
export function hpaTargets(hpa: KubeObject): string {
  const specs = getPath(hpa, "spec.metrics");
  if (!Array.isArray(specs) || specs.length === 0) return "<none>";
  const statuses = (getPath(hpa, "status.currentMetrics") as Obj[] | undefined) ?? [];
  const list: string[] = [];
  specs.forEach((raw, i) => {
    const m = isObj(raw) ? raw : {};
    const status = Array.isArray(statuses) && isObj(statuses[i]) ? statuses[i] : {};
    const cur = (key: string) => sub(sub(status, key), "current");
    const has = (key: string) => isObj(status[key]);
    switch (m.type) {
      case "External":
      case "Object": {
        const key = m.type === "External" ? "external" : "object";
        const target = sub(sub(m, key), "target");
        if (target.averageValue !== undefined) {
          const current = has(key) && cur(key).averageValue !== undefined ? q(cur(key).averageValue) : "<unknown>";
          list.push(`${current}/${q(target.averageValue)} (avg)`);
        } else {
          const current = has(key) ? q(cur(key).value ?? "0") : "<unknown>";
          list.push(`${current}/${q(target.value ?? "0")}`);
        }
        break;
      }
      case "Pods": {
        const current = has("pods") ? q(cur("pods").averageValue ?? "0") : "<unknown>";
        list.push(`${current}/${q(sub(sub(m, "pods"), "target").averageValue ?? "0")}`);
        break;
      }
      case "Resource":
      case "ContainerResource": {
        const key = m.type === "Resource" ? "resource" : "containerResource";
        const src = sub(m, key);
        const target = sub(src, "target");
        if (target.averageValue !== undefined) {
          const current = has(key) ? q(cur(key).averageValue ?? "0") : "<unknown>";
          list.push(`${String(src.name ?? "")}: ${current}/${q(target.averageValue)}`);
        } else {
          const util = cur(key).averageUtilization;
          const current = has(key) && util !== undefined ? `${util}%` : "<unknown>";
          const want = target.averageUtilization !== undefined ? `${target.averageUtilization}%` : "<auto>";
          list.push(`${String(src.name ?? "")}: ${current}/${want}`);
        }
        break;
      }
      default:
        list.push("<unknown type>");
    }
  });
  if (list.length > 2) return `${list.slice(0, 2).join(", ")} + ${list.length - 2} more...`;
  return list.join(", ");
}

export const hpaKind: ResourceKind = {
  group: "autoscaling",
  version: "v2",
  kind: "HorizontalPodAutoscaler",
  plural: "horizontalpodautoscalers",
  singular: "horizontalpodautoscaler",
  namespaced: true,
  shortNames: ["hpa"],
  subresources: ["status"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  defaults: (hpa) => {
    const spec = (hpa.spec = isObj(hpa.spec) ? hpa.spec : {}) as Obj;
    spec.minReplicas ??= 1;
    if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
      spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }];
    if (isObj(spec.behavior)) {
      spec.behavior.scaleUp = withDefaults(spec.behavior.scaleUp, scaleUpDefaults());
      spec.behavior.scaleDown = withDefaults(spec.behavior.scaleDown, scaleDownDefaults());
    }
  },
  validate: validateHPA,
  columns: [
    {
      name: "Reference",
      type: "string",
      description: "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
      cell: (o) => `${(getPath(o, "spec.scaleTargetRef.kind") as string) ?? ""}/${(getPath(o, "spec.scaleTargetRef.name") as string) ?? ""}`,
    },
    { name: "Targets", type: "string", description: "metrics contains the specifications for which to use to calculate the desired replica count.", cell: hpaTargets },
    {
      name: "MinPods",
      type: "string",
      description: "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
      cell: (o) => {
        const m = getPath(o, "spec.minReplicas");
        return m === undefined || m === null ? "<unset>" : String(m);
      },
    },
    { name: "MaxPods", type: "string", description: "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.", cell: (o) => (getPath(o, "spec.maxReplicas") as number | undefined) ?? 0 },
    { name: "Replicas", type: "string", description: "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.", cell: (o) => (getPath(o, "status.currentReplicas") as number | undefined) ?? 0 },
    ageColumn,
  ],
};
