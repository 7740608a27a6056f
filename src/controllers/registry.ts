import { reconcile as cronJob } from "./cronjob.ts";
import { reconcile as resourceQuota } from "./resource-quota.ts";
import { reconcile as daemonSet } from "./daemonset.ts";
import { reconcile as deployment } from "./deployment.ts";
import { reconcile as disruption } from "./disruption.ts";
import { reconcile as endpoints } from "./endpoints.ts";
import { reconcile as garbageCollector } from "./garbage-collector.ts";
import { reconcile as horizontalPodAutoscaler } from "./horizontal-pod-autoscaler.ts";
import { reconcile as job } from "./job.ts";
import { reconcile as loadBalancerStatus } from "./load-balancer-status.ts";
import { reconcile as pvcProtection } from "./pvc-protection.ts";
import { reconcile as replicaSet } from "./replicaset.ts";
import { reconcile as statefulSet } from "./statefulset.ts";
import type { Reconciler } from "./types.ts";

/** Every namespace-scoped reconciler the host runs, in order (owners before the objects they create). */
export const RECONCILERS: { name: string; reconcile: Reconciler }[] = [
  // ResourceQuota status.hard/used, from the hub's quota ledger (admission itself happens as the hub commits).
  { name: "resource-quota", reconcile: resourceQuota },
  // The autoscaler resizes targets before their controllers act on the size.
  { name: "horizontal-pod-autoscaler", reconcile: horizontalPodAutoscaler },
  { name: "deployment", reconcile: deployment },
  { name: "replicaset", reconcile: replicaSet },
  { name: "statefulset", reconcile: statefulSet },
  { name: "daemonset", reconcile: daemonSet },
  { name: "cronjob", reconcile: cronJob },
  { name: "job", reconcile: job },
  { name: "garbage-collector", reconcile: garbageCollector },
  // PodDisruptionBudget status from this pass's pods (the eviction subresource reads it).
  { name: "disruption", reconcile: disruption },
  // Endpoints and EndpointSlices of selector-based Services, from this pass's pods.
  { name: "endpoints", reconcile: endpoints },
  // status.loadBalancer of LoadBalancer Services and Ingresses: the edge's hostnames for them.
  { name: "load-balancer-status", reconcile: loadBalancerStatus },
  // kubernetes.io/pvc-protection: a claim being deleted stays while a pod that has not terminated mounts it.
  { name: "pvc-protection", reconcile: pvcProtection },
];
