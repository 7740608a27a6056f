import { sql } from "drizzle-orm";
import type { Env } from "../env.ts";
import { SERVICE_NAME_LABEL } from "../controllers/endpoints.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { hostClaimPrefix } from "../store/host-claims.ts";
import { objectKey, openDb, type Db } from "../store/revision-log.ts";
import type { EdgeTarget } from "./edge-host.ts";
import type { ServiceBackend } from "./ingress-match.ts";

/**
 * The edge's routing table: what serves a host, read from D1 on a miss (two queries: the
 * Ingresses claiming the host, then their Services with their EndpointSlices and Endpoints)
 * and kept per isolate for ROUTE_TTL_MS, so a busy host costs no D1 read per request and a
 * change (scaling, readiness, a new rule) shows within that time. Unknown hosts are
 * remembered as well (null), so a flood of them costs one read per host and period.
 */

export const ROUTE_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

export interface HostRoute {
  namespace: string;
  kind: "lb" | "ingress";
  /** For "ingress": the Ingresses serving the host (one namespace's). */
  ingresses: KubeObject[];
  services: Map<string, KubeObject>;
  slices: KubeObject[];
  endpoints: KubeObject[];
  /** Round-robin position across this route's endpoints. */
  next: number;
}

const cache = new Map<string, { expires: number; route: Promise<HostRoute | null> }>();

export const targetKey = (t: EdgeTarget) => (t.type === "host" ? `host:${t.host}` : t.type === "lb" ? `lb:${t.namespace}/${t.service}` : `ingress:${t.namespace}/${t.ingress}`);

/** Reads of the routing table since this isolate started (tests and the bench look at misses). */
export const routeStats = { hits: 0, misses: 0 };

export function routeFor(env: Env, target: EdgeTarget, now = Date.now()): Promise<HostRoute | null> {
  const key = targetKey(target);
  const hit = cache.get(key);
  if (hit && hit.expires > now) {
    routeStats.hits++;
    return hit.route;
  }
  routeStats.misses++;
  if (cache.size >= MAX_ENTRIES) cache.clear();
  const route = loadRoute(openDb(env.DB), target);
  cache.set(key, { expires: now + ROUTE_TTL_MS, route });
  route.catch(() => cache.delete(key));
  return route;
}

/** Forgets every cached route (tests). */
export const clearRoutes = () => cache.clear();

async function loadRoute(db: Db, target: EdgeTarget): Promise<HostRoute | null> {
  if (target.type === "lb") {
    const route = await backendsOf(db, target.namespace, [target.service], "lb", []);
    const svc = route.services.get(target.service);
    return svc && (svc.spec as { type?: string } | undefined)?.type === "LoadBalancer" ? route : null;
  }
  let ingresses: { namespace: string; obj: KubeObject }[];
  if (target.type === "ingress") {
    const rows = await db.all<{ rev: number; value: string }>(
      sql`SELECT rev, value FROM objects WHERE key = ${objectKey("networking.k8s.io/ingresses", target.namespace, target.ingress)}`,
    );
    ingresses = rows.map((r) => ({ namespace: target.namespace, obj: materialize(r.value, r.rev) }));
  } else {
    // Exact host claims first; `*.parent` claims only when nobody claims the name itself.
    const dot = target.host.indexOf(".");
    const exact = hostClaimPrefix(target.host);
    const wildcard = dot > 0 ? hostClaimPrefix(`*${target.host.slice(dot)}`) : exact;
    const rows = await db.all<{ namespace: string; rev: number; value: string; id: string }>(sql`
      SELECT o.namespace, o.rev, o.value, a.id FROM allocations a JOIN objects o ON o.key = a.owner
      WHERE (a.id >= ${exact} AND a.id < ${exact} || char(65535)) OR (a.id >= ${wildcard} AND a.id < ${wildcard} || char(65535))`);
    const exactRows = rows.filter((r) => r.id.startsWith(exact));
    ingresses = (exactRows.length ? exactRows : rows).map((r) => ({ namespace: r.namespace, obj: materialize(r.value, r.rev) }));
  }
  if (ingresses.length === 0) return null;
  const namespace = ingresses[0].namespace;
  const objs = ingresses.filter((i) => i.namespace === namespace).map((i) => i.obj);
  return backendsOf(db, namespace, serviceNames(objs), "ingress", objs);
}

/** The Services the Ingresses' rules and default backends name. */
function serviceNames(ingresses: KubeObject[]): string[] {
  const out = new Set<string>();
  const add = (b: unknown) => {
    const name = (b as { service?: ServiceBackend & { name?: string } } | undefined)?.service?.name;
    if (typeof name === "string" && name) out.add(name);
  };
  for (const ing of ingresses) {
    const spec = (ing.spec ?? {}) as { defaultBackend?: unknown; rules?: { http?: { paths?: { backend?: unknown }[] } }[] };
    add(spec.defaultBackend);
    for (const r of Array.isArray(spec.rules) ? spec.rules : []) for (const p of r?.http?.paths ?? []) add(p?.backend);
  }
  return [...out];
}

async function backendsOf(db: Db, namespace: string, names: string[], kind: HostRoute["kind"], ingresses: KubeObject[]): Promise<HostRoute> {
  const route: HostRoute = { namespace, kind, ingresses, services: new Map(), slices: [], endpoints: [], next: 0 };
  if (names.length === 0) return route;
  const list = JSON.stringify(names);
  const rows = await db.all<{ resource: string; rev: number; value: string }>(sql`
    SELECT resource, rev, value FROM objects WHERE namespace = ${namespace} AND (
      (resource IN ('core/services', 'core/endpoints') AND name IN (SELECT value FROM json_each(${list})))
      OR (resource = 'discovery.k8s.io/endpointslices'
          AND json_extract(value, ${`$.metadata.labels."${SERVICE_NAME_LABEL}"`}) IN (SELECT value FROM json_each(${list}))))`);
  for (const r of rows) {
    const obj = materialize(r.value, r.rev);
    if (r.resource === "core/services") route.services.set(obj.metadata.name ?? "", obj);
    else if (r.resource === "core/endpoints") route.endpoints.push(obj);
    else route.slices.push(obj);
  }
  return route;
}
