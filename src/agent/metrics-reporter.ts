import { ApiStatusError, type ApiClient } from "./api-client.ts";
import { nodeMetrics, podMetrics, type PodRef, type UsageSample } from "./metrics.ts";
import type { ContainerStats } from "./runtime.ts";

/**
 * Reports the node's and its pods' usage as metrics.k8s.io NodeMetrics and PodMetrics (what
 * metrics-server would serve), every `periodMs`: `kubectl top` and the HPA read them. The
 * first round only takes samples (CPU is a rate between two).
 */

export interface MetricsSource {
  containers(): Promise<ContainerStats[]>;
  node(): { cpuSeconds: number; memoryBytes: number };
}

export class MetricsReporter {
  private prevContainers = new Map<string, UsageSample>();
  private prevNode?: UsageSample;
  /** Pods whose PodMetrics this reporter wrote, so it removes them when the pod goes. */
  private readonly reported = new Map<string, PodRef>();
  /** Objects written (for tests). */
  written = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly nodeName: string,
    private readonly source: MetricsSource,
    private readonly podOf: (uid: string) => PodRef | undefined,
  ) {}

  async report(now = Date.now()): Promise<void> {
    const nodeSample = { ...this.source.node(), at: now };
    const node = nodeMetrics(this.nodeName, this.prevNode, nodeSample);
    this.prevNode = nodeSample;
    if (node) await this.put("/apis/metrics.k8s.io/v1beta1/nodes", this.nodeName, node);

    const byPod = new Map<string, { name: string; prev?: UsageSample; next: UsageSample }[]>();
    const seen = new Map<string, UsageSample>();
    for (const c of await this.source.containers()) {
      const key = `${c.podUid}/${c.container}`;
      const next = { cpuSeconds: c.cpuSeconds, memoryBytes: c.memoryBytes, at: now };
      seen.set(key, next);
      const list = byPod.get(c.podUid) ?? [];
      list.push({ name: c.container, prev: this.prevContainers.get(key), next });
      byPod.set(c.podUid, list);
    }
    this.prevContainers = seen;
    for (const [uid, containers] of byPod) {
      const pod = this.podOf(uid);
      const obj = pod && podMetrics(pod, containers);
      if (pod && obj) {
        await this.put(`/apis/metrics.k8s.io/v1beta1/namespaces/${pod.namespace}/pods`, pod.name, obj);
        this.reported.set(uid, pod);
      }
    }
    // Metrics of pods this node no longer runs go too (metrics-server forgets them).
    for (const [uid, pod] of this.reported) {
      if (this.podOf(uid)) continue;
      this.reported.delete(uid);
      try {
        await this.api.call("DELETE", `/apis/metrics.k8s.io/v1beta1/namespaces/${pod.namespace}/pods/${pod.name}`);
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.status === 404)) throw e;
      }
    }
  }

  /** Replace (unconditionally), or create the first time. */
  private async put(collection: string, name: string, obj: Record<string, unknown>): Promise<void> {
    try {
      await this.api.call("PUT", `${collection}/${name}`, obj);
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.status === 404)) throw e;
      await this.api.call("POST", collection, obj);
    }
    this.written++;
  }
}
