import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../src/auth/authn.ts";
import { ADMIN_TOKEN, api, apiJson, BASE, readEvents } from "./helpers.ts";

/** Identity, RBAC and tenant isolation through the real Worker, D1 and Durable Objects. */

const RBAC = "rbac.authorization.k8s.io";
let acme: { token: string; uid: string };
let globex: { token: string; uid: string };

async function tenant(name: string, namespaces: string[], ttlSeconds?: number) {
  const r = await apiJson("POST", "/edgeplane/v1/tenants", { name, namespaces, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) });
  if (r.status !== 201) throw new Error(`tenant ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return { token: r.body.token as string, uid: r.body.user.uid as string, body: r.body };
}

const as = (who: { token: string }, method: string, path: string, body?: unknown, contentType?: string) =>
  apiJson(method, path, body, { token: who.token, contentType });

const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: "v" } });

beforeAll(async () => {
  acme = await tenant("acme", ["acme-dev", "acme-prod"]);
  globex = await tenant("globex", ["globex-dev"]);
  expect((await as(globex, "POST", "/api/v1/namespaces/globex-dev/configmaps", cm("secret-plans"))).status).toBe(201);
});

describe("identity", () => {
  it("answers SelfSubjectReview (kubectl auth whoami) for the admin and a tenant", async () => {
    const review = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };
    const admin = await apiJson("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review);
    expect(admin.status).toBe(201);
    expect(admin.body.status.userInfo).toEqual({ username: "edgeplane:admin", uid: "edgeplane:admin", groups: ["system:masters", "system:authenticated"] });
    const t = await as(acme, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review);
    expect(t.status).toBe(201);
    expect(t.body.status.userInfo).toEqual({ username: "tenant:acme", uid: acme.uid, groups: ["edgeplane:tenant:acme", "system:authenticated"] });
  });

  it("stores only the SHA-256 of tokens, refuses expired ones and revoked ones", async () => {
    const rows = await env.DB.prepare("SELECT hash, user, tenant, expires_at FROM tokens WHERE tenant = 'acme'").all<{ hash: string; user: string; expires_at: number }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows.results[0].hash).not.toContain(acme.token);
    expect(rows.results[0].expires_at).toBeGreaterThan(Date.now() + 89 * 24 * 3600 * 1000);

    const expired = await issueToken(env, { username: "old", uid: "old", groups: [], ttlSeconds: 1 }, Date.now() - 5000);
    expect((await apiJson("GET", "/api", undefined, { token: expired.token })).status).toBe(401);

    const temp = await tenant("temp", ["temp-dev"]);
    expect((await as(temp, "GET", "/api/v1/namespaces/temp-dev/configmaps")).status).toBe(200);
    const revoked = await apiJson("DELETE", "/edgeplane/v1/tenants/temp/tokens");
    expect(revoked.body).toMatchObject({ name: "temp", revoked: 1 });
    const after = await as(temp, "GET", "/api/v1/namespaces/temp-dev/configmaps");
    expect(after.status).toBe(401);
    expect(after.body.reason).toBe("Unauthorized");
  });

  it("keeps tenant administration to the cluster admin", async () => {
    const r = await as(acme, "POST", "/edgeplane/v1/tenants", { name: "evil", namespaces: ["globex-dev"] });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('forbidden: User "tenant:acme" cannot post path "/edgeplane/v1/tenants"');
    const taken = await apiJson("POST", "/edgeplane/v1/tenants", { name: "evil", namespaces: ["globex-dev"] });
    expect(taken.status).toBe(409);
    expect(taken.body.message).toBe('namespace "globex-dev" already exists and belongs to tenant "globex"');
    const sys = await apiJson("POST", "/edgeplane/v1/tenants", { name: "evil", namespaces: ["kube-system"] });
    expect(sys.status).toBe(422);
  });
});

describe("authorization", () => {
  it("lets a tenant work in its own namespaces", async () => {
    expect((await as(acme, "POST", "/api/v1/namespaces/acme-dev/configmaps", cm("app"))).status).toBe(201);
    const list = await as(acme, "GET", "/api/v1/namespaces/acme-dev/configmaps");
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: any) => i.metadata.name)).toEqual(["app"]);
    expect((await as(acme, "PATCH", "/api/v1/namespaces/acme-dev/configmaps/app", { data: { k: "w" } }, "application/merge-patch+json")).status).toBe(200);
    expect((await as(acme, "GET", "/api/v1/namespaces/acme-prod/pods")).status).toBe(200);
    expect((await as(acme, "GET", "/apis/apps/v1/namespaces/acme-prod/deployments")).status).toBe(200);
    expect((await as(acme, "DELETE", "/api/v1/namespaces/acme-dev/configmaps/app")).status).toBe(200);
    expect((await as(acme, "GET", "/api")).status).toBe(200);
    expect((await as(acme, "GET", "/apis/apps/v1")).status).toBe(200);
  });

  it("denies every verb in another tenant's namespace with Kubernetes' 403 message", async () => {
    const user = 'User "tenant:acme"';
    const where = 'in API group "" in the namespace "globex-dev"';
    const cases: [string, string, unknown, string][] = [
      ["GET", "/api/v1/namespaces/globex-dev/configmaps/secret-plans", undefined, `configmaps "secret-plans" is forbidden: ${user} cannot get resource "configmaps" ${where}`],
      ["GET", "/api/v1/namespaces/globex-dev/configmaps", undefined, `configmaps is forbidden: ${user} cannot list resource "configmaps" ${where}`],
      ["GET", "/api/v1/namespaces/globex-dev/configmaps?watch=true", undefined, `configmaps is forbidden: ${user} cannot watch resource "configmaps" ${where}`],
      ["POST", "/api/v1/namespaces/globex-dev/configmaps", cm("x"), `configmaps is forbidden: ${user} cannot create resource "configmaps" ${where}`],
      ["PUT", "/api/v1/namespaces/globex-dev/configmaps/secret-plans", cm("secret-plans"), `configmaps "secret-plans" is forbidden: ${user} cannot update resource "configmaps" ${where}`],
      ["DELETE", "/api/v1/namespaces/globex-dev/configmaps/secret-plans", undefined, `configmaps "secret-plans" is forbidden: ${user} cannot delete resource "configmaps" ${where}`],
      ["DELETE", "/api/v1/namespaces/globex-dev/configmaps", undefined, `configmaps is forbidden: ${user} cannot deletecollection resource "configmaps" ${where}`],
      ["GET", "/api/v1/namespaces/globex-dev/pods/p/log", undefined, `pods "p" is forbidden: ${user} cannot get resource "pods/log" ${where}`],
      ["GET", "/api/v1/namespaces/globex-dev", undefined, `namespaces "globex-dev" is forbidden: ${user} cannot get resource "namespaces" ${where}`],
      ["DELETE", "/api/v1/namespaces/globex-dev", undefined, `namespaces "globex-dev" is forbidden: ${user} cannot delete resource "namespaces" ${where}`],
      ["GET", "/apis/apps/v1/namespaces/globex-dev/deployments", undefined, `deployments.apps is forbidden: ${user} cannot list resource "deployments" in API group "apps" in the namespace "globex-dev"`],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await as(acme, method, path, body);
      expect({ method, path, status: r.status, message: r.body.message, reason: r.body.reason }).toEqual({ method, path, status: 403, message, reason: "Forbidden" });
    }
    const patch = await as(acme, "PATCH", "/api/v1/namespaces/globex-dev/configmaps/secret-plans", { data: { k: "stolen" } }, "application/merge-patch+json");
    expect(patch.status).toBe(403);
    expect(patch.body.details).toEqual({ name: "secret-plans", group: "", kind: "configmaps" });
    // and nothing changed
    const still = await as(globex, "GET", "/api/v1/namespaces/globex-dev/configmaps/secret-plans");
    expect(still.body.data).toEqual({ k: "v" });
  });

  it("denies cluster-scoped reads and namespace creation unless granted; nodes can be granted read-only", async () => {
    const nodes = await as(acme, "GET", "/api/v1/nodes");
    expect(nodes.status).toBe(403);
    expect(nodes.body.message).toBe('nodes is forbidden: User "tenant:acme" cannot list resource "nodes" in API group "" at the cluster scope');
    const ns = await as(acme, "POST", "/api/v1/namespaces", { metadata: { name: "acme-new" } });
    expect(ns.status).toBe(403);
    expect(ns.body.message).toBe('namespaces is forbidden: User "tenant:acme" cannot create resource "namespaces" in API group "" at the cluster scope');
    expect((await as(acme, "GET", `/apis/${RBAC}/v1/clusterroles`)).status).toBe(403);

    const reader = { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: { name: "node-reader" }, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] }] };
    expect((await apiJson("POST", `/apis/${RBAC}/v1/clusterroles`, reader)).status).toBe(201);
    const crb = {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "acme-node-reader" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "node-reader" },
      subjects: [{ kind: "Group", name: "edgeplane:tenant:acme" }],
    };
    const created = await apiJson("POST", `/apis/${RBAC}/v1/clusterrolebindings`, crb);
    expect(created.status).toBe(201);
    expect(created.body.subjects[0].apiGroup).toBe(RBAC);
    expect((await as(acme, "GET", "/api/v1/nodes")).status).toBe(200);
    const del = await as(acme, "DELETE", "/api/v1/nodes/n1");
    expect(del.status).toBe(403);
    expect(del.body.message).toBe('nodes "n1" is forbidden: User "tenant:acme" cannot delete resource "nodes" in API group "" at the cluster scope');
    expect((await as(globex, "GET", "/api/v1/nodes")).status).toBe(403);
    expect((await apiJson("DELETE", `/apis/${RBAC}/v1/clusterrolebindings/acme-node-reader`)).status).toBe(200);
    expect((await as(acme, "GET", "/api/v1/nodes")).status).toBe(403);
  });

  it("lists and watches only the namespaces a tenant may get", async () => {
    const mine = await as(acme, "GET", "/api/v1/namespaces");
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((n: any) => n.metadata.name)).toEqual(["acme-dev", "acme-prod"]);
    expect(mine.body.items[0].metadata.labels["edgeplane.dev/tenant"]).toBe("acme");
    const table = await apiJson("GET", "/api/v1/namespaces", undefined, { token: globex.token, accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.body.rows.map((r: any) => r.cells[0])).toEqual(["globex-dev"]);
    const all = await apiJson("GET", "/api/v1/namespaces");
    const names = all.body.items.map((n: any) => n.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["acme-dev", "acme-prod", "globex-dev", "default", "kube-system"]));
    const watch = await api("GET", "/api/v1/namespaces?watch=true&resourceVersion=0&timeoutSeconds=2", undefined, { token: acme.token });
    expect(watch.status).toBe(200);
    const events = await readEvents(watch, 10, 1500);
    expect(events.map((e) => e.object.metadata.name).sort()).toEqual(["acme-dev", "acme-prod"]);
    const nobody = await issueToken(env, { username: "nobody", uid: "nobody", groups: [] });
    const denied = await apiJson("GET", "/api/v1/namespaces?watch=true", undefined, { token: nobody.token });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe('namespaces is forbidden: User "nobody" cannot watch resource "namespaces" in API group "" at the cluster scope');
    expect((await as(acme, "GET", "/api/v1/namespaces/acme-prod")).status).toBe(200);
  });

  it("watches only where allowed", async () => {
    const res = await api("GET", "/api/v1/namespaces/acme-dev/configmaps?watch=true&timeoutSeconds=1", undefined, { token: acme.token });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    const all = await apiJson("GET", "/api/v1/configmaps?watch=true", undefined, { token: acme.token });
    expect(all.status).toBe(403);
    expect(all.body.message).toBe('configmaps is forbidden: User "tenant:acme" cannot watch resource "configmaps" in API group "" at the cluster scope');
  });
});

describe("RBAC objects", () => {
  const role = (name: string, rules: unknown[]) => ({ apiVersion: `${RBAC}/v1`, kind: "Role", metadata: { name }, rules });
  const rb = (name: string, kind: string, roleName: string) => ({
    apiVersion: `${RBAC}/v1`,
    kind: "RoleBinding",
    metadata: { name },
    roleRef: { apiGroup: RBAC, kind, name: roleName },
    subjects: [{ kind: "User", name: "alice" }],
  });

  it("prevents escalation: roles and bindings may only grant what the writer holds", async () => {
    const ok = await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/roles`, role("cm-reader", [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }]));
    expect(ok.status).toBe(201);
    const bad = await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/roles`, role("node-admin", [{ apiGroups: [""], resources: ["nodes", "configmaps"], verbs: ["get"] }]));
    expect(bad.status).toBe(403);
    expect(bad.body.message).toBe(
      'roles.rbac.authorization.k8s.io "node-admin" is forbidden: user "tenant:acme" (groups=["edgeplane:tenant:acme" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}',
    );
    const quota = await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/roles`, role("quota", [{ apiGroups: [""], resources: ["resourcequotas"], verbs: ["update"] }]));
    expect(quota.status).toBe(403);
    // escalation through a patch of an existing role is refused too
    const patched = await as(acme, "PATCH", `/apis/${RBAC}/v1/namespaces/acme-dev/roles/cm-reader`, { rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] }, "application/merge-patch+json");
    expect(patched.status).toBe(403);

    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings`, rb("alice-view", "ClusterRole", "view"))).status).toBe(201);
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings`, rb("alice-reader", "Role", "cm-reader"))).status).toBe(201);
    const god = await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings`, rb("alice-god", "ClusterRole", "cluster-admin"));
    expect(god.status).toBe(403);
    expect(god.body.message).toContain('rolebindings.rbac.authorization.k8s.io "alice-god" is forbidden: user "tenant:acme"');
    expect(god.body.message).toContain("is attempting to grant RBAC permissions not currently held:\n");
    // a tenant's own admin rights do not reach another tenant's namespace
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/globex-dev/rolebindings`, rb("x", "ClusterRole", "view"))).status).toBe(403);
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/clusterrolebindings`, { ...rb("x", "ClusterRole", "view"), kind: "ClusterRoleBinding" })).status).toBe(403);
  });

  it("lets `bind` and `escalate` grant past the writer's own permissions", async () => {
    const binder = {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: { name: "bind-cluster-admin" },
      rules: [
        { apiGroups: [RBAC], resources: ["clusterroles"], verbs: ["bind"], resourceNames: ["cluster-admin"] },
        { apiGroups: [RBAC], resources: ["roles"], verbs: ["escalate"] },
      ],
    };
    expect((await apiJson("POST", `/apis/${RBAC}/v1/clusterroles`, binder)).status).toBe(201);
    const grant = { ...rb("acme-binder", "ClusterRole", "bind-cluster-admin"), subjects: [{ kind: "Group", name: "edgeplane:tenant:acme" }] };
    expect((await apiJson("POST", `/apis/${RBAC}/v1/namespaces/acme-prod/rolebindings`, grant)).status).toBe(201);
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-prod/rolebindings`, rb("alice-god", "ClusterRole", "cluster-admin"))).status).toBe(201);
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-prod/roles`, role("nodes", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }]))).status).toBe(201);
    // only in the namespace of the grant
    expect((await as(acme, "POST", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings`, rb("alice-god", "ClusterRole", "cluster-admin"))).status).toBe(403);
  });

  it("refuses aggregated ClusterRoles to writers without full authority", async () => {
    const maker = { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: { name: "role-maker" }, rules: [{ apiGroups: [RBAC], resources: ["clusterroles"], verbs: ["create"] }, { apiGroups: [""], resources: ["pods"], verbs: ["get"] }] };
    expect((await apiJson("POST", `/apis/${RBAC}/v1/clusterroles`, maker)).status).toBe(201);
    const crb = { apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", metadata: { name: "globex-role-maker" }, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "role-maker" }, subjects: [{ kind: "Group", name: "edgeplane:tenant:globex" }] };
    expect((await apiJson("POST", `/apis/${RBAC}/v1/clusterrolebindings`, crb)).status).toBe(201);
    const plain = { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: { name: "pod-getter" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] };
    expect((await as(globex, "POST", `/apis/${RBAC}/v1/clusterroles`, plain)).status).toBe(201);
    const aggregated = { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: { name: "gather" }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] }, rules: [] };
    const r = await as(globex, "POST", `/apis/${RBAC}/v1/clusterroles`, aggregated);
    expect(r.status).toBe(403);
    expect(r.body.message).toContain("is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}");
    expect((await apiJson("DELETE", `/apis/${RBAC}/v1/clusterrolebindings/globex-role-maker`)).status).toBe(200);
  });

  it("answers a malformed path with 400 before authorizing it", async () => {
    const r = await as(acme, "GET", "/api/v1/namespaces/%zz/pods");
    expect(r.status).toBe(400);
    expect(r.body.reason).toBe("BadRequest");
  });

  it("validates rules and subjects, and keeps roleRef immutable", async () => {
    const noVerbs = await apiJson("POST", `/apis/${RBAC}/v1/namespaces/acme-dev/roles`, role("bad", [{ apiGroups: [""], resources: ["pods"], verbs: [] }]));
    expect(noVerbs.status).toBe(422);
    expect(noVerbs.body.details.causes[0]).toMatchObject({ field: "rules[0].verbs", reason: "FieldValueRequired" });
    const urls = await apiJson("POST", `/apis/${RBAC}/v1/namespaces/acme-dev/roles`, role("bad", [{ nonResourceURLs: ["/x"], verbs: ["get"] }]));
    expect(urls.status).toBe(422);
    expect(urls.body.details.causes[0].field).toBe("rules[0].nonResourceURLs");
    const reserved = await apiJson("POST", `/apis/${RBAC}/v1/clusterroles`, { metadata: { name: "admin" }, rules: [] });
    expect(reserved.status).toBe(422);
    const crbRole = await apiJson("POST", `/apis/${RBAC}/v1/clusterrolebindings`, { metadata: { name: "x" }, roleRef: { apiGroup: RBAC, kind: "Role", name: "r" } });
    expect(crbRole.status).toBe(422);
    expect(crbRole.body.details.causes[0].field).toBe("roleRef.kind");

    const current = await apiJson("GET", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings/alice-view`);
    const changed = await apiJson("PUT", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings/alice-view`, { ...current.body, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "edit" } });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain("roleRef: Invalid value");
    expect(changed.body.message).toContain("cannot change roleRef");
    const subjects = await apiJson("PUT", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings/alice-view`, { ...current.body, subjects: [{ kind: "User", name: "bob" }] });
    expect(subjects.status).toBe(200);
  });

  it("serves the RBAC kinds as tables and in discovery", async () => {
    const d = await apiJson("GET", `/apis/${RBAC}/v1`);
    expect(d.body.resources.map((r: any) => r.name)).toEqual(["roles", "clusterroles", "rolebindings", "clusterrolebindings"]);
    const t = await apiJson("GET", `/apis/${RBAC}/v1/namespaces/acme-dev/rolebindings`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    const row = t.body.rows.find((r: any) => r.cells[0] === "edgeplane-tenant-admin");
    expect(row.cells[1]).toBe("ClusterRole/admin");
  });
});

describe("access reviews", () => {
  const ssar = (attrs: Record<string, string>) => ({ apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { resourceAttributes: attrs } });

  it("answers SelfSubjectAccessReview (kubectl auth can-i)", async () => {
    const yes = await as(acme, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar({ namespace: "acme-dev", verb: "create", resource: "deployments", group: "apps" }));
    expect(yes.status).toBe(201);
    expect(yes.body.status).toEqual({ allowed: true, reason: 'RBAC: allowed by RoleBinding "edgeplane-tenant-admin/acme-dev" of ClusterRole "admin"' });
    const no = await as(acme, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar({ namespace: "globex-dev", verb: "get", resource: "secrets" }));
    expect(no.body.status).toEqual({ allowed: false });
    const quota = await as(acme, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar({ namespace: "acme-dev", verb: "update", resource: "resourcequotas" }));
    expect(quota.body.status.allowed).toBe(false);
    const admin = await apiJson("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar({ verb: "delete", resource: "nodes" }));
    expect(admin.body.status.allowed).toBe(true);
    const path = await as(acme, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { nonResourceAttributes: { path: "/version", verb: "get" } },
    });
    expect(path.body.status.allowed).toBe(true);
  });

  it("lists the review resources in discovery", async () => {
    const groups = await as(acme, "GET", "/apis");
    expect(groups.body.groups.map((g: any) => g.name)).toEqual(expect.arrayContaining([RBAC, "authentication.k8s.io", "authorization.k8s.io"]));
    const authz = await as(acme, "GET", "/apis/authorization.k8s.io/v1");
    expect(authz.body.resources.map((r: any) => [r.name, r.kind, r.verbs])).toEqual([
      ["selfsubjectaccessreviews", "SelfSubjectAccessReview", ["create"]],
      ["selfsubjectrulesreviews", "SelfSubjectRulesReview", ["create"]],
    ]);
    expect((await as(acme, "GET", "/apis/authentication.k8s.io")).body.preferredVersion.version).toBe("v1");
  });

  it("answers SelfSubjectRulesReview (kubectl auth can-i --list)", async () => {
    const r = await as(globex, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      spec: { namespace: "globex-dev" },
    });
    expect(r.status).toBe(201);
    expect(r.body.status.incomplete).toBe(false);
    expect(r.body.status.resourceRules).toContainEqual({ verbs: ["create", "delete", "deletecollection", "patch", "update"], apiGroups: ["apps"], resources: expect.arrayContaining(["deployments"]) });
    const other = await as(globex, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectRulesReview",
      spec: { namespace: "acme-dev" },
    });
    expect(other.body.status.resourceRules.some((x: any) => x.resources.includes("deployments"))).toBe(false);
  });
});

describe("impersonation", () => {
  async function asImpersonating(token: string, path: string, headers: [string, string][], method = "GET", body?: unknown) {
    const h = new Headers({ authorization: `Bearer ${token}`, accept: "application/json" });
    for (const [k, v] of headers) h.append(k, v);
    if (body !== undefined) h.set("content-type", "application/json");
    const res = await (exports as unknown as { default: Fetcher }).default.fetch(`${BASE}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  }
  const whoami = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };

  it("lets the admin act as a tenant (kubectl --as), with the tenant's permissions", async () => {
    const as = [["Impersonate-User", "tenant:acme"], ["Impersonate-Group", "edgeplane:tenant:acme"]] as [string, string][];
    const me = await asImpersonating(ADMIN_TOKEN, "/apis/authentication.k8s.io/v1/selfsubjectreviews", as, "POST", whoami);
    expect(me.body.status.userInfo).toEqual({ username: "tenant:acme", uid: "", groups: ["edgeplane:tenant:acme", "system:authenticated"] });
    expect((await asImpersonating(ADMIN_TOKEN, "/api/v1/namespaces/acme-dev/configmaps", as)).status).toBe(200);
    const denied = await asImpersonating(ADMIN_TOKEN, "/api/v1/namespaces/globex-dev/configmaps", as);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe('configmaps is forbidden: User "tenant:acme" cannot list resource "configmaps" in API group "" in the namespace "globex-dev"');
  });

  it("refuses impersonation without the impersonate verb, and malformed impersonation", async () => {
    const r = await asImpersonating(acme.token, "/api/v1/namespaces/globex-dev/configmaps", [["Impersonate-User", "tenant:globex"]]);
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('users "tenant:globex" is forbidden: User "tenant:acme" cannot impersonate resource "users" in API group "" at the cluster scope');
    const masters = await asImpersonating(acme.token, "/api/v1/nodes", [["Impersonate-User", "tenant:acme"], ["Impersonate-Group", "system:masters"]]);
    expect(masters.status).toBe(403);
    const groupOnly = await asImpersonating(ADMIN_TOKEN, "/api/v1/nodes", [["Impersonate-Group", "system:masters"]]);
    expect(groupOnly.status).toBe(400);
  });
});
