import type { KubeObject } from "../resources/types.ts";
import { resourceList } from "./pod-requests.ts";
import type { NodeInfo, PodInfo, Taint } from "./types.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";

/** "True", "False" or "Unknown" (no Ready condition reported yet counts as Unknown). */
export function nodeReadiness(node: KubeObject): string {
  const conds = (node.status as { conditions?: unknown } | undefined)?.conditions;
  const ready = Array.isArray(conds) ? conds.find((c) => isObj(c) && c.type === "Ready") : undefined;
  return ready && (ready.status === "True" || ready.status === "False") ? ready.status : "Unknown";
}

/**
 * The node's taints, plus the NoSchedule taint Kubernetes' node lifecycle puts on a node
 * that is not Ready (not-ready when Ready=False, unreachable when Unknown), so NotReady
 * nodes get no new pods unless a pod tolerates exactly that.
 */
export function effectiveTaints(node: KubeObject): Taint[] {
  const spec = isObj(node.spec) ? node.spec : {};
  const taints = (Array.isArray(spec.taints) ? spec.taints : []).filter(
    (t): t is Taint => isObj(t) && typeof t.key === "string" && typeof t.effect === "string",
  );
  const readiness = nodeReadiness(node);
  if (readiness === "True") return taints;
  const key = readiness === "False" ? NOT_READY_TAINT : UNREACHABLE_TAINT;
  if (taints.some((t) => t.key === key && t.effect === "NoSchedule")) return taints;
  return [...taints, { key, effect: "NoSchedule" }];
}

type NodeFacts = Pick<NodeInfo, "node" | "name" | "labels" | "taints" | "unschedulable" | "allocatable">;

/** What a node object says (parsed once per object: the scheduler's copies keep unchanged nodes' objects). */
const facts = new WeakMap<KubeObject, NodeFacts>();

function nodeFacts(node: KubeObject): NodeFacts {
  let f = facts.get(node);
  if (f) return f;
  const status = isObj(node.status) ? node.status : {};
  const spec = isObj(node.spec) ? node.spec : {};
  f = {
    node,
    name: node.metadata.name ?? "",
    labels: node.metadata.labels ?? {},
    taints: effectiveTaints(node),
    unschedulable: spec.unschedulable === true,
    allocatable: resourceList(status.allocatable ?? status.capacity),
  };
  facts.set(node, f);
  return f;
}

/** A node with nothing accounted on it yet (what is placed on it is added per round). */
export function nodeInfo(node: KubeObject): NodeInfo {
  return {
    ...nodeFacts(node),
    requested: {},
    nonZeroRequested: { cpu: 0, memory: 0 },
    pods: [],
    usedPorts: [],
  };
}

/** Accounts a pod placed on the node: its requests, ports, and presence (for affinity and spreading). */
export function addPod(node: NodeInfo, pod: PodInfo): void {
  for (const [k, v] of Object.entries(pod.requests)) node.requested[k] = (node.requested[k] ?? 0) + v;
  node.nonZeroRequested.cpu += pod.nonZero.cpu;
  node.nonZeroRequested.memory += pod.nonZero.memory;
  node.pods.push(pod);
  node.usedPorts.push(...pod.hostPorts);
}
