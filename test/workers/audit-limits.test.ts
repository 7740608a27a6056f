import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import app from "../../src/worker.ts";
import { api, apiJson, BASE, createNamespace, eventually } from "./helpers.ts";

/** The audit log and the per-identity abuse limits, through the real Worker, D1 and Durable Objects. */

async function tenant(name: string, namespaces: string[]) {
  const r = await apiJson("POST", "/edgeplane/v1/tenants", { name, namespaces });
  if (r.status !== 201) throw new Error(`tenant ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { token: string; user: { username: string } };
}

const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });

/** The Worker with some settings changed (the limits), as wrangler `--var` would. */
function withVars(vars: Record<string, string>, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const req = new Request(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return Promise.resolve(app.fetch(req, { ...env, ...vars }, createExecutionContext()));
}

describe("audit log", () => {
  let audited: { token: string; user: { username: string } };
  beforeAll(async () => {
    audited = await tenant("audited", ["audited-dev"]);
  });

  it("records who did what for writes and denials, without bodies or tokens, and only admins read it", async () => {
    const secretValue = "c2VjcmV0LXZhbHVlLW5ldmVyLWxvZ2dlZA==";
    const made = await api("POST", "/api/v1/namespaces/audited-dev/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" }, data: { k: secretValue } }, { token: audited.token });
    expect(made.status).toBe(201);
    expect(made.headers.get("Audit-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const patched = await api("PATCH", "/api/v1/namespaces/audited-dev/secrets/s1", { metadata: { labels: { a: "b" } } }, { token: audited.token, contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    const denied = await api("GET", "/api/v1/namespaces/kube-system/secrets", undefined, { token: audited.token });
    expect(denied.status).toBe(403);
    // Allowed reads are not recorded.
    expect((await api("GET", "/api/v1/namespaces/audited-dev/secrets/s1", undefined, { token: audited.token })).status).toBe(200);
    const invalid = await api("POST", "/api/v1/namespaces/audited-dev/configmaps", cm("Bad_Name"), { token: audited.token });
    expect(invalid.status).toBe(422);

    const r = await apiJson("GET", "/edgeplane/v1/audit?user=tenant:audited&limit=50");
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe("AuditEventList");
    const items = r.body.items as any[];
    const summary = items.map((e) => `${e.verb} ${e.resource ?? e.path} ${e.namespace ?? ""} ${e.name ?? ""} ${e.code}`).reverse();
    expect(summary).toEqual([
      "create secrets audited-dev  201",
      "patch secrets audited-dev s1 200",
      "list secrets kube-system  403",
      "create configmaps audited-dev  422",
    ]);
    const create = items[items.length - 1];
    expect(create.user).toBe("tenant:audited");
    expect(create.groups).toEqual(["edgeplane:tenant:audited", "system:authenticated"]);
    expect(create.requestId).toBe(made.headers.get("Audit-Id"));
    expect(typeof create.userAgent === "string" || create.userAgent === undefined).toBe(true);
    expect(Date.parse(create.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    const stored = JSON.stringify((await env.DB.prepare("SELECT * FROM audit_log").all()).results);
    expect(stored).not.toContain(secretValue);
    expect(stored).not.toContain(audited.token);

    // Filters: namespace, since, limit.
    const ns = await apiJson("GET", "/edgeplane/v1/audit?namespace=kube-system&user=tenant:audited");
    expect(ns.body.items.map((e: any) => e.code)).toEqual([403]);
    expect((await apiJson("GET", "/edgeplane/v1/audit?user=tenant:audited&limit=1")).body.items).toHaveLength(1);
    expect((await apiJson("GET", "/edgeplane/v1/audit?limit=abc")).status).toBe(400);

    // Tenants cannot read it (and their attempt is itself a recorded denial).
    const tenantRead = await apiJson("GET", "/edgeplane/v1/audit", undefined, { token: audited.token });
    expect(tenantRead.status).toBe(403);
    expect(tenantRead.body.reason).toBe("Forbidden");
    const after = await apiJson("GET", "/edgeplane/v1/audit?user=tenant:audited&limit=1");
    expect(after.body.items[0]).toMatchObject({ verb: "get", path: "/edgeplane/v1/audit", code: 403 });
  });

  it("records who impersonated whom", async () => {
    await createNamespace("audit-imp");
    const worker = (exports as unknown as { default: Fetcher }).default;
    const res = await worker.fetch(`${BASE}/api/v1/namespaces/audit-imp/configmaps`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json", "impersonate-user": "jane", "user-agent": "audit-test/1.0" },
      body: JSON.stringify(cm("imp")),
    });
    expect(res.status).toBe(403);
    const r = await apiJson("GET", "/edgeplane/v1/audit?user=jane");
    expect(r.body.items[0]).toMatchObject({ user: "jane", impersonator: "edgeplane:admin", verb: "create", namespace: "audit-imp", code: 403, userAgent: "audit-test/1.0" });
  });

  it("leaves out a node's renewals of its own heartbeat lease, not its other writes nor its denials", async () => {
    const { issueToken } = await import("../../src/auth/authn.ts");
    const node = await issueToken(env, { username: "system:node:audit-n1", uid: "system:node:audit-n1", groups: ["system:nodes"] });
    const path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
    const lease = (name: string) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace("Z", "000Z") },
    });
    const created = await apiJson("POST", path, lease("audit-n1"), { token: node.token });
    expect(created.status).toBe(201);
    const renewed = await api("PUT", `${path}/audit-n1`, { ...created.body, spec: { ...created.body.spec, renewTime: new Date().toISOString().replace("Z", "000Z") } }, { token: node.token });
    expect(renewed.status).toBe(200);
    const patched = await api("PATCH", `${path}/audit-n1`, { spec: { leaseDurationSeconds: 41 } }, { token: node.token, contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect((await apiJson("POST", path, lease("audit-n2"))).status).toBe(201);
    const other = await api("PUT", `${path}/audit-n2`, lease("audit-n2"), { token: node.token });
    expect(other.status).toBe(403);
    const r = await apiJson("GET", "/edgeplane/v1/audit?user=system:node:audit-n1");
    const summary = (r.body.items as any[]).map((e) => `${e.verb} ${e.resource} ${e.name ?? ""} ${e.code}`).reverse();
    expect(summary).toEqual(["create leases  201", "update leases audit-n2 403"]);
  });

  it("purges entries older than AUDIT_TTL_SECONDS", async () => {
    await env.DB.prepare("INSERT INTO audit_log (ts, request_id, user, verb, code) VALUES (?, 'old', 'old-user', 'create', 201)").bind(Date.now() - 8 * 24 * 3600 * 1000).run();
    const { flushAudit } = await import("../../src/store/audit-log.ts");
    await flushAudit(env, Date.now() + 61_000); // a minute on: the purge is due
    expect((await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE user = 'old-user'").first<{ n: number }>())!.n).toBe(0);
  });
});

describe("abuse limits", () => {
  it("answers 429 TooManyRequests with Retry-After once an identity's bucket is empty, per identity", async () => {
    const t = await tenant("flood", ["flood-dev"]);
    const vars = { RATE_LIMIT_QPS: "1", RATE_LIMIT_BURST: "5" };
    const codes: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await withVars(vars, t.token, "GET", "/api/v1/namespaces/flood-dev/configmaps");
      codes.push(r.status);
      if (r.status === 429) limited ??= r;
      else await r.text();
    }
    expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(codes.slice(5)).toEqual([429, 429, 429]);
    expect(Number(limited!.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    const status = (await limited!.json()) as any;
    expect(status).toMatchObject({ kind: "Status", code: 429, reason: "TooManyRequests" });
    expect(status.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Writes are refused the same way, and nothing is stored.
    const w = await withVars(vars, t.token, "POST", "/api/v1/namespaces/flood-dev/configmaps", cm("x"));
    expect(w.status).toBe(429);
    expect((await apiJson("GET", "/api/v1/namespaces/flood-dev/configmaps/x")).status).toBe(404);
    // Another identity and the admin are unaffected.
    const other = await tenant("calm", ["calm-dev"]);
    expect((await withVars(vars, other.token, "GET", "/api/v1/namespaces/calm-dev/configmaps")).status).toBe(200);
    expect((await withVars(vars, "test-admin-token", "GET", "/api/v1/namespaces/flood-dev/configmaps")).status).toBe(200);
    // Tokens come back at the sustained rate.
    await eventually(async () => expect((await withVars(vars, t.token, "GET", "/api/v1/namespaces/flood-dev/configmaps")).status).toBe(200), undefined, 5000);
    // A 429 is audited (sampled).
    const audit = await apiJson("GET", "/edgeplane/v1/audit?user=tenant:flood");
    expect(audit.body.items.some((e: any) => e.code === 429)).toBe(true);
  });

  it("caps an identity's open watches with 429 and frees a slot when a watch ends", async () => {
    const t = await tenant("watcher", ["watcher-dev"]);
    const vars = { MAX_WATCHES_PER_IDENTITY: "2" };
    const path = "/api/v1/namespaces/watcher-dev/configmaps?watch=1";
    const w1 = await withVars(vars, t.token, "GET", path);
    const w2 = await withVars(vars, t.token, "GET", path);
    expect([w1.status, w2.status]).toEqual([200, 200]);
    const w3 = await withVars(vars, t.token, "GET", path);
    expect(w3.status).toBe(429);
    expect(await w3.json()).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429 });
    // A watch that ends on its own (timeoutSeconds) gives its slot back; so does one the client closes.
    await w1.body!.cancel();
    const w4 = await eventually(async () => {
      const r = await withVars(vars, t.token, "GET", path);
      if (r.status !== 200) throw new Error(`still ${r.status}`);
      return r;
    });
    await w2.body!.cancel();
    await w4.body!.cancel();
    const short = await eventually(async () => {
      const r = await withVars(vars, t.token, "GET", `${path}&timeoutSeconds=1`);
      if (r.status !== 200) throw new Error(`still ${r.status}`);
      return r;
    });
    await short.text(); // ends after 1 s
    const w5 = await eventually(async () => {
      const r = await withVars(vars, t.token, "GET", path);
      if (r.status !== 200) throw new Error(`still ${r.status}`);
      return r;
    });
    await w5.body!.cancel();
    // The admin is not counted.
    const admins = await Promise.all([1, 2, 3].map(() => withVars(vars, "test-admin-token", "GET", path)));
    expect(admins.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const r of admins) await r.body!.cancel();
  });
});
