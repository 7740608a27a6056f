import { SERVICE_NAME_LABEL } from "../controllers/endpoints.ts";

/**
 * The pure half of the service proxy (unit-tested): which service ports this node forwards and to
 * which endpoints, how a connection picks its endpoint (round-robin, ClientIP affinity), and the
 * iptables-restore input that sends pod traffic for cluster IPs to the agent's listeners.
 */

export interface ServicePortSpec {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceLike {
  metadata: { name: string; namespace: string };
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: ServicePortSpec[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  };
}

export interface SliceLike {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; hostname?: string; nodeName?: string; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

/** One forwarded service port. */
export interface ProxiedPort {
  /** "<namespace>/<service>:<port name>" */
  key: string;
  namespace: string;
  service: string;
  clusterIP?: string;
  port: number;
  nodePort?: number;
  /** "ip:port", sorted and distinct. */
  endpoints: string[];
  /** ClientIP session affinity: how long a client sticks to its endpoint after its last connection. */
  affinitySeconds?: number;
}

export { SERVICE_NAME_LABEL };
/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 h). */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

const sliceKey = (ns: string, svc: string) => `${ns}/${svc}`;

/** Endpoints of a service port from its slices: ready ones, else serving terminating ones (kube-proxy's fallback). */
export function sliceEndpoints(slices: SliceLike[], portName: string, protocol: string): string[] {
  const ready = new Set<string>();
  const terminating = new Set<string>();
  for (const s of slices) {
    if ((s.addressType ?? "IPv4") !== "IPv4") continue;
    const port = (s.ports ?? []).find((p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol);
    if (!port || typeof port.port !== "number" || port.port <= 0) continue;
    for (const e of s.endpoints ?? []) {
      const c = e.conditions ?? {};
      const into = c.ready !== false ? ready : c.serving !== false && c.terminating === true ? terminating : undefined;
      for (const ip of e.addresses ?? []) into?.add(`${ip}:${port.port}`);
    }
  }
  return [...(ready.size ? ready : terminating)].sort();
}

/**
 * The service ports to forward (TCP; UDP and SCTP are not proxied). `apiServer` ("host:port") is
 * where the `default/kubernetes` Service goes when no endpoints were written for it.
 */
export function proxyPlan(services: ServiceLike[], slices: SliceLike[], apiServer?: string): ProxiedPort[] {
  const bySvc = new Map<string, SliceLike[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = sliceKey(s.metadata.namespace, svc);
    bySvc.set(k, [...(bySvc.get(k) ?? []), s]);
  }
  const out: ProxiedPort[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (spec.type === "ExternalName") continue;
    const clusterIP = spec.clusterIP && spec.clusterIP !== "None" ? spec.clusterIP : undefined;
    const { name, namespace } = svc.metadata;
    const affinity = spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : undefined;
    for (const p of spec.ports ?? []) {
      const protocol = p.protocol ?? "TCP";
      if (protocol !== "TCP") continue;
      const nodePort = (spec.type === "NodePort" || spec.type === "LoadBalancer") && p.nodePort ? p.nodePort : undefined;
      if (!clusterIP && !nodePort) continue;
      let endpoints = sliceEndpoints(bySvc.get(sliceKey(namespace, name)) ?? [], p.name ?? "", protocol);
      if (!endpoints.length && apiServer && namespace === "default" && name === "kubernetes") endpoints = [apiServer];
      out.push({
        key: `${namespace}/${name}:${p.name ?? ""}`,
        namespace,
        service: name,
        ...(clusterIP ? { clusterIP } : {}),
        port: p.port,
        ...(nodePort ? { nodePort } : {}),
        endpoints,
        ...(affinity !== undefined ? { affinitySeconds: affinity } : {}),
      });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** "10.244.1.2:8080" -> { host, port } (IPv4 or a host name). */
export function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(":");
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}

/**
 * Picks an endpoint per connection: round-robin over the endpoints not excluded (those that just
 * refused a connection), except that a client with ClientIP affinity keeps its endpoint while it
 * exists and the client came back within `affinitySeconds`.
 */
export class Balancer {
  private next = 0;
  private readonly sticky = new Map<string, { endpoint: string; until: number }>();

  pick(endpoints: string[], client: string, now: number, affinitySeconds?: number, exclude?: ReadonlySet<string>): string | undefined {
    const usable = exclude?.size ? endpoints.filter((e) => !exclude.has(e)) : endpoints;
    if (!usable.length) return undefined;
    if (affinitySeconds !== undefined) {
      const held = this.sticky.get(client);
      if (held && held.until > now && usable.includes(held.endpoint)) {
        held.until = now + affinitySeconds * 1000;
        return held.endpoint;
      }
    }
    const endpoint = usable[this.next++ % usable.length];
    if (this.next >= Number.MAX_SAFE_INTEGER) this.next = 0;
    if (affinitySeconds !== undefined) {
      this.sticky.set(client, { endpoint, until: now + affinitySeconds * 1000 });
      if (this.sticky.size > 10_000) for (const [k, v] of this.sticky) if (v.until <= now) this.sticky.delete(k);
    }
    return endpoint;
  }

  /** Clients currently held by affinity (tests). */
  get heldClients(): number {
    return this.sticky.size;
  }
}

/** A redirect of traffic arriving on the pods' bridge: destination ip:port -> the agent's local port. */
export interface Redirect {
  ip: string;
  port: number;
  protocol: "tcp" | "udp";
  toPort: number;
}

/** The nat-table chain of one node (several agents on one host each have their own). */
export const proxyChain = (tag: string) => `EP-SVC-${tag}`;

/**
 * iptables-restore input (use with --noflush): declares the node's chain (which flushes it) and
 * fills it with one REDIRECT per service port, so the whole set changes at once.
 */
export function iptablesRestoreInput(chain: string, redirects: Redirect[]): string {
  const lines = ["*nat", `:${chain} - [0:0]`];
  for (const r of redirects)
    lines.push(`-A ${chain} -d ${r.ip}/32 -p ${r.protocol} -m ${r.protocol} --dport ${r.port} -j REDIRECT --to-ports ${r.toPort}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}
