import type { LogEvent } from "../store/revision-log.ts";

/**
 * What a batch of committed pod changes means to the scheduler, decided where the
 * commit happens (the namespace hub) so the scheduler is woken only when needed:
 * `pending`: a pod it should place appeared (created unbound, or an unbound pod's
 * spec changed, e.g. a scheduling gate removed or a toleration added);
 * `released`: something that may let an unschedulable pod fit now (a bound pod went
 * away or finished, or its labels changed, which pod affinity looks at).
 */

export interface SchedulerHint {
  pending: boolean;
  released: boolean;
}

interface PodLike {
  metadata?: { labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { nodeName?: string; schedulerName?: string; schedulingGates?: unknown[] };
  status?: { phase?: string };
}

export const DEFAULT_SCHEDULER = "default-scheduler";

const finished = (p: PodLike) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** Is this a pod the default scheduler should place now? */
export function wantsScheduling(pod: object): boolean {
  const p = pod as PodLike;
  const spec = p.spec ?? {};
  return (
    !spec.nodeName &&
    (spec.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER &&
    !p.metadata?.deletionTimestamp &&
    !finished(p) &&
    !(Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0)
  );
}

export function schedulerHint(events: LogEvent[]): SchedulerHint {
  const hint: SchedulerHint = { pending: false, released: false };
  for (const e of events) {
    if (e.resource !== "core/pods") continue;
    const pod = JSON.parse(e.value) as PodLike;
    const prev = e.prevValue ? (JSON.parse(e.prevValue) as PodLike) : undefined;
    if (e.type === "DELETED") {
      if (pod.spec?.nodeName) hint.released = true;
      continue;
    }
    if (wantsScheduling(pod)) {
      // The scheduler's own status writes on pending pods change no spec: no wake-up for them.
      if (e.type === "ADDED" || !prev || JSON.stringify(prev.spec) !== JSON.stringify(pod.spec)) hint.pending = true;
      continue;
    }
    if (pod.spec?.nodeName && prev?.spec?.nodeName) {
      if (finished(pod) !== finished(prev) || JSON.stringify(pod.metadata?.labels ?? {}) !== JSON.stringify(prev.metadata?.labels ?? {})) hint.released = true;
    }
  }
  return hint;
}
