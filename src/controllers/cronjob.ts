import { type CronSchedule, isValidTimeZone, parseCron } from "../resources/cron.ts";
import type { KubeObject } from "../resources/types.ts";
import { formatInZone, mostRecentUnmet, nextScheduleAfter } from "./cron-schedule.ts";
import { jobFinishedCondition, timestamp } from "./job.ts";
import { type Action, type Observed, type ReconcileResult, controllerOf, controllerRef } from "./types.ts";

/**
 * The CronJob reconciler, level-triggered over one namespace. For each CronJob it
 * keeps status.active (references to the unfinished Jobs it scheduled),
 * lastScheduleTime and lastSuccessfulTime; creates the Job of the most recent unmet
 * schedule time (named `<cronjob>-<minutes since the epoch>`, so a time is never
 * run twice) subject to suspend, startingDeadlineSeconds and concurrencyPolicy;
 * deletes finished Jobs beyond the history limits; and asks to be woken at the
 * next schedule time.
 *
 * A Job counts as scheduled by the CronJob when it is controlled by it and carries
 * the scheduled-timestamp annotation (or is already listed in status.active). Jobs
 * made with `kubectl create job --from=cronjob/x` (annotation
 * cronjob.kubernetes.io/instantiate=manual) are neither scheduled runs nor added to
 * status.active, as in Kubernetes; they are cleaned up by the history limits and a
 * successful one updates lastSuccessfulTime.
 *
 * lastScheduleTime is only advanced once the created Job is observed, so a failed
 * create is retried rather than lost.
 */

export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";
export const INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate";
export const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 3;
export const DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 1;

interface CronJobSpec {
  schedule?: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  suspend?: boolean;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

interface CronJobStatus {
  active?: ObjectReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  [key: string]: unknown;
}

const nameOf = (o: KubeObject) => o.metadata.name ?? "";
const byName = (a: KubeObject, b: KubeObject) => nameOf(a).localeCompare(nameOf(b));

function parseTime(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) if ((v as Record<string, unknown>)[k] !== undefined) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
const sameJson = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** The Job name for a schedule time: `<cronjob>-<minutes since the epoch>`. */
export function scheduledJobName(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

const isManual = (job: KubeObject) => job.metadata.annotations?.[INSTANTIATE_ANNOTATION] === "manual";
const scheduledAt = (job: KubeObject) => (isManual(job) ? undefined : parseTime(job.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]));

function jobRef(job: KubeObject): ObjectReference {
  return {
    kind: "Job",
    namespace: job.metadata.namespace,
    name: job.metadata.name,
    uid: job.metadata.uid,
    apiVersion: "batch/v1",
    resourceVersion: job.metadata.resourceVersion,
  };
}

/** Oldest first by status.startTime (unstarted last), then by name. */
function byStartTime(a: KubeObject, b: KubeObject): number {
  const sa = parseTime((a.status as { startTime?: string } | undefined)?.startTime);
  const sb = parseTime((b.status as { startTime?: string } | undefined)?.startTime);
  if (sa !== sb) {
    if (sa === undefined) return 1;
    if (sb === undefined) return -1;
    return sa - sb;
  }
  return byName(a, b);
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let requeueAfterMs: number | undefined;
  const jobNames = new Set(observed.jobs.map(nameOf));
  for (const cronJob of [...observed.cronJobs].sort(byName)) {
    const owned = observed.jobs.filter((j) => controllerOf(j)?.uid === cronJob.metadata.uid).sort(byName);
    const r = reconcileCronJob(cronJob, owned, jobNames, observed.now);
    actions.push(...r.actions);
    if (r.requeueAfterMs !== undefined && (requeueAfterMs === undefined || r.requeueAfterMs < requeueAfterMs)) requeueAfterMs = r.requeueAfterMs;
  }
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}

function reconcileCronJob(cronJob: KubeObject, jobs: KubeObject[], jobNames: Set<string>, now: number): ReconcileResult {
  const spec = (cronJob.spec ?? {}) as CronJobSpec;
  const stored = (cronJob.status ?? {}) as CronJobStatus;
  const event = (eventType: "Normal" | "Warning", reason: string, message: string): Action => ({ type: "event", involved: cronJob, eventType, reason, message });
  const statusEvents: Action[] = [];
  const jobsByUid = new Map(jobs.map((j) => [j.metadata.uid ?? "", j]));

  // status.active: what is listed and still runs, plus scheduled Jobs not listed yet.
  let active: ObjectReference[] = [];
  const listed = new Set<string>();
  for (const ref of stored.active ?? []) {
    const job = jobsByUid.get(ref.uid ?? "");
    if (!job) statusEvents.push(event("Normal", "MissingJob", `Active job went missing: ${ref.name}`));
    else if (jobFinishedCondition(job)) {
      statusEvents.push(event("Normal", "SawCompletedJob", `Saw completed job: ${ref.name}, status: ${jobFinishedCondition(job)!.type}`));
    } else {
      active.push(ref);
      listed.add(ref.uid!);
    }
  }
  const unlisted = jobs
    .filter((j) => !listed.has(j.metadata.uid ?? "") && !jobFinishedCondition(j) && scheduledAt(j) !== undefined)
    .sort((a, b) => scheduledAt(a)! - scheduledAt(b)! || byName(a, b));
  active.push(...unlisted.map(jobRef));

  // lastScheduleTime: the latest schedule time whose Job exists (or existed).
  let lastSchedule = parseTime(stored.lastScheduleTime);
  for (const j of jobs) {
    const t = scheduledAt(j);
    if (t !== undefined && (lastSchedule === undefined || t > lastSchedule)) lastSchedule = t;
  }
  // lastSuccessfulTime: the latest completion of a Job it owns.
  let lastSuccess = parseTime(stored.lastSuccessfulTime);
  for (const j of jobs) {
    if (jobFinishedCondition(j)?.type !== "Complete") continue;
    const t = parseTime((j.status as { completionTime?: string } | undefined)?.completionTime);
    if (t !== undefined && (lastSuccess === undefined || t > lastSuccess)) lastSuccess = t;
  }

  const jobActions: Action[] = [];
  let requeueAfterMs: number | undefined;
  const schedule = cronJob.metadata.deletionTimestamp ? undefined : parseSchedule(spec);
  if (schedule && spec.suspend !== true) {
    const tz = spec.timeZone;
    let earliest = lastSchedule ?? parseTime(cronJob.metadata.creationTimestamp) ?? now;
    if (spec.startingDeadlineSeconds !== undefined) earliest = Math.max(earliest, now - spec.startingDeadlineSeconds * 1000);
    const unmet = mostRecentUnmet(schedule, earliest, now, tz);
    if (unmet.time !== undefined) {
      const name = scheduledJobName(nameOf(cronJob), unmet.time);
      const policy = spec.concurrencyPolicy ?? "Allow";
      if (jobNames.has(name)) {
        // Already created (ours is in `active`; someone else's is left alone).
      } else if (policy === "Forbid" && active.length > 0) {
        // Skipped while a scheduled Job runs; the most recent missed time runs once it is done (if still in the deadline).
      } else {
        if (unmet.tooMany)
          jobActions.push(event("Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"));
        if (policy === "Replace") {
          for (const ref of active) {
            const job = jobsByUid.get(ref.uid ?? "")!;
            if (job.metadata.deletionTimestamp) continue;
            jobActions.push({ type: "delete", resource: "batch/jobs", name: nameOf(job), uid: job.metadata.uid, propagationPolicy: "Background" });
            jobActions.push(event("Normal", "SuccessfulDelete", `Deleted job ${nameOf(job)}`));
          }
          active = [];
        }
        const job = jobFromTemplate(cronJob, spec, name, unmet.time, tz ?? "UTC");
        jobNames.add(name);
        jobActions.push({ type: "create", resource: "batch/jobs", object: job });
        jobActions.push(event("Normal", "SuccessfulCreate", `Created job ${name}`));
      }
    }
    const next = nextScheduleAfter(schedule, unmet.time ?? earliest, now, tz);
    if (next !== undefined) requeueAfterMs = next - now;
  }

  // History limits: the oldest finished Jobs beyond them go.
  const historyActions: Action[] = [];
  const limits = {
    Complete: spec.successfulJobsHistoryLimit ?? DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
    Failed: spec.failedJobsHistoryLimit ?? DEFAULT_FAILED_JOBS_HISTORY_LIMIT,
  };
  for (const type of ["Complete", "Failed"] as const) {
    const finished = jobs.filter((j) => jobFinishedCondition(j)?.type === type && !j.metadata.deletionTimestamp).sort(byStartTime);
    for (const job of finished.slice(0, Math.max(0, finished.length - limits[type]))) {
      historyActions.push({ type: "delete", resource: "batch/jobs", name: nameOf(job), uid: job.metadata.uid, propagationPolicy: "Background" });
      historyActions.push(event("Normal", "SuccessfulDelete", `Deleted job ${nameOf(job)}`));
    }
  }

  const status: CronJobStatus = structuredClone(stored);
  if (active.length) status.active = active;
  else delete status.active;
  if (lastSchedule !== undefined) status.lastScheduleTime = timestamp(lastSchedule);
  if (lastSuccess !== undefined) status.lastSuccessfulTime = timestamp(lastSuccess);
  const actions: Action[] = [];
  if (!sameJson(stored, status)) {
    actions.push({ type: "update", resource: "batch/cronjobs", subresource: "status", object: { ...cronJob, status } });
    actions.push(...statusEvents);
  }
  actions.push(...jobActions, ...historyActions);
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}

/** The schedule in force, or undefined when it (or spec.timeZone) is invalid. */
function parseSchedule(spec: CronJobSpec): CronSchedule | undefined {
  if (typeof spec.schedule !== "string") return undefined;
  if (spec.timeZone !== undefined && !isValidTimeZone(spec.timeZone)) return undefined;
  try {
    return parseCron(spec.schedule);
  } catch {
    return undefined;
  }
}

function jobFromTemplate(cronJob: KubeObject, spec: CronJobSpec, name: string, scheduledMs: number, timeZone: string): KubeObject {
  const template = structuredClone(spec.jobTemplate ?? {});
  const labels = { ...(template.metadata?.labels ?? {}) };
  const annotations = { ...(template.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduledMs, timeZone) };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      ...(Object.keys(labels).length ? { labels } : {}),
      annotations,
      ownerReferences: [controllerRef(cronJob)],
    },
    spec: template.spec ?? {},
  };
}
