import type { KubeObject } from "../../src/resources/types.ts";

/** Builders for the scheduler's pure tests. */

export function node(name: string, opts: { cpu?: string; memory?: string; pods?: number; labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean; ready?: string; extra?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...opts.labels } },
    spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...(opts.unschedulable ? { unschedulable: true } : {}) },
    status: {
      allocatable: { cpu: opts.cpu ?? "4", memory: opts.memory ?? "8Gi", pods: String(opts.pods ?? 110), "ephemeral-storage": "100Gi", ...opts.extra },
      conditions: [{ type: "Ready", status: opts.ready ?? "True" }],
    },
  };
}

let seq = 0;

export function pod(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  const { requests, ...rest } = spec as { requests?: Record<string, string> };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, seq++)).toISOString(), ...meta },
    spec: { containers: [{ name: "c", image: "i", resources: requests ? { requests } : {} }], schedulerName: "default-scheduler", ...rest },
    status: { phase: "Pending" },
  };
}

export function bound(p: KubeObject, nodeName: string, phase = "Running"): KubeObject {
  return { ...p, spec: { ...(p.spec as object), nodeName }, status: { phase } };
}
