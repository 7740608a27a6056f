import type { Env } from "../env.ts";
import { dns1123Label } from "../resources/meta.ts";
import { namespaceKind } from "../resources/namespace.ts";
import { podKind } from "../resources/pod.ts";
import { podMetricsKind } from "../resources/podmetrics.ts";
import { quantityToNumber } from "../resources/quantity.ts";
import type { KubeObject } from "../resources/types.ts";
import { ObjectStore } from "../store/object-store.ts";
import { badRequest } from "./errors.ts";

/**
 * GET /edgeplane/v1/namespaces/{ns}/metrics: one namespace's pods in the Prometheus text format
 * (0.0.4), for a tenant's own Prometheus to scrape with its token. Authorized as `get` on pods in
 * that namespace (src/auth/rbac.ts). CPU and memory come from the PodMetrics the node agents write
 * (what `kubectl top` shows); phase, readiness and restarts from the pods' status.
 */

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

interface ContainerStatusLike {
  name: string;
  ready?: boolean;
  restartCount?: number;
}
interface PodStatusLike {
  phase?: string;
  containerStatuses?: ContainerStatusLike[];
  initContainerStatuses?: ContainerStatusLike[];
}
interface UsageLike {
  name?: string;
  usage?: { cpu?: string; memory?: string };
}

const PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",")}}`;

/** The exposition text for one namespace's pods and their PodMetrics (pure). */
export function namespaceMetricsText(namespace: string, pods: KubeObject[], podMetrics: KubeObject[]): string {
  const families: { name: string; type: "gauge" | "counter"; help: string; samples: string[] }[] = [
    { name: "edgeplane_pod_phase", type: "gauge", help: "The pod's phase: 1 for the current one.", samples: [] },
    { name: "edgeplane_pod_container_ready", type: "gauge", help: "Whether the container passes its readiness checks (1) or not (0).", samples: [] },
    { name: "edgeplane_pod_container_restarts_total", type: "counter", help: "How many times the container has been restarted.", samples: [] },
    { name: "edgeplane_pod_container_cpu_usage_cores", type: "gauge", help: "CPU the container uses, in cores, as of its last PodMetrics sample.", samples: [] },
    { name: "edgeplane_pod_container_memory_working_set_bytes", type: "gauge", help: "Memory the container uses, in bytes, as of its last PodMetrics sample.", samples: [] },
  ];
  const [phase, ready, restarts, cpu, memory] = families;
  const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
  for (const p of [...pods].sort(byName)) {
    const pod = p.metadata.name ?? "";
    const status = (p.status ?? {}) as PodStatusLike;
    for (const ph of PHASES) phase.samples.push(`${phase.name}${labels({ namespace, pod, phase: ph })} ${status.phase === ph ? 1 : 0}`);
    for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
      const l = labels({ namespace, pod, container: c.name });
      ready.samples.push(`${ready.name}${l} ${c.ready ? 1 : 0}`);
      restarts.samples.push(`${restarts.name}${l} ${c.restartCount ?? 0}`);
    }
  }
  for (const m of [...podMetrics].sort(byName)) {
    const pod = m.metadata.name ?? "";
    for (const c of ((m as { containers?: UsageLike[] }).containers ?? []).filter((c) => c.name)) {
      const l = labels({ namespace, pod, container: c.name! });
      const cores = quantityToNumber(c.usage?.cpu);
      const bytes = quantityToNumber(c.usage?.memory);
      if (Number.isFinite(cores)) cpu.samples.push(`${cpu.name}${l} ${cores}`);
      if (Number.isFinite(bytes)) memory.samples.push(`${memory.name}${l} ${bytes}`);
    }
  }
  return families.map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join("\n")).join("\n") + "\n";
}

export async function namespaceMetrics(env: Env, namespace: string): Promise<Response> {
  const errs = dns1123Label(namespace, "namespace");
  if (errs.length) throw badRequest(`namespace ${errs[0].message}`);
  const store = new ObjectStore(env);
  await store.get(namespaceKind, "", namespace); // 404 for a namespace that does not exist
  const [pods, metrics] = await Promise.all([store.list(podKind, namespace), store.list(podMetricsKind, namespace)]);
  return new Response(namespaceMetricsText(namespace, pods.items, metrics.items), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
}
