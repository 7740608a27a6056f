import { getPath } from "../resources/columns.ts";
import { selectorMatches } from "../resources/deployment.ts";
import { canonicalQuantity, quantityToMilli } from "../resources/quantity.ts";
import type { KubeObject } from "../resources/types.ts";
import { byName, intOr, isPodActive, parseTime, podCondition, podPhase, rfc3339, semanticEqual } from "./pod-utils.ts";
import type { Action, Observed, ReconcileResult, Resource } from "./types.ts";

/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2), following the algorithm
 * the Kubernetes documentation describes:
 *
 * - The target (Deployment, ReplicaSet or StatefulSet of apps/v1 in the namespace) is
 *   read; its `spec.replicas` is the current size. Zero disables scaling; a size
 *   outside [minReplicas, maxReplicas] is brought back inside at once.
 * - For each metric (Resource or ContainerResource: cpu, memory; Utilization of the
 *   requests or AverageValue) the pods selected by the target's selector are grouped:
 *   terminating and finished pods are discarded, Pending pods (and, for cpu, pods not
 *   yet ready or whose sample predates readiness) are "unready", pods without a sample
 *   are "missing". The ratio usage/target is taken over the ready pods; within the
 *   tolerance (0.1) nothing changes. Otherwise desired = ceil(ratio x pods averaged):
 *   that is currentReplicas x ratio when every replica reports, and does not overshoot
 *   while pods of a fresh scale-up do not exist yet. With missing pods the ratio is
 *   recomputed conservatively (missing pods at 100% of the target when scaling down,
 *   0% when scaling up; unready pods at 0% when scaling up); if that reverses the
 *   direction or lands within the tolerance, the size stays.
 * - Several metrics: the largest proposal wins. Metrics that cannot be computed block
 *   scaling down (not scaling up on the others).
 * - `spec.behavior` (or the documented defaults: scale-up window 0 s and max(4 pods,
 *   100%) per 15 s; scale-down window 300 s and 100% per 15 s) stabilizes and rate-limits
 *   the proposal, then [minReplicas, maxReplicas] clamps it.
 *
 * Reconcilers keep no memory, and Kubernetes keeps the stabilization and rate-limit
 * history in the controller's memory only. Here it lives on the HPA itself, in two
 * annotations written in the same status update as the rest of the status:
 *
 * - `autoscaling.edgeplane.dev/recommendations`: `[[time, replicas], ...]`, the raw
 *   recommendations as segments: each value was the recommendation from its time until
 *   the next entry's time (the last one until now). A new entry is appended only when
 *   the recommendation changes, so a steady HPA is never rewritten; entries that ended
 *   before the longest stabilization window are dropped when a new one is written. A
 *   new HPA (no history) starts with its target's current size, as Kubernetes does, so
 *   it does not scale down within its first window.
 * - `autoscaling.edgeplane.dev/scale-events`: `[[time, change], ...]`, the resizes this
 *   controller made within the longest policy period, for the rate limits.
 *
 * Events (SuccessfulRescale, FailedGetScale, FailedGet*Metric) only accompany a change,
 * so a converged namespace yields no actions.
 */

export const RECOMMENDATIONS_ANNOTATION = "autoscaling.edgeplane.dev/recommendations";
export const SCALE_EVENTS_ANNOTATION = "autoscaling.edgeplane.dev/scale-events";
/** How often HPAs are re-evaluated (kube-controller-manager's --horizontal-pod-autoscaler-sync-period). */
export const SYNC_PERIOD_MS = 15_000;
/** Within this long after a pod started, cpu samples need readiness plus one metric window. */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** An unready pod that turned unready within this long after starting never was ready. */
export const INITIAL_READINESS_DELAY_MS = 30_000;
/** At most this many history entries are kept per annotation. */
const MAX_HISTORY = 100;

type Obj = Record<string, unknown>;

interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

interface Policy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: Policy[];
}

/** [ms since the epoch, value] */
type Entry = [number, number];

const TARGETS: Record<string, { list: "deployments" | "replicaSets" | "statefulSets"; resource: Resource; plural: string }> = {
  Deployment: { list: "deployments", resource: "apps/deployments", plural: "deployments" },
  ReplicaSet: { list: "replicaSets", resource: "apps/replicasets", plural: "replicasets" },
  StatefulSet: { list: "statefulSets", resource: "apps/statefulsets", plural: "statefulsets" },
};

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

export function reconcile(observed: Observed): ReconcileResult {
  const hpas = [...observed.horizontalPodAutoscalers].sort(byName);
  const actions: Action[] = [];
  for (const hpa of hpas) {
    if (hpa.metadata.deletionTimestamp) continue;
    actions.push(...reconcileOne(hpa, observed));
  }
  return hpas.length > 0 ? { actions, requeueAfterMs: SYNC_PERIOD_MS } : { actions };
}

// ---------------------------------------------------------------------------
// One HPA

function reconcileOne(hpa: KubeObject, observed: Observed): Action[] {
  const now = observed.now;
  const spec = (isObj(hpa.spec) ? hpa.spec : {}) as Obj;
  const stored = (isObj(hpa.status) ? hpa.status : {}) as Obj;
  const storedConditions = (Array.isArray(stored.conditions) ? stored.conditions : []).filter(isObj) as unknown as Condition[];
  const conditions = new Map<string, Condition>(storedConditions.map((c) => [c.type, c]));
  const setCondition = (type: string, status: "True" | "False", reason: string, message: string) => {
    const old = conditions.get(type);
    const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
    conditions.set(type, { type, status, reason, message, lastTransitionTime });
  };
  const events: Action[] = [];
  const warn = (reason: string, message: string) => events.push({ type: "event", involved: hpa, eventType: "Warning", reason, message });

  const status: Obj = { ...structuredClone(stored) };
  if (hpa.metadata.generation !== undefined) status.observedGeneration = hpa.metadata.generation;
  const annotations: Record<string, string> = { ...(hpa.metadata.annotations ?? {}) };
  const targetActions: Action[] = [];

  const found = findTarget(spec.scaleTargetRef, observed);
  if ("error" in found) {
    setCondition("AbleToScale", "False", "FailedGetScale", `the HPA controller was unable to get the target's current scale: ${found.error}`);
    warn("FailedGetScale", found.error);
    status.desiredReplicas = intOr(stored.desiredReplicas, 0);
  } else {
    const { target, resource } = found;
    const current = intOr(getPath(target, "spec.replicas"), 1);
    const minReplicas = intOr(spec.minReplicas, 1);
    const maxReplicas = intOr(spec.maxReplicas, minReplicas);
    status.currentReplicas = current;
    setCondition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");

    let desired = current;
    let rescaleReason = "";
    if (current === 0) {
      setCondition("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
      desired = 0;
    } else if (current > maxReplicas || current < minReplicas) {
      const above = current > maxReplicas;
      desired = above ? maxReplicas : minReplicas;
      rescaleReason = `Current number of replicas ${above ? "above" : "below"} Spec.${above ? "MaxReplicas" : "MinReplicas"}`;
      setCondition("ScalingLimited", "True", above ? "TooManyReplicas" : "TooFewReplicas", limitMessage(above ? "TooManyReplicas" : "TooFewReplicas"));
    } else {
      const pods = observed.pods.filter((p) => isPodActive(p) && selectorMatches(getPath(target, "spec.selector"), p.metadata.labels)).sort(byName);
      const metricsByPod = new Map((observed.podMetrics ?? []).map((m) => [m.metadata.name ?? "", m]));
      const specs = metricSpecs(spec);
      const results = specs.map((m) => computeMetric(m, { pods, metricsByPod, current, now }));
      const ok = results.filter((r): r is MetricOk => r.ok);
      const failed = results.filter((r): r is MetricErr => !r.ok);
      let proposal = -1;
      let metricName = "";
      for (const r of ok)
        if (r.replicas > proposal) {
          proposal = r.replicas;
          metricName = r.name;
        }
      for (const f of failed) warn(f.reason, f.message);
      if (ok.length === 0 || (failed.length > 0 && proposal < current)) {
        const first = failed[0];
        setCondition("ScalingActive", "False", first.reason, `the HPA was unable to compute the replica count: ${first.message}`);
        desired = intOr(stored.desiredReplicas, current);
      } else {
        setCondition("ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${metricName}`);
        status.currentMetrics = results.map((r) => (r.ok ? r.status : { type: "" }));
        const behavior = isObj(spec.behavior) ? spec.behavior : {};
        const up = scalingRules(behavior.scaleUp, "up");
        const down = scalingRules(behavior.scaleDown, "down");

        // Stabilization over the recommendation history.
        const storedRecs = readEntries(hpa, RECOMMENDATIONS_ANNOTATION);
        const recs: Entry[] = storedRecs ?? [[now, current]];
        const { replicas: stabilized, reason: ableReason, message: ableMessage } = stabilize(recs, proposal, current, up, down, now);
        if (recs.length === 0 || recs[recs.length - 1][1] !== proposal || !storedRecs) {
          const maxWindow = Math.max(up.stabilizationWindowSeconds, down.stabilizationWindowSeconds) * 1000;
          const next = recs.at(-1)?.[1] === proposal ? recs : [...recs, [now, proposal] as Entry];
          annotations[RECOMMENDATIONS_ANNOTATION] = writeEntries(pruneSegments(next, now - maxWindow));
        }

        // Rate limits and bounds.
        const scaleEvents = readEntries(hpa, SCALE_EVENTS_ANNOTATION) ?? [];
        const limited = limitReplicas(stabilized, current, minReplicas, maxReplicas, up, down, scaleEvents, now);
        desired = limited.replicas;
        setCondition("AbleToScale", "True", ableReason, ableMessage);
        setCondition("ScalingLimited", limited.limited ? "True" : "False", limited.reason, limitMessage(limited.reason));
        if (desired !== current) rescaleReason = desired > current ? `${metricName} above target` : "All metrics below target";
      }
    }

    if (desired !== current && rescaleReason) {
      const scaled = structuredClone(target);
      (scaled.spec as Obj).replicas = desired;
      targetActions.push({ type: "update", resource, object: scaled });
      targetActions.push({ type: "event", involved: hpa, eventType: "Normal", reason: "SuccessfulRescale", message: `New size: ${desired}; reason: ${rescaleReason}` });
      setCondition("AbleToScale", "True", "SucceededRescale", `the HPA controller was able to update the target scale to ${desired}`);
      status.lastScaleTime = rfc3339(now);
      const behavior = isObj(spec.behavior) ? spec.behavior : {};
      const longest = Math.max(...[scalingRules(behavior.scaleUp, "up"), scalingRules(behavior.scaleDown, "down")].flatMap((r) => r.policies.map((p) => p.periodSeconds)), 0);
      const events = (readEntries(hpa, SCALE_EVENTS_ANNOTATION) ?? []).filter(([t]) => t > now - longest * 1000);
      annotations[SCALE_EVENTS_ANNOTATION] = writeEntries([...events, [now, desired - current] as Entry].slice(-MAX_HISTORY));
    }
    status.desiredReplicas = desired;
  }

  status.conditions = ["AbleToScale", "ScalingActive", "ScalingLimited"].flatMap((t) => (conditions.has(t) ? [conditions.get(t)!] : []));
  const annotationsChanged = !semanticEqual(annotations, hpa.metadata.annotations ?? {});
  if (!annotationsChanged && semanticEqual(status, stored)) return targetActions;

  const next = structuredClone(hpa);
  if (Object.keys(annotations).length > 0) next.metadata.annotations = annotations;
  next.status = status;
  return [...targetActions, { type: "update", resource: "autoscaling/horizontalpodautoscalers", subresource: "status", object: next }, ...events];
}

function findTarget(ref: unknown, observed: Observed): { target: KubeObject; resource: Resource } | { error: string } {
  const r = (isObj(ref) ? ref : {}) as { apiVersion?: string; kind?: string; name?: string };
  const group = typeof r.apiVersion === "string" && r.apiVersion.includes("/") ? r.apiVersion.split("/")[0] : r.apiVersion ? "" : "apps";
  const t = TARGETS[r.kind ?? ""];
  if (!t || group !== "apps") return { error: `no matches for kind "${r.kind ?? ""}" in group "${group}"` };
  const target = observed[t.list].find((o) => o.metadata.name === r.name);
  if (!target) return { error: `${t.plural}.apps "${r.name ?? ""}" not found` };
  return { target, resource: t.resource };
}

function metricSpecs(spec: Obj): Obj[] {
  const metrics = Array.isArray(spec.metrics) ? spec.metrics.filter(isObj) : [];
  if (metrics.length > 0) return metrics;
  return [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }];
}

// ---------------------------------------------------------------------------
// Metrics

interface MetricOk {
  ok: true;
  replicas: number;
  /** How the reason of a rescale names the metric: "cpu resource utilization (percentage of request)". */
  name: string;
  status: Obj;
}

interface MetricErr {
  ok: false;
  reason: string;
  message: string;
}

interface MetricContext {
  pods: KubeObject[];
  metricsByPod: Map<string, KubeObject>;
  current: number;
  now: number;
}

/** A usage ratio num/den, kept as a fraction so the tolerance and ceilings are exact. */
interface Ratio {
  num: number;
  den: number;
}

/** Within the tolerance (0.1) of 1. */
const withinTolerance = (r: Ratio) => Math.abs(r.num - r.den) * 10 <= r.den;
const direction = (r: Ratio) => Math.sign(r.num - r.den);
const ceilTimes = (r: Ratio, n: number) => Math.ceil((r.num * n) / r.den);

interface Sample {
  usage: number;
  request: number;
}

function computeMetric(m: Obj, ctx: MetricContext): MetricOk | MetricErr {
  const type = m.type;
  if (type !== "Resource" && type !== "ContainerResource") {
    const key = { Pods: "pods", Object: "object", External: "external" }[String(type)] ?? "";
    const name = String(getPath(m, `${key}.metric.name`) ?? "");
    return {
      ok: false,
      reason: `FailedGet${String(type)}Metric`,
      message: `unable to get metric ${name}: ${String(type)} metrics are not supported (no custom or external metrics API is served)`,
    };
  }
  const key = type === "Resource" ? "resource" : "containerResource";
  const src = (isObj(m[key]) ? m[key] : {}) as Obj;
  const res = String(src.name ?? "");
  const container = type === "ContainerResource" ? String(src.container ?? "") : undefined;
  const target = (isObj(src.target) ? src.target : {}) as Obj;
  const utilization = target.averageValue === undefined || target.averageValue === null;
  const reason = type === "Resource" ? "FailedGetResourceMetric" : "FailedGetContainerResourceMetric";
  const what = type === "Resource" ? `${res} resource` : `${res} container resource`;
  const name = utilization ? `${what} utilization (percentage of request)` : what;
  const fail = (cause: string): MetricErr => ({ ok: false, reason, message: `failed to get ${res} ${utilization ? "utilization" : "usage"}: ${cause}` });

  const { pods, now, current } = ctx;
  if (pods.length === 0) return fail("no pods returned by selector while calculating replica count");

  const usage = new Map<string, number>();
  for (const pod of pods) {
    const u = podUsage(pod, ctx.metricsByPod.get(pod.metadata.name ?? ""), res, container);
    if (u !== undefined) usage.set(pod.metadata.name!, u);
  }
  if (usage.size === 0) return fail(`unable to get metrics for resource ${res}: no metrics returned from resource metrics API`);

  // Requests (utilization only): every pod's, a missing one is an error.
  const requests = new Map<string, number>();
  let targetValue: number; // percent of the request, or milli-units per pod
  if (utilization) {
    targetValue = intOr(target.averageUtilization, 0);
    if (!(targetValue > 0)) return fail("invalid target utilization");
    for (const pod of pods) {
      const r = podRequest(pod, res, container);
      if (typeof r === "string") return fail(r);
      requests.set(pod.metadata.name!, r);
    }
  } else {
    targetValue = quantityToMilli(target.averageValue);
    if (!(targetValue > 0)) return fail("invalid target value");
  }

  const ready: Sample[] = [];
  const unready: Sample[] = [];
  const missing: Sample[] = [];
  for (const pod of pods) {
    const podName = pod.metadata.name!;
    const request = requests.get(podName) ?? 0;
    const u = usage.get(podName);
    const phase = podPhase(pod);
    if (phase === "Pending" || phase === "") unready.push({ usage: 0, request });
    else if (u === undefined) missing.push({ usage: 0, request });
    else if (res === "cpu" && cpuSampleUnready(pod, ctx.metricsByPod.get(podName)!, now)) unready.push({ usage: 0, request });
    else ready.push({ usage: u, request });
  }
  if (ready.length === 0) return fail("did not receive metrics for targeted pods (pods might be unready)");

  const sum = (s: Sample[], f: (x: Sample) => number) => s.reduce((a, x) => a + f(x), 0);
  let failure: string | undefined;
  const ratioOf = (s: Sample[]): Ratio => {
    if (!utilization) return { num: sum(s, (x) => x.usage), den: s.length * targetValue };
    const req = sum(s, (x) => x.request);
    if (req <= 0) failure = "no metrics returned matched known pods";
    return { num: req > 0 ? Math.floor((sum(s, (x) => x.usage) * 100) / req) : 0, den: targetValue };
  };

  const base = ratioOf(ready);
  if (failure) return fail(failure);
  const averageMilli = Math.floor(sum(ready, (x) => x.usage) / ready.length);
  const current_: Obj = utilization ? { averageUtilization: base.num, averageValue: milliQuantity(averageMilli) } : { averageValue: milliQuantity(averageMilli) };
  const status: Obj =
    type === "Resource" ? { type, resource: { name: res, current: current_ } } : { type, containerResource: { name: res, container, current: current_ } };

  const dir = direction(base);
  const rebalanceUnready = unready.length > 0 && dir > 0;
  let replicas: number;
  if (!rebalanceUnready && missing.length === 0) {
    replicas = withinTolerance(base) ? current : ceilTimes(base, ready.length);
  } else {
    const all = [...ready];
    // Missing pods: at 100% of the target when scaling down, at 0% when scaling up.
    if (dir < 0) for (const s of missing) all.push({ usage: utilization ? (s.request * targetValue) / 100 : targetValue, request: s.request });
    else if (dir > 0) all.push(...missing);
    if (rebalanceUnready) all.push(...unready);
    const next = ratioOf(all);
    const nextDir = direction(next);
    if (withinTolerance(next) || nextDir !== dir) replicas = current;
    else {
      const n = ceilTimes(next, all.length);
      replicas = (nextDir < 0 && n > current) || (nextDir > 0 && n < current) ? current : n;
    }
  }
  return { ok: true, replicas, name, status };
}

/** The pod's usage of `res` in milli-units (summed over its containers, or the one named), or undefined. */
function podUsage(pod: KubeObject, metrics: KubeObject | undefined, res: string, container?: string): number | undefined {
  if (!metrics) return undefined;
  // A sample from before the pod existed belongs to an earlier pod of the same name.
  const sampled = parseTime(metrics.timestamp);
  const created = parseTime(pod.metadata.creationTimestamp);
  if (sampled !== undefined && created !== undefined && sampled < created) return undefined;
  const containers = (Array.isArray(metrics.containers) ? metrics.containers : []).filter(isObj);
  const chosen = container !== undefined ? containers.filter((c) => c.name === container) : containers;
  if (chosen.length === 0) return undefined;
  let total = 0;
  for (const c of chosen) {
    const v = quantityToMilli(getPath(c, `usage.${res}`));
    if (!Number.isFinite(v)) return undefined;
    total += v;
  }
  return total;
}

/** The pod's request of `res` in milli-units (regular and sidecar containers), or the error for a missing one. */
function podRequest(pod: KubeObject, res: string, container?: string): number | string {
  const podSpec = (isObj(pod.spec) ? pod.spec : {}) as Obj;
  const containers = (Array.isArray(podSpec.containers) ? podSpec.containers : []).filter(isObj);
  const sidecars = (Array.isArray(podSpec.initContainers) ? podSpec.initContainers : []).filter((c) => isObj(c) && c.restartPolicy === "Always") as Obj[];
  let total = 0;
  for (const c of [...containers, ...sidecars]) {
    if (container !== undefined && c.name !== container) continue;
    const v = quantityToMilli(getPath(c, `resources.requests.${res}`));
    if (!(v > 0)) return `missing request for ${res} in container ${String(c.name ?? "")} of Pod ${pod.metadata.name}`;
    total += v;
  }
  return total;
}

/**
 * Whether a cpu sample is set aside as "not yet ready": within the cpu initialization
 * period after the pod started, unless the pod is ready and the sample was taken at least
 * one metric window after it became ready; afterwards, only while the pod has never been
 * ready (it turned unready within the initial readiness delay after starting).
 */
function cpuSampleUnready(pod: KubeObject, metrics: KubeObject, now: number): boolean {
  const ready = podCondition(pod, "Ready");
  const started = parseTime(getPath(pod, "status.startTime"));
  if (!ready || started === undefined) return true;
  const transition = parseTime(ready.lastTransitionTime) ?? started;
  if (now < started + CPU_INITIALIZATION_PERIOD_MS) {
    const sampled = parseTime(metrics.timestamp) ?? now;
    return ready.status !== "True" || sampled < transition + durationMs(metrics.window);
  }
  return ready.status !== "True" && transition < started + INITIAL_READINESS_DELAY_MS;
}

/** A Go duration ("30s", "1m0s", "10.5s", "500ms") in milliseconds; 0 when absent or unparsable. */
export function durationMs(v: unknown): number {
  if (typeof v !== "string" || v === "") return 0;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };
  let total = 0;
  let rest = v;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/.exec(rest);
    if (!m) return 0;
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** A milli-unit count as the canonical quantity string ("250m", "64Mi" stays in bytes: "67108864"). */
function milliQuantity(milli: number): string {
  const s = milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  return canonicalQuantity(s) ?? s;
}

// ---------------------------------------------------------------------------
// Behavior: stabilization and rate limits

function scalingRules(raw: unknown, dir: "up" | "down"): ScalingRules {
  const r = (isObj(raw) ? raw : {}) as Obj;
  const defaults: ScalingRules =
    dir === "up"
      ? {
          stabilizationWindowSeconds: 0,
          selectPolicy: "Max",
          policies: [
            { type: "Pods", value: 4, periodSeconds: 15 },
            { type: "Percent", value: 100, periodSeconds: 15 },
          ],
        }
      : { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] };
  const policies = Array.isArray(r.policies)
    ? (r.policies.filter((p) => isObj(p) && (p.type === "Pods" || p.type === "Percent") && isInt(p.value) && isInt(p.periodSeconds)) as unknown as Policy[])
    : [];
  return {
    stabilizationWindowSeconds: isInt(r.stabilizationWindowSeconds) ? r.stabilizationWindowSeconds : defaults.stabilizationWindowSeconds,
    selectPolicy: r.selectPolicy === "Min" || r.selectPolicy === "Disabled" || r.selectPolicy === "Max" ? r.selectPolicy : defaults.selectPolicy,
    policies: policies.length > 0 ? policies : defaults.policies,
  };
}

/**
 * Stabilizes `proposal` with the recommendations of the windows: scaling up goes no
 * higher than the lowest recommendation of the scale-up window, scaling down no lower
 * than the highest of the scale-down window (the proposal itself counts in both).
 * Each history entry holds from its time until the next entry's (the last until now).
 */
function stabilize(recs: Entry[], proposal: number, current: number, up: ScalingRules, down: ScalingRules, now: number) {
  let upBound = proposal;
  let downBound = proposal;
  recs.forEach(([, value], i) => {
    const end = i + 1 < recs.length ? recs[i + 1][0] : now;
    if (end > now - up.stabilizationWindowSeconds * 1000) upBound = Math.min(upBound, value);
    if (end > now - down.stabilizationWindowSeconds * 1000) downBound = Math.max(downBound, value);
  });
  let replicas = current;
  if (replicas < upBound) replicas = upBound;
  if (replicas > downBound) replicas = downBound;
  if (replicas === proposal) return { replicas, reason: "ReadyForNewScale", message: "recommended size matches current size" };
  if (proposal < replicas)
    return { replicas, reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" };
  return { replicas, reason: "ScaleUpStabilized", message: "recent recommendations were lower than current one, applying the lowest recent recommendation" };
}

/** Drops segments that ended at or before `cutoff` (keeping the last) and caps the length. */
function pruneSegments(entries: Entry[], cutoff: number): Entry[] {
  const kept = entries.filter((_, i) => i === entries.length - 1 || entries[i + 1][0] > cutoff);
  return kept.slice(-MAX_HISTORY);
}

const LIMIT_MESSAGES: Record<string, string> = {
  TooManyReplicas: "the desired replica count is more than the maximum replica count",
  TooFewReplicas: "the desired replica count is less than the minimum replica count",
  ScaleUpLimit: "the desired replica count is increasing faster than the maximum scale rate",
  ScaleDownLimit: "the desired replica count is decreasing faster than the maximum scale rate",
  DesiredWithinRange: "the desired count is within the acceptable range",
};
const limitMessage = (reason: string) => LIMIT_MESSAGES[reason] ?? "";

/** The size at the start of a policy's period: now's size minus the net change this controller made within it. */
function periodStart(current: number, events: Entry[], periodSeconds: number, now: number): number {
  let change = 0;
  for (const [t, delta] of events) if (t > now - periodSeconds * 1000) change += delta;
  return current - change;
}

function limitReplicas(
  desired: number,
  current: number,
  min: number,
  max: number,
  up: ScalingRules,
  down: ScalingRules,
  events: Entry[],
  now: number,
): { replicas: number; limited: boolean; reason: string } {
  if (desired > current) {
    let limit = current;
    if (up.selectPolicy !== "Disabled") {
      const proposals = up.policies.map((p) => {
        const start = periodStart(current, events, p.periodSeconds, now);
        return p.type === "Pods" ? start + p.value : Math.ceil((start * (100 + p.value)) / 100);
      });
      limit = up.selectPolicy === "Min" ? Math.min(...proposals) : Math.max(...proposals);
      if (limit < current) limit = current;
    }
    const [allowed, reason] = limit < max ? [limit, "ScaleUpLimit"] : [max, "TooManyReplicas"];
    if (desired > allowed) return { replicas: allowed, limited: true, reason };
  } else if (desired < current) {
    let limit = current;
    if (down.selectPolicy !== "Disabled") {
      const proposals = down.policies.map((p) => {
        const start = periodStart(current, events, p.periodSeconds, now);
        return p.type === "Pods" ? start - p.value : Math.floor((start * (100 - p.value)) / 100);
      });
      // "Max" selects the policy allowing the largest change: the smallest size.
      limit = down.selectPolicy === "Min" ? Math.max(...proposals) : Math.min(...proposals);
      if (limit > current) limit = current;
    }
    const [allowed, reason] = limit > min ? [limit, "ScaleDownLimit"] : [min, "TooFewReplicas"];
    if (desired < allowed) return { replicas: allowed, limited: true, reason };
  }
  return { replicas: desired, limited: false, reason: "DesiredWithinRange" };
}

// ---------------------------------------------------------------------------
// History annotations

function readEntries(hpa: KubeObject, key: string): Entry[] | undefined {
  const raw = hpa.metadata.annotations?.[key];
  if (typeof raw !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return undefined;
    const out: Entry[] = [];
    for (const e of parsed) {
      if (!Array.isArray(e) || e.length !== 2 || !isInt(e[1])) return undefined;
      const t = parseTime(e[0]);
      if (t === undefined) return undefined;
      out.push([t, e[1]]);
    }
    return out;
  } catch {
    return undefined;
  }
}

const writeEntries = (entries: Entry[]) => JSON.stringify(entries.map(([t, v]) => [rfc3339(t), v]));
