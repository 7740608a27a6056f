import { configMapKind } from "./configmap.ts";
import { clusterRoleKind } from "./clusterrole.ts";
import { clusterRoleBindingKind } from "./clusterrolebinding.ts";
import { cronJobKind } from "./cronjob.ts";
import { daemonSetKind } from "./daemonset.ts";
import { deploymentKind } from "./deployment.ts";
import { endpointsKind } from "./endpoints.ts";
import { endpointSliceKind } from "./endpointslice.ts";
import { eventKind } from "./event.ts";
import { eventsV1Kind } from "./events-v1.ts";
import { hpaKind } from "./horizontalpodautoscaler.ts";
import { hpaV1Kind } from "./horizontalpodautoscaler-v1.ts";
import { priorityClassKind } from "./priorityclass.ts";
import { ingressKind } from "./ingress.ts";
import { ingressClassKind } from "./ingressclass.ts";
import { jobKind } from "./job.ts";
import { leaseKind } from "./lease.ts";
import { limitRangeKind } from "./limitrange.ts";
import { namespaceKind } from "./namespace.ts";
import { nodeKind } from "./node.ts";
import { persistentVolumeKind } from "./persistentvolume.ts";
import { persistentVolumeClaimKind } from "./persistentvolumeclaim.ts";
import { podKind } from "./pod.ts";
import { podDisruptionBudgetKind } from "./poddisruptionbudget.ts";
import { nodeMetricsKind, podMetricsKind } from "./podmetrics.ts";
import { replicaSetKind } from "./replicaset.ts";
import { roleKind } from "./role.ts";
import { roleBindingKind } from "./rolebinding.ts";
import { resourceQuotaKind } from "./resourcequota.ts";
import { secretKind } from "./secret.ts";
import { serviceKind } from "./service.ts";
import { serviceAccountKind } from "./serviceaccount.ts";
import { statefulSetKind } from "./statefulset.ts";
import { storageClassKind } from "./storageclass.ts";
import type { KubeObject, ResourceKind } from "./types.ts";

/** Every kind the API serves, in discovery order. */
export const KINDS: ResourceKind[] = [
  namespaceKind,
  podKind,
  configMapKind,
  secretKind,
  serviceKind,
  endpointsKind,
  nodeKind,
  eventKind,
  serviceAccountKind,
  persistentVolumeKind,
  persistentVolumeClaimKind,
  resourceQuotaKind,
  limitRangeKind,
  deploymentKind,
  replicaSetKind,
  statefulSetKind,
  daemonSetKind,
  jobKind,
  cronJobKind,
  ingressKind,
  ingressClassKind,
  endpointSliceKind,
  leaseKind,
  hpaKind,
  hpaV1Kind,
  priorityClassKind,
  storageClassKind,
  eventsV1Kind,
  podDisruptionBudgetKind,
  podMetricsKind,
  nodeMetricsKind,
  roleKind,
  clusterRoleKind,
  roleBindingKind,
  clusterRoleBindingKind,
];

export const groupVersion = (k: Pick<ResourceKind, "group" | "version">) => (k.group ? `${k.group}/${k.version}` : k.version);

/** The storage prefix of a kind: "core/pods", "apps/deployments". */
export const storageResource = (k: Pick<ResourceKind, "group" | "plural">) => `${k.group || "core"}/${k.plural}`;

const byPath = new Map<string, ResourceKind>(KINDS.map((k) => [`${groupVersion(k)}/${k.plural}`, k]));
const byKind = new Map<string, ResourceKind>(KINDS.map((k) => [`${groupVersion(k)}/${k.kind}`, k]));

/** The kind served at /api/v1/<plural> or /apis/<group>/<version>/<plural>. */
export function kindForPath(group: string, version: string, plural: string): ResourceKind | undefined {
  return byPath.get(`${group ? `${group}/` : ""}${version}/${plural}`);
}

// Other versions (views) of a kind share its storage; the storage version is the kind stored.
const byStorage = new Map<string, ResourceKind>(KINDS.filter((k) => !k.view).map((k) => [storageResource(k), k]));

/** The kind stored under a storage prefix ("core/pods"). */
export function kindForStorage(resource: string): ResourceKind | undefined {
  return byStorage.get(resource);
}

export function kindFor(apiVersion: string, kind: string): ResourceKind | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** Group -> versions served, in order. */
export function groups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of KINDS) {
    const versions = out.get(k.group) ?? [];
    if (!versions.includes(k.version)) versions.push(k.version);
    out.set(k.group, versions);
  }
  return out;
}

/** The object as the kind's version shows it (views convert from the stored version). */
export const shownAs = (kind: ResourceKind, obj: KubeObject): KubeObject => (kind.view ? kind.view.fromStorage(obj) : obj);

/** The object as it is stored (views convert to the stored version). */
export const storedAs = (kind: ResourceKind, obj: KubeObject): KubeObject => (kind.view ? kind.view.toStorage(obj) : obj);
