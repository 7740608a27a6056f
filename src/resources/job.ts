import { ageColumn, getPath, humanDuration, mapString } from "./columns.ts";
import { selectorMatches, selectorString, workloadWideColumns } from "./deployment.ts";
import { defaultPodSpec, validatePodSpec } from "./pod.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  checkImmutable,
  enumField,
  invalid,
  isObj,
  jsonEqual,
  nonNegative,
  notSupported,
  required,
  sub,
  validateLabelSelector,
  type Obj,
} from "./validation.ts";

export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const LEGACY_JOB_NAME_LABEL = "job-name";
/** Limits of Indexed jobs. */
const MAX_INDEXED = 100_000;

/**
 * The selector and pod labels Kubernetes generates for a Job without manualSelector:
 * controller-uid (selected on) and job-name labels. Needs the Job's uid, which the
 * store assigns at create time, so the defaulting step can only do it once a uid exists.
 */
export function generateJobSelector(job: KubeObject, uid: string | undefined): void {
  const spec = sub(job, "spec");
  if (spec.manualSelector === true || !uid || !isObj(job.spec)) return;
  const template = (spec.template = isObj(spec.template) ? spec.template : {}) as Obj;
  const meta = (template.metadata = isObj(template.metadata) ? template.metadata : {}) as Obj;
  const labels = (meta.labels = isObj(meta.labels) ? meta.labels : {}) as Record<string, string>;
  const name = job.metadata.name ?? "";
  labels[LEGACY_JOB_NAME_LABEL] ??= name;
  labels[JOB_NAME_LABEL] ??= name;
  labels[LEGACY_CONTROLLER_UID_LABEL] ??= uid;
  labels[CONTROLLER_UID_LABEL] ??= uid;
  const selector = (spec.selector = isObj(spec.selector) ? spec.selector : {}) as Obj;
  const matchLabels = (selector.matchLabels = isObj(selector.matchLabels) ? selector.matchLabels : {}) as Record<string, string>;
  matchLabels[CONTROLLER_UID_LABEL] ??= uid;
}

/** Job-level defaults (not applied to CronJob job templates, as in Kubernetes). */
function defaultJob(job: KubeObject): void {
  const spec = (job.spec = isObj(job.spec) ? job.spec : {}) as Obj;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  if (isObj(spec.podFailurePolicy) && Array.isArray(spec.podFailurePolicy.rules))
    for (const rule of spec.podFailurePolicy.rules)
      if (isObj(rule) && Array.isArray(rule.onPodConditions)) for (const p of rule.onPodConditions) if (isObj(p)) p.status ||= "True";
  spec.podReplacementPolicy ??= isObj(spec.podFailurePolicy) ? "Failed" : "TerminatingOrFailed";
  spec.manualSelector ??= false;
  defaultJobTemplate(spec);
  // A Job without labels takes its pod template's (before the generated ones are added).
  const templateLabels = getPath(spec, "template.metadata.labels") as Record<string, string> | undefined;
  if (templateLabels && Object.keys(job.metadata.labels ?? {}).length === 0) job.metadata.labels = { ...templateLabels };
  generateJobSelector(job, job.metadata.uid);
}

/** Pod template defaults inside a JobSpec. */
export function defaultJobTemplate(spec: Obj): void {
  const template = (spec.template = isObj(spec.template) ? spec.template : {}) as Obj;
  template.metadata ??= {};
  template.spec = isObj(template.spec) ? template.spec : {};
  defaultPodSpec(template.spec as Obj);
}

/** Checks of a JobSpec at `field` ("spec", or "spec.jobTemplate.spec" for CronJobs). */
export function validateJobSpec(errs: FieldError[], field: string, spec: Obj, opts: { inCronJob?: boolean } = {}): void {
  for (const f of ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"])
    nonNegative(errs, `${field}.${f}`, spec[f]);
  enumField(errs, `${field}.completionMode`, spec.completionMode, ["NonIndexed", "Indexed"]);
  enumField(errs, `${field}.podReplacementPolicy`, spec.podReplacementPolicy, ["TerminatingOrFailed", "Failed"]);
  const indexed = spec.completionMode === "Indexed";
  if (indexed) {
    if (spec.completions === undefined || spec.completions === null) errs.push(required(`${field}.completions`, "when completion mode is Indexed"));
    else if (typeof spec.completions === "number" && spec.completions > MAX_INDEXED) errs.push(invalid(`${field}.completions`, spec.completions, `must be less than or equal to ${MAX_INDEXED}`));
    if (typeof spec.parallelism === "number" && spec.parallelism > MAX_INDEXED) errs.push(invalid(`${field}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_INDEXED}`));
  } else if (spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null) {
    errs.push(invalid(`${field}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, "requires indexed completion mode"));
  }
  validateLabelSelector(errs, `${field}.selector`, spec.selector);
  if (opts.inCronJob) {
    if (spec.manualSelector === true) errs.push(notSupported(`${field}.manualSelector`, true, ["nil", "false"]));
  } else if (spec.manualSelector === true && (!isObj(spec.selector) || Object.keys(spec.selector).length === 0)) {
    errs.push(required(`${field}.selector`));
  }
  const templateLabels = getPath(spec, "template.metadata.labels") as Record<string, string> | undefined;
  if (isObj(spec.selector) && Object.keys(spec.selector).length > 0 && !selectorMatches(spec.selector, templateLabels))
    errs.push(invalid(`${field}.template.metadata.labels`, mapString(templateLabels), "`selector` does not match template `labels`"));
  errs.push(...validatePodSpec(getPath(spec, "template.spec"), `${field}.template.spec`));
  const restart = getPath(spec, "template.spec.restartPolicy");
  if (restart !== "OnFailure" && restart !== "Never") errs.push(notSupported(`${field}.template.spec.restartPolicy`, restart ?? "", ["OnFailure", "Never"]));
}

/** Template fields a suspended Job that never started may still change. */
const SCHEDULING_FIELDS = ["nodeSelector", "affinity", "tolerations", "schedulingGates"];

function validateJobUpdate(errs: FieldError[], job: KubeObject, old: KubeObject): void {
  const uid = old.metadata.uid;
  // Compare as Kubernetes would after generation (the uid is the stored one).
  generateJobSelector(job, uid);
  const prevJob = structuredClone(old);
  generateJobSelector(prevJob, uid);
  const spec = sub(job, "spec");
  const prev = sub(prevJob, "spec");
  checkImmutable(errs, "spec.selector", spec.selector, prev.selector);
  const elastic = spec.completionMode === "Indexed" && spec.completions === spec.parallelism;
  if (!elastic) checkImmutable(errs, "spec.completions", spec.completions, prev.completions);
  for (const f of ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"]) checkImmutable(errs, `spec.${f}`, spec[f], prev[f]);
  const neverStarted = prev.suspend === true && !getPath(old, "status.startTime");
  const comparable = (t: unknown) => {
    const copy = structuredClone(isObj(t) ? t : {}) as Obj;
    if (neverStarted) {
      delete copy.metadata;
      if (isObj(copy.spec)) for (const f of SCHEDULING_FIELDS) delete copy.spec[f];
    }
    return copy;
  };
  if (!jsonEqual(comparable(spec.template), comparable(prev.template))) errs.push(invalid("spec.template", spec.template, "field is immutable"));
}

function validateJob(job: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(job.spec)) return [required("spec")];
  const spec = job.spec as Obj;
  const name = job.metadata.name ?? "";
  // The name becomes a label value of the pods.
  if (spec.manualSelector !== true && name.length > 63) errs.push(invalid("metadata.name", name, "must be no more than 63 characters"));
  // On update the selector is generated with the stored uid before anything is compared.
  if (old) generateJobSelector(job, old.metadata.uid);
  validateJobSpec(errs, "spec", spec);
  // Without manualSelector the selector is Kubernetes' own: exactly the controller-uid label.
  // (Before the store has assigned a uid, any selector given is necessarily not the generated one.)
  const uid = job.metadata.uid ?? old?.metadata.uid;
  if (spec.manualSelector !== true && isObj(spec.selector) && Object.keys(spec.selector).length > 0) {
    if (!uid || !selectorMatches(spec.selector, { [CONTROLLER_UID_LABEL]: uid })) errs.push(invalid("spec.selector", spec.selector, "`selector` not auto-generated"));
  }
  if (old) validateJobUpdate(errs, job, old);
  return errs;
}

function hasCondition(job: KubeObject, type: string): boolean {
  const conditions = getPath(job, "status.conditions");
  if (!Array.isArray(conditions)) return false;
  const c = conditions.find((x) => isObj(x) && x.type === type);
  return isObj(c) && c.status === "True";
}

/** STATUS as kubectl shows it. */
export function jobStatus(job: KubeObject): string {
  if (hasCondition(job, "Complete")) return "Complete";
  if (hasCondition(job, "Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (hasCondition(job, "Suspended")) return "Suspended";
  if (hasCondition(job, "FailureTarget")) return "FailureTarget";
  return "Running";
}

/** COMPLETIONS: "succeeded/completions", or "n/1 of parallelism" for work-queue jobs. */
export function jobCompletions(job: KubeObject): string {
  const succeeded = (getPath(job, "status.succeeded") as number | undefined) ?? 0;
  const completions = getPath(job, "spec.completions");
  if (typeof completions === "number") return `${succeeded}/${completions}`;
  const parallelism = (getPath(job, "spec.parallelism") as number | undefined) ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** DURATION: from start to completion, or to now while running; empty before it starts. */
export function jobDuration(job: KubeObject, now: number): string {
  const start = Date.parse((getPath(job, "status.startTime") as string) ?? "");
  if (Number.isNaN(start)) return "";
  const end = Date.parse((getPath(job, "status.completionTime") as string) ?? "");
  return humanDuration((Number.isNaN(end) ? now : end) - start);
}

export const jobKind: ResourceKind = {
  group: "batch",
  version: "v1",
  kind: "Job",
  plural: "jobs",
  singular: "job",
  namespaced: true,
  shortNames: [],
  subresources: ["status"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  defaults: defaultJob,
  validate: validateJob,
  columns: [
    { name: "Status", type: "string", description: "Status of the job.", cell: jobStatus },
    { name: "Completions", type: "string", description: "The number of pods which reached phase Succeeded.", cell: jobCompletions },
    { name: "Duration", type: "string", description: "Time required to complete the job.", cell: jobDuration },
    ageColumn,
    ...workloadWideColumns().slice(0, 2),
    { name: "Selector", type: "string", priority: 1, description: "A label query over pods that should match the pod count.", cell: (o) => selectorString(getPath(o, "spec.selector")) },
  ],
};
