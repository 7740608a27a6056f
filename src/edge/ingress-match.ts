import type { KubeObject } from "../resources/types.ts";
import { isObj, type Obj } from "../resources/validation.ts";

/**
 * Which backend of a namespace's Ingresses serves a request (pure). Rules are matched by host
 * (exact names before `*.` wildcards, which match exactly one label, as Kubernetes specifies),
 * then by path: the longest matching path wins, and at equal length Exact before Prefix before
 * ImplementationSpecific. Prefix matches whole path elements ("/foo" matches "/foo" and
 * "/foo/bar", not "/foobar"; a trailing slash is ignored); ImplementationSpecific is a plain string
 * prefix here. Nothing matching: the defaultBackend of the oldest Ingress that has one.
 */

export interface ServiceBackend {
  service: string;
  /** The Service's port, by number or by name. */
  port: { number?: number; name?: string };
}

export type IngressMatch = { backend: ServiceBackend; ingress: string } | { problem: string };

const PATH_RANK: Record<string, number> = { Exact: 3, Prefix: 2, ImplementationSpecific: 1 };

/** The hosts an Ingress's rules name (lowercased, de-duplicated), in order. */
export function ingressHosts(ing: KubeObject): string[] {
  const rules = isObj(ing.spec) && Array.isArray(ing.spec.rules) ? (ing.spec.rules as unknown[]) : [];
  const out = new Set<string>();
  for (const r of rules) if (isObj(r) && typeof r.host === "string" && r.host) out.add(r.host.toLowerCase());
  return [...out];
}

/** `*.example.com` matches `a.example.com`, not `example.com` nor `a.b.example.com`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === host;
  const dot = host.indexOf(".");
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}

export function pathMatches(pathType: string, rulePath: string, path: string): boolean {
  if (pathType === "Exact") return path === rulePath;
  if (pathType === "Prefix") {
    const prefix = rulePath.replace(/\/+$/, "");
    return prefix === "" || path === prefix || path.startsWith(`${prefix}/`) || `${path}/` === `${prefix}/`;
  }
  return path.startsWith(rulePath);
}

function backendOf(b: unknown): ServiceBackend | string {
  if (!isObj(b)) return "the rule has no backend";
  if (!isObj(b.service)) return "resource backends are not served by the edge";
  const svc = b.service as Obj;
  const port = isObj(svc.port) ? svc.port : {};
  return {
    service: String(svc.name ?? ""),
    port: typeof port.name === "string" && port.name ? { name: port.name } : { number: Number(port.number) },
  };
}

const byAge = (a: KubeObject, b: KubeObject) =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

/**
 * `host` undefined: the Ingress's own name (`<ingress>.<ns>.ingress.<domain>`), which serves its
 * rules without a host.
 */
export function matchIngress(ingresses: KubeObject[], host: string | undefined, path: string): IngressMatch {
  const sorted = [...ingresses].sort(byAge);
  type Candidate = { ingress: string; pathType: string; path: string; backend: unknown; exactHost: boolean };
  const candidates: Candidate[] = [];
  for (const ing of sorted) {
    const rules = isObj(ing.spec) && Array.isArray(ing.spec.rules) ? (ing.spec.rules as unknown[]) : [];
    for (const r of rules) {
      if (!isObj(r)) continue;
      const ruleHost = typeof r.host === "string" && r.host ? r.host.toLowerCase() : undefined;
      if (host === undefined ? ruleHost !== undefined : ruleHost === undefined || !hostMatches(ruleHost, host)) continue;
      const paths = isObj(r.http) && Array.isArray(r.http.paths) ? (r.http.paths as unknown[]) : [];
      for (const p of paths)
        if (isObj(p))
          candidates.push({
            ingress: ing.metadata.name ?? "",
            pathType: String(p.pathType ?? "ImplementationSpecific"),
            path: typeof p.path === "string" ? p.path : "",
            backend: p.backend,
            exactHost: ruleHost === host,
          });
    }
  }
  const anyExact = candidates.some((c) => c.exactHost);
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (anyExact && !c.exactHost) continue;
    if (!pathMatches(c.pathType, c.path, path)) continue;
    if (!best || c.path.length > best.path.length || (c.path.length === best.path.length && (PATH_RANK[c.pathType] ?? 0) > (PATH_RANK[best.pathType] ?? 0))) best = c;
  }
  if (best) {
    const b = backendOf(best.backend);
    return typeof b === "string" ? { problem: b } : { backend: b, ingress: best.ingress };
  }
  for (const ing of sorted) {
    const d = isObj(ing.spec) ? ing.spec.defaultBackend : undefined;
    if (d === undefined) continue;
    const b = backendOf(d);
    return typeof b === "string" ? { problem: b } : { backend: b, ingress: ing.metadata.name ?? "" };
  }
  return { problem: `no rule matches path "${path}" and there is no defaultBackend` };
}
