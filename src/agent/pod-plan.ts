import { crashLoopDelayMs } from "./backoff.ts";
import type { ContainerRecord, PodSpec, Terminated } from "./container-record.ts";

/**
 * What a pod needs next (pure): init containers one at a time in order, then every app
 * container; restarts per restartPolicy after the crash-loop backoff.
 */

export interface Plan {
  /** Containers to start now (one init container, or app containers). */
  start: string[];
  /** When to look again (a backoff ends), if something waits. */
  wakeAt?: number;
  /** An init container failed and will not be retried (restartPolicy Never): the pod failed. */
  initFailed?: string;
}

const ms = (t?: string) => (t ? Date.parse(t) : NaN);

/** Whether a container that ended this way runs again under the pod's restartPolicy. */
export function shouldRestart(policy: PodSpec["restartPolicy"], t: Terminated, init: boolean): boolean {
  // Init containers are retried unless the pod never restarts (then a failure fails the pod).
  if (init) return t.exitCode !== 0 && policy !== "Never";
  if (policy === "Never") return false;
  if (policy === "OnFailure") return t.exitCode !== 0;
  return true;
}

/** When a container that exited may start again (the crash-loop backoff after its last exit). */
export function restartAt(rec: ContainerRecord, t: Terminated): number {
  const finished = ms(t.finishedAt);
  const started = ms(t.startedAt);
  const ranFor = Number.isFinite(started) && Number.isFinite(finished) ? finished - started : 0;
  return (Number.isFinite(finished) ? finished : 0) + crashLoopDelayMs(rec.restartCount, ranFor);
}

/** Initialized: every init container has exited 0. */
export function initDone(inits: ContainerRecord[]): boolean {
  return inits.every((r) => r.state.kind === "terminated" && r.state.terminated.exitCode === 0);
}

export function planPod(spec: PodSpec, inits: ContainerRecord[], apps: ContainerRecord[], now: number): Plan {
  const policy = spec.restartPolicy ?? "Always";
  const plan: Plan = { start: [] };
  const consider = (rec: ContainerRecord) => {
    if (rec.state.kind === "running") return;
    if (rec.state.kind === "waiting") {
      if (!rec.everStarted) plan.start.push(rec.name);
      return;
    }
    const t = rec.state.terminated;
    if (!shouldRestart(policy, t, rec.init)) return;
    const at = restartAt(rec, t);
    if (at <= now) plan.start.push(rec.name);
    else plan.wakeAt = Math.min(plan.wakeAt ?? Infinity, at);
  };
  for (const rec of inits) {
    if (rec.state.kind === "terminated" && rec.state.terminated.exitCode === 0) continue;
    if (rec.state.kind === "terminated" && !shouldRestart(policy, rec.state.terminated, true)) {
      plan.initFailed = rec.name;
      return plan;
    }
    // The first init container that has not succeeded is the only one that may run.
    consider(rec);
    return plan;
  }
  for (const rec of apps) consider(rec);
  return plan;
}
