import { RCODE, TYPE_A, TYPE_ANY } from "./dns-message.ts";
import { SERVICE_NAME_LABEL, type ServiceLike, type SliceLike } from "./proxy-plan.ts";

/**
 * What the cluster resolver answers (pure, unit-tested): `<svc>.<ns>.svc.cluster.local` is the
 * Service's cluster IP, or for a headless Service the addresses of its ready endpoints, and
 * `<hostname>.<svc>.<ns>.svc.cluster.local` a headless endpoint with a hostname. Names under
 * cluster.local that do not exist are NXDOMAIN; other names are REFUSED (nothing is forwarded:
 * the agent never sends queries off the node).
 */

export const CLUSTER_DOMAIN = "cluster.local";

export function dnsRecords(services: ServiceLike[], slices: SliceLike[]): Map<string, string[]> {
  const records = new Map<string, string[]>();
  const add = (name: string, ip: string) => {
    const list = records.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    records.set(name, list);
  };
  const headless = new Set<string>();
  for (const s of services) {
    const spec = s.spec ?? {};
    if (spec.type === "ExternalName") continue;
    const name = `${s.metadata.name}.${s.metadata.namespace}.svc.${CLUSTER_DOMAIN}`;
    if (spec.clusterIP && spec.clusterIP !== "None") add(name, spec.clusterIP);
    else {
      headless.add(`${s.metadata.namespace}/${s.metadata.name}`);
      records.set(name, records.get(name) ?? []);
    }
  }
  for (const sl of slices) {
    const svc = sl.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || !headless.has(`${sl.metadata.namespace}/${svc}`) || (sl.addressType ?? "IPv4") !== "IPv4") continue;
    const base = `${svc}.${sl.metadata.namespace}.svc.${CLUSTER_DOMAIN}`;
    for (const e of sl.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses ?? []) {
        add(base, ip);
        if (e.hostname) add(`${e.hostname}.${base}`, ip);
      }
    }
  }
  for (const list of records.values()) list.sort();
  return records;
}

/** The answer to one question. */
export function answer(records: Map<string, string[]>, name: string, type: number): { rcode: number; addresses: string[] } {
  const n = name.toLowerCase().replace(/\.$/, "");
  if (n !== CLUSTER_DOMAIN && !n.endsWith(`.${CLUSTER_DOMAIN}`)) return { rcode: RCODE.REFUSED, addresses: [] };
  const ips = records.get(n);
  // A name that exists with no record of this type (AAAA, or a headless Service with no ready endpoint): NOERROR, empty.
  if (!ips) return { rcode: RCODE.NXDOMAIN, addresses: [] };
  return { rcode: RCODE.NOERROR, addresses: type === TYPE_A || type === TYPE_ANY ? ips : [] };
}

/** A pod's /etc/resolv.conf, or undefined to leave the node's (dnsPolicy Default, host network). */
export function podResolvConf(
  pod: { metadata: { namespace: string }; spec: { hostNetwork?: boolean; dnsPolicy?: string; dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] } } },
  nameserver: string,
): string | undefined {
  const policy = pod.spec.dnsPolicy ?? "ClusterFirst";
  const cfg = pod.spec.dnsConfig ?? {};
  let nameservers: string[] = [];
  let searches: string[] = [];
  let options: { name: string; value?: string }[] = [];
  if (policy === "ClusterFirstWithHostNet" || (policy === "ClusterFirst" && !pod.spec.hostNetwork)) {
    const ns = pod.metadata.namespace;
    nameservers = [nameserver];
    searches = [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN];
    options = [{ name: "ndots", value: "5" }];
  } else if (policy !== "None") return undefined;
  nameservers = [...new Set([...nameservers, ...(cfg.nameservers ?? [])])].slice(0, 3);
  searches = [...new Set([...searches, ...(cfg.searches ?? [])])].slice(0, 32);
  for (const o of cfg.options ?? []) options = [...options.filter((x) => x.name !== o.name), o];
  const lines = [
    ...nameservers.map((n) => `nameserver ${n}`),
    ...(searches.length ? [`search ${searches.join(" ")}`] : []),
    ...(options.length ? [`options ${options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(" ")}`] : []),
  ];
  return `${lines.join("\n")}\n`;
}
