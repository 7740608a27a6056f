import { forbidden } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import { ObjectStore } from "../store/object-store.ts";

/**
 * What only the cluster admin may write, whatever RBAC grants (applied to every other user's
 * creates, updates and patches):
 *  - Service `spec.externalIPs` (CVE-2020-8554: a tenant could capture traffic to any IP);
 *  - Endpoints and EndpointSlices whose addresses are not IPs of pods in the same namespace
 *    (CVE-2021-25740: a selector-less Service could front another tenant's pods or the node).
 * Loopback and link-local endpoint addresses are refused for everyone by validation.
 */

const sameList = (a: unknown, b: unknown) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** The addresses an Endpoints object or EndpointSlice points at (pure). */
export function endpointAddresses(obj: KubeObject): string[] {
  const out: string[] = [];
  if (obj.kind === "Endpoints") {
    for (const s of (obj.subsets as { addresses?: { ip?: string }[]; notReadyAddresses?: { ip?: string }[] }[] | undefined) ?? [])
      for (const a of [...(s?.addresses ?? []), ...(s?.notReadyAddresses ?? [])]) if (typeof a?.ip === "string") out.push(a.ip);
  } else if (obj.kind === "EndpointSlice") {
    for (const e of (obj.endpoints as { addresses?: string[] }[] | undefined) ?? []) for (const a of e?.addresses ?? []) if (typeof a === "string") out.push(a);
  }
  return out;
}

/** The IPs of the namespace's pods (status.podIP and status.podIPs). */
function podIPs(pods: KubeObject[]): Set<string> {
  const ips = new Set<string>();
  for (const p of pods) {
    const status = (p.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[] };
    if (status.podIP) ips.add(status.podIP);
    for (const x of status.podIPs ?? []) if (x?.ip) ips.add(x.ip);
  }
  return ips;
}

/** Whether a request on this resource needs the check (so other writes pay nothing). */
export const isRestrictedResource = (group: string | undefined, resource: string | undefined) =>
  (group === "" && (resource === "services" || resource === "endpoints")) || (group === "discovery.k8s.io" && resource === "endpointslices");

export async function checkTenantRestrictions(env: Env, obj: KubeObject, old?: KubeObject): Promise<void> {
  const name = obj.metadata.name ?? obj.metadata.generateName ?? "";
  if (obj.kind === "Service") {
    const ips = (obj.spec as { externalIPs?: unknown } | undefined)?.externalIPs;
    const before = (old?.spec as { externalIPs?: unknown } | undefined)?.externalIPs;
    if (Array.isArray(ips) && ips.length > 0 && !sameList(ips, before))
      throw forbidden(`services "${name}" is forbidden: spec.externalIPs may only be set by a cluster administrator`);
    return;
  }
  if (obj.kind !== "Endpoints" && obj.kind !== "EndpointSlice") return;
  if (obj.kind === "EndpointSlice" && obj.addressType === "FQDN" && endpointAddresses(obj).length > 0)
    throw forbidden(`endpointslices.discovery.k8s.io "${name}" is forbidden: FQDN endpoints may only be written by a cluster administrator`);
  const wanted = endpointAddresses(obj);
  if (wanted.length === 0) return;
  const known = podIPs((await new ObjectStore(env).list(podKind, obj.metadata.namespace ?? "")).items);
  const foreign = [...new Set(wanted.filter((ip) => !known.has(ip)))];
  if (foreign.length > 0) {
    const what = obj.kind === "Endpoints" ? "endpoints" : "endpointslices.discovery.k8s.io";
    throw forbidden(
      `${what} "${name}" is forbidden: ${foreign.join(", ")} ${foreign.length === 1 ? "is not the IP" : "are not IPs"} of a pod in namespace "${obj.metadata.namespace}"; only a cluster administrator may point endpoints elsewhere`,
    );
  }
}
