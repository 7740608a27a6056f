import { age, ageColumn, getPath } from "./columns.ts";
import { cronError, isValidTimeZone } from "./cron.ts";
import { selectorString, workloadWideColumns } from "./deployment.ts";
import { defaultJobTemplate, validateJobSpec } from "./job.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { enumField, invalid, isObj, nonNegative, required, sub, type Obj } from "./validation.ts";

/** A CronJob's name plus the 11-character suffix of its Jobs must stay a valid label. */
const MAX_NAME = 52;

function validateTimeZone(errs: FieldError[], tz: unknown): void {
  if (tz === undefined || tz === null) return;
  if (typeof tz !== "string" || tz.length === 0) return void errs.push(invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string"));
  for (const part of tz.split("/"))
    if (part === "." || part === ".." || part.startsWith("-") || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(part))
      return void errs.push(invalid("spec.timeZone", tz, `unknown time zone ${tz}`));
  if (tz.toLowerCase() === "local") return void errs.push(invalid("spec.timeZone", tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
  if (!isValidTimeZone(tz)) errs.push(invalid("spec.timeZone", tz, `unknown time zone ${tz}`));
}

function validateCronJob(cj: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = cj.metadata.name ?? "";
  if (name.length > MAX_NAME) errs.push(invalid("metadata.name", name, `must be no more than ${MAX_NAME} characters`));
  if (!isObj(cj.spec)) return [...errs, required("spec")];
  const spec = cj.spec as Obj;
  const schedule = spec.schedule;
  if (typeof schedule !== "string" || schedule.length === 0) errs.push(required("spec.schedule"));
  else {
    const problem = cronError(schedule);
    if (problem) errs.push(invalid("spec.schedule", schedule, problem));
    // TZ in the schedule is only tolerated on objects that already had it.
    const oldSchedule = old ? getPath(old, "spec.schedule") : undefined;
    const allowTZ = typeof oldSchedule === "string" && oldSchedule.includes("TZ");
    if (schedule.includes("TZ")) {
      if (!allowTZ) errs.push(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
      else if (spec.timeZone !== undefined && spec.timeZone !== null) errs.push(invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
    }
  }
  validateTimeZone(errs, spec.timeZone);
  enumField(errs, "spec.concurrencyPolicy", spec.concurrencyPolicy, ["Allow", "Forbid", "Replace"]);
  nonNegative(errs, "spec.startingDeadlineSeconds", spec.startingDeadlineSeconds);
  nonNegative(errs, "spec.successfulJobsHistoryLimit", spec.successfulJobsHistoryLimit);
  nonNegative(errs, "spec.failedJobsHistoryLimit", spec.failedJobsHistoryLimit);
  if (!isObj(spec.jobTemplate)) errs.push(required("spec.jobTemplate"));
  else validateJobSpec(errs, "spec.jobTemplate.spec", sub(spec.jobTemplate, "spec"), { inCronJob: true });
  return errs;
}

export const cronJobKind: ResourceKind = {
  group: "batch",
  version: "v1",
  kind: "CronJob",
  plural: "cronjobs",
  singular: "cronjob",
  namespaced: true,
  shortNames: ["cj"],
  subresources: ["status"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  defaults: (cj) => {
    const spec = (cj.spec = isObj(cj.spec) ? cj.spec : {}) as Obj;
    spec.concurrencyPolicy ||= "Allow";
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    // Only the pod template inside gets defaults; Job-level defaults apply when Jobs are created from it.
    const jobTemplate = (spec.jobTemplate = isObj(spec.jobTemplate) ? spec.jobTemplate : {}) as Obj;
    const jobSpec = (jobTemplate.spec = isObj(jobTemplate.spec) ? jobTemplate.spec : {}) as Obj;
    defaultJobTemplate(jobSpec);
  },
  validate: validateCronJob,
  columns: [
    { name: "Schedule", type: "string", description: "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", cell: (o) => String(getPath(o, "spec.schedule") ?? "") },
    { name: "Timezone", type: "string", description: "The time zone name for the given schedule.", cell: (o) => (getPath(o, "spec.timeZone") as string | undefined) ?? "<none>" },
    {
      name: "Suspend",
      type: "boolean",
      description: "This flag tells the controller to suspend subsequent executions.",
      cell: (o) => {
        const s = getPath(o, "spec.suspend");
        return typeof s === "boolean" ? (s ? "True" : "False") : "<unset>";
      },
    },
    { name: "Active", type: "integer", description: "A list of pointers to currently running jobs.", cell: (o) => ((getPath(o, "status.active") as unknown[] | undefined) ?? []).length },
    {
      name: "Last Schedule",
      type: "string",
      description: "Information when was the last time the job was successfully scheduled.",
      cell: (o, now) => {
        const t = getPath(o, "status.lastScheduleTime") as string | undefined;
        return t ? age(t, now) : "<none>";
      },
    },
    ageColumn,
    ...workloadWideColumns("spec.jobTemplate.spec.template.spec.containers").slice(0, 2),
    { name: "Selector", type: "string", priority: 1, description: "A label query over pods that should match the pod count.", cell: (o) => selectorString(getPath(o, "spec.jobTemplate.spec.selector")) },
  ],
};
