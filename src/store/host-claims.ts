import { sql } from "drizzle-orm";
import { invalid } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { edgeDomain, inEdgeDomain } from "../edge/edge-host.ts";
import { ingressHosts } from "../edge/ingress-match.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import type { Db } from "./revision-log.ts";

/**
 * The hosts Ingresses claim at the edge: a host belongs to one namespace (one tenant), first
 * come first served; the Ingresses of that namespace may share it. Kept in the `allocations`
 * table as *shared* claims, one row per (host, Ingress): `host:<name>#<ingress object key>`.
 * A shared claim `X#<owner>` is held together by owners of the same resource and namespace and
 * refused to every other (revision-log.ts guards the write with the rows under `X#`), so two
 * namespaces racing for a host cannot both commit it.
 */

export const SHARED_CLAIM_SEPARATOR = "#";
export const isIngressKind = (kind: ResourceKind) => kind.group === "networking.k8s.io" && kind.kind === "Ingress";

export const hostClaimPrefix = (host: string) => `host:${host}${SHARED_CLAIM_SEPARATOR}`;
export const hostClaim = (host: string, ownerKey: string) => `${hostClaimPrefix(host)}${ownerKey}`;
/** The owners that share a claim: same resource and namespace ("networking.k8s.io/ingresses/<ns>/"). */
export const claimScope = (ownerKey: string) => ownerKey.slice(0, ownerKey.lastIndexOf("/") + 1);

/** What an Ingress holds: one shared claim per host of its rules. */
export function ingressClaims(ing: KubeObject, ownerKey: string): string[] {
  return ingressHosts(ing).map((h) => hostClaim(h, ownerKey)).sort();
}

/** The shared claims' prefixes ("host:web.example#") among these ids. */
export const sharedPrefixes = (ids: string[]) =>
  ids.filter((id) => id.includes(SHARED_CLAIM_SEPARATOR)).map((id) => id.slice(0, id.indexOf(SHARED_CLAIM_SEPARATOR) + 1));

/** The prefixes of `prefixes` held by an owner outside `scope`. */
export async function sharedHeldByOthers(db: Db, prefixes: string[], scope: string): Promise<string[]> {
  if (prefixes.length === 0) return [];
  const rows = await db.all<{ prefix: string }>(sql`
    SELECT DISTINCT j.value AS prefix FROM json_each(${JSON.stringify(prefixes)}) j
    JOIN allocations a ON a.id >= j.value AND a.id < j.value || char(65535)
    WHERE substr(a.owner, 1, ${scope.length}) != ${scope}`);
  return rows.map((r) => r.prefix);
}

/**
 * Admission of an Ingress's hosts: none inside the edge's own domain, none another namespace
 * holds (422, as an allocated address is). The commit re-checks atomically.
 */
export async function admitIngressHosts(db: Db, env: Pick<Env, "EDGE_DOMAIN">, ing: KubeObject, ownerKey: string): Promise<void> {
  const hosts = ingressHosts(ing);
  if (hosts.length === 0) return;
  const domain = edgeDomain(env);
  const rules = Array.isArray((ing.spec as { rules?: unknown[] } | undefined)?.rules) ? ((ing.spec as { rules: { host?: string }[] }).rules) : [];
  const field = (host: string) => `spec.rules[${Math.max(0, rules.findIndex((r) => r?.host?.toLowerCase() === host))}].host`;
  const subject = { kind: "Ingress", plural: "ingresses", group: "networking.k8s.io" };
  const reserved = hosts.filter((h) => inEdgeDomain(h.replace(/^\*\./, ""), domain));
  if (reserved.length)
    throw invalid(subject, ing.metadata.name ?? "", reserved.map((h) => ({ reason: "FieldValueInvalid", field: field(h), message: `Invalid value: "${h}": the edge's own domain ${domain} is reserved` })));
  const taken = await sharedHeldByOthers(db, hosts.map(hostClaimPrefix), claimScope(ownerKey));
  if (taken.length) {
    const names = taken.map((p) => p.slice("host:".length, -1));
    throw invalid(subject, ing.metadata.name ?? "", names.map((h) => ({ reason: "FieldValueInvalid", field: field(h), message: `Invalid value: "${h}": host is already claimed by an Ingress in another namespace` })));
  }
}
