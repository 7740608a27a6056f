import { ageColumn, containersOf, getPath, mapString } from "./columns.ts";
import { defaultPodSpec, validatePodSpec } from "./pod.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { checkImmutable, forbidden, isObj, nonNegative, notSupported, validateIntOrPercent, validateLabelSelector } from "./validation.ts";

/** "a=b,c in (d)" from a LabelSelector, as kubectl's SELECTOR column shows it. */
export function selectorString(sel: unknown): string {
  if (!sel || typeof sel !== "object") return "<none>";
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts: string[] = [];
  if (s.matchLabels) parts.push(...Object.entries(s.matchLabels).map(([k, v]) => `${k}=${v}`));
  for (const e of s.matchExpressions ?? []) {
    const op = e.operator;
    if (op === "Exists") parts.push(e.key);
    else if (op === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${op.toLowerCase()} (${(e.values ?? []).join(",")})`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

/** Does a LabelSelector (matchLabels + matchExpressions) select these labels? */
export function selectorMatches(sel: unknown, labels: Record<string, string> | undefined): boolean {
  if (!sel || typeof sel !== "object") return false;
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const l = labels ?? {};
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    if (e.operator === "In" && !(has && (e.values ?? []).includes(l[e.key]))) return false;
    if (e.operator === "NotIn" && has && (e.values ?? []).includes(l[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** Defaults and checks of `spec.selector` + `spec.template` shared by workload kinds. */
export function defaultPodTemplate(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Record<string, unknown>;
  const template = (spec.template ??= {}) as Record<string, unknown>;
  template.metadata ??= {};
  template.spec ??= {};
  defaultPodSpec(template.spec as Record<string, unknown>);
}

export function validateSelectorAndTemplate(obj: KubeObject): FieldError[] {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const errs: FieldError[] = [];
  const sel = spec.selector as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0))
    errs.push({ field: "spec.selector", reason: "FieldValueRequired", message: "Required value" });
  const templateLabels = getPath(obj, "spec.template.metadata.labels") as Record<string, string> | undefined;
  if (sel && !selectorMatches(sel, templateLabels))
    errs.push({ field: "spec.template.metadata.labels", reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(mapString(templateLabels))}: \`selector\` does not match template \`labels\`` });
  errs.push(...validatePodSpec(getPath(obj, "spec.template.spec"), "spec.template.spec"));
  const replicas = spec.replicas;
  if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0))
    errs.push({ field: "spec.replicas", reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` });
  return errs;
}

/**
 * Checks apps/v1 workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet) share on top of
 * validateSelectorAndTemplate: a well-formed selector that never changes after creation,
 * pods that always restart, non-negative minReadySeconds/revisionHistoryLimit.
 */
export function validateWorkload(obj: KubeObject, old: KubeObject | undefined, kindName: string): FieldError[] {
  const spec = (isObj(obj.spec) ? obj.spec : {}) as Record<string, unknown>;
  const errs: FieldError[] = [];
  validateLabelSelector(errs, "spec.selector", spec.selector);
  const restart = getPath(obj, "spec.template.spec.restartPolicy");
  if (restart !== undefined && restart !== "Always") errs.push(notSupported("spec.template.spec.restartPolicy", restart, ["Always"]));
  if (getPath(obj, "spec.template.spec.activeDeadlineSeconds") !== undefined)
    errs.push(forbidden("spec.template.spec.activeDeadlineSeconds", `activeDeadlineSeconds in ${kindName} is not Supported`));
  nonNegative(errs, "spec.minReadySeconds", spec.minReadySeconds);
  nonNegative(errs, "spec.revisionHistoryLimit", spec.revisionHistoryLimit);
  if (old) checkImmutable(errs, "spec.selector", spec.selector, getPath(old, "spec.selector"));
  return errs;
}

/** The CONTAINERS / IMAGES / SELECTOR wide columns of every workload kind. */
export const workloadWideColumns = (templatePath = "spec.template.spec.containers") => [
  { name: "Containers", type: "string" as const, priority: 1 as const, cell: (o: KubeObject) => containersOf(o, templatePath).map((c) => c.name).join(",") },
  { name: "Images", type: "string" as const, priority: 1 as const, cell: (o: KubeObject) => containersOf(o, templatePath).map((c) => c.image).join(",") },
  { name: "Selector", type: "string" as const, priority: 1 as const, cell: (o: KubeObject) => selectorString(getPath(o, "spec.selector")) },
];

const num = (o: KubeObject, path: string) => (getPath(o, path) as number | undefined) ?? 0;

export const deploymentKind: ResourceKind = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  plural: "deployments",
  singular: "deployment",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  subresources: ["status", "scale"],
  generation: true,
  fields: ["spec", "status"],
  scale: { specReplicasPath: "spec.replicas", statusReplicasPath: "status.replicas", labelSelectorPath: "spec.selector" },
  defaults: (d) => {
    defaultPodTemplate(d);
    const spec = d.spec as Record<string, unknown>;
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    const strategy = (spec.strategy ??= {}) as Record<string, unknown>;
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = (strategy.rollingUpdate ??= {}) as Record<string, unknown>;
      ru.maxSurge ??= "25%";
      ru.maxUnavailable ??= "25%";
    }
  },
  validate: (d, old) => {
    const errs = [...validateSelectorAndTemplate(d), ...validateWorkload(d, old, "ReplicaSet")];
    const strategy = getPath(d, "spec.strategy.type");
    if (strategy !== undefined && strategy !== "RollingUpdate" && strategy !== "Recreate")
      errs.push({ field: "spec.strategy.type", reason: "FieldValueNotSupported", message: `Unsupported value: "${strategy}": supported values: "Recreate", "RollingUpdate"` });
    const ru = getPath(d, "spec.strategy.rollingUpdate") as { maxSurge?: unknown; maxUnavailable?: unknown } | undefined;
    if (ru) {
      validateIntOrPercent(errs, "spec.strategy.rollingUpdate.maxSurge", ru.maxSurge);
      validateIntOrPercent(errs, "spec.strategy.rollingUpdate.maxUnavailable", ru.maxUnavailable, { max100: true });
      const isZero = (v: unknown) => v === 0 || v === "0%" || v === "0";
      if (isZero(ru.maxSurge) && isZero(ru.maxUnavailable))
        errs.push({ field: "spec.strategy.rollingUpdate.maxUnavailable", reason: "FieldValueInvalid", message: "Invalid value: 0: may not be 0 when `maxSurge` is 0" });
    }
    if (strategy === "Recreate" && ru) errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    const pds = getPath(d, "spec.progressDeadlineSeconds");
    const mrs = getPath(d, "spec.minReadySeconds");
    nonNegative(errs, "spec.progressDeadlineSeconds", pds);
    if (typeof pds === "number" && typeof mrs === "number" && pds <= mrs)
      errs.push({ field: "spec.progressDeadlineSeconds", reason: "FieldValueInvalid", message: `Invalid value: ${pds}: must be greater than minReadySeconds` });
    return errs;
  },
  columns: [
    { name: "Ready", type: "string", cell: (d) => `${num(d, "status.readyReplicas")}/${num(d, "spec.replicas")}` },
    { name: "Up-to-date", type: "integer", cell: (d) => num(d, "status.updatedReplicas") },
    { name: "Available", type: "integer", cell: (d) => num(d, "status.availableReplicas") },
    ageColumn,
    ...workloadWideColumns(),
  ],
};
