/**
 * Container probes as the kubelet's prober workers track them (pure, unit-tested): when each
 * probe is due, how raw results become the committed result through successThreshold and
 * failureThreshold, how a startup probe gates liveness and readiness, and what a container's
 * `started` and `ready` are.
 *
 * - readiness starts as failure (not ready), liveness as success, startup as failure (not started);
 * - a probe first runs `initialDelaySeconds` after the container started, then every `periodSeconds`;
 * - a result is committed once it is seen `successThreshold` (success) / `failureThreshold` (failure)
 *   times in a row; liveness and startup commit success at the first success (their threshold is 1);
 * - while a startup probe has not succeeded, liveness and readiness are not run; once it has, it stops;
 * - a committed liveness or startup failure puts that probe on hold: the container is to be
 *   restarted, and the new instance gets fresh probe state.
 */

export interface ProbeSpec {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number | string; host?: string };
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export type ProbeKind = "liveness" | "readiness" | "startup";

export interface ProbeState {
  kind: ProbeKind;
  spec: ProbeSpec;
  /** The committed result. */
  result: boolean;
  /** The last raw result and how many times in a row it was seen. */
  last?: boolean;
  run: number;
  /** A committed liveness/startup failure: no more probing of this container instance. */
  onHold: boolean;
  /** When this probe runs next (ms). */
  nextAt: number;
}

/** The API defaults (period 10 s, timeout 1 s, thresholds 1 and 3; liveness/startup success threshold is always 1). */
export function probeParams(kind: ProbeKind, spec: ProbeSpec): { initialDelayMs: number; periodMs: number; timeoutMs: number; successThreshold: number; failureThreshold: number } {
  const pos = (v: number | undefined, d: number) => (v !== undefined && v > 0 ? v : d);
  return {
    initialDelayMs: Math.max(0, spec.initialDelaySeconds ?? 0) * 1000,
    periodMs: pos(spec.periodSeconds, 10) * 1000,
    timeoutMs: pos(spec.timeoutSeconds, 1) * 1000,
    successThreshold: kind === "readiness" ? pos(spec.successThreshold, 1) : 1,
    failureThreshold: pos(spec.failureThreshold, 3),
  };
}

export function newProbeState(kind: ProbeKind, spec: ProbeSpec, startedAtMs: number): ProbeState {
  return { kind, spec, result: kind === "liveness", run: 0, onHold: false, nextAt: startedAtMs + probeParams(kind, spec).initialDelayMs };
}

/**
 * Records one raw result at `now` and schedules the next run; returns whether the committed
 * result changed.
 */
export function recordProbe(s: ProbeState, ok: boolean, now: number): boolean {
  const p = probeParams(s.kind, s.spec);
  if (s.last === ok) s.run++;
  else {
    s.last = ok;
    s.run = 1;
  }
  s.nextAt = now + p.periodMs;
  if (s.run < (ok ? p.successThreshold : p.failureThreshold)) return false;
  const changed = s.result !== ok;
  s.result = ok;
  if (!ok && s.kind !== "readiness") {
    s.onHold = true;
    s.run = 0;
  }
  return changed;
}

/** The probes of one running container instance. */
export interface ContainerProbes {
  startup?: ProbeState;
  liveness?: ProbeState;
  readiness?: ProbeState;
}

export function newContainerProbes(c: { startupProbe?: ProbeSpec; livenessProbe?: ProbeSpec; readinessProbe?: ProbeSpec }, startedAtMs: number): ContainerProbes {
  const out: ContainerProbes = {};
  if (c.startupProbe) out.startup = newProbeState("startup", c.startupProbe, startedAtMs);
  if (c.livenessProbe) out.liveness = newProbeState("liveness", c.livenessProbe, startedAtMs);
  if (c.readinessProbe) out.readiness = newProbeState("readiness", c.readinessProbe, startedAtMs);
  return out;
}

/** containerStatuses[].started: the startup probe has succeeded (or there is none). */
export const probesStarted = (p: ContainerProbes): boolean => (p.startup ? p.startup.result : true);

/** containerStatuses[].ready: started, and the readiness probe's committed result (or no readiness probe). */
export const probesReady = (p: ContainerProbes): boolean => probesStarted(p) && (p.readiness ? p.readiness.result : true);

/** A committed liveness or startup failure: the container must be restarted. */
export function probesFailed(p: ContainerProbes): ProbeKind | undefined {
  if (p.startup?.onHold) return "startup";
  if (p.liveness?.onHold) return "liveness";
  return undefined;
}

/** The probes that may run now (startup alone until it succeeds; none once one failed for good). */
export function activeProbes(p: ContainerProbes): ProbeState[] {
  if (probesFailed(p)) return [];
  if (p.startup && !p.startup.result) return [p.startup];
  return [p.liveness, p.readiness].filter((s): s is ProbeState => s !== undefined);
}

/** The probes due at `now`. */
export const dueProbes = (p: ContainerProbes, now: number): ProbeState[] => activeProbes(p).filter((s) => s.nextAt <= now);

/** When the next probe is due, if any may run. */
export function nextProbeAt(p: ContainerProbes): number | undefined {
  const at = Math.min(...activeProbes(p).map((s) => s.nextAt));
  return Number.isFinite(at) ? at : undefined;
}
