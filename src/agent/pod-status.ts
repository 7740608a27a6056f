import type { ContainerRecord, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus, Terminated } from "./container-record.ts";
import { initDone, restartAt, shouldRestart } from "./pod-plan.ts";

/**
 * A pod's status from the agent's container records (pure), as the kubelet computes it:
 * phase, conditions, container statuses, IPs and start time.
 */

export interface StatusContext {
  hostIP: string;
  podIP?: string;
  startTime?: string;
  now: number;
  /** Why the pod failed before/without its containers, e.g. an init container with restartPolicy Never. */
  failure?: { reason?: string; message: string };
}

export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

function terminatedView(t: Terminated): Record<string, unknown> {
  const v: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason, finishedAt: t.finishedAt };
  if (t.signal !== undefined) v.signal = t.signal;
  if (t.message) v.message = t.message;
  if (t.startedAt) v.startedAt = t.startedAt;
  if (t.containerID) v.containerID = t.containerID;
  return v;
}

/** What `state` shows: a container waiting out its crash-loop backoff is `waiting: CrashLoopBackOff`. */
export function containerStatus(rec: ContainerRecord, policy: PodSpec["restartPolicy"], pod: Pod, now: number): ContainerStatus {
  let state: Record<string, unknown>;
  let lastState: Record<string, unknown> = rec.lastTerminated ? { terminated: terminatedView(rec.lastTerminated) } : {};
  const s = rec.state;
  if (s.kind === "running") state = { running: { startedAt: s.startedAt } };
  else if (s.kind === "waiting") state = { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  else if (shouldRestart(policy, s.terminated, rec.init) && restartAt(rec, s.terminated) > now) {
    const seconds = Math.round((restartAt(rec, s.terminated) - Date.parse(s.terminated.finishedAt)) / 1000);
    state = {
      waiting: {
        reason: "CrashLoopBackOff",
        message: `back-off ${seconds}s restarting failed container=${rec.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})${s.terminated.message ? `: ${s.terminated.message}` : ""}`,
      },
    };
    lastState = { terminated: terminatedView(s.terminated) };
  } else state = { terminated: terminatedView(s.terminated) };
  const running = s.kind === "running";
  return {
    name: rec.name,
    image: rec.image,
    imageID: rec.imageID ?? "",
    ...(rec.containerID ? { containerID: rec.containerID } : {}),
    state,
    lastState,
    // A running container is ready unless its probes say otherwise; init containers are ready once done.
    ready: rec.init ? s.kind === "terminated" && s.terminated.exitCode === 0 : running && rec.probeReady !== false,
    restartCount: rec.restartCount,
    started: running && rec.probeStarted !== false,
  };
}

/** The kubelet's getPhase over the app containers (a container waiting to restart counts as stopped). */
export function podPhase(spec: PodSpec, inits: ContainerRecord[], apps: ContainerRecord[], initFailed: boolean): string {
  if (initFailed) return "Failed";
  if (!initDone(inits)) return "Pending";
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const r of apps) {
    if (r.state.kind === "running") running++;
    else if (r.state.kind === "terminated") {
      stopped++;
      if (r.state.terminated.exitCode === 0) succeeded++;
    } else if (r.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped === 0) return "Pending";
  const policy = spec.restartPolicy ?? "Always";
  if (policy === "Always") return "Running";
  if (stopped === succeeded) return "Succeeded";
  return policy === "OnFailure" ? "Running" : "Failed";
}

function condition(prev: PodCondition[] | undefined, now: number, c: Omit<PodCondition, "lastTransitionTime" | "lastProbeTime">): PodCondition {
  const old = prev?.find((p) => p.type === c.type);
  const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
  const out: PodCondition = { type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

const names = (recs: ContainerRecord[]) => `[${recs.map((r) => r.name).join(" ")}]`;

export function computePodStatus(pod: Pod, inits: ContainerRecord[], apps: ContainerRecord[], ctx: StatusContext): PodStatus {
  const spec = pod.spec;
  const prev = pod.status?.conditions;
  const policy = spec.restartPolicy ?? "Always";
  const phase = podPhase(spec, inits, apps, ctx.failure !== undefined);
  const initStatuses = inits.map((r) => containerStatus(r, policy, pod, ctx.now));
  const appStatuses = apps.map((r) => containerStatus(r, policy, pod, ctx.now));
  const pendingInits = inits.filter((r) => !(r.state.kind === "terminated" && r.state.terminated.exitCode === 0));
  const unready = apps.filter((_, i) => !appStatuses[i].ready);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const conditions: PodCondition[] = [
    condition(prev, ctx.now, { type: "PodScheduled", status: "True" }),
    pendingInits.length === 0 || terminal
      ? condition(prev, ctx.now, { type: "Initialized", status: "True" })
      : condition(prev, ctx.now, { type: "Initialized", status: "False", reason: "ContainersNotInitialized", message: `containers with incomplete status: ${names(pendingInits)}` }),
  ];
  if (terminal) {
    conditions.push(condition(prev, ctx.now, { type: "ContainersReady", status: "False", reason: "PodCompleted" }));
    conditions.push(condition(prev, ctx.now, { type: "Ready", status: "False", reason: "PodCompleted" }));
  } else if (unready.length === 0) {
    conditions.push(condition(prev, ctx.now, { type: "ContainersReady", status: "True" }));
    conditions.push(condition(prev, ctx.now, { type: "Ready", status: "True" }));
  } else {
    const message = `containers with unready status: ${names(unready)}`;
    conditions.push(condition(prev, ctx.now, { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message }));
    conditions.push(condition(prev, ctx.now, { type: "Ready", status: "False", reason: "ContainersNotReady", message }));
  }
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    ...(ctx.podIP ? { podIP: ctx.podIP, podIPs: [{ ip: ctx.podIP }] } : {}),
    ...(ctx.startTime ? { startTime: ctx.startTime } : {}),
    ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: appStatuses,
    qosClass: pod.status?.qosClass ?? "BestEffort",
  };
  if (ctx.failure) {
    status.message = ctx.failure.message;
    if (ctx.failure.reason) status.reason = ctx.failure.reason;
  }
  return status;
}
