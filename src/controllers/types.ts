import type { KubeObject } from "../resources/types.ts";

/**
 * The contract between the controller host (a namespace's Durable Object) and the
 * reconcilers. A reconciler is pure: it gets everything it may look at and returns
 * the actions to take. The host observes again after acting, so reconcilers are
 * level-triggered and must be idempotent: the same observation always yields the
 * same actions, and a converged namespace yields none.
 */

/** One namespace's state as the host read it from the store, plus the cluster objects reconcilers need. */
export interface Observed {
  /** Milliseconds since the epoch at observation time (reconcilers never read the clock). */
  now: number;
  namespace: string;
  pods: KubeObject[];
  /** v1 ResourceQuotas of the namespace. */
  resourceQuotas?: KubeObject[];
  /** What each quota (by name) limits and what its objects use now, as the hub's quota ledger counts (canonical quantities). */
  quotaStatus?: Record<string, { hard: Record<string, string>; used: Record<string, string> }>;
  replicaSets: KubeObject[];
  deployments: KubeObject[];
  statefulSets: KubeObject[];
  daemonSets: KubeObject[];
  jobs: KubeObject[];
  cronJobs: KubeObject[];
  persistentVolumeClaims: KubeObject[];
  horizontalPodAutoscalers: KubeObject[];
  /** metrics.k8s.io PodMetrics of the namespace (written by node agents, or by tests). */
  podMetrics?: KubeObject[];
  /** policy/v1 PodDisruptionBudgets of the namespace. */
  podDisruptionBudgets?: KubeObject[];
  /** core/v1 Services, Endpoints and discovery.k8s.io/v1 EndpointSlices of the namespace. */
  services?: KubeObject[];
  endpoints?: KubeObject[];
  endpointSlices?: KubeObject[];
  /** networking.k8s.io/v1 Ingresses of the namespace. */
  ingresses?: KubeObject[];
  /** The edge's domain (EDGE_DOMAIN): load balancer hostnames are made from it. */
  edgeDomain?: string;
  /** Cluster-scoped. */
  nodes: KubeObject[];
}

/** Storage resource names the actions use ("<group or core>/<plural>"). */
export type Resource =
  | "core/pods"
  | "core/persistentvolumeclaims"
  | "core/endpoints"
  | "discovery.k8s.io/endpointslices"
  | "core/events"
  | "apps/replicasets"
  | "apps/deployments"
  | "apps/statefulsets"
  | "apps/daemonsets"
  | "batch/jobs"
  | "batch/cronjobs"
  | "autoscaling/horizontalpodautoscalers"
  | "policy/poddisruptionbudgets"
  | "core/resourcequotas"
  | "core/services"
  | "networking.k8s.io/ingresses";

export type Action =
  /** Create; `object.metadata.generateName` is honoured (the store appends 5 random characters). */
  | { type: "create"; resource: Resource; object: KubeObject }
  /**
   * Update with compare-and-swap on `object.metadata.resourceVersion` (as observed).
   * `subresource: "status"` changes only status; otherwise status is kept as stored.
   */
  | { type: "update"; resource: Resource; object: KubeObject; subresource?: "status" }
  /** Delete, with preconditions so a stale observation never deletes a replacement. */
  | {
      type: "delete";
      resource: Resource;
      name: string;
      uid?: string;
      resourceVersion?: string;
      propagationPolicy?: "Background" | "Foreground" | "Orphan";
      gracePeriodSeconds?: number;
    }
  /** Record an event about `involved` (the host aggregates repeats into count/lastTimestamp). */
  | { type: "event"; involved: KubeObject; eventType: "Normal" | "Warning"; reason: string; message: string };

export interface ReconcileResult {
  actions: Action[];
  /** Wake again after this many ms even if nothing changes (backoff, deadlines, schedules). */
  requeueAfterMs?: number;
}

export type Reconciler = (observed: Observed) => ReconcileResult;

/** An owner reference marking `owner` as the controller of a dependent. */
export function controllerRef(owner: KubeObject): {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
} {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The owner reference with controller=true, if any. */
export function controllerOf(obj: KubeObject) {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

export function isOwnedBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}
