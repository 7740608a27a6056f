import { quantityToMilli, quantityToNumber } from "../resources/quantity.ts";
import type { ContainerSpec, Pod } from "./container-record.ts";

/**
 * The pure parts of the podman runtime and the pod network (unit-tested): names, addresses,
 * image pull policy, `podman run` flags from a container spec.
 */

/** 32-bit FNV-1a of a string. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** Five hex digits from the node name: in names of its bridge, namespaces, veths and containers. */
export const nodeTag = (nodeName: string) => fnv1a(nodeName).toString(16).padStart(8, "0").slice(0, 5);

/** Per container, as the kubelet's podPidsLimit would bound a pod. */
export const PIDS_LIMIT = 4096;

/** Pure naming and addressing for a node (unit-tested). */
export function podNetworkPlan(nodeName: string, cidr?: string): { tag: string; bridge: string; prefix: string } {
  const tag = nodeTag(nodeName);
  const hash = fnv1a(`${nodeName}/cidr`);
  let prefix: string;
  if (cidr) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(cidr);
    if (!m || [m[1], m[2], m[3]].some((o) => Number(o) > 255)) throw new Error(`pod CIDR must be a /24 like 10.244.7.0/24, got "${cidr}"`);
    prefix = `${m[1]}.${m[2]}.${m[3]}`;
  } else prefix = `10.244.${(hash % 254) + 1}`;
  return { tag, bridge: `ep${tag}`, prefix };
}

export const netnsName = (tag: string, uid: string) => `ep-${tag}-${uid.replace(/-/g, "").slice(0, 8)}`;
export const vethName = (tag: string, uid: string) => `v${tag}${uid.replace(/-/g, "").slice(0, 8)}`;

/** The lowest free host number in 2..254, or undefined when the /24 is full. */
export function allocateHost(used: Iterable<number>): number | undefined {
  const taken = new Set(used);
  for (let n = 2; n <= 254; n++) if (!taken.has(n)) return n;
  return undefined;
}

/** The kubelet's default: Always for :latest or untagged images, else IfNotPresent. */
export function pullPolicy(c: ContainerSpec): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  if (c.image.includes("@")) return "IfNotPresent";
  const last = c.image.slice(c.image.lastIndexOf("/") + 1);
  return !last.includes(":") || last.endsWith(":latest") ? "Always" : "IfNotPresent";
}

/** A container name podman accepts, unique per node, pod, container and restart. */
export function containerName(tag: string, pod: Pod, container: string, restart: number): string {
  const m = pod.metadata;
  return `ep_${tag}_${m.namespace}_${m.name}_${container}_${restart}`;
}

/** The `podman run` flags for a container's resources and security context (pure). */
export function runFlags(pod: Pod, c: ContainerSpec): string[] {
  const flags: string[] = [];
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const mem = quantityToNumber(limits.memory);
  if (Number.isFinite(mem) && mem > 0) flags.push("--memory", String(Math.ceil(mem)), "--memory-swap", String(Math.ceil(mem)));
  const cpu = quantityToMilli(limits.cpu);
  if (Number.isFinite(cpu) && cpu > 0) flags.push("--cpus", (cpu / 1000).toFixed(3).replace(/\.?0+$/, ""));
  const share = quantityToMilli(requests.cpu ?? limits.cpu);
  if (Number.isFinite(share) && share > 0) flags.push("--cpu-shares", String(Math.max(2, Math.floor((share * 1024) / 1000))));
  flags.push("--pids-limit", String(PIDS_LIMIT));
  const podSc = pod.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const user = sc.runAsUser ?? podSc.runAsUser;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  if (user !== undefined) flags.push("--user", group !== undefined ? `${user}:${group}` : String(user));
  else if (group !== undefined) flags.push("--group-add", String(group));
  if (sc.readOnlyRootFilesystem) flags.push("--read-only");
  if (sc.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  // stdin: true keeps the container's stdin open for kubectl attach; tty: true gives it a terminal.
  if (c.stdin) flags.push("--interactive");
  if (c.tty) flags.push("--tty");
  return flags;
}

/** Entrypoint and arguments as Kubernetes defines them: command replaces ENTRYPOINT (and CMD), args replace CMD. */
export function entrypointArgs(c: ContainerSpec, argv: string[] | undefined): { entrypoint?: string; args: string[] } {
  const all = argv ?? [];
  const n = c.command?.length ?? 0;
  if (n > 0) return { entrypoint: JSON.stringify(all.slice(0, n)), args: all.slice(n) };
  return { args: all };
}

