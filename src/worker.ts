import { Hono } from "hono";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from "./api/discovery.ts";
import { ApiError, pathNotFound, toApiError, unauthorized, badRequest } from "./api/errors.ts";
import { handleResource, json } from "./api/handlers.ts";
import { serveOpenApi } from "./api/openapi.ts";
import { ensureSystemNamespaces } from "./controllers/bootstrap.ts";
import { authenticate, type UserInfo } from "./auth/authn.ts";
import type { Env } from "./env.ts";
import { currentRevision, openDb } from "./store/revision-log.ts";

export { NamespaceHub } from "./store/hub.ts";

type AppEnv = { Bindings: Env; Variables: { user: UserInfo } };

const app = new Hono<AppEnv>();

/** Health endpoints answer without credentials, as kube-apiserver's do. */
const PUBLIC_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version"]);

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

app.use("*", async (c, next) => {
  const path = new URL(c.req.url).pathname;
  if (PUBLIC_PATHS.has(path)) return next();
  if (new URL(c.req.url).protocol !== "https:") throw badRequest("this API server only accepts HTTPS");
  const user = await authenticate(c.env, c.req.header("authorization") ?? null);
  if (!user) throw unauthorized();
  c.set("user", user);
  await ensureSystemNamespaces(c.env);
  await next();
});

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

const rest = (url: string, prefixSegments: number) => new URL(url).pathname.split("/").slice(prefixSegments + 1);

app.all("/api/v1/*", (c) => handleResource(c.env, c.req.raw, "", "v1", rest(c.req.url, 2)));
app.all("/apis/:group/:version/*", (c) =>
  handleResource(c.env, c.req.raw, c.req.param("group"), c.req.param("version"), rest(c.req.url, 3)),
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
