import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL } from "../resources/job.ts";
import type { KubeObject } from "../resources/types.ts";
import { type Action, type Observed, type ReconcileResult, controllerOf, controllerRef } from "./types.ts";

/**
 * The Job reconciler, level-triggered over one namespace: pods for each Job up to
 * its parallelism while completions remain (NonIndexed and Indexed modes), success
 * and failure accounting, backoff, deadlines, suspension, and TTL after finishing.
 *
 * Counting follows Kubernetes' finalizer protocol so counts survive pod deletion:
 * every pod the Job creates carries the `batch.kubernetes.io/job-tracking`
 * finalizer. A finished pod is first recorded in `status.uncountedTerminatedPods`
 * (or, Indexed and succeeded, in `status.completedIndexes`); only once that is
 * stored is its finalizer removed; once the finalizer is gone the uid moves into
 * `status.succeeded` / `status.failed`. Each step is its own round (one observation,
 * one set of actions), so a failed action never loses or double-counts a pod. A pod
 * without the finalizer has been counted (or was deliberately left uncounted).
 *
 * As in Kubernetes 1.32, a Job that meets its goal first gets SuccessCriteriaMet (or
 * FailureTarget when it fails), its remaining pods are terminated, and only when no
 * pod is terminating or uncounted does it get Complete (or Failed).
 *
 * Pods are matched to their Job by controller reference (uid), not by
 * spec.selector, so a Job stored without the generated selector still finds its pods.
 */

export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
export { CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL };
export const COMPLETION_INDEX_KEY = "batch.kubernetes.io/job-completion-index";
export const COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";
/** The first delay before recreating a failed pod; it doubles per failure after the last success. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 360_000;
/** At most this many pod creations or deletions per Job per round (as Kubernetes' MaxPodCreateDeletePerSync). */
export const MAX_POD_CHANGES_PER_ROUND = 500;
/** The value of spec.managedBy that means "this controller". */
export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

interface UncountedTerminatedPods {
  succeeded?: string[];
  failed?: string[];
}

interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  terminating?: number;
  completedIndexes?: string;
  uncountedTerminatedPods?: UncountedTerminatedPods;
  conditions?: JobCondition[];
  [key: string]: unknown;
}

interface JobSpec {
  parallelism?: number;
  completions?: number | null;
  completionMode?: string;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
  podReplacementPolicy?: string;
  podFailurePolicy?: unknown;
  managedBy?: string;
  template?: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };
}

interface PodStatus {
  phase?: string;
  conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  containerStatuses?: { restartCount?: number; state?: { terminated?: { finishedAt?: string } } }[];
  initContainerStatuses?: { restartCount?: number }[];
}

/** "2026-01-01T00:00:00Z": metav1.Time's wire form (whole seconds). */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

function parseTime(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

// ---------------------------------------------------------------- pods

const podStatus = (p: KubeObject) => (p.status ?? {}) as PodStatus;
const phaseOf = (p: KubeObject) => podStatus(p).phase;
const isTerminal = (p: KubeObject) => phaseOf(p) === "Succeeded" || phaseOf(p) === "Failed";
const isDeleting = (p: KubeObject) => !!p.metadata.deletionTimestamp;
/** Active: neither finished nor being deleted. */
const isActive = (p: KubeObject) => !isTerminal(p) && !isDeleting(p);
/** Terminating: being deleted but not yet in a terminal phase. */
const isTerminating = (p: KubeObject) => isDeleting(p) && !isTerminal(p);
const hasTrackingFinalizer = (p: KubeObject) => (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
const isReady = (p: KubeObject) => (podStatus(p).conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const uidOf = (o: KubeObject) => o.metadata.uid ?? "";

/**
 * Failed for the Job's purposes: phase Failed or, unless only failed pods are
 * replaced, deleted before it succeeded (it may never reach a terminal phase).
 */
function isPodFailed(p: KubeObject, onlyReplaceFailed: boolean): boolean {
  if (phaseOf(p) === "Failed") return true;
  if (onlyReplaceFailed) return false;
  return isDeleting(p) && phaseOf(p) !== "Succeeded";
}

/** When a pod finished: its containers' last finishedAt, Ready=False's transition, the deletion, or creation. */
function finishedAt(p: KubeObject): number {
  const statuses = podStatus(p).containerStatuses ?? [];
  let latest: number | undefined;
  let allTerminated = statuses.length > 0;
  for (const c of statuses) {
    const t = parseTime(c.state?.terminated?.finishedAt);
    if (t === undefined) {
      allTerminated = false;
      break;
    }
    latest = latest === undefined ? t : Math.max(latest, t);
  }
  if (allTerminated && latest !== undefined) return latest;
  const ready = (podStatus(p).conditions ?? []).find((c) => c.type === "Ready");
  const readyFalse = ready?.status === "False" ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyFalse !== undefined) return readyFalse;
  const deleted = parseTime(p.metadata.deletionTimestamp);
  if (deleted !== undefined) return deleted - (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  return parseTime(p.metadata.creationTimestamp) ?? 0;
}

/** The completion index of an Indexed Job's pod (annotation, then label), or -1. */
export function completionIndexOf(p: KubeObject): number {
  const v = p.metadata.annotations?.[COMPLETION_INDEX_KEY] ?? p.metadata.labels?.[COMPLETION_INDEX_KEY];
  if (typeof v !== "string" || !/^(0|[1-9]\d*)$/.test(v)) return -1;
  return Number(v);
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const restarts = (p: KubeObject) => (podStatus(p).containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);

/**
 * Order in which active pods are removed: ones already released (no tracking
 * finalizer) first, then unscheduled before scheduled, pending before running,
 * not ready before ready, more restarts first, newer first, then by name.
 */
function removalOrder(a: KubeObject, b: KubeObject): number {
  const key = (p: KubeObject): (number | string)[] => [
    hasTrackingFinalizer(p) ? 1 : 0,
    (p.spec as { nodeName?: string } | undefined)?.nodeName ? 1 : 0,
    PHASE_RANK[phaseOf(p) ?? "Pending"] ?? 0,
    isReady(p) ? 1 : 0,
    -restarts(p),
    -(parseTime(p.metadata.creationTimestamp) ?? 0),
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

// ---------------------------------------------------------------- indexes

/** Parses "0-2,4" into a sorted set of indexes below `limit`. */
export function parseIndexes(s: string | undefined, limit: number): Set<number> {
  const out = new Set<number>();
  if (!s) return out;
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const first = Number(m[1]);
    const last = Math.min(m[2] === undefined ? first : Number(m[2]), limit - 1);
    for (let i = first; i <= last; i++) out.add(i);
  }
  return out;
}

/** Formats indexes as Kubernetes' completedIndexes: ascending, runs as "a-b" ("0-2,4"). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

// ---------------------------------------------------------------- names

const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Five characters from the alphabet Kubernetes uses for generated names, derived from `seed`. */
export function nameSuffix(seed: string): string {
  let h = fnv1a(seed) % SUFFIX_ALPHABET.length ** 5;
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += SUFFIX_ALPHABET[h % SUFFIX_ALPHABET.length];
    h = Math.floor(h / SUFFIX_ALPHABET.length);
  }
  return out;
}

/** generateName's base is cut so base + 5 characters fit in 63. */
function generateNameBase(prefix: string): string {
  return prefix.length > 58 ? prefix.slice(0, 58) : prefix;
}

// ---------------------------------------------------------------- helpers

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
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

function findCondition(conditions: JobCondition[] | undefined, type: string): JobCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

function isTrue(conditions: JobCondition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

function newCondition(type: string, status: string, reason: string, message: string, now: number): JobCondition {
  const t = timestamp(now);
  return { type, status, reason, message, lastProbeTime: t, lastTransitionTime: t };
}

/** Sets a condition (appending it unless status is False); says whether anything changed. */
function ensureCondition(conditions: JobCondition[], type: string, status: string, reason: string, message: string, now: number): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conditions[i];
    if (c.status === status && c.reason === reason && c.message === message) return false;
    conditions[i] = newCondition(type, status, reason, message, now);
    return true;
  }
  if (status === "False") return false;
  conditions.push(newCondition(type, status, reason, message, now));
  return true;
}

/** The Job's terminal condition (Complete or Failed, status True), if any. */
export function jobFinishedCondition(job: KubeObject): JobCondition | undefined {
  const conditions = (job.status as JobStatus | undefined)?.conditions;
  return conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

const REASON_COMPLETIONS_REACHED = "CompletionsReached";
const MESSAGE_COMPLETIONS_REACHED = "Reached expected number of succeeded pods";
const REASON_BACKOFF = "BackoffLimitExceeded";
const MESSAGE_BACKOFF = "Job has reached the specified backoff limit";
const REASON_DEADLINE = "DeadlineExceeded";
const MESSAGE_DEADLINE = "Job was active longer than specified deadline";

function withoutTrackingFinalizer(pod: KubeObject): KubeObject {
  const next = structuredClone(pod);
  const rest = (next.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
  if (rest.length) next.metadata.finalizers = rest;
  else delete next.metadata.finalizers;
  return next;
}

const releasePod = (pod: KubeObject): Action => ({ type: "update", resource: "core/pods", object: withoutTrackingFinalizer(pod) });

// ---------------------------------------------------------------- the reconciler

interface Round {
  actions: Action[];
  requeue?: number;
}

function requeueAt(round: Round, ms: number): void {
  const d = Math.max(0, Math.ceil(ms));
  if (round.requeue === undefined || d < round.requeue) round.requeue = d;
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let requeueAfterMs: number | undefined;
  const jobs = [...observed.jobs].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const jobUids = new Set(jobs.map(uidOf));
  const podsByJob = new Map<string, KubeObject[]>();
  const podNames = new Set<string>();
  // Without Jobs only the orphans below are looked for: no pass over every pod's name.
  for (const pod of jobs.length > 0 ? observed.pods : []) {
    podNames.add(pod.metadata.name ?? "");
    const ref = controllerOf(pod);
    if (ref && jobUids.has(ref.uid)) {
      const list = podsByJob.get(ref.uid) ?? [];
      list.push(pod);
      podsByJob.set(ref.uid, list);
    }
  }
  for (const list of podsByJob.values()) list.sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));

  for (const job of jobs) {
    const round: Round = { actions: [] };
    reconcileJob(job, podsByJob.get(uidOf(job)) ?? [], podNames, observed.now, round);
    actions.push(...round.actions);
    if (round.requeue !== undefined && (requeueAfterMs === undefined || round.requeue < requeueAfterMs)) requeueAfterMs = round.requeue;
  }

  // Pods holding the tracking finalizer with no Job to count them (the Job was deleted, or they were orphaned).
  const orphans = observed.pods
    .filter((p) => hasTrackingFinalizer(p))
    .filter((p) => {
      const ref = controllerOf(p);
      if (!ref) return true;
      return ref.kind === "Job" && ref.apiVersion === "batch/v1" && !jobUids.has(ref.uid);
    })
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const pod of orphans) actions.push(releasePod(pod));

  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}

function reconcileJob(job: KubeObject, pods: KubeObject[], podNames: Set<string>, now: number, round: Round): void {
  const spec = (job.spec ?? {}) as JobSpec;
  if (spec.managedBy !== undefined && spec.managedBy !== JOB_CONTROLLER_NAME) return;

  const finished = jobFinishedCondition(job);
  if (finished) return finishedJob(job, pods, finished, now, round);
  if (job.metadata.deletionTimestamp) {
    // Being deleted: release every pod so the garbage collector can remove them.
    for (const pod of pods) if (hasTrackingFinalizer(pod)) round.actions.push(releasePod(pod));
    return;
  }
  const mode = spec.completionMode ?? "NonIndexed";
  if (mode !== "NonIndexed" && mode !== "Indexed") return;
  const indexed = mode === "Indexed";

  // API-server defaults, in case the stored Job lacks them.
  let parallelism = spec.parallelism ?? undefined;
  let completions = spec.completions ?? undefined;
  if (parallelism === undefined && completions === undefined) {
    parallelism = 1;
    completions = 1;
  }
  parallelism ??= 1;
  if (indexed && completions === undefined) return; // invalid: Indexed needs completions
  const backoffLimit = spec.backoffLimit ?? (spec.backoffLimitPerIndex !== undefined ? Number.MAX_SAFE_INTEGER : 6);
  const suspended = spec.suspend === true;
  const onlyReplaceFailed = spec.podReplacementPolicy === "Failed" || spec.podFailurePolicy !== undefined;
  const validIndex = (p: KubeObject) => {
    const i = completionIndexOf(p);
    return i >= 0 && i < (completions ?? 0);
  };

  const stored = (job.status ?? {}) as JobStatus;
  const status: JobStatus = structuredClone(stored);
  const conditions: JobCondition[] = status.conditions ?? [];
  const podByUid = new Map(pods.map((p) => [uidOf(p), p]));
  const withFinalizer = (uid: string) => {
    const p = podByUid.get(uid);
    return p !== undefined && hasTrackingFinalizer(p);
  };

  // 1. Uncounted pods whose finalizer is gone (or which are gone) move into the counters.
  const storedUncSucc = stored.uncountedTerminatedPods?.succeeded ?? [];
  const storedUncFail = stored.uncountedTerminatedPods?.failed ?? [];
  const storedUncounted = new Set([...storedUncSucc, ...storedUncFail]);
  const uncSucc = storedUncSucc.filter(withFinalizer);
  const uncFail = storedUncFail.filter(withFinalizer);
  let succeededCounter = (stored.succeeded ?? 0) + (indexed ? 0 : storedUncSucc.length - uncSucc.length);
  let failedCounter = (stored.failed ?? 0) + storedUncFail.length - uncFail.length;

  // 2. Newly finished pods: recorded now, their finalizers removed next round.
  const prevIndexes = indexed ? parseIndexes(stored.completedIndexes, completions!) : new Set<number>();
  const succeededIndexes = new Set(prevIndexes);
  const release: KubeObject[] = [];
  for (const pod of pods) {
    if (!hasTrackingFinalizer(pod)) continue;
    const uid = uidOf(pod);
    if (storedUncounted.has(uid)) {
      release.push(pod);
      continue;
    }
    if (phaseOf(pod) === "Succeeded") {
      if (!indexed) uncSucc.push(uid);
      else if (!validIndex(pod)) release.push(pod);
      else if (prevIndexes.has(completionIndexOf(pod))) release.push(pod);
      else succeededIndexes.add(completionIndexOf(pod));
    } else if (isPodFailed(pod, onlyReplaceFailed)) {
      if (indexed && !validIndex(pod)) release.push(pod);
      else uncFail.push(uid);
    }
  }
  const succeeded = indexed ? succeededIndexes.size : succeededCounter + uncSucc.length;
  let failed = failedCounter + uncFail.length;

  if (!status.startTime && !suspended) status.startTime = timestamp(now);

  const activePods = pods.filter(isActive);
  let active = activePods.length;
  let ready = activePods.filter(isReady).length;
  let terminating = pods.filter(isTerminating).length;
  const deletions: Action[] = [];
  const creations: Action[] = [];
  const deletePod = (pod: KubeObject) => {
    deletions.push({ type: "delete", resource: "core/pods", name: pod.metadata.name!, uid: pod.metadata.uid });
    deletions.push({ type: "event", involved: job, eventType: "Normal", reason: "SuccessfulDelete", message: `Deleted pod: ${pod.metadata.name}` });
    active--;
    terminating++;
    if (isReady(pod)) ready--;
  };
  // Pods going away without being counted: their finalizer first, the delete once it is gone.
  const removeUncounted = (toRemove: KubeObject[]) => {
    for (const pod of toRemove.slice(0, MAX_POD_CHANGES_PER_ROUND)) {
      if (hasTrackingFinalizer(pod)) release.push(pod);
      else deletePod(pod);
    }
  };

  // 3. Has the Job reached a terminal state?
  // A Job resumed from suspension counts its deadline from now.
  const resuming = !suspended && isTrue(conditions, "Suspended");
  const startTime = resuming ? now : parseTime(status.startTime);
  let finishing: JobCondition | undefined = conditions.find((c) => c.type === "SuccessCriteriaMet" && c.status === "True");
  finishing ??= conditions.find((c) => c.type === "FailureTarget" && c.status === "True");
  if (!finishing) {
    let failure: [string, string] | undefined;
    if (failed > backoffLimit || pastBackoffLimitOnFailure(spec, pods, backoffLimit)) failure = [REASON_BACKOFF, MESSAGE_BACKOFF];
    else if (spec.activeDeadlineSeconds !== undefined && startTime !== undefined && !suspended) {
      const deadline = startTime + spec.activeDeadlineSeconds * 1000;
      if (now >= deadline) failure = [REASON_DEADLINE, MESSAGE_DEADLINE];
      else requeueAt(round, deadline - now);
    }
    if (failure) {
      finishing = newCondition("FailureTarget", "True", failure[0], failure[1], now);
      conditions.push(finishing);
    }
  }

  let suspendEvent: Action | undefined;
  if (finishing) {
    // Terminate what still runs; on failure every unfinished pod counts as failed.
    for (const pod of activePods.slice(0, MAX_POD_CHANGES_PER_ROUND)) deletePod(pod);
    if (finishing.type === "FailureTarget") {
      for (const pod of pods) {
        const uid = uidOf(pod);
        if (!hasTrackingFinalizer(pod) || storedUncounted.has(uid) || isTerminal(pod) || uncFail.includes(uid)) continue;
        if (indexed && !validIndex(pod)) continue;
        uncFail.push(uid);
        failed++;
      }
    }
  } else {
    if (suspended) {
      removeUncounted([...activePods].sort(removalOrder));
    } else {
      let wantActive: number;
      if (completions === undefined) wantActive = succeeded > 0 ? active : parallelism;
      else wantActive = Math.max(0, Math.min(completions - succeeded, parallelism));
      // Indexed: pods with a bad index, or a second pod for an index, go first.
      const excess: KubeObject[] = [];
      let keep = activePods;
      if (indexed) {
        const seen = new Set<number>();
        keep = [];
        const best = [...activePods].sort((a, b) => -removalOrder(a, b));
        for (const pod of best) {
          const i = completionIndexOf(pod);
          if (!validIndex(pod) || seen.has(i)) excess.push(pod);
          else {
            seen.add(i);
            keep.push(pod);
          }
        }
      }
      const rmAtLeast = active - wantActive;
      if (excess.length < rmAtLeast) excess.push(...[...keep].sort(removalOrder).slice(0, rmAtLeast - excess.length));
      if (excess.length > 0) {
        removeUncounted(excess.sort(removalOrder));
      } else {
        const diff = Math.min(wantActive - active - (onlyReplaceFailed ? terminating : 0), MAX_POD_CHANGES_PER_ROUND);
        if (diff > 0) {
          const wait = backoffRemaining(pods, onlyReplaceFailed, now);
          if (wait > 0) requeueAt(round, wait);
          else {
            const taken = new Set(activePods.map(completionIndexOf));
            const indexes: (number | undefined)[] = [];
            if (indexed) {
              for (let i = 0; i < completions! && indexes.length < diff; i++) if (!succeededIndexes.has(i) && !taken.has(i)) indexes.push(i);
            } else for (let i = 0; i < diff; i++) indexes.push(undefined);
            const seed = `${uidOf(job)}|${succeeded}|${failed}|${pods.map(uidOf).sort().join(",")}`;
            indexes.forEach((index, slot) => {
              const pod = podForJob(job, spec, index, seed, slot, podNames);
              creations.push({ type: "create", resource: "core/pods", object: pod });
              creations.push({ type: "event", involved: job, eventType: "Normal", reason: "SuccessfulCreate", message: `Created pod: ${pod.metadata.name}` });
              active++;
            });
          }
        }
      }
    }

    const complete = completions === undefined ? succeeded > 0 && active === 0 : succeeded >= completions && active === 0;
    if (complete) {
      finishing = newCondition("SuccessCriteriaMet", "True", REASON_COMPLETIONS_REACHED, MESSAGE_COMPLETIONS_REACHED, now);
      conditions.push(finishing);
    } else if (suspended) {
      if (ensureCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now))
        suspendEvent = { type: "event", involved: job, eventType: "Normal", reason: "Suspended", message: "Job suspended" };
    } else if (ensureCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now)) {
      suspendEvent = { type: "event", involved: job, eventType: "Normal", reason: "Resumed", message: "Job resumed" };
      // activeDeadlineSeconds counts from the resumption.
      status.startTime = timestamp(now);
      if (spec.activeDeadlineSeconds !== undefined) requeueAt(round, spec.activeDeadlineSeconds * 1000);
    }
  }

  // 4. The new status.
  if (indexed) {
    status.completedIndexes = formatIndexes(succeededIndexes);
    if (!status.completedIndexes) delete status.completedIndexes;
    succeededCounter = succeededIndexes.size;
  }
  setCount(status, "active", active);
  setCount(status, "succeeded", succeededCounter);
  setCount(status, "failed", failedCounter);
  status.ready = ready;
  status.terminating = terminating;
  status.uncountedTerminatedPods = {
    ...(uncSucc.length ? { succeeded: uncSucc } : {}),
    ...(uncFail.length ? { failed: uncFail } : {}),
  };
  if (conditions.length) status.conditions = conditions;

  // 5. Terminal condition once nothing is left uncounted, terminating or holding a finalizer.
  const finishedEvents: Action[] = [];
  if (
    finishing &&
    uncSucc.length === 0 &&
    uncFail.length === 0 &&
    terminating === 0 &&
    deletions.length === 0 &&
    !pods.some(hasTrackingFinalizer)
  ) {
    const type = finishing.type === "SuccessCriteriaMet" ? "Complete" : "Failed";
    ensureCondition(conditions, type, "True", finishing.reason ?? "", finishing.message ?? "", now);
    status.conditions = conditions;
    if (type === "Complete") {
      status.completionTime = timestamp(now);
      if (completions !== undefined && succeededCounter > completions)
        finishedEvents.push({ type: "event", involved: job, eventType: "Warning", reason: "TooManySucceededPods", message: "Too many succeeded pods running after completion count reached" });
      finishedEvents.push({ type: "event", involved: job, eventType: "Normal", reason: "Completed", message: "Job completed" });
    } else {
      finishedEvents.push({ type: "event", involved: job, eventType: "Warning", reason: finishing.reason ?? "", message: finishing.message ?? "" });
    }
    if (spec.ttlSecondsAfterFinished !== undefined) requeueAt(round, spec.ttlSecondsAfterFinished * 1000);
  }

  const released = new Set<string>();
  for (const pod of release) {
    if (released.has(uidOf(pod))) continue;
    released.add(uidOf(pod));
    round.actions.push(releasePod(pod));
  }
  round.actions.push(...deletions, ...creations);
  if (!sameJson(stored, status)) {
    round.actions.push({ type: "update", resource: "batch/jobs", subresource: "status", object: { ...job, status } });
  }
  if (suspendEvent) round.actions.push(suspendEvent);
  round.actions.push(...finishedEvents);
}

function setCount(status: JobStatus, field: "active" | "succeeded" | "failed", n: number): void {
  if (n > 0) status[field] = n;
  else delete status[field];
}

/** restartPolicy OnFailure: container restarts of unfinished pods add up to the backoff limit. */
function pastBackoffLimitOnFailure(spec: JobSpec, pods: KubeObject[], backoffLimit: number): boolean {
  if (spec.template?.spec?.restartPolicy !== "OnFailure") return false;
  let total = 0;
  for (const p of pods) {
    const phase = phaseOf(p);
    if (phase !== "Running" && phase !== "Pending") continue;
    const s = podStatus(p);
    for (const c of [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])]) total += c.restartCount ?? 0;
  }
  return backoffLimit === 0 ? total > 0 : total >= backoffLimit;
}

/**
 * How long until a replacement pod may be created: 10 s after the last failure,
 * doubling for each failure since the last success, at most 6 minutes.
 */
export function backoffRemaining(pods: KubeObject[], onlyReplaceFailed: boolean, now: number): number {
  let lastSuccess = -Infinity;
  for (const p of pods) if (phaseOf(p) === "Succeeded") lastSuccess = Math.max(lastSuccess, finishedAt(p));
  let failures = 0;
  let lastFailure = -Infinity;
  for (const p of pods) {
    if (phaseOf(p) === "Succeeded" || !isPodFailed(p, onlyReplaceFailed)) continue;
    const t = finishedAt(p);
    if (t <= lastSuccess) continue;
    failures++;
    lastFailure = Math.max(lastFailure, t);
  }
  if (failures === 0) return 0;
  let backoff = POD_FAILURE_BACKOFF_MS;
  for (let i = 1; i < failures && backoff < MAX_POD_FAILURE_BACKOFF_MS; i++) backoff *= 2;
  backoff = Math.min(backoff, MAX_POD_FAILURE_BACKOFF_MS);
  return Math.max(0, backoff - (now - lastFailure));
}

/** A pod from the Job's template (and completion index), named deterministically from `seed`. */
function podForJob(job: KubeObject, spec: JobSpec, index: number | undefined, seed: string, slot: number, podNames: Set<string>): KubeObject {
  const jobName = job.metadata.name!;
  const template = structuredClone(spec.template ?? {});
  const tmeta = (template.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  const podSpec = (template.spec ?? {}) as Record<string, unknown>;
  const uid = uidOf(job);
  const labels: Record<string, string> = {
    ...(tmeta.labels ?? {}),
    [CONTROLLER_UID_LABEL]: uid,
    [JOB_NAME_LABEL]: jobName,
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    [LEGACY_JOB_NAME_LABEL]: jobName,
  };
  const annotations: Record<string, string> = { ...(tmeta.annotations ?? {}) };
  const finalizers = [...(tmeta.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER), JOB_TRACKING_FINALIZER];
  podSpec.restartPolicy ??= "Never";
  if (index !== undefined) {
    annotations[COMPLETION_INDEX_KEY] = String(index);
    labels[COMPLETION_INDEX_KEY] = String(index);
    podSpec.hostname = `${jobName}-${index}`;
    for (const list of ["initContainers", "containers"]) {
      const containers = podSpec[list];
      if (!Array.isArray(containers)) continue;
      for (const c of containers as { env?: { name: string; value?: string }[] }[]) {
        if (!c || typeof c !== "object") continue;
        const env = (c.env ??= []);
        if (!env.some((e) => e?.name === COMPLETION_INDEX_ENV)) env.push({ name: COMPLETION_INDEX_ENV, value: String(index) });
      }
    }
  }
  const base = generateNameBase(index === undefined ? `${jobName}-` : `${jobName}-${index}-`);
  let name = base + nameSuffix(`${seed}|${index ?? ""}|${slot}`);
  for (let salt = 1; podNames.has(name); salt++) name = base + nameSuffix(`${seed}|${index ?? ""}|${slot}|${salt}`);
  podNames.add(name);
  const metadata: Record<string, unknown> = {
    name,
    generateName: base,
    namespace: job.metadata.namespace,
    labels,
    ...(Object.keys(annotations).length ? { annotations } : {}),
    ownerReferences: [controllerRef(job)],
    finalizers,
  };
  return { apiVersion: "v1", kind: "Pod", metadata, spec: podSpec };
}

/** A finished Job: release and stop leftover pods; delete the Job once its TTL is over. */
function finishedJob(job: KubeObject, pods: KubeObject[], finished: JobCondition, now: number, round: Round): void {
  for (const pod of pods) if (hasTrackingFinalizer(pod)) round.actions.push(releasePod(pod));
  for (const pod of pods) {
    if (hasTrackingFinalizer(pod) || !isActive(pod)) continue;
    round.actions.push({ type: "delete", resource: "core/pods", name: pod.metadata.name!, uid: pod.metadata.uid });
    round.actions.push({ type: "event", involved: job, eventType: "Normal", reason: "SuccessfulDelete", message: `Deleted pod: ${pod.metadata.name}` });
  }
  const ttl = (job.spec as JobSpec | undefined)?.ttlSecondsAfterFinished;
  if (ttl === undefined || job.metadata.deletionTimestamp) return;
  const finishedAtMs =
    parseTime(finished.lastTransitionTime) ?? parseTime((job.status as JobStatus | undefined)?.completionTime) ?? parseTime(job.metadata.creationTimestamp) ?? now;
  const expireAt = finishedAtMs + ttl * 1000;
  if (now >= expireAt) {
    round.actions.push({
      type: "delete",
      resource: "batch/jobs",
      name: job.metadata.name!,
      uid: job.metadata.uid,
      resourceVersion: job.metadata.resourceVersion,
      propagationPolicy: "Background",
    });
  } else requeueAt(round, expireAt - now);
}
