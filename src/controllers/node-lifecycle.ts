import type { KubeObject } from "../resources/types.ts";
import { tolerates, tolerationsOf } from "../scheduler/tolerations.ts";
import type { Taint, Toleration } from "../scheduler/types.ts";

/**
 * The node lifecycle controller (with taint-based eviction), pure and level-triggered,
 * as Kubernetes' node lifecycle controller and taint eviction controller do it:
 * - a node whose last heartbeat (its Lease's renewTime in kube-node-lease, or its Ready
 *   condition's lastHeartbeatTime, whichever is newer) is older than the grace period gets
 *   its conditions set to Unknown (reason NodeStatusUnknown);
 * - a node whose Ready condition is Unknown is tainted `node.kubernetes.io/unreachable:NoExecute`,
 *   one whose Ready is False `node.kubernetes.io/not-ready:NoExecute`; the taint goes when the
 *   node is Ready again;
 * - pods on a node whose Ready is Unknown are marked Ready=False;
 * - pods on a node with NoExecute taints are evicted (deleted) at once when they do not
 *   tolerate one of them, otherwise once the smallest tolerationSeconds of the matching
 *   tolerations has passed since the taint was added (never for tolerations without it).
 * `pods` is only observed when a node needs it (see `needsPods`): a healthy cluster costs
 * one read of the leases per check.
 */

export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";
export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
const MANAGED_TAINTS = [UNREACHABLE_TAINT, NOT_READY_TAINT];
/** Conditions the kubelet posts that go Unknown with Ready (NetworkUnavailable is not the kubelet's). */
const KUBELET_CONDITIONS = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface NodeTaint extends Taint {
  timeAdded?: string;
}

export interface NodeLifecycleState {
  now: number;
  /** How long a node may go without a heartbeat before it is Unknown. */
  gracePeriodMs: number;
  nodes: KubeObject[];
  /** Lease renewTime (RFC 3339) by node name. */
  leases: Record<string, string | undefined>;
  /** Pods bound to nodes; undefined: not observed this time (no pod actions). */
  pods?: KubeObject[];
}

export type NodeLifecycleAction =
  /** Replace the node's conditions and/or taints (CAS on the observed resourceVersion). */
  | { type: "update-node"; node: string; resourceVersion?: string; conditions?: NodeCondition[]; taints?: NodeTaint[] }
  | { type: "mark-pod-not-ready"; namespace: string; name: string; uid?: string; resourceVersion?: string }
  | { type: "evict-pod"; namespace: string; name: string; uid?: string; node: string; taint: string };

export interface NodeLifecycleResult {
  actions: NodeLifecycleAction[];
  /** Some node is (or is about to be) tainted NoExecute or Unknown: the next round should observe pods. */
  needsPods: boolean;
  /** The earliest time a tolerating pod's tolerationSeconds run out (when pods were observed). */
  nextEvictionAt?: number;
}

const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const time = (s: unknown) => (typeof s === "string" && s ? Date.parse(s) : NaN);

function conditionsOf(node: KubeObject): NodeCondition[] {
  const c = (node.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? (c.filter((x) => x && typeof x === "object") as NodeCondition[]) : [];
}

function taintsOf(node: KubeObject): NodeTaint[] {
  const t = (node.spec as { taints?: unknown } | undefined)?.taints;
  return Array.isArray(t) ? (t.filter((x) => x && typeof x === "object") as NodeTaint[]) : [];
}

/** The last sign of life: the newest of the lease's renewTime, the Ready heartbeat and the node's creation. */
export function lastHeartbeat(node: KubeObject, renewTime: string | undefined): number {
  const ready = conditionsOf(node).find((c) => c.type === "Ready");
  const times = [time(renewTime), time(ready?.lastHeartbeatTime), time(node.metadata.creationTimestamp)].filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : 0;
}

/** The node's conditions once it stopped posting status (unchanged if they already say so). */
function unknownConditions(conditions: NodeCondition[], now: number): NodeCondition[] {
  const t = rfc3339(now);
  const out = conditions.map((c) =>
    KUBELET_CONDITIONS.includes(c.type) && c.status !== "Unknown"
      ? { ...c, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastTransitionTime: t }
      : c,
  );
  for (const type of KUBELET_CONDITIONS)
    if (!out.some((c) => c.type === type))
      out.push({ type, status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: t, lastTransitionTime: t });
  return out;
}

/** The NoExecute taint the node lifecycle controller wants for a Ready status. */
function wantedTaint(ready: string | undefined): string | undefined {
  if (ready === "Unknown") return UNREACHABLE_TAINT;
  if (ready === "False") return NOT_READY_TAINT;
  return undefined;
}

/**
 * When a pod on a node with these NoExecute taints must go: now when one taint is not
 * tolerated, at taint.timeAdded + the smallest tolerationSeconds of the matching
 * tolerations otherwise, never (undefined) when every taint is tolerated forever.
 */
export function evictionTime(taints: NodeTaint[], tolerations: Toleration[], now: number): { at: number; taint: string } | undefined {
  let best: { at: number; taint: string } | undefined;
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return { at: now, taint: taint.key };
    const seconds = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === "number");
    if (seconds.length < matching.length) continue; // tolerated forever by one of them
    const added = time(taint.timeAdded);
    const at = (Number.isNaN(added) ? now : added) + Math.max(0, Math.min(...seconds)) * 1000;
    if (!best || at < best.at) best = { at, taint: taint.key };
  }
  return best;
}

export function reconcileNodes(state: NodeLifecycleState): NodeLifecycleResult {
  const { now } = state;
  const actions: NodeLifecycleAction[] = [];
  let needsPods = false;
  // The state of each node as it will be after this round's node updates.
  const after = new Map<string, { ready?: string; taints: NodeTaint[] }>();
  for (const node of state.nodes) {
    const name = node.metadata.name!;
    let conditions = conditionsOf(node);
    let changedConditions = false;
    if (now - lastHeartbeat(node, state.leases[name]) > state.gracePeriodMs) {
      const next = unknownConditions(conditions, now);
      if (JSON.stringify(next) !== JSON.stringify(conditions)) {
        conditions = next;
        changedConditions = true;
      }
    }
    const ready = conditions.find((c) => c.type === "Ready")?.status;
    const want = wantedTaint(ready);
    const taints = taintsOf(node);
    const keep = taints.filter((t) => !(MANAGED_TAINTS.includes(t.key) && t.effect === "NoExecute" && t.key !== want));
    const nextTaints = want && !keep.some((t) => t.key === want && t.effect === "NoExecute") ? [...keep, { key: want, effect: "NoExecute", timeAdded: rfc3339(now) }] : keep;
    const changedTaints = nextTaints.length !== taints.length || nextTaints.some((t, i) => t !== taints[i]);
    if (changedConditions || changedTaints)
      actions.push({
        type: "update-node",
        node: name,
        resourceVersion: node.metadata.resourceVersion,
        ...(changedConditions ? { conditions } : {}),
        ...(changedTaints ? { taints: nextTaints } : {}),
      });
    after.set(name, { ready, taints: nextTaints });
    if (ready === "Unknown" || nextTaints.some((t) => t.effect === "NoExecute")) needsPods = true;
  }
  let nextEvictionAt: number | undefined;
  for (const pod of state.pods ?? []) {
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const node = nodeName ? after.get(nodeName) : undefined;
    if (!node || pod.metadata.deletionTimestamp) continue;
    const { namespace = "", name = "", uid, resourceVersion } = pod.metadata;
    const evict = evictionTime(node.taints, tolerationsOf((pod.spec ?? {}) as Record<string, unknown>), now);
    if (evict && evict.at <= now) {
      actions.push({ type: "evict-pod", namespace, name, uid, node: nodeName!, taint: evict.taint });
      continue;
    }
    if (evict) nextEvictionAt = Math.min(nextEvictionAt ?? Infinity, evict.at);
    if (node.ready === "Unknown") {
      const podReady = ((pod.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
      if (podReady && podReady.status !== "False") actions.push({ type: "mark-pod-not-ready", namespace, name, uid, resourceVersion });
    }
  }
  return { actions, needsPods, ...(nextEvictionAt !== undefined ? { nextEvictionAt } : {}) };
}

/** The pod's conditions with Ready=False (as the node lifecycle controller's MarkPodsNotReady). */
export function podNotReady(pod: KubeObject, now: number): KubeObject {
  const next = structuredClone(pod);
  const status = (next.status ??= {}) as { conditions?: NodeCondition[] };
  status.conditions = (status.conditions ?? []).map((c) => (c.type === "Ready" && c.status !== "False" ? { ...c, status: "False", lastTransitionTime: rfc3339(now) } : c));
  return next;
}
