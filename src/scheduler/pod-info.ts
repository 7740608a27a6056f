import type { KubeObject } from "../resources/types.ts";
import { nonZeroRequests, podRequests } from "./pod-requests.ts";
import type { HostPort, PodInfo } from "./types.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Host ports of the containers (and sidecars) of a pod; hostIP "" means every address. */
export function hostPortsOf(spec: Obj): HostPort[] {
  const out: HostPort[] = [];
  const sidecars = (Array.isArray(spec.initContainers) ? spec.initContainers : []).filter((c) => isObj(c) && c.restartPolicy === "Always");
  for (const c of [...(Array.isArray(spec.containers) ? spec.containers : []), ...sidecars]) {
    if (!isObj(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObj(p) || typeof p.hostPort !== "number" || p.hostPort <= 0) continue;
      const ip = typeof p.hostIP === "string" && p.hostIP !== "0.0.0.0" ? p.hostIP : "";
      out.push({ hostIP: ip, protocol: typeof p.protocol === "string" && p.protocol ? p.protocol : "TCP", hostPort: p.hostPort });
    }
  }
  return out;
}

/**
 * PodInfos by pod object: the scheduler's copies keep an unchanged pod's object from round to
 * round, so each bound pod's requests are parsed once, not once per round (a PodInfo is never
 * changed after it is made).
 */
const infos = new WeakMap<KubeObject, PodInfo>();

export function podInfo(pod: KubeObject): PodInfo {
  let info = infos.get(pod);
  if (!info) infos.set(pod, (info = makePodInfo(pod)));
  return info;
}

function makePodInfo(pod: KubeObject): PodInfo {
  const spec = isObj(pod.spec) ? pod.spec : {};
  return {
    pod,
    namespace: pod.metadata.namespace ?? "",
    name: pod.metadata.name ?? "",
    labels: pod.metadata.labels ?? {},
    spec,
    requests: podRequests(spec),
    nonZero: nonZeroRequests(spec),
    hostPorts: hostPortsOf(spec),
    priority: typeof spec.priority === "number" ? spec.priority : 0,
  };
}

/** Does the pod still hold its node's resources? Finished pods do not. */
export function holdsResources(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}
