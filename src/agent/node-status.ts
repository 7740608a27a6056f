import { rfc3339 } from "./pod-status.ts";

/**
 * The Node object and status an agent reports (pure), and when to report it: the kubelet
 * computes status every nodeStatusUpdateFrequency (10 s) but posts it only when something
 * other than the heartbeat times changed, or when nodeStatusReportFrequency (5 min by
 * default) has passed since the last post; liveness in between is the Lease's renewTime.
 */

export interface HostFacts {
  hostname: string;
  internalIP: string;
  cpu: string;
  memory: string;
  ephemeralStorage: string;
  pods: string;
  os: string;
  arch: string;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  systemUUID: string;
  bootID: string;
}

export interface RuntimeInfo {
  /** e.g. "process://0.1.0" or "podman://4.3.1" */
  version: string;
  /** What the runtime cannot do here, in words a user can act on (empty when nothing is missing). */
  warnings: string[];
}

export const AGENT_VERSION = "v1.32.0-edgeplane";

export interface NodeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

export interface NodeStatus {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  conditions: NodeCondition[];
  addresses: { type: string; address: string }[];
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
  nodeInfo: Record<string, string>;
}

export function nodeLabels(name: string, host: HostFacts, extra: Record<string, string>): Record<string, string> {
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": host.os,
    "kubernetes.io/arch": host.arch,
    "beta.kubernetes.io/os": host.os,
    "beta.kubernetes.io/arch": host.arch,
    ...extra,
  };
}

/** Parses `--labels k=v,k2=v2`. */
export function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`invalid label "${part}": expected key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function buildNodeStatus(host: HostFacts, runtime: RuntimeInfo, now: number, prev?: NodeStatus, hostname = host.hostname): NodeStatus {
  const t = rfc3339(now);
  const cond = (type: string, status: NodeCondition["status"], reason: string, message: string): NodeCondition => {
    const old = prev?.conditions.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: t,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t,
    };
  };
  const capacity = { cpu: host.cpu, memory: host.memory, pods: host.pods, "ephemeral-storage": host.ephemeralStorage };
  const conditions = [
    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    cond("Ready", "True", "KubeletReady", `edgeplane agent is posting ready status (runtime ${runtime.version})`),
  ];
  if (runtime.warnings.length > 0)
    conditions.push(cond("RuntimeDegraded", "True", "RuntimeIncomplete", runtime.warnings.join("; ")));
  return {
    capacity,
    allocatable: { ...capacity },
    conditions,
    addresses: [
      { type: "InternalIP", address: host.internalIP },
      { type: "Hostname", address: hostname },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: host.machineID,
      systemUUID: host.systemUUID,
      bootID: host.bootID,
      kernelVersion: host.kernelVersion,
      osImage: host.osImage,
      containerRuntimeVersion: runtime.version,
      kubeletVersion: AGENT_VERSION,
      kubeProxyVersion: "",
      operatingSystem: host.os,
      architecture: host.arch,
    },
  };
}

/** The status without heartbeat times: what "changed" means for reporting. */
function withoutHeartbeats(s: NodeStatus): unknown {
  return { ...s, conditions: s.conditions.map(({ lastHeartbeatTime: _h, ...c }) => c) };
}

export function nodeStatusChanged(a: NodeStatus | undefined, b: NodeStatus): boolean {
  return !a || JSON.stringify(withoutHeartbeats(a)) !== JSON.stringify(withoutHeartbeats(b));
}

/** Post the status now? When it changed, or when the report frequency has passed since the last post. */
export function shouldReportNodeStatus(lastReported: NodeStatus | undefined, lastReportAt: number, next: NodeStatus, now: number, reportFrequencyMs: number): boolean {
  return nodeStatusChanged(lastReported, next) || now - lastReportAt >= reportFrequencyMs;
}
