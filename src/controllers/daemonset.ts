import { getPath } from "../resources/columns.ts";
import { podMatchesNode } from "../scheduler/label-match.ts";
import { tolerates } from "../scheduler/tolerations.ts";
import type { Taint, Toleration } from "../scheduler/types.ts";
import type { KubeObject } from "../resources/types.ts";
import {
  byName,
  claimPods,
  clone,
  isPodAvailable,
  isPodReady,
  isTerminating,
  minDefined,
  msUntilAvailable,
  phaseOf,
  podDelete,
  REVISION_LABEL,
  sameJson,
  templateHash,
} from "./statefulset.ts";
import { controllerOf, controllerRef, type Action, type Observed, type ReconcileResult } from "./types.ts";

/**
 * DaemonSet controller: one pod per eligible node. A node is eligible when it matches
 * the template's nodeSelector, required node affinity and nodeName, is not being
 * deleted, and the pod (with the tolerations DaemonSet pods always get) tolerates its
 * NoSchedule and NoExecute taints; a pod already there may stay while only NoSchedule
 * taints are untolerated. Pods are created bound: spec.nodeName is set directly
 * (Kubernetes sets a matchFields node affinity and lets the scheduler bind; binding
 * at creation is the same outcome, without a scheduler round; the node matching is the
 * scheduler's own). Extra pods on a node go
 * (all but the oldest), pods on nodes no longer eligible (or gone) go.
 * RollingUpdate replaces old pods bounded by maxUnavailable (delete, then create on the
 * next pass once the old pod is gone) or, with maxSurge, starts the new pod first and
 * deletes the old one once the new one is available. OnDelete replaces only deleted pods.
 *
 * Events: SuccessfulDelete "Deleted pod: <name>", FailedDaemonPod for failed pods.
 * Creations record no event: the generated name is not known before creation.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export const TEMPLATE_GENERATION_LABEL = "pod-template-generation";
const TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation";

/** The tolerations Kubernetes adds to every DaemonSet pod (network-unavailable only with hostNetwork). */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key: `node.kubernetes.io/${key}`, operator: "Exists", effect });
  return [
    t("not-ready", "NoExecute"),
    t("unreachable", "NoExecute"),
    t("disk-pressure", "NoSchedule"),
    t("memory-pressure", "NoSchedule"),
    t("pid-pressure", "NoSchedule"),
    t("unschedulable", "NoSchedule"),
    ...(hostNetwork ? [t("network-unavailable", "NoSchedule")] : []),
  ];
}

/** The template's tolerations plus the DaemonSet defaults it lacks. */
function podTolerations(podSpec: Obj): Toleration[] {
  const own = (Array.isArray(podSpec.tolerations) ? podSpec.tolerations : []).filter(isObj) as Toleration[];
  const same = (a: Toleration, b: Toleration) =>
    (a.key ?? "") === (b.key ?? "") && (a.operator || "Equal") === (b.operator || "Equal") && (a.value ?? "") === (b.value ?? "") && (a.effect ?? "") === (b.effect ?? "");
  return [...own, ...daemonTolerations(podSpec.hostNetwork === true).filter((d) => !own.some((o) => same(o, d)))];
}

/** Should a daemon pod be created on the node, and may one already there keep running? */
export function nodeShouldRunDaemonPod(node: KubeObject, podSpec: Obj): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (isTerminating(node)) return no;
  if (typeof podSpec.nodeName === "string" && podSpec.nodeName && podSpec.nodeName !== node.metadata.name) return no;
  if (!podMatchesNode(podSpec, node.metadata.labels ?? {}, node.metadata.name ?? "")) return no;
  const tolerations = podTolerations(podSpec);
  const taints = ((getPath(node, "spec.taints") as Taint[] | undefined) ?? []).filter((t) => isObj(t) && (t.effect === "NoSchedule" || t.effect === "NoExecute"));
  const untolerated = taints.filter((taint) => !tolerations.some((t) => tolerates(t, taint)));
  if (untolerated.length === 0) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !untolerated.some((t) => t.effect === "NoExecute") };
}

/** An int or a percentage of `total` (rounded up), as maxUnavailable/maxSurge are given. */
export function scaledValue(v: unknown, total: number, fallback: number): number {
  if (typeof v === "number" && Number.isFinite(v)) return Math.max(0, Math.floor(v));
  if (typeof v === "string") {
    const m = /^(\d+)%$/.exec(v.trim());
    if (m) return Math.ceil((Number(m[1]) * total) / 100);
    if (/^\d+$/.test(v.trim())) return Number(v.trim());
  }
  return fallback;
}

const created = (p: KubeObject) => Date.parse(p.metadata.creationTimestamp ?? "") || 0;
/** Oldest first (creation time, then name). */
const byAge = (a: KubeObject, b: KubeObject) => created(a) - created(b) || byName(a, b);

interface DsInfo {
  ds: KubeObject;
  name: string;
  hash: string;
  generation: string;
  podSpec: Obj;
  minReadySeconds: number;
  surge: boolean;
}

function newPod(ds: DsInfo, nodeName: string, namespace: string): KubeObject {
  const template = (isObj(getPath(ds.ds, "spec.template")) ? getPath(ds.ds, "spec.template") : {}) as Obj;
  const tmeta = (isObj(template.metadata) ? template.metadata : {}) as { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  const metadata: KubeObject["metadata"] = {
    generateName: `${ds.name}-`,
    namespace,
    labels: { ...(tmeta.labels ?? {}), [REVISION_LABEL]: ds.hash, [TEMPLATE_GENERATION_LABEL]: ds.generation },
  };
  if (tmeta.annotations) metadata.annotations = clone(tmeta.annotations);
  if (tmeta.finalizers?.length) metadata.finalizers = [...tmeta.finalizers];
  metadata.ownerReferences = [controllerRef(ds.ds)];
  const spec = clone(ds.podSpec);
  spec.nodeName = nodeName;
  spec.tolerations = podTolerations(ds.podSpec);
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

const isUpdated = (ds: DsInfo, pod: KubeObject) => pod.metadata.labels?.[REVISION_LABEL] === ds.hash;

function deletePod(ds: DsInfo, pod: KubeObject): Action[] {
  return [podDelete(pod), { type: "event", involved: ds.ds, eventType: "Normal", reason: "SuccessfulDelete", message: `Deleted pod: ${pod.metadata.name}` }];
}

/** The live new and old pod on a node; `ok` is false when there are several of either. */
function updatedPodsOnNode(ds: DsInfo, pods: KubeObject[]): { ok: boolean; newPod?: KubeObject; oldPod?: KubeObject } {
  let newPod: KubeObject | undefined;
  let oldPod: KubeObject | undefined;
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    if (isUpdated(ds, pod)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { ok: true, newPod, oldPod };
}

function reconcileDaemonSet(dsObj: KubeObject, observed: Observed): ReconcileResult {
  // A DaemonSet being deleted is left to the garbage collector.
  if (isTerminating(dsObj)) return { actions: [] };
  const claims = claimPods(dsObj, observed.pods);
  if (claims.length) return { actions: claims };

  const strategy = (getPath(dsObj, "spec.updateStrategy.type") as string | undefined) ?? "RollingUpdate";
  const annotated = dsObj.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  const podSpec = (isObj(getPath(dsObj, "spec.template.spec")) ? getPath(dsObj, "spec.template.spec") : {}) as Obj;
  const rolling = strategy === "RollingUpdate";
  const ds: DsInfo = {
    ds: dsObj,
    name: dsObj.metadata.name!,
    hash: templateHash(getPath(dsObj, "spec.template")),
    generation: annotated ?? String(dsObj.metadata.generation ?? 1),
    podSpec,
    minReadySeconds: Math.max(0, Number(getPath(dsObj, "spec.minReadySeconds") ?? 0) || 0),
    surge: false,
  };
  const nodes = [...observed.nodes].sort(byName);
  const eligibility = new Map(nodes.map((n) => [n.metadata.name!, nodeShouldRunDaemonPod(n, podSpec)]));
  const desired = nodes.filter((n) => eligibility.get(n.metadata.name!)!.shouldRun).length;
  const ru = getPath(dsObj, "spec.updateStrategy.rollingUpdate");
  const maxSurge = rolling ? scaledValue(getPath(ru, "maxSurge"), desired, 0) : 0;
  let maxUnavailable = rolling ? scaledValue(getPath(ru, "maxUnavailable"), desired, 1) : 0;
  if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  ds.surge = rolling && maxSurge > 0;

  const byNode = new Map<string, KubeObject[]>();
  for (const pod of observed.pods) {
    if (controllerOf(pod)?.uid !== dsObj.metadata.uid) continue;
    const nodeName = getPath(pod, "spec.nodeName");
    if (typeof nodeName !== "string" || !nodeName) continue;
    if (!byNode.has(nodeName)) byNode.set(nodeName, []);
    byNode.get(nodeName)!.push(pod);
  }
  for (const pods of byNode.values()) pods.sort(byAge);

  const actions: Action[] = [];
  let requeue: number | undefined;
  const toDelete: KubeObject[] = [];
  const toCreate: string[] = [];

  // 1. Manage: each node gets exactly one live daemon pod if eligible, none otherwise.
  for (const node of nodes) {
    const nodeName = node.metadata.name!;
    const { shouldRun, shouldContinueRunning } = eligibility.get(nodeName)!;
    const pods = byNode.get(nodeName) ?? [];
    if (shouldRun && pods.length === 0) {
      toCreate.push(nodeName);
    } else if (shouldRun) {
      const running: KubeObject[] = [];
      for (const pod of pods) {
        if (isTerminating(pod)) continue;
        const phase = phaseOf(pod);
        if (phase === "Failed" || phase === "Succeeded") {
          if (phase === "Failed")
            actions.push({
              type: "event",
              involved: dsObj,
              eventType: "Warning",
              reason: "FailedDaemonPod",
              message: `Found failed daemon pod ${observed.namespace}/${pod.metadata.name} on node ${nodeName}, will try to kill it`,
            });
          toDelete.push(pod);
        } else running.push(pod);
      }
      if (!ds.surge) {
        // More than one: keep the oldest.
        toDelete.push(...running.slice(1));
      } else {
        // With surge, an old and a new pod may overlap until the new one is available.
        let oldestNew: KubeObject | undefined;
        let oldestOld: KubeObject | undefined;
        for (const pod of running) {
          if (isUpdated(ds, pod) && !oldestNew) oldestNew = pod;
          else if (!isUpdated(ds, pod) && !oldestOld) oldestOld = pod;
          else toDelete.push(pod);
        }
        if (oldestNew && oldestOld) {
          if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.minReadySeconds, observed.now)) toDelete.push(oldestOld);
          else requeue = minDefined(requeue, msUntilAvailable(oldestNew, ds.minReadySeconds, observed.now) || undefined);
        }
      }
    } else if (!shouldContinueRunning) {
      toDelete.push(...pods.filter((p) => !isTerminating(p)));
    }
  }
  // Pods on nodes that no longer exist.
  for (const [nodeName, pods] of [...byNode.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (!eligibility.has(nodeName)) toDelete.push(...pods.filter((p) => !isTerminating(p)));

  // 2. Rolling update, only once nothing else is in flight.
  if (rolling && toDelete.length === 0 && toCreate.length === 0) {
    const nodeNames = [...byNode.keys()].sort();
    if (!ds.surge) {
      let unavailable = 0;
      const replace: KubeObject[] = [];
      const candidates: KubeObject[] = [];
      for (const nodeName of nodeNames) {
        const { ok, newPod: fresh, oldPod: stale } = updatedPodsOnNode(ds, byNode.get(nodeName)!);
        if (!ok || (!fresh && !stale) || (fresh && stale)) {
          unavailable++;
        } else if (fresh) {
          if (!isPodAvailable(fresh, ds.minReadySeconds, observed.now)) unavailable++;
        } else if (stale) {
          if (!isPodAvailable(stale, ds.minReadySeconds, observed.now)) {
            // Already unavailable: replacing it costs nothing more.
            replace.push(stale);
            unavailable++;
          } else if (unavailable < maxUnavailable) candidates.push(stale);
        }
      }
      const budget = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
      toDelete.push(...replace, ...candidates.slice(0, budget));
    } else {
      let surging = 0;
      const allowed: string[] = [];
      const candidates: string[] = [];
      for (const nodeName of nodeNames) {
        const { ok, newPod: fresh, oldPod: stale } = updatedPodsOnNode(ds, byNode.get(nodeName)!);
        if (!ok) {
          surging++;
          continue;
        }
        if (!stale) continue;
        if (!fresh) {
          if (!eligibility.get(nodeName)?.shouldRun) continue;
          if (!isPodAvailable(stale, ds.minReadySeconds, observed.now)) allowed.push(nodeName);
          else if (surging < maxSurge) candidates.push(nodeName);
        } else if (!isPodAvailable(fresh, ds.minReadySeconds, observed.now)) {
          surging++;
        } else toDelete.push(stale);
      }
      const budget = Math.min(Math.max(0, maxSurge - surging), candidates.length);
      toCreate.push(...allowed, ...candidates.slice(0, budget));
    }
  }

  for (const pod of toDelete) actions.push(...deletePod(ds, pod));
  for (const nodeName of toCreate) actions.push({ type: "create", resource: "core/pods", object: newPod(ds, nodeName, observed.namespace) });

  // 3. Status, from this observation.
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const nodeName = node.metadata.name!;
    const pods = (byNode.get(nodeName) ?? []).filter((p) => !(isTerminating(p) && (phaseOf(p) === "Failed" || phaseOf(p) === "Succeeded")));
    if (!eligibility.get(nodeName)!.shouldRun) {
      if (pods.length) misscheduled++;
      continue;
    }
    if (pods.length === 0) continue;
    current++;
    const pod = pods[0];
    if (isPodReady(pod)) {
      ready++;
      const ms = msUntilAvailable(pod, ds.minReadySeconds, observed.now);
      if (ms === 0) available++;
      else requeue = minDefined(requeue, ms);
    }
    if (isUpdated(ds, pod)) updated++;
  }
  const old = (isObj(dsObj.status) ? dsObj.status : {}) as Obj;
  const status: Obj = { ...old, currentNumberScheduled: current, numberMisscheduled: misscheduled, desiredNumberScheduled: desired, numberReady: ready };
  const optional: Obj = {
    observedGeneration: dsObj.metadata.generation ?? 0,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v) status[k] = v;
    else delete status[k];
  }
  if (!sameJson(status, dsObj.status ?? {})) actions.push({ type: "update", resource: "apps/daemonsets", subresource: "status", object: { ...clone(dsObj), status } });
  return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let requeue: number | undefined;
  for (const ds of [...observed.daemonSets].sort(byName)) {
    const r = reconcileDaemonSet(ds, observed);
    actions.push(...r.actions);
    requeue = minDefined(requeue, r.requeueAfterMs);
  }
  return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
}
