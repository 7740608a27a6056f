import { Hono } from "hono";
import { namespaceMetrics } from "./api/prometheus.ts";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from "./api/discovery.ts";
import { ApiError, pathNotFound, toApiError, unauthorized, badRequest, forbidden } from "./api/errors.ts";
import { handleResource, json, type RequestHooks } from "./api/handlers.ts";
import { serveOpenApi } from "./api/openapi.ts";
import { ensureSystemNamespaces } from "./controllers/bootstrap.ts";
import { authenticate, type UserInfo } from "./auth/authn.ts";
import { checkRbacWrite, forbiddenFor, isSuperuser, loadPolicy } from "./auth/authorizer.ts";
import { RBAC_GROUP, requestAttributes, type Attributes } from "./auth/rbac.ts";
import { impersonate } from "./auth/impersonation.ts";
import { selfSubjectAccessReview, selfSubjectReview, selfSubjectRulesReview } from "./auth/reviews.ts";
import { createTenant, revokeTenant } from "./auth/tenants.ts";
import { jwks, openIdConfiguration } from "./auth/service-account-keys.ts";
import { checkTenantRestrictions, isRestrictedResource } from "./auth/tenant-restrictions.ts";
import { authorizeNodeRequest, joinTokenEndpoint, nodeCredentialEndpoint } from "./auth/node-authorizer.ts";
import type { Env } from "./env.ts";
import { currentRevision, openDb } from "./store/revision-log.ts";
import { connectTunnel } from "./api/streaming.ts";
import { reencryptSecrets } from "./store/secret-rotation.ts";
import { edgeTarget } from "./edge/edge-host.ts";
import { serveEdge } from "./edge/edge-proxy.ts";
import { auditable, auditEndpoint, auditEntry } from "./api/audit.ts";
import { recordAudit } from "./store/audit-log.ts";
import { admitRequest, admitWatch, releaseWhenDone } from "./auth/rate-limit.ts";

export { NamespaceHub } from "./store/hub.ts";
export { NodeTunnel } from "./tunnel/node-tunnel.ts";
export { IdentityLimiter } from "./auth/identity-limiter.ts";

type AppEnv = { Bindings: Env; Variables: { user: UserInfo; authenticated: UserInfo; attrs: Attributes; hooks: RequestHooks } };

const app = new Hono<AppEnv>();

/**
 * The edge first: a request for a host an Ingress or a LoadBalancer Service serves goes to its
 * pods (src/edge/). Decided from the Host header and path alone: API requests read nothing more.
 */
app.use("*", async (c, next) => {
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  const target = edgeTarget(c.env, host, c.req.path);
  if (!target) return next();
  return serveEdge(c.env, c.req.raw, target, host);
});

/** Health endpoints answer without credentials, as kube-apiserver's do. */
const PUBLIC_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version", "/openid/v1/jwks", "/.well-known/openid-configuration"]);

app.get("/healthz", (c) => c.text("ok"));
app.get("/livez", (c) => c.text("ok"));
app.get("/readyz", async (c) => {
  try {
    await currentRevision(openDb(c.env.DB));
    return c.text("ok");
  } catch {
    return c.text("store unreachable", 503);
  }
});
app.get("/version", (c) => c.json(SERVER_VERSION));
/** Service-account token verification keys and OIDC discovery: public, so other systems can verify the tokens. */
app.get("/openid/v1/jwks", async (c) => new Response(JSON.stringify(await jwks(c.env)), { headers: { "content-type": "application/jwk-set+json" } }));
app.get("/.well-known/openid-configuration", (c) => c.json(openIdConfiguration(c.env, new URL(c.req.url).origin)));

/**
 * A node agent's tunnel (one outbound WebSocket; logs and exec ride on it). Authenticated here,
 * before the API's middleware: only the admin or the node itself (system:node:<name>) may open it.
 */
app.get("/tunnel/nodes/:node", async (c) => {
  if (new URL(c.req.url).protocol !== "https:") throw badRequest("this API server only accepts HTTPS");
  const user = await authenticate(c.env, c.req.header("authorization") ?? null);
  if (!user) throw unauthorized();
  const node = c.req.param("node");
  if (!isSuperuser(user) && user.username !== `system:node:${node}`)
    throw forbidden(`User "${user.username}" cannot open the tunnel of node "${node}": a node may only open its own tunnel`);
  return connectTunnel(c.env, node, c.req.raw);
});

/**
 * The audit log (src/api/audit.ts says what is recorded): once the answer is known, an entry is
 * queued per isolate and written to D1 in batches after the response (waitUntil). Every answer of
 * an authenticated request carries its entry's id in `Audit-Id`, as kube-apiserver's do.
 */
app.use("*", async (c, next) => {
  const ts = Date.now();
  const requestId = crypto.randomUUID();
  await next();
  const user = c.get("user");
  const attrs = c.get("attrs");
  if (!user || !attrs) return;
  try {
    c.res.headers.set("Audit-Id", requestId);
  } catch {
    // A proxied response with immutable headers (e.g. a tunnel's) goes out without it.
  }
  if (c.env.AUDIT_LOG === "off" || !auditable(attrs, c.res.status, user)) return;
  const entry = auditEntry({ ts, requestId, user, authenticated: c.get("authenticated"), attrs, code: c.res.status, userAgent: c.req.header("user-agent") ?? null });
  recordAudit(c.env, (p) => waitUntil(c, p), entry);
});

function waitUntil(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }, p: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(p);
  } catch {
    void p; // no execution context (direct calls in tests): the timer still flushes
  }
}

app.use("*", async (c, next) => {
  const url = new URL(c.req.url);
  if (PUBLIC_PATHS.has(url.pathname)) return next();
  if (url.protocol !== "https:") throw badRequest("this API server only accepts HTTPS");
  const authenticated = await authenticate(c.env, c.req.header("authorization") ?? null);
  if (!authenticated) throw unauthorized();
  const attrs = requestAttributes(c.req.method, url);
  const user = await impersonate(c.env, authenticated, c.req.raw.headers);
  c.set("authenticated", authenticated);
  c.set("user", user);
  c.set("attrs", attrs);
  // Abuse limits count the token's holder, before anything costs a D1 read (src/auth/rate-limit.ts).
  await admitRequest(c.env, authenticated);
  await ensureSystemNamespaces(c.env);
  // Node users (and join tokens) first, as Kubernetes' Node,RBAC chain: no opinion -> RBAC.
  c.set("hooks", (await authorizeNodeRequest(c.env, user, attrs, url)) ?? (await authorizeRequest(c.env, user, attrs)));
  const release = attrs.resourceRequest && attrs.verb === "watch" ? await admitWatch(c.env, authenticated) : undefined;
  if (!release) return next();
  try {
    await next();
  } catch (e) {
    release();
    throw e;
  }
  c.res = releaseWhenDone(c.res, release);
});

/**
 * RBAC on every authenticated request (watch and subresources included). A namespace list or
 * watch the user may not make cluster-wide is answered with the namespaces it may get, as hosted
 * clusters do; writes of RBAC objects are checked for escalation once their content is known.
 */
async function authorizeRequest(env: Env, user: UserInfo, a: Attributes): Promise<RequestHooks> {
  if (isSuperuser(user)) return {};
  const policy = await loadPolicy(env, a.resourceRequest ? (a.namespace ?? "") : "");
  const hooks: RequestHooks = {};
  if (a.resourceRequest && a.apiGroup === RBAC_GROUP && ["create", "update", "patch"].includes(a.verb))
    hooks.admit = (obj) => checkRbacWrite(env, user, obj, policy);
  // externalIPs and endpoints outside the namespace's pods are the admin's (src/auth/tenant-restrictions.ts)
  if (a.resourceRequest && isRestrictedResource(a.apiGroup, a.resource) && ["create", "update", "patch"].includes(a.verb))
    hooks.admit = (obj, old) => checkTenantRestrictions(env, obj, old);
  if (policy.decide(user, a).allowed) return hooks;
  if (a.resourceRequest && (a.verb === "list" || a.verb === "watch") && a.apiGroup === "" && a.resource === "namespaces" && !a.namespace && !a.name) {
    const visible = (await loadPolicy(env, undefined)).gettableNamespaces(user);
    if (visible === "all") return hooks;
    if (visible.size > 0) return { ...hooks, listFilter: (ns) => visible.has(ns.metadata.name ?? "") };
  }
  throw forbiddenFor(user, a);
}

app.get("/api", () => json(apiVersions()));
app.get("/apis", () => json(apiGroupList()));
app.get("/api/v1", () => json(apiResourceList("", "v1")));
app.get("/apis/:group", (c) => {
  const g = apiGroup(c.req.param("group"));
  if (!g) throw pathNotFound();
  return json(g);
});
app.get("/apis/:group/:version", (c) => {
  const list = apiResourceList(c.req.param("group"), c.req.param("version"));
  if (!list) throw pathNotFound();
  return json(list);
});
app.get("/openapi/*", (c) => {
  const r = serveOpenApi(c.req.raw);
  if (!r) throw pathNotFound();
  return r;
});

app.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", async (c) => json(await selfSubjectReview(c.req.raw, c.get("user")), 201));
app.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", async (c) =>
  json(await selfSubjectAccessReview(c.env, c.req.raw, c.get("user")), 201),
);
app.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", async (c) =>
  json(await selfSubjectRulesReview(c.env, c.req.raw, c.get("user")), 201),
);

/** Tenants: admin-only (the authorizer lets only cluster-admin at these paths). */
app.post("/edgeplane/v1/tenants", async (c) => {
  const r = await createTenant(c.env, c.req.raw);
  return json(r.body, r.status);
});
app.delete("/edgeplane/v1/tenants/:name/tokens", async (c) => json(await revokeTenant(c.env, c.req.param("name"))));

/** Secrets at rest: re-encrypt every Secret under the current key (admin-only, as every /edgeplane path). */
app.post("/edgeplane/v1/secrets/reencrypt", async (c) => json(await reencryptSecrets(c.env)));

/** The audit log: admin-only (every /edgeplane path is), newest first. */
app.get("/edgeplane/v1/audit", async (c) => json(await auditEndpoint(c.env, new URL(c.req.url))));

/** Node join tokens: created by admins (RBAC on the path), exchanged by a join token for a node's own credential. */
app.post("/edgeplane/v1/jointokens", async (c) => json(await joinTokenEndpoint(c.env, c.req.raw), 201));
app.post("/edgeplane/v1/nodecredentials", async (c) => json(await nodeCredentialEndpoint(c.env, c.req.raw, c.get("user")), 201));

/** A namespace's pods in the Prometheus text format, for `get` on pods there (src/api/prometheus.ts). */
app.get("/edgeplane/v1/namespaces/:namespace/metrics", async (c) => namespaceMetrics(c.env, c.req.param("namespace")));

const rest = (url: string, prefixSegments: number) => new URL(url).pathname.split("/").slice(prefixSegments + 1);

app.all("/api/v1/*", (c) => handleResource(c.env, c.req.raw, "", "v1", rest(c.req.url, 2), c.get("hooks")));
app.all("/apis/:group/:version/*", (c) =>
  handleResource(c.env, c.req.raw, c.req.param("group"), c.req.param("version"), rest(c.req.url, 3), c.get("hooks")),
);

app.notFound(() => {
  throw pathNotFound();
});

/** The one place errors become Kubernetes Status responses. */
app.onError((err) => {
  const e: ApiError = toApiError(err);
  const headers = new Headers({ "content-type": "application/json" });
  if (e.details?.retryAfterSeconds) headers.set("Retry-After", String(e.details.retryAfterSeconds));
  return new Response(JSON.stringify(e.toStatus()), { status: e.code, headers });
});

export default app;
