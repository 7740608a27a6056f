import type { UserInfo } from "../auth/authn.ts";
import { NODE_USER_PREFIX, NODES_GROUP } from "../auth/node-authorizer.ts";
import type { Attributes } from "../auth/rbac.ts";
import type { Env } from "../env.ts";
import { queryAudit, type AuditEntry } from "../store/audit-log.ts";
import { badRequest } from "./errors.ts";

/**
 * What the audit log records (policy) and its admin-only read endpoint, GET /edgeplane/v1/audit.
 *
 * Recorded: every mutating request (create, update, patch, delete, deletecollection, and POST/PUT/
 * PATCH/DELETE on non-resource paths such as /edgeplane/v1/tenants), whatever its answer; every
 * request of any verb refused by authorization (403); and requests refused by the abuse limits
 * (429), sampled to one entry per identity per 10 s per isolate so a flood cannot flood the log.
 * Reads (get, list, watch) that are allowed are not recorded. Unauthenticated requests (401) are
 * not recorded (there is no identity to name, and they would let anyone fill the log).
 * Not recorded either, as Kubernetes' shipped audit policies drop them (high volume, low risk): a
 * node's successful renewal of its own heartbeat Lease in kube-node-lease, every 10 s per node.
 */

const MUTATING = new Set(["create", "update", "patch", "delete", "deletecollection", "post", "put"]);
const SAMPLE_429_MS = 10_000;
const last429 = new Map<string, number>();

export function auditable(attrs: Attributes, code: number, user: UserInfo, now = Date.now()): boolean {
  if (code === 403) return true;
  if (MUTATING.has(attrs.verb)) return !(code < 300 && isNodeHeartbeat(attrs, user));
  if (code !== 429) return false;
  if ((last429.get(user.username) ?? 0) > now - SAMPLE_429_MS) return false;
  if (last429.size > 10_000) last429.clear();
  last429.set(user.username, now);
  return true;
}

/** A node renewing its own Lease in kube-node-lease (the name a node's lease has is its node's). */
const isNodeHeartbeat = (a: Attributes, user: UserInfo) =>
  (a.verb === "update" || a.verb === "patch") &&
  a.apiGroup === "coordination.k8s.io" &&
  a.resource === "leases" &&
  !a.subresource &&
  a.namespace === "kube-node-lease" &&
  user.groups.includes(NODES_GROUP) &&
  user.username === `${NODE_USER_PREFIX}${a.name}`;

/** The entry of one answered request. */
export function auditEntry(o: {
  ts: number;
  requestId: string;
  user: UserInfo;
  authenticated: UserInfo;
  attrs: Attributes;
  code: number;
  userAgent: string | null;
}): AuditEntry {
  const { attrs: a } = o;
  return {
    ts: o.ts,
    requestId: o.requestId,
    user: o.user.username,
    groups: o.user.groups,
    ...(o.authenticated.username !== o.user.username ? { impersonator: o.authenticated.username } : {}),
    verb: a.verb,
    ...(a.resourceRequest
      ? { apiGroup: a.apiGroup, resource: a.resource, subresource: a.subresource, namespace: a.namespace, name: a.name }
      : { path: a.path }),
    code: o.code,
    userAgent: o.userAgent ?? undefined,
  };
}

const MAX_LIMIT = 1000;

function positiveInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^\d{1,10}$/.test(v) || Number(v) === 0) throw badRequest(`${name} must be a positive integer, got "${v.slice(0, 64)}"`);
  return Number(v);
}

/** GET /edgeplane/v1/audit?namespace=&user=&sinceSeconds=&limit= (newest first; limit default 100, at most 1000). */
export async function auditEndpoint(env: Env, url: URL, now = Date.now()) {
  const q = url.searchParams;
  const since = positiveInt(q, "sinceSeconds");
  const limit = Math.min(positiveInt(q, "limit") ?? 100, MAX_LIMIT);
  const items = await queryAudit(env, {
    namespace: q.get("namespace") ?? undefined,
    user: q.get("user") ?? undefined,
    since: since !== undefined ? now - since * 1000 : undefined,
    limit,
  });
  return {
    kind: "AuditEventList",
    apiVersion: "edgeplane.dev/v1",
    items: items.map((e) => ({ ...e, timestamp: new Date(e.ts).toISOString() })),
  };
}
