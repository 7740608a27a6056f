import { describe, expect, it } from "vitest";
import { durationMs, RECOMMENDATIONS_ANNOTATION, reconcile, SCALE_EVENTS_ANNOTATION } from "../../src/controllers/horizontal-pod-autoscaler.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
/** RFC 3339 `s` seconds before `at`. */
const T = (s: number, at = NOW) => new Date(at - s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

function observed(o: Partial<Observed>): Observed {
  return {
    ...emptyObserved("ns", NOW),
    ...o,
  };
}

function workload(kind: "Deployment" | "StatefulSet" | "ReplicaSet", name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "7", generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "nginx" }] } } },
    status: { replicas },
  };
}
const deployment = (name: string, replicas: number) => workload("Deployment", name, replicas);

interface PodOpts {
  app?: string;
  cpu?: string | null;
  memory?: string;
  phase?: string;
  ready?: boolean;
  /** Seconds since the pod started (and became ready). */
  started?: number;
  deleting?: boolean;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  const started = o.started ?? 600;
  const requests: Record<string, string> = {};
  if (o.cpu !== null) requests.cpu = o.cpu ?? "200m";
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "3",
      creationTimestamp: T(started + 5),
      labels: { app: o.app ?? "web" },
      ...(o.deleting ? { deletionTimestamp: T(1) } : {}),
    },
    spec: { containers: [{ name: "app", image: "nginx", resources: { requests } }] },
    status: {
      phase: o.phase ?? "Running",
      startTime: T(started),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True", lastTransitionTime: T(started) }],
    },
  };
}

function metrics(podName: string, usage: Record<string, string>, sampledAgo = 0): KubeObject {
  return {
    apiVersion: "metrics.k8s.io/v1beta1",
    kind: "PodMetrics",
    metadata: { name: podName, namespace: "ns" },
    timestamp: T(sampledAgo),
    window: "30s",
    containers: [{ name: "app", usage }],
  };
}

const cpuUtilization = (averageUtilization: number) => ({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization } } });

function hpa(o: { metrics?: unknown[]; min?: number; max?: number; behavior?: unknown; status?: Record<string, unknown>; annotations?: Record<string, string>; target?: string; kind?: string } = {}): KubeObject {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "ns", uid: "uid-hpa", resourceVersion: "20", generation: 1, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: o.kind ?? "Deployment", name: o.target ?? "web" },
      minReplicas: o.min ?? 1,
      maxReplicas: o.max ?? 10,
      metrics: o.metrics ?? [cpuUtilization(80)],
      ...(o.behavior ? { behavior: o.behavior } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

const cond = (type: string, status: string, reason: string, message: string, at = NOW) => ({ type, status, reason, message, lastTransitionTime: T(0, at) });
const able = (reason: string, message: string, status = "True", at = NOW) => cond("AbleToScale", status, reason, message, at);
const ready = (at = NOW) => able("ReadyForNewScale", "recommended size matches current size", "True", at);
const rescaled = (n: number, at = NOW) => able("SucceededRescale", `the HPA controller was able to update the target scale to ${n}`, "True", at);
const active = (from = "cpu resource utilization (percentage of request)", at = NOW) =>
  cond("ScalingActive", "True", "ValidMetricFound", `the HPA was able to successfully calculate a replica count from ${from}`, at);
const withinRange = (at = NOW) => cond("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range", at);
const cpuMetric = (averageUtilization: number, averageValue: string) => ({ type: "Resource", resource: { name: "cpu", current: { averageUtilization, averageValue } } });
const history = (...entries: [string, number][]) => JSON.stringify(entries);

function statusUpdate(h: KubeObject, status: Record<string, unknown>, annotations?: Record<string, string>): Action {
  const object = structuredClone(h);
  if (annotations) object.metadata.annotations = annotations;
  object.status = status;
  return { type: "update", resource: "autoscaling/horizontalpodautoscalers", subresource: "status", object };
}

/** The actions for a rescale of `target` by `h`, in the order the reconciler emits them. */
function rescaleActions(h: KubeObject, target: KubeObject, replicas: number, message: string): Action[] {
  const object = structuredClone(target);
  (object.spec as Record<string, unknown>).replicas = replicas;
  const resource = ({ Deployment: "apps/deployments", ReplicaSet: "apps/replicasets", StatefulSet: "apps/statefulsets" } as const)[target.kind as "Deployment"];
  return [
    { type: "update", resource, object },
    { type: "event", involved: h, eventType: "Normal", reason: "SuccessfulRescale", message },
  ];
}

/** The HPA after the host applied the reconciler's status update. */
function appliedHpa(actions: Action[]): KubeObject {
  const u = actions.find((a) => a.type === "update" && a.resource === "autoscaling/horizontalpodautoscalers");
  if (!u || u.type !== "update") throw new Error("no HPA update");
  const next = structuredClone(u.object);
  next.metadata.resourceVersion = String(Number(next.metadata.resourceVersion) + 1);
  return next;
}

/** Two pods of "web" using `cpu` each (200m requested). */
const twoPods = (cpu: string) => ({
  pods: [pod("web-a"), pod("web-b")],
  podMetrics: [metrics("web-a", { cpu }), metrics("web-b", { cpu })],
});

describe("HorizontalPodAutoscaler reconciler", () => {
  it("does nothing and asks for no requeue without HPAs", () => {
    expect(reconcile(observed({ deployments: [deployment("web", 2)] }))).toEqual({ actions: [] });
  });

  it("scales up on high cpu utilization", () => {
    const d = deployment("web", 2);
    const h = hpa();
    // 200m of 200m requested: 100% against a target of 80% -> ceil(2 x 1.25) = 3.
    const result = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("200m") }));
    expect(result).toEqual({
      actions: [
        ...rescaleActions(h, d, 3, "New size: 3; reason: cpu resource utilization (percentage of request) above target"),
        statusUpdate(
          h,
          {
            observedGeneration: 1,
            currentReplicas: 2,
            desiredReplicas: 3,
            lastScaleTime: T(0),
            currentMetrics: [cpuMetric(100, "200m")],
            conditions: [rescaled(3), active(), withinRange()],
          },
          { [RECOMMENDATIONS_ANNOTATION]: history([T(0), 2], [T(0), 3]), [SCALE_EVENTS_ANNOTATION]: history([T(0), 1]) },
        ),
      ],
      requeueAfterMs: 15000,
    });
  });

  it("limits a scale-up to max(4 pods, 100%) per 15 s, counting its own recent scale-ups", () => {
    const d = deployment("web", 2);
    // 400% against 50% -> 16, limited to max(2 + 4, 2 x 2) = 6.
    const hm = hpa({ max: 20, metrics: [cpuUtilization(50)] });
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hm], ...twoPods("800m") }));
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(hm, d, 6, "New size: 6; reason: cpu resource utilization (percentage of request) above target"));
    const status = (appliedHpa(r.actions).status ?? {}) as Record<string, unknown>;
    expect(status.conditions).toEqual([
      rescaled(6),
      active(),
      cond("ScalingLimited", "True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"),
    ]);

    // 10 s later: 6 replicas, the two old pods still hot and four new ones pending. The
    // pending pods count as 0% for a scale-up, and the 15 s period still holds the 2 -> 6.
    const later = NOW + 10_000;
    const h2 = appliedHpa(r.actions);
    const d2 = structuredClone(d);
    (d2.spec as Record<string, unknown>).replicas = 6;
    const pending = ["c", "d", "e", "f"].map((s) => pod(`web-${s}`, { phase: "Pending", ready: false, started: 5 }));
    const r2 = reconcile({ ...observed({ deployments: [d2], horizontalPodAutoscalers: [h2], ...twoPods("800m") }), now: later, pods: [pod("web-a"), pod("web-b"), ...pending] });
    // (400 + 400 + 0 x 4) / 6 = 133% of 50% -> 16, but no more than 6 within the period.
    expect(r2.actions.filter((a) => a.type === "update" && a.resource === "apps/deployments")).toEqual([]);
    const s2 = appliedHpa(r2.actions).status as Record<string, unknown>;
    expect(s2.desiredReplicas).toBe(6);
    expect(s2.conditions).toEqual([
      cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
      active(),
      cond("ScalingLimited", "True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"),
    ]);

    // After the period the limit is relative to 6 again: max(6 + 4, 12) = 12.
    const r3 = reconcile({ ...observed({ deployments: [d2], horizontalPodAutoscalers: [appliedHpa(r2.actions)], ...twoPods("800m") }), now: NOW + 16_000, pods: [pod("web-a"), pod("web-b"), ...pending] });
    expect(r3.actions.slice(0, 2)).toEqual(rescaleActions(appliedHpa(r2.actions), d2, 12, "New size: 12; reason: cpu resource utilization (percentage of request) above target"));
  });

  it("keeps the size within the tolerance", () => {
    const d = deployment("web", 2);
    const h = hpa();
    // 170m of 200m = 85% against 80%: ratio 1.0625, within 0.1.
    expect(reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("170m") }))).toEqual({
      actions: [
        statusUpdate(
          h,
          { observedGeneration: 1, currentReplicas: 2, desiredReplicas: 2, currentMetrics: [cpuMetric(85, "170m")], conditions: [ready(), active(), withinRange()] },
          { [RECOMMENDATIONS_ANNOTATION]: history([T(0), 2]) },
        ),
      ],
      requeueAfterMs: 15000,
    });
  });

  it("is a no-op once converged, and stays one as time passes", () => {
    const d = deployment("web", 2);
    const first = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], ...twoPods("170m") }));
    const h = appliedHpa(first.actions);
    expect(reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("170m") }))).toEqual({ actions: [], requeueAfterMs: 15000 });
    expect(reconcile({ ...observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("170m") }), now: NOW + 3_600_000 })).toEqual({
      actions: [],
      requeueAfterMs: 15000,
    });
  });

  it("holds a scale-down for the stabilization window, then scales down", () => {
    const d = deployment("web", 4);
    const pods = ["a", "b", "c", "d"].map((s) => pod(`web-${s}`));
    const podMetrics = pods.map((p) => metrics(p.metadata.name!, { cpu: "40m" })); // 20% of 80%: ratio 0.25 -> 1
    const status = { observedGeneration: 1, currentReplicas: 4, desiredReplicas: 4, currentMetrics: [cpuMetric(90, "180m")], conditions: [ready(NOW - 60_000), active("cpu resource utilization (percentage of request)", NOW - 60_000), withinRange(NOW - 60_000)] };
    const h = hpa({ status, annotations: { [RECOMMENDATIONS_ANNOTATION]: history([T(60), 4]) } });

    const held = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics }));
    expect(held).toEqual({
      actions: [
        statusUpdate(
          h,
          {
            ...status,
            currentMetrics: [cpuMetric(20, "40m")],
            conditions: [
              cond("AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation", NOW - 60_000),
              active("cpu resource utilization (percentage of request)", NOW - 60_000),
              withinRange(NOW - 60_000),
            ],
          },
          { [RECOMMENDATIONS_ANNOTATION]: history([T(60), 4], [T(0), 1]) },
        ),
      ],
      requeueAfterMs: 15000,
    });

    // Still inside the 300 s window (4 was recommended until NOW): nothing to do.
    const h2 = appliedHpa(held.actions);
    expect(reconcile({ ...observed({ deployments: [d], horizontalPodAutoscalers: [h2], pods, podMetrics }), now: NOW + 299_000 })).toEqual({ actions: [], requeueAfterMs: 15000 });

    // Once the window has passed, it scales down to the recommendation.
    const after = NOW + 300_000;
    const r = reconcile({ ...observed({ deployments: [d], horizontalPodAutoscalers: [h2], pods, podMetrics }), now: after });
    expect(r.actions).toEqual([
      ...rescaleActions(h2, d, 1, "New size: 1; reason: All metrics below target"),
      statusUpdate(
        h2,
        {
          ...status,
          lastScaleTime: T(0, after),
          currentMetrics: [cpuMetric(20, "40m")],
          conditions: [rescaled(1, NOW - 60_000), active("cpu resource utilization (percentage of request)", NOW - 60_000), withinRange(NOW - 60_000)],
          desiredReplicas: 1,
        },
        { [RECOMMENDATIONS_ANNOTATION]: history([T(60), 4], [T(0), 1]), [SCALE_EVENTS_ANNOTATION]: history([T(0, after), -3]) },
      ),
    ]);
  });

  it("does not scale a new HPA's target down within its first window", () => {
    const d = deployment("web", 4);
    const pods = ["a", "b", "c", "d"].map((s) => pod(`web-${s}`));
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], pods, podMetrics: pods.map((p) => metrics(p.metadata.name!, { cpu: "40m" })) }));
    expect(r.actions).toHaveLength(1);
    const h = appliedHpa(r.actions);
    expect(h.metadata.annotations).toEqual({ [RECOMMENDATIONS_ANNOTATION]: history([T(0), 4], [T(0), 1]) });
    expect((h.status as { conditions: unknown[] }).conditions[0]).toMatchObject({ reason: "ScaleDownStabilized" });
  });

  it("scales down without a window when behavior says so, no lower than minReplicas", () => {
    const d = deployment("web", 3);
    const pods = ["a", "b", "c"].map((s) => pod(`web-${s}`));
    const h = hpa({ min: 2, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } });
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics: pods.map((p) => metrics(p.metadata.name!, { cpu: "10m" })) }));
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 2, "New size: 2; reason: All metrics below target"));
    expect((appliedHpa(r.actions).status as { conditions: unknown[] }).conditions[2]).toEqual(
      cond("ScalingLimited", "True", "TooFewReplicas", "the desired replica count is less than the minimum replica count"),
    );
  });

  it("clamps to maxReplicas with ScalingLimited TooManyReplicas", () => {
    const d = deployment("web", 3);
    const pods = ["a", "b", "c"].map((s) => pod(`web-${s}`));
    const h = hpa({ max: 5 });
    // 400% of 80%: ratio 5 -> 15; max(3 + 4, 6) = 7 allows more than 5, so the maximum limits it.
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics: pods.map((p) => metrics(p.metadata.name!, { cpu: "800m" })) }));
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 5, "New size: 5; reason: cpu resource utilization (percentage of request) above target"));
    const tooMany = cond("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count");
    expect((appliedHpa(r.actions).status as { conditions: unknown[] }).conditions[2]).toEqual(tooMany);

    // At the maximum already: no rescale, still limited.
    const d5 = deployment("web", 5);
    const pods5 = ["a", "b", "c", "d", "e"].map((s) => pod(`web-${s}`));
    const r5 = reconcile(observed({ deployments: [d5], horizontalPodAutoscalers: [h], pods: pods5, podMetrics: pods5.map((p) => metrics(p.metadata.name!, { cpu: "800m" })) }));
    expect(r5.actions).toHaveLength(1);
    expect(appliedHpa(r5.actions).status).toMatchObject({ currentReplicas: 5, desiredReplicas: 5, conditions: [ready(), active(), tooMany] });
  });

  it("brings a target sized outside [min, max] back inside at once", () => {
    const d = deployment("web", 20);
    const h = hpa({ max: 10 });
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h] }));
    expect(r.actions).toEqual([
      ...rescaleActions(h, d, 10, "New size: 10; reason: Current number of replicas above Spec.MaxReplicas"),
      statusUpdate(
        h,
        {
          observedGeneration: 1,
          currentReplicas: 20,
          desiredReplicas: 10,
          lastScaleTime: T(0),
          conditions: [rescaled(10), cond("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")],
        },
        { [SCALE_EVENTS_ANNOTATION]: history([T(0), -10]) },
      ),
    ]);
    const low = deployment("web", 1);
    const r2 = reconcile(observed({ deployments: [low], horizontalPodAutoscalers: [hpa({ min: 3 })] }));
    expect(r2.actions[1]).toMatchObject({ message: "New size: 3; reason: Current number of replicas below Spec.MinReplicas" });
  });

  it("scales on memory AverageValue", () => {
    const s = workload("StatefulSet", "web", 2);
    const h = hpa({ kind: "StatefulSet", metrics: [{ type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } }] });
    const pods = [pod("web-0"), pod("web-1")];
    // Average 150Mi against 100Mi: ratio 1.5 -> 3.
    const r = reconcile(observed({ statefulSets: [s], horizontalPodAutoscalers: [h], pods, podMetrics: [metrics("web-0", { memory: "100Mi" }), metrics("web-1", { memory: "200Mi" })] }));
    expect(r.actions).toEqual([
      ...rescaleActions(h, s, 3, "New size: 3; reason: memory resource above target"),
      statusUpdate(
        h,
        {
          observedGeneration: 1,
          currentReplicas: 2,
          desiredReplicas: 3,
          lastScaleTime: T(0),
          currentMetrics: [{ type: "Resource", resource: { name: "memory", current: { averageValue: "157286400" } } }],
          conditions: [rescaled(3), active("memory resource"), withinRange()],
        },
        { [RECOMMENDATIONS_ANNOTATION]: history([T(0), 2], [T(0), 3]), [SCALE_EVENTS_ANNOTATION]: history([T(0), 1]) },
      ),
    ]);
  });

  it("takes the largest proposal of several metrics", () => {
    const d = deployment("web", 2);
    const h = hpa({
      metrics: [cpuUtilization(80), { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "64Mi" } } }],
    });
    const pods = [pod("web-a"), pod("web-b")];
    // cpu 50% of 80% -> 2 (scale down, capped by the window); memory 128Mi of 64Mi -> 4.
    const podMetrics = pods.map((p) => metrics(p.metadata.name!, { cpu: "100m", memory: "128Mi" }));
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics }));
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 4, "New size: 4; reason: memory resource above target"));
    expect(appliedHpa(r.actions).status).toMatchObject({
      currentMetrics: [cpuMetric(50, "100m"), { type: "Resource", resource: { name: "memory", current: { averageValue: "134217728" } } }],
    });
  });

  it("reports missing metrics: none at all is a failure", () => {
    const d = deployment("web", 2);
    const h = hpa();
    const message = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API";
    expect(reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods: [pod("web-a"), pod("web-b")] })).actions).toEqual([
      statusUpdate(h, {
        observedGeneration: 1,
        currentReplicas: 2,
        desiredReplicas: 2,
        conditions: [
          able("SucceededGetScale", "the HPA controller was able to get the target's current scale"),
          cond("ScalingActive", "False", "FailedGetResourceMetric", `the HPA was unable to compute the replica count: ${message}`),
        ],
      }),
      { type: "event", involved: h, eventType: "Warning", reason: "FailedGetResourceMetric", message },
    ]);
  });

  it("treats pods without metrics as 0% when scaling up", () => {
    const d = deployment("web", 4);
    const pods = ["a", "b", "c", "d"].map((s) => pod(`web-${s}`));
    // Two pods at 200% of 80% would mean 5; with the two silent ones at 0% the average is 100% -> ceil(4 x 1.25) = 5.
    const hot = [metrics("web-a", { cpu: "400m" }), metrics("web-b", { cpu: "400m" })];
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], pods, podMetrics: hot }));
    expect(r.actions[0]).toMatchObject({ object: { spec: { replicas: 5 } } });
    // The status reports the average of the pods that have metrics.
    expect(appliedHpa(r.actions).status).toMatchObject({ currentMetrics: [cpuMetric(200, "400m")] });

    // At 110% of 80% (ratio 1.375 over the two), the silent pods bring it to 0.69: a reversal, so no change.
    const warm = [metrics("web-a", { cpu: "220m" }), metrics("web-b", { cpu: "220m" })];
    const r2 = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], pods, podMetrics: warm }));
    expect(r2.actions.filter((a) => a.type === "update" && a.resource === "apps/deployments")).toEqual([]);
  });

  it("treats pods without metrics as at the target when scaling down", () => {
    const d = deployment("web", 4);
    const pods = ["a", "b", "c", "d"].map((s) => pod(`web-${s}`));
    const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } });
    // Two pods at 20% of 80%; the two silent ones count as 80%: average 50% -> ceil(4 x 0.625) = 3 (not 1).
    const cold = [metrics("web-a", { cpu: "40m" }), metrics("web-b", { cpu: "40m" })];
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics: cold }));
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 3, "New size: 3; reason: All metrics below target"));
  });

  it("counts not-yet-ready pods as 0% for a cpu scale-up and ignores them otherwise", () => {
    const d = deployment("web", 3);
    const pods = [pod("web-a"), pod("web-b"), pod("web-c", { ready: false, started: 20 })];
    // web-c is unready and its (hot) sample is ignored; a and b at 200% of 80%, c at 0%: 133% -> ceil(3 x 1.666) = 5.
    const podMetrics = pods.map((p) => metrics(p.metadata.name!, { cpu: "400m" }));
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], pods, podMetrics }));
    expect(r.actions[0]).toMatchObject({ object: { spec: { replicas: 5 } } });
    expect(appliedHpa(r.actions).status).toMatchObject({ currentMetrics: [cpuMetric(200, "400m")] });

    // Ready for 10 s with a 30 s metric window: the sample may still cover its start-up, so it is set aside too.
    const fresh = [pod("web-a"), pod("web-b"), pod("web-c", { started: 10 })];
    const r2 = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [hpa()], pods: fresh, podMetrics }));
    expect(r2.actions[0]).toMatchObject({ object: { spec: { replicas: 5 } } });
  });

  it("reports missing requests for a utilization target", () => {
    const d = deployment("web", 2);
    const h = hpa();
    const message = "failed to get cpu utilization: missing request for cpu in container app of Pod web-b";
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods: [pod("web-a"), pod("web-b", { cpu: null })], podMetrics: twoPods("100m").podMetrics }));
    expect(r.actions).toEqual([
      statusUpdate(h, {
        observedGeneration: 1,
        currentReplicas: 2,
        desiredReplicas: 2,
        conditions: [
          able("SucceededGetScale", "the HPA controller was able to get the target's current scale"),
          cond("ScalingActive", "False", "FailedGetResourceMetric", `the HPA was unable to compute the replica count: ${message}`),
        ],
      }),
      { type: "event", involved: h, eventType: "Warning", reason: "FailedGetResourceMetric", message },
    ]);
    // Converged: the same failure again is no action (and no repeated event).
    expect(reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [appliedHpa(r.actions)], pods: [pod("web-a"), pod("web-b", { cpu: null })], podMetrics: twoPods("100m").podMetrics }))).toEqual({
      actions: [],
      requeueAfterMs: 15000,
    });
  });

  it("reports a missing target without crashing", () => {
    const h = hpa({ target: "gone" });
    const r = reconcile(observed({ horizontalPodAutoscalers: [h] }));
    expect(r).toEqual({
      actions: [
        statusUpdate(h, {
          observedGeneration: 1,
          desiredReplicas: 0,
          conditions: [able("FailedGetScale", `the HPA controller was unable to get the target's current scale: deployments.apps "gone" not found`, "False")],
        }),
        { type: "event", involved: h, eventType: "Warning", reason: "FailedGetScale", message: `deployments.apps "gone" not found` },
      ],
      requeueAfterMs: 15000,
    });
    expect(reconcile(observed({ horizontalPodAutoscalers: [appliedHpa(r.actions)] }))).toEqual({ actions: [], requeueAfterMs: 15000 });
    const daemon = hpa({ kind: "DaemonSet" });
    expect(reconcile(observed({ horizontalPodAutoscalers: [daemon] })).actions[1]).toMatchObject({ message: `no matches for kind "DaemonSet" in group "apps"` });
  });

  it("disables scaling for a target scaled to zero", () => {
    const d = deployment("web", 0);
    const h = hpa();
    expect(reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h] })).actions).toEqual([
      statusUpdate(h, {
        observedGeneration: 1,
        currentReplicas: 0,
        desiredReplicas: 0,
        conditions: [
          able("SucceededGetScale", "the HPA controller was able to get the target's current scale"),
          cond("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"),
        ],
      }),
    ]);
  });

  it("scales ReplicaSets, ignoring terminating and finished pods and other workloads' pods", () => {
    const rs = workload("ReplicaSet", "web", 1);
    const h = hpa({ kind: "ReplicaSet" });
    const pods = [pod("web-a"), pod("web-old", { deleting: true }), pod("web-done", { phase: "Succeeded" }), pod("other-a", { app: "other" })];
    const podMetrics = pods.map((p) => metrics(p.metadata.name!, { cpu: p.metadata.name === "web-a" ? "400m" : "0" }));
    const r = reconcile(observed({ replicaSets: [rs], horizontalPodAutoscalers: [h], pods, podMetrics }));
    // Only web-a counts: 200% of 80% -> ceil(2.5) = 3.
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, rs, 3, "New size: 3; reason: cpu resource utilization (percentage of request) above target"));
  });

  it("scales on one container's usage with ContainerResource", () => {
    const d = deployment("web", 2);
    const h = hpa({ metrics: [{ type: "ContainerResource", containerResource: { name: "cpu", container: "app", target: { type: "Utilization", averageUtilization: 50 } } }] });
    const pods = [pod("web-a"), pod("web-b")].map((p) => {
      (p.spec as { containers: unknown[] }).containers.push({ name: "sidecar", image: "envoy" }); // no request: not needed for "app"
      return p;
    });
    const podMetrics = pods.map((p) => ({ ...metrics(p.metadata.name!, { cpu: "200m" }), containers: [{ name: "app", usage: { cpu: "200m" } }, { name: "sidecar", usage: { cpu: "900m" } }] }));
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], pods, podMetrics }));
    // app: 100% of 50% -> 4.
    expect(r.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 4, "New size: 4; reason: cpu container resource utilization (percentage of request) above target"));
    expect(appliedHpa(r.actions).status).toMatchObject({
      currentMetrics: [{ type: "ContainerResource", containerResource: { name: "cpu", container: "app", current: { averageUtilization: 100, averageValue: "200m" } } }],
    });
  });

  it("scales up on the metrics it can compute, but never down while one fails", () => {
    const d = deployment("web", 2);
    const pods = { metric: { name: "requests-per-second" }, target: { type: "AverageValue", averageValue: "10" } };
    const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } }, metrics: [{ type: "Pods", pods }, cpuUtilization(80)] });
    const podsMessage = "unable to get metric requests-per-second: Pods metrics are not supported (no custom or external metrics API is served)";
    const up = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("400m") }));
    expect(up.actions.slice(0, 2)).toEqual(rescaleActions(h, d, 5, "New size: 5; reason: cpu resource utilization (percentage of request) above target"));
    expect(appliedHpa(up.actions).status).toMatchObject({ currentMetrics: [{ type: "" }, cpuMetric(200, "400m")] });
    expect(up.actions.at(-1)).toEqual({ type: "event", involved: h, eventType: "Warning", reason: "FailedGetPodsMetric", message: podsMessage });

    const down = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("20m") }));
    expect(down.actions.filter((a) => a.type === "update" && a.resource === "apps/deployments")).toEqual([]);
    expect((appliedHpa(down.actions).status as { conditions: unknown[] }).conditions[1]).toEqual(
      cond("ScalingActive", "False", "FailedGetPodsMetric", `the HPA was unable to compute the replica count: ${podsMessage}`),
    );
  });

  it("honours selectPolicy Disabled for scaling up", () => {
    const d = deployment("web", 2);
    const h = hpa({ behavior: { scaleUp: { selectPolicy: "Disabled" } } });
    const r = reconcile(observed({ deployments: [d], horizontalPodAutoscalers: [h], ...twoPods("400m") }));
    expect(r.actions).toHaveLength(1);
    expect(appliedHpa(r.actions).status).toMatchObject({
      desiredReplicas: 2,
      conditions: [ready(), active(), cond("ScalingLimited", "True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")],
    });
  });

  it("parses metric windows", () => {
    expect(durationMs("30s")).toBe(30_000);
    expect(durationMs("1m0.5s")).toBe(60_500);
    expect(durationMs("250ms")).toBe(250);
    expect(durationMs("bogus")).toBe(0);
  });
});
