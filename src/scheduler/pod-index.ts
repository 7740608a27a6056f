import type { KubeObject } from "../resources/types.ts";
import type { MirrorListener } from "../store/resource-mirror.ts";
import { hasPodAffinity } from "./affinity-terms.ts";
import { addPod, nodeInfo } from "./node-info.ts";
import { holdsResources, podInfo } from "./pod-info.ts";
import type { ClusterState, NodeInfo, PodInfo } from "./types.ts";
import { wantsScheduling } from "./wake.ts";

/** Pod (anti-)affinity terms may select namespaces by label: then a round reads namespaces too. */
const selectsNamespaces = (pod: KubeObject) => {
  const affinity = (pod.spec as { affinity?: object } | undefined)?.affinity;
  return affinity !== undefined && JSON.stringify(affinity).includes('"namespaceSelector"');
};

const nodeNameOf = (pod: KubeObject) => (pod.spec as { nodeName?: string } | undefined)?.nodeName;

/**
 * The scheduler's view of its pod copy, kept current change by change (a MirrorListener, told
 * each pod's object as it saw it before, so where a pod was counted need not be kept):
 * the pods waiting to be placed, and per node what its bound pods account for. A round then
 * costs what changed since the last one, not a walk over every pod of the cluster: a node's
 * accounting is summed again only when its pods or its object changed, and each round gets
 * copies it may place pods on (buildCluster in schedule.ts is the same from scratch).
 */
export class PodIndex implements MirrorListener {
  /** Pods that want the default scheduler, by key. */
  readonly pending = new Map<string, KubeObject>();
  /** Bound pods holding resources, by node name, then key. */
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  /** Bound pods with pod (anti-)affinity of their own, by key (they constrain newcomers). */
  private readonly affinity = new Map<string, { pod: PodInfo; node: string }>();
  /** Keys of bound or pending pods whose affinity selects namespaces by label. */
  private readonly namespaceSelecting = new Set<string>();
  /** Each node's accounting as of its object and pods (dropped when they change). */
  private readonly summed = new Map<string, { node: KubeObject; info: NodeInfo }>();

  get selectsNamespaces(): boolean {
    return this.namespaceSelecting.size > 0;
  }

  reset(objects: Map<string, KubeObject>): void {
    this.pending.clear();
    this.byNode.clear();
    this.affinity.clear();
    this.namespaceSelecting.clear();
    this.summed.clear();
    for (const [key, pod] of objects) this.changed(key, undefined, pod);
  }

  changed(key: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    if (before) this.forget(key, before);
    if (!after) return;
    const nodeName = nodeNameOf(after);
    if (nodeName) {
      if (holdsResources(after)) {
        const info = podInfo(after);
        let pods = this.byNode.get(nodeName);
        if (!pods) this.byNode.set(nodeName, (pods = new Map()));
        pods.set(key, info);
        this.summed.delete(nodeName);
        if (hasPodAffinity(info)) this.affinity.set(key, { pod: info, node: nodeName });
      }
    } else if (wantsScheduling(after)) this.pending.set(key, after);
    else return;
    if (selectsNamespaces(after)) this.namespaceSelecting.add(key);
  }

  /** Takes back what `before` (the pod as the index last saw it) was counted as. */
  private forget(key: string, before: KubeObject): void {
    this.pending.delete(key);
    this.affinity.delete(key);
    this.namespaceSelecting.delete(key);
    const nodeName = nodeNameOf(before);
    const pods = nodeName === undefined ? undefined : this.byNode.get(nodeName);
    if (!pods?.delete(key)) return;
    if (pods.size === 0) this.byNode.delete(nodeName!);
    this.summed.delete(nodeName!);
  }

  /** The cluster as a round starts from: these nodes (in this order) with their bound pods accounted, as copies the round may change. */
  cluster(nodes: KubeObject[], namespaces: KubeObject[] = []): ClusterState {
    if (this.summed.size > nodes.length) {
      const names = new Set(nodes.map((n) => n.metadata.name ?? ""));
      for (const name of this.summed.keys()) if (!names.has(name)) this.summed.delete(name);
    }
    const infos = nodes.map((n) => copyOf(this.summedNode(n)));
    const byName = new Map(infos.map((n) => [n.name, n]));
    const affinityPods: ClusterState["affinityPods"] = [];
    for (const { pod, node } of this.affinity.values()) {
      const info = byName.get(node);
      if (info) affinityPods.push({ pod, node: info });
    }
    return {
      nodes: infos,
      byName,
      namespaceLabels: new Map(namespaces.map((ns) => [ns.metadata.name ?? "", ns.metadata.labels ?? {}])),
      affinityPods,
    };
  }

  private summedNode(node: KubeObject): NodeInfo {
    const name = node.metadata.name ?? "";
    const known = this.summed.get(name);
    if (known && known.node === node) return known.info;
    const info = nodeInfo(node);
    for (const pod of this.byNode.get(name)?.values() ?? []) addPod(info, pod);
    this.summed.set(name, { node, info });
    return info;
  }
}

/** A node's accounting a round may add to (and preemption rewrite) without touching the index's. */
const copyOf = (n: NodeInfo): NodeInfo => ({
  ...n,
  requested: { ...n.requested },
  nonZeroRequested: { ...n.nonZeroRequested },
  pods: n.pods.slice(),
  usedPorts: n.usedPorts.slice(),
});
