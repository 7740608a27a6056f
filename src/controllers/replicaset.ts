import { selectorMatches } from "../resources/deployment.ts";
import type { KubeObject } from "../resources/types.ts";
import {
  byName,
  canonicalJson,
  controllerUid,
  intOr,
  isBeingDeleted,
  isPodActive,
  isPodAvailable,
  isPodReady,
  maxContainerRestarts,
  minDelay,
  msUntilAvailable,
  parseTime,
  podFromTemplate,
  podPhase,
  podReadySince,
} from "./pod-utils.ts";
import { controllerRef, type Action, type Observed, type ReconcileResult } from "./types.ts";

/**
 * The ReplicaSet controller as a pure reconciler.
 *
 * For each ReplicaSet (in name order):
 *  - claim pods among the namespace's active pods (not being deleted, not
 *    Succeeded/Failed): pods it controls that still match its selector are kept,
 *    those that no longer match are released (its ownerReference removed), and
 *    orphans (no controller) that match are adopted (a controller reference added).
 *    A ReplicaSet being deleted adopts nothing; an orphan matched by several
 *    ReplicaSets goes to the first by name.
 *  - unless it is being deleted (the garbage collector owns that), create pods from
 *    spec.template or delete surplus pods so the active count matches spec.replicas,
 *    at most BURST of either per pass. Pods to delete are ranked: unscheduled before
 *    scheduled; Pending before Unknown before Running; not ready before ready; lower
 *    controller.kubernetes.io/pod-deletion-cost first; more replicas (of this
 *    ReplicaSet or its sibling ReplicaSets under the same controller) on the same
 *    node first; more recently ready first; more restarts first; newer first; name.
 *  - write status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
 *    observedGeneration; existing conditions kept) through the status subresource
 *    when it differs from what is stored. Status is computed from this observation
 *    (before this pass's creates/deletes), like Kubernetes; the next pass catches up.
 *
 * Events: one SuccessfulCreate per pass per ReplicaSet, since generated names are
 * not known before creation: "Created pod: <rs>-*" for one pod, "Created <n> pods:
 * <rs>-*" for several. One SuccessfulDelete "Deleted pod: <name>" per deleted pod.
 *
 * requeueAfterMs: when some claimed pod is ready but not yet available because of
 * minReadySeconds, the time until the first of them becomes available.
 */

/** At most this many pod creations (or deletions) per ReplicaSet per pass. */
export const BURST = 500;

export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}

/** A usable selector: present and not empty (an empty selector would select every pod). */
export function effectiveSelector(sel: unknown): Selector | undefined {
  if (!sel || typeof sel !== "object") return undefined;
  const s = sel as Selector;
  if (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0) return undefined;
  return s;
}

export function replicasOf(obj: KubeObject): number {
  return Math.max(0, intOr((obj.spec as { replicas?: unknown } | undefined)?.replicas, 1));
}

export function minReadySecondsOf(obj: KubeObject): number {
  return Math.max(0, intOr((obj.spec as { minReadySeconds?: unknown } | undefined)?.minReadySeconds, 0));
}

export function reconcile(observed: Observed): ReconcileResult {
  // No ReplicaSet, nothing to claim or count: a namespace of bare pods costs no pass over them.
  if (observed.replicaSets.length === 0) return { actions: [] };
  const actions: Action[] = [];
  let requeue: number | undefined;
  const pods = [...observed.pods].sort(byName);
  const activePods = pods.filter(isPodActive);
  /** Pods adopted earlier in this pass (by uid): no second ReplicaSet may claim them. */
  const adoptedThisPass = new Set<string>();

  for (const rs of [...observed.replicaSets].sort(byName)) {
    const result = reconcileReplicaSet(observed, rs, activePods, adoptedThisPass);
    actions.push(...result.actions);
    requeue = minDelay(requeue, result.requeueAfterMs);
  }
  return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
}

function reconcileReplicaSet(
  observed: Observed,
  rs: KubeObject,
  activePods: KubeObject[],
  adoptedThisPass: Set<string>,
): ReconcileResult {
  const selector = effectiveSelector((rs.spec as { selector?: unknown } | undefined)?.selector);
  if (!selector) return { actions: [] };
  const actions: Action[] = [];
  const uid = rs.metadata.uid;
  const deleting = isBeingDeleted(rs);

  // Claim: keep, release, adopt.
  const owned: KubeObject[] = [];
  for (const pod of activePods) {
    const ctrl = controllerUid(pod);
    const matches = selectorMatches(selector, pod.metadata.labels);
    if (ctrl !== undefined && ctrl === uid) {
      if (matches) owned.push(pod);
      else actions.push({ type: "update", resource: "core/pods", object: withoutOwner(pod, uid!) });
    } else if (ctrl === undefined && matches && !deleting && !adoptedThisPass.has(pod.metadata.uid ?? pod.metadata.name!)) {
      adoptedThisPass.add(pod.metadata.uid ?? pod.metadata.name!);
      actions.push({ type: "update", resource: "core/pods", object: withOwner(pod, rs) });
      owned.push(pod);
    }
  }

  // Scale.
  if (!deleting) {
    const diff = owned.length - replicasOf(rs);
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      const pod = podFromTemplate((rs.spec as { template?: unknown }).template, rs, observed.namespace);
      for (let i = 0; i < n; i++) actions.push({ type: "create", resource: "core/pods", object: i === 0 ? pod : structuredClone(pod) });
      const prefix = `${rs.metadata.name}-*`;
      actions.push({
        type: "event",
        involved: rs,
        eventType: "Normal",
        reason: "SuccessfulCreate",
        message: n === 1 ? `Created pod: ${prefix}` : `Created ${n} pods: ${prefix}`,
      });
    } else if (diff > 0) {
      const victims = podsToDelete(owned, relatedPods(observed, rs, activePods), Math.min(diff, BURST));
      for (const pod of victims)
        actions.push({ type: "delete", resource: "core/pods", name: pod.metadata.name!, uid: pod.metadata.uid });
      for (const pod of victims)
        actions.push({ type: "event", involved: rs, eventType: "Normal", reason: "SuccessfulDelete", message: `Deleted pod: ${pod.metadata.name}` });
    }
  }

  // Status.
  const minReady = minReadySecondsOf(rs);
  const status = calculateStatus(rs, owned, observed.now);
  if (!sameReplicaSetStatus(rs.status, status)) actions.push({ type: "update", resource: "apps/replicasets", subresource: "status", object: { ...rs, status } });

  let requeue: number | undefined;
  for (const pod of owned) requeue = minDelay(requeue, msUntilAvailable(pod, minReady, observed.now));
  return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
}

function withOwner(pod: KubeObject, rs: KubeObject): KubeObject {
  return {
    ...pod,
    metadata: { ...pod.metadata, ownerReferences: [...(pod.metadata.ownerReferences ?? []), controllerRef(rs)] },
  };
}

function withoutOwner(pod: KubeObject, uid: string): KubeObject {
  const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
  const metadata: KubeObject["metadata"] = { ...pod.metadata, ownerReferences: refs };
  if (refs.length === 0) delete metadata.ownerReferences;
  return { ...pod, metadata };
}

// ---------------------------------------------------------------------------
// Status

const COUNT_FIELDS = ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"] as const;

/** The status a ReplicaSet should have for the pods it owns (active, claimed). */
export function calculateStatus(rs: KubeObject, owned: KubeObject[], now: number): Record<string, unknown> {
  const templateLabels = ((rs.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels ??
    {}) as Record<string, string>;
  const minReady = minReadySecondsOf(rs);
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of owned) {
    const labels = pod.metadata.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) ready++;
    if (isPodAvailable(pod, minReady, now)) available++;
  }
  const status: Record<string, unknown> = { ...((rs.status as Record<string, unknown> | undefined) ?? {}) };
  status.replicas = owned.length;
  // Kubernetes omits these when zero (omitempty); `replicas` is always present.
  setOrOmit(status, "fullyLabeledReplicas", fullyLabeled);
  setOrOmit(status, "readyReplicas", ready);
  setOrOmit(status, "availableReplicas", available);
  setOrOmit(status, "observedGeneration", intOr(rs.metadata.generation, 0));
  return status;
}

function setOrOmit(obj: Record<string, unknown>, key: string, value: number): void {
  if (value === 0) delete obj[key];
  else obj[key] = value;
}

/** Equal statuses, counting an absent count field as 0. */
function sameReplicaSetStatus(stored: unknown, next: Record<string, unknown>): boolean {
  const norm = (s: unknown) => {
    const o: Record<string, unknown> = { ...((s as Record<string, unknown> | undefined) ?? {}) };
    for (const f of COUNT_FIELDS) o[f] = intOr(o[f], 0);
    return canonicalJson(o);
  };
  return norm(stored) === norm(next);
}

// ---------------------------------------------------------------------------
// Deletion ranking

/**
 * Active pods controlled by this ReplicaSet or by a sibling ReplicaSet with the same
 * controller (a Deployment's ReplicaSets): used to count replicas per node.
 */
function relatedPods(observed: Observed, rs: KubeObject, activePods: KubeObject[]): KubeObject[] {
  const owner = controllerUid(rs);
  const uids = new Set<string>([rs.metadata.uid!]);
  if (owner !== undefined) for (const other of observed.replicaSets) if (controllerUid(other) === owner) uids.add(other.metadata.uid!);
  return activePods.filter((p) => {
    const c = controllerUid(p);
    return c !== undefined && uids.has(c);
  });
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v.trim())) return 0;
  const n = Number(v.trim());
  return n > 2147483647 || n < -2147483648 ? 0 : n;
}

/** The `count` pods to delete first, ranked as documented above. */
export function podsToDelete(pods: KubeObject[], related: KubeObject[], count: number): KubeObject[] {
  if (count <= 0) return [];
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const key = (p: KubeObject) => {
    const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
    return {
      assigned: node ? 1 : 0,
      phase: PHASE_ORDER[podPhase(p)] ?? 0,
      ready: isPodReady(p) ? 1 : 0,
      cost: deletionCost(p),
      colocated: node ? (perNode.get(node) ?? 0) : 0,
      readySince: podReadySince(p),
      restarts: maxContainerRestarts(p),
      created: parseTime(p.metadata.creationTimestamp),
      name: p.metadata.name ?? "",
    };
  };
  const keyed = pods.map((p) => ({ p, k: key(p) }));
  keyed.sort(({ k: a }, { k: b }) => {
    if (a.assigned !== b.assigned) return a.assigned - b.assigned;
    if (a.phase !== b.phase) return a.phase - b.phase;
    if (a.ready !== b.ready) return a.ready - b.ready;
    if (a.cost !== b.cost) return a.cost - b.cost;
    if (a.colocated !== b.colocated) return b.colocated - a.colocated;
    if (a.ready && b.ready && a.readySince !== b.readySince) return laterOrUnknownFirst(a.readySince, b.readySince);
    if (a.restarts !== b.restarts) return b.restarts - a.restarts;
    if (a.created !== b.created) return laterOrUnknownFirst(a.created, b.created);
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return keyed.slice(0, count).map((x) => x.p);
}

/** Sort order putting an unknown time first, then later times before earlier ones. */
function laterOrUnknownFirst(a: number | undefined, b: number | undefined): number {
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}
