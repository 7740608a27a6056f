/**
 * metrics.k8s.io objects from usage samples: what `kubectl top` and the HorizontalPodAutoscaler
 * read. CPU is a rate: the CPU seconds used between two samples over the time between them.
 */

export interface UsageSample {
  /** Cumulative CPU seconds. */
  cpuSeconds: number;
  memoryBytes: number;
  /** When it was taken (ms since the epoch). */
  at: number;
}

/** CPU in nanocores between two samples ("250000000n" = 250m); undefined without a usable earlier sample. */
export function cpuRate(prev: UsageSample | undefined, next: UsageSample): string | undefined {
  if (!prev || next.at <= prev.at || next.cpuSeconds < prev.cpuSeconds) return undefined;
  const nanocores = Math.round(((next.cpuSeconds - prev.cpuSeconds) / ((next.at - prev.at) / 1000)) * 1e9);
  return `${nanocores}n`;
}

export const memoryQuantity = (bytes: number) => `${Math.max(0, Math.round(bytes / 1024))}Ki`;

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const windowOf = (prev: UsageSample, next: UsageSample) => `${Math.max(1, Math.round((next.at - prev.at) / 1000))}s`;

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** A PodMetrics object, owned by its pod (deleted with it by the garbage collector). */
export function podMetrics(pod: PodRef, containers: { name: string; prev?: UsageSample; next: UsageSample }[]): Record<string, unknown> | undefined {
  const measured = containers.filter((c) => cpuRate(c.prev, c.next) !== undefined);
  if (measured.length === 0) return undefined;
  const first = measured[0];
  return {
    apiVersion: "metrics.k8s.io/v1beta1",
    kind: "PodMetrics",
    metadata: { name: pod.name, namespace: pod.namespace, ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid }] },
    timestamp: rfc3339(first.next.at),
    window: windowOf(first.prev!, first.next),
    containers: measured.map((c) => ({ name: c.name, usage: { cpu: cpuRate(c.prev, c.next)!, memory: memoryQuantity(c.next.memoryBytes) } })),
  };
}

export function nodeMetrics(node: string, prev: UsageSample | undefined, next: UsageSample): Record<string, unknown> | undefined {
  const cpu = cpuRate(prev, next);
  if (cpu === undefined) return undefined;
  return {
    apiVersion: "metrics.k8s.io/v1beta1",
    kind: "NodeMetrics",
    metadata: { name: node },
    timestamp: rfc3339(next.at),
    window: windowOf(prev!, next),
    usage: { cpu, memory: memoryQuantity(next.memoryBytes) },
  };
}
