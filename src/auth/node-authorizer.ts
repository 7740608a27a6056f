import { sql } from "drizzle-orm";
import { expectObject, readBody } from "../api/body.ts";
import { ApiError, badRequest } from "../api/errors.ts";
import type { RequestHooks } from "../api/handlers.ts";
import type { Env } from "../env.ts";
import { persistentVolumeKind } from "../resources/persistentvolume.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import { ObjectStore } from "../store/object-store.ts";
import { openDb } from "../store/revision-log.ts";
import { forbiddenFor } from "./authorizer.ts";
import { issueToken, sha256Hex, type UserInfo } from "./authn.ts";
import type { Attributes } from "./rbac.ts";

/**
 * Node join tokens and the node authorizer.
 *
 * `edgeplane token create` makes a join token `<id>.<secret>` (`[a-z0-9]{6}.[a-z0-9]{16}`,
 * kubeadm's bootstrap token shape), stored like every token (SHA-256 in the tokens table,
 * expiring) as the user `system:bootstrap:<id>` in `system:bootstrappers`. That user can do one
 * thing: POST /edgeplane/v1/nodecredentials {nodeName}, which issues a per-node token for
 * `system:node:<name>` in `system:nodes`.
 *
 * A node user is authorized here first (Kubernetes' "Node,RBAC" chain): it may list/watch pods
 * only with fieldSelector spec.nodeName=<its name>, get/delete its own pods and write their
 * status, get the ConfigMaps, Secrets and PersistentVolumeClaims its pods use (and the
 * PersistentVolumes bound to them or on this node), get/create/update its own Node (and
 * status) and its Lease in kube-node-lease, read Nodes, Services and EndpointSlices, write Events,
 * and request tokens of the service accounts its pods run as, bound to those pods. Anything else
 * falls through to RBAC, which denies unless an admin granted more.
 */

export const BOOTSTRAP_GROUP = "system:bootstrappers";
export const NODES_GROUP = "system:nodes";
export const NODE_USER_PREFIX = "system:node:";
export const JOIN_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const NODE_LEASE_NS = "kube-node-lease";
/** Default join token lifetime: 24 h (kubeadm's). */
export const DEFAULT_JOIN_TTL_SECONDS = 24 * 3600;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomChars(n: number): string {
  const out: string[] = [];
  while (out.length < n) {
    for (const b of crypto.getRandomValues(new Uint8Array(n * 2))) {
      if (b < 252 && out.length < n) out.push(ALPHABET[b % 36]); // 252 = 7*36: no modulo bias
    }
  }
  return out.join("");
}

/** The node name of a node user, or undefined. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.username.startsWith(NODE_USER_PREFIX)) return undefined;
  return user.username.slice(NODE_USER_PREFIX.length) || undefined;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export async function createJoinToken(env: Env, ttlSeconds = DEFAULT_JOIN_TTL_SECONDS, now = Date.now()): Promise<{ token: string; expiresAt: number | null }> {
  const id = randomChars(6);
  const token = `${id}.${randomChars(16)}`;
  const expiresAt = ttlSeconds ? now + ttlSeconds * 1000 : null;
  const user = `system:bootstrap:${id}`;
  await openDb(env.DB).run(
    sql`INSERT INTO tokens (hash, user, uid, groups, tenant, expires_at, revoked_at, created_at)
        VALUES (${await sha256Hex(token)}, ${user}, ${user}, ${JSON.stringify([BOOTSTRAP_GROUP])}, NULL, ${expiresAt}, NULL, ${now})`,
  );
  return { token, expiresAt };
}

const rfc3339 = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"));

/** POST /edgeplane/v1/jointokens (admin only, by RBAC on the path): {ttlSeconds?} -> a join token. */
export async function joinTokenEndpoint(env: Env, req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  const body = text ? (JSON.parse(text) as { ttlSeconds?: unknown }) : {};
  const ttl = body.ttlSeconds ?? DEFAULT_JOIN_TTL_SECONDS;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) throw badRequest("ttlSeconds must be a non-negative integer");
  const t = await createJoinToken(env, ttl);
  return { kind: "JoinToken", apiVersion: "edgeplane.dev/v1", token: t.token, expirationTimestamp: rfc3339(t.expiresAt) };
}

/** POST /edgeplane/v1/nodecredentials with a join token: {nodeName} -> the node's own bearer token. */
export async function nodeCredentialEndpoint(env: Env, req: Request, user: UserInfo): Promise<Record<string, unknown>> {
  if (!user.groups.includes(BOOTSTRAP_GROUP))
    throw new ApiError(403, "Forbidden", `user "${user.username}" cannot create node credentials: only a join token (group ${BOOTSTRAP_GROUP}) can`);
  const body = expectObject(await readBody(req));
  const name = body.nodeName;
  if (typeof name !== "string" || name.length > 253 || !NODE_NAME.test(name)) throw badRequest("nodeName must be a DNS-1123 subdomain");
  const username = `${NODE_USER_PREFIX}${name}`;
  const issued = await issueToken(env, { username, uid: username, groups: [NODES_GROUP] });
  return { kind: "NodeCredential", apiVersion: "edgeplane.dev/v1", nodeName: name, user: { username, groups: [NODES_GROUP] }, token: issued.token };
}

/** Names of the ConfigMaps and Secrets a pod uses (env, envFrom, volumes, projected sources, image pull secrets). */
export function podReferences(pod: KubeObject): { configmaps: Set<string>; secrets: Set<string>; persistentvolumeclaims: Set<string> } {
  const configmaps = new Set<string>();
  const secrets = new Set<string>();
  const persistentvolumeclaims = new Set<string>();
  const spec = (pod.spec ?? {}) as Record<string, any>;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c?.env ?? []) {
      if (e?.valueFrom?.configMapKeyRef?.name) configmaps.add(e.valueFrom.configMapKeyRef.name);
      if (e?.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const f of c?.envFrom ?? []) {
      if (f?.configMapRef?.name) configmaps.add(f.configMapRef.name);
      if (f?.secretRef?.name) secrets.add(f.secretRef.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v?.configMap?.name) configmaps.add(v.configMap.name);
    if (v?.secret?.secretName) secrets.add(v.secret.secretName);
    if (v?.persistentVolumeClaim?.claimName) persistentvolumeclaims.add(v.persistentVolumeClaim.claimName);
    for (const s of v?.projected?.sources ?? []) {
      if (s?.configMap?.name) configmaps.add(s.configMap.name);
      if (s?.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) if (s?.name) secrets.add(s.name);
  return { configmaps, secrets, persistentvolumeclaims };
}

type Decision = RequestHooks | undefined;
const allow = (hooks: RequestHooks = {}): Decision => hooks;

/** The pure part: what a node may do without looking at stored objects ("lookup": needs a check of the object). */
export function nodeRule(
  node: string,
  a: Attributes,
  fieldSelector: string | null,
): "allow" | "own-name-on-create" | "own-pod" | "own-or-gone-pod" | "own-pod-on-create" | "used-by-pod" | "own-volume" | "token-for-own-pod" | "no-opinion" {
  if (!a.resourceRequest) {
    const p = a.path ?? "";
    const discovery = p === "/api" || p.startsWith("/api/") || p === "/apis" || p.startsWith("/apis/") || p.startsWith("/openapi/") || p === "/version";
    return a.verb === "get" && discovery ? "allow" : "no-opinion";
  }
  const group = a.apiGroup ?? "";
  const res = a.resource ?? "";
  const sub = a.subresource ?? "";
  if (group === "authentication.k8s.io" && res === "selfsubjectreviews" && a.verb === "create") return "allow";
  if (group === "authorization.k8s.io" && (res === "selfsubjectaccessreviews" || res === "selfsubjectrulesreviews") && a.verb === "create") return "allow";
  if (group === "" && res === "pods") {
    if ((a.verb === "list" || a.verb === "watch") && !a.name && !sub) return fieldSelector === `spec.nodeName=${node}` ? "allow" : "no-opinion";
    if (!a.name || !a.namespace) return "no-opinion";
    if (!sub && (a.verb === "get" || a.verb === "delete")) return "own-pod";
    if (sub === "status" && ["get", "update", "patch"].includes(a.verb)) return "own-pod";
    return "no-opinion";
  }
  if (group === "" && (res === "configmaps" || res === "secrets" || res === "persistentvolumeclaims") && a.verb === "get" && a.name && a.namespace && !sub) return "used-by-pod";
  // PersistentVolumes: those of its pods' claims or on this node, and any that does not exist (it removes their directories).
  if (group === "" && res === "persistentvolumes" && a.verb === "get" && a.name && !sub) return "own-volume";
  // Tokens of the service accounts its pods run as, bound to those pods (the projected token volume).
  if (group === "" && res === "serviceaccounts" && sub === "token" && a.verb === "create" && a.name && a.namespace) return "token-for-own-pod";
  // Services: what the kubelet builds containers' service variables from (Kubernetes' system:node role reads them too);
  // Services and EndpointSlices of every namespace: what the node's service proxy and DNS are built from (read-only).
  if (group === "" && res === "services" && ["get", "list", "watch"].includes(a.verb) && !sub) return "allow";
  if (group === "discovery.k8s.io" && res === "endpointslices" && ["get", "list", "watch"].includes(a.verb) && !sub) return "allow";
  if (group === "" && res === "nodes") {
    if (a.verb === "create" && !a.name) return "own-name-on-create";
    // Every Node, read-only (Kubernetes' system:node role): other nodes' pod CIDRs and addresses, for routes.
    if (["get", "list", "watch"].includes(a.verb) && !sub) return "allow";
    if (a.name === node && (sub === "" || sub === "status") && ["get", "update", "patch"].includes(a.verb)) return "allow";
    return "no-opinion";
  }
  if (group === "coordination.k8s.io" && res === "leases" && a.namespace === NODE_LEASE_NS && !sub) {
    if (a.verb === "create" && !a.name) return "own-name-on-create";
    if (a.name === node && ["get", "update", "patch", "delete"].includes(a.verb)) return "allow";
    return "no-opinion";
  }
  // Usage reports (metrics.k8s.io): its own NodeMetrics, and PodMetrics named after its pods.
  if (group === "metrics.k8s.io" && res === "nodes" && !sub) {
    if (a.verb === "create" && !a.name) return "own-name-on-create";
    if (a.name === node && ["get", "update", "patch"].includes(a.verb)) return "allow";
    return "no-opinion";
  }
  if (group === "metrics.k8s.io" && res === "pods" && !sub && a.namespace) {
    if (a.verb === "create" && !a.name) return "own-pod-on-create";
    if (a.name && ["get", "update", "patch"].includes(a.verb)) return "own-pod";
    if (a.name && a.verb === "delete") return "own-or-gone-pod";
    return "no-opinion";
  }
  if ((group === "" || group === "events.k8s.io") && res === "events" && ["create", "update", "patch"].includes(a.verb)) return "allow";
  return "no-opinion";
}

/**
 * The node authorizer: hooks when a node user may make this request, undefined when it has no
 * opinion (then RBAC decides), and for every other user undefined. Join-token users may only
 * exchange their token: anything else is 403 here.
 */
export async function authorizeNodeRequest(env: Env, user: UserInfo, a: Attributes, url: URL): Promise<Decision> {
  if (user.groups.includes(BOOTSTRAP_GROUP)) {
    if (!a.resourceRequest && a.verb === "post" && a.path === "/edgeplane/v1/nodecredentials") return allow();
    throw forbiddenFor(user, a);
  }
  const node = nodeNameOf(user);
  if (!node) return undefined;
  const rule = nodeRule(node, a, url.searchParams.get("fieldSelector"));
  const store = new ObjectStore(env);
  switch (rule) {
    case "allow":
      return allow();
    case "own-name-on-create":
      return allow({
        admit: async (obj) => {
          if (obj.metadata.name !== node) throw forbiddenFor(user, { ...a, name: obj.metadata.name });
        },
      });
    case "own-pod": {
      const pod = await store.tryGet(podKind, a.namespace!, a.name!);
      return (pod?.spec as { nodeName?: string } | undefined)?.nodeName === node ? allow() : undefined;
    }
    case "own-or-gone-pod": {
      // Metrics of a pod that is gone may be removed by any node (its own node reported them).
      const pod = await store.tryGet(podKind, a.namespace!, a.name!);
      return !pod || (pod.spec as { nodeName?: string } | undefined)?.nodeName === node ? allow() : undefined;
    }
    case "own-pod-on-create":
      return allow({
        admit: async (obj) => {
          const pod = await store.tryGet(podKind, a.namespace!, obj.metadata.name ?? "");
          if ((pod?.spec as { nodeName?: string } | undefined)?.nodeName !== node) throw forbiddenFor(user, { ...a, name: obj.metadata.name });
        },
      });
    case "used-by-pod": {
      const pods = await store.list(podKind, a.namespace!);
      const kind = a.resource === "configmaps" ? "configmaps" : a.resource === "secrets" ? "secrets" : "persistentvolumeclaims";
      const used = pods.items.some((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === node && podReferences(p)[kind].has(a.name!));
      return used ? allow() : undefined;
    }
    case "own-volume": {
      const pv = await store.tryGet(persistentVolumeKind, "", a.name!);
      if (!pv) return allow();
      const spec = (pv.spec ?? {}) as { claimRef?: { namespace?: string; name?: string }; nodeAffinity?: unknown };
      if (JSON.stringify(spec.nodeAffinity ?? null).includes(JSON.stringify(node))) return allow();
      const ref = spec.claimRef;
      if (!ref?.namespace || !ref.name) return undefined;
      const pods = await store.list(podKind, ref.namespace);
      const used = pods.items.some((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === node && podReferences(p).persistentvolumeclaims.has(ref.name!));
      return used ? allow() : undefined;
    }
    case "token-for-own-pod":
      return allow({
        admit: async (req) => {
          const ref = (req.spec as { boundObjectRef?: { kind?: string; name?: string } } | undefined)?.boundObjectRef;
          const pod = ref?.kind === "Pod" && ref.name ? await store.tryGet(podKind, a.namespace!, ref.name) : undefined;
          if ((pod?.spec as { nodeName?: string } | undefined)?.nodeName !== node)
            throw new ApiError(403, "Forbidden", `serviceaccounts "${a.name}" is forbidden: node "${node}" may only request tokens bound to a pod scheduled to it`);
        },
      });
    default:
      return undefined;
  }
}
