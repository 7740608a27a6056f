import type { Env } from "../env.ts";
import { isIP } from "../resources/validation.ts";

/**
 * Which requests the Worker's edge serves (Ingresses, LoadBalancer Services) rather than the API.
 * Decided from the request line and the Host header alone, never from the store, so the API
 * path pays nothing for it:
 *  - the API answers on IP literals and `localhost` (kubectl and the agents use them locally), and
 *    on the names in `API_HOSTS` (comma-separated; hosted: the Worker's own name);
 *  - with `API_HOSTS` unset, API paths (/api, /apis, /openapi, /version, /healthz, ...) reach the
 *    API on any host, so an Ingress cannot serve those paths; with it set, every other host is the
 *    edge's in full;
 *  - names under `lb.<EDGE_DOMAIN>` and `ingress.<EDGE_DOMAIN>` are always the edge's.
 * Hosts of the edge domain: `<service>.<namespace>.lb.<EDGE_DOMAIN>` is a LoadBalancer Service
 * (its first port), `<ingress>.<namespace>.ingress.<EDGE_DOMAIN>` an Ingress's rules without a
 * host and its defaultBackend. Any other name is looked up among the hosts Ingresses claim.
 */

/** `*.localhost` resolves to loopback in curl and browsers: the LB names work locally without DNS. */
export const DEFAULT_EDGE_DOMAIN = "edgeplane.localhost";

const API_PREFIXES = ["/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz", "/tunnel", "/edgeplane", "/openid", "/.well-known/openid-configuration"];

export type EdgeTarget =
  | { type: "lb"; namespace: string; service: string }
  | { type: "ingress"; namespace: string; ingress: string }
  | { type: "host"; host: string };

export const edgeDomain = (env: Pick<Env, "EDGE_DOMAIN">): string => (env.EDGE_DOMAIN || DEFAULT_EDGE_DOMAIN).toLowerCase().replace(/\.$/, "");

export const lbHostname = (domain: string, namespace: string, service: string) => `${service}.${namespace}.lb.${domain}`;
export const ingressHostname = (domain: string, namespace: string, ingress: string) => `${ingress}.${namespace}.ingress.${domain}`;

export function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/** The host name of a Host header (or URL host): lowercased, without port, brackets or a trailing dot. */
export function hostnameOf(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") === -1 ? undefined : h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  if (colon !== -1 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h.replace(/\.$/, "");
}

const apiHostCache = new Map<string, Set<string>>();
function apiHosts(env: Pick<Env, "API_HOSTS">): Set<string> {
  const raw = env.API_HOSTS ?? "";
  let set = apiHostCache.get(raw);
  if (!set) {
    set = new Set(raw.split(",").map((h) => hostnameOf(h)).filter(Boolean));
    apiHostCache.set(raw, set);
  }
  return set;
}

/** What an edge-domain name addresses, if it is one of its two forms. */
export function parseEdgeName(host: string, domain: string): EdgeTarget | undefined {
  for (const [suffix, type] of [[`.lb.${domain}`, "lb"], [`.ingress.${domain}`, "ingress"]] as const) {
    if (!host.endsWith(suffix)) continue;
    // Service and namespace names are DNS labels; an Ingress's name may hold dots (a DNS subdomain).
    const parts = host.slice(0, -suffix.length).split(".");
    const namespace = parts.pop();
    const name = parts.join(".");
    if (!namespace || !name || parts.some((p) => !p) || (type === "lb" && parts.length !== 1)) return undefined;
    return type === "lb" ? { type, namespace, service: name } : { type, namespace, ingress: name };
  }
  return undefined;
}

/** Whether a host name lies inside the edge domain (Ingresses may not claim those). */
export const inEdgeDomain = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/**
 * The edge's target of a request, or undefined for an API request. `host` is the Host header
 * (falling back to the URL's host).
 */
export function edgeTarget(env: Pick<Env, "API_HOSTS" | "EDGE_DOMAIN">, host: string, path: string): EdgeTarget | undefined {
  const name = hostnameOf(host);
  if (!name || name === "localhost" || isIP(name as unknown)) return undefined;
  const domain = edgeDomain(env);
  if (name.endsWith(`.lb.${domain}`) || name.endsWith(`.ingress.${domain}`)) return parseEdgeName(name, domain) ?? { type: "host", host: name };
  const hosts = apiHosts(env);
  if (hosts.has(name)) return undefined;
  if (hosts.size === 0 && isApiPath(path)) return undefined;
  return { type: "host", host: name };
}
