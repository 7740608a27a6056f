import { getPath } from "./columns.ts";
import { hpaKind } from "./horizontalpodautoscaler.ts";
import type { KubeObject, ResourceKind } from "./types.ts";

/**
 * autoscaling/v1 HorizontalPodAutoscaler (what `kubectl autoscale` sends), served from the
 * stored autoscaling/v2 objects. v1 knows one target: average CPU utilization, which is v2's
 * cpu Resource metric of type Utilization. Like Kubernetes, the v2 parts v1 cannot show (other
 * metrics, behavior) are kept in an annotation on the way out and restored on the way in.
 */

const V2_SPEC_ANNOTATION = "autoscaling.edgeplane.dev/v2-spec";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const isCpuUtilization = (m: unknown) => getPath(m, "type") === "Resource" && getPath(m, "resource.name") === "cpu" && getPath(m, "resource.target.type") === "Utilization";

export function hpaToV1(v2: KubeObject): KubeObject {
  const spec = isObj(v2.spec) ? v2.spec : {};
  const status = isObj(v2.status) ? v2.status : undefined;
  const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
  const cpu = metrics.find(isCpuUtilization);
  const rest = { metrics: metrics.filter((m) => m !== cpu), ...(spec.behavior ? { behavior: spec.behavior } : {}) };
  const annotations = { ...(v2.metadata.annotations ?? {}) };
  if (rest.metrics.length > 0 || rest.behavior) annotations[V2_SPEC_ANNOTATION] = JSON.stringify(rest);
  const currentCpu = status && Array.isArray(status.currentMetrics) ? status.currentMetrics.find((m) => getPath(m, "type") === "Resource" && getPath(m, "resource.name") === "cpu") : undefined;
  const out: KubeObject = {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...v2.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(cpu ? { targetCPUUtilizationPercentage: getPath(cpu, "resource.target.averageUtilization") } : {}),
    },
  };
  if (status)
    out.status = {
      ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(status.lastScaleTime !== undefined ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      ...(getPath(currentCpu, "resource.current.averageUtilization") !== undefined
        ? { currentCPUUtilizationPercentage: getPath(currentCpu, "resource.current.averageUtilization") }
        : {}),
    };
  return out;
}

export function hpaFromV1(v1: KubeObject): KubeObject {
  const spec = isObj(v1.spec) ? v1.spec : {};
  const annotations = { ...(v1.metadata.annotations ?? {}) };
  let rest: { metrics?: unknown[]; behavior?: unknown } = {};
  try {
    if (annotations[V2_SPEC_ANNOTATION]) rest = JSON.parse(annotations[V2_SPEC_ANNOTATION]) as typeof rest;
  } catch {
    /* not ours to keep: dropped */
  }
  delete annotations[V2_SPEC_ANNOTATION];
  const target = spec.targetCPUUtilizationPercentage;
  const metrics = [
    ...(target !== undefined ? [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } } }] : []),
    ...(Array.isArray(rest.metrics) ? rest.metrics : []),
  ];
  const { annotations: _dropped, ...meta } = v1.metadata;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...meta, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(metrics.length ? { metrics } : {}),
      ...(rest.behavior ? { behavior: rest.behavior } : {}),
    },
    ...(v1.status !== undefined ? { status: v1.status } : {}),
  };
}

export const hpaV1Kind: ResourceKind = {
  ...hpaKind,
  version: "v1",
  fields: ["spec", "status"],
  view: { storage: hpaKind, toStorage: hpaFromV1, fromStorage: hpaToV1 },
};
