import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, type KubectlResult } from "./cluster.ts";

/**
 * Tenant isolation with real kubectl: two tenants made by `edgeplane tenant create`, each
 * working in its own namespaces, every verb across the boundary denied with 403.
 */

function cli(args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), [join(PROJECT_ROOT, "src/cli/main.ts"), ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const deployment = (ns: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: busybox}]}
`;

describe("tenant isolation (two tenants, real kubectl)", () => {
  let cluster: LocalCluster;
  let acme: LocalCluster;
  let globex: LocalCluster;
  const dir = mkdtempSync(join(tmpdir(), "edgeplane-tenancy-"));

  async function makeTenant(name: string, namespaces: string): Promise<LocalCluster> {
    const r = await cli(["tenant", "create", name, "--namespaces", namespaces, "--ttl", "24h", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`tenant "${name}" owns`));
    assert.match(r.stdout, /kind: Config/);
    const file = join(dir, `${name}.kubeconfig`);
    writeFileSync(file, r.stdout, { mode: 0o600 });
    return { ...cluster, kubeconfig: file };
  }

  before(async () => {
    cluster = await startCluster();
    acme = await makeTenant("acme", "acme-dev,acme-prod");
    globex = await makeTenant("globex", "globex-dev");
    for (const [who, ns] of [[acme, "acme-dev"], [globex, "globex-dev"]] as const) {
      const r = await kubectl(who, ["create", "configmap", "plans", "--from-literal=secret=42", "-n", ns]);
      assert.equal(r.code, 0, r.stderr);
      const s = await kubectl(who, ["create", "secret", "generic", "creds", "--from-literal=pw=x", "-n", ns]);
      assert.equal(s.code, 0, s.stderr);
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  it("kubectl auth whoami names the tenant user and its groups", async () => {
    const r = await kubectl(acme, ["auth", "whoami", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout).status.userInfo;
    assert.equal(info.username, "tenant:acme");
    assert.deepEqual(info.groups, ["edgeplane:tenant:acme", "system:authenticated"]);
    const admin = await kubectl(cluster, ["auth", "whoami"]);
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stdout, /Username\s+edgeplane:admin/);
    assert.match(admin.stdout, /Groups\s+\[system:masters system:authenticated\]/);
  });

  it("kubectl auth can-i answers from RBAC", async () => {
    const yes = await kubectl(acme, ["auth", "can-i", "create", "deployments", "-n", "acme-prod"]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(yes.stdout.trim(), "yes");
    for (const args of [["get", "configmaps", "-n", "globex-dev"], ["list", "nodes"], ["create", "namespaces"], ["update", "resourcequotas", "-n", "acme-dev"]]) {
      const no = await kubectl(acme, ["auth", "can-i", ...args]);
      assert.equal(no.code, 1, `can-i ${args.join(" ")}: ${no.stdout}${no.stderr}`);
      assert.equal(no.stdout.trim(), "no");
    }
    // the admin checks a tenant's view by impersonating it
    const asAcme = ["--as", "tenant:acme", "--as-group", "edgeplane:tenant:acme"];
    const adminYes = await kubectl(cluster, ["auth", "can-i", "delete", "secrets", "-n", "acme-dev", ...asAcme]);
    assert.equal(adminYes.stdout.trim(), "yes", adminYes.stderr);
    const adminNo = await kubectl(cluster, ["auth", "can-i", "delete", "secrets", "-n", "globex-dev", ...asAcme]);
    assert.equal(adminNo.stdout.trim(), "no", adminNo.stderr);
    const asGet = await kubectl(cluster, ["get", "secrets", "-n", "globex-dev", ...asAcme]);
    assert.match(asGet.stderr, /secrets is forbidden: User "tenant:acme" cannot list resource "secrets"/);
    const tenantAs = await kubectl(acme, ["get", "secrets", "-n", "globex-dev", "--as", "tenant:globex"]);
    assert.match(tenantAs.stderr, /users "tenant:globex" is forbidden: User "tenant:acme" cannot impersonate resource "users"/);
    const resources = await kubectl(acme, ["api-resources", "--api-group=authorization.k8s.io", "-o", "name"]);
    assert.equal(resources.code, 0, resources.stderr);
    assert.deepEqual(resources.stdout.trim().split("\n"), ["selfsubjectaccessreviews.authorization.k8s.io", "selfsubjectrulesreviews.authorization.k8s.io"]);
    const list = await kubectl(globex, ["auth", "can-i", "--list", "-n", "globex-dev"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]/);
    assert.match(list.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io/);
  });

  it("kubectl get ns shows a tenant only its own namespaces", async () => {
    const r = await kubectl(acme, ["get", "ns", "-o", "name"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), ["namespace/acme-dev", "namespace/acme-prod"]);
    // a watch shows the same namespaces and nothing created elsewhere meanwhile
    const watching = kubectl(acme, ["get", "ns", "-w", "--output-watch-events"], { timeoutMs: 6000 });
    await new Promise((r) => setTimeout(r, 2500));
    const other = await kubectl(cluster, ["create", "namespace", "zz-elsewhere"]);
    assert.equal(other.code, 0, other.stderr);
    const w = await watching;
    assert.match(w.stdout, /ADDED\s+acme-dev/);
    assert.match(w.stdout, /ADDED\s+acme-prod/);
    assert.doesNotMatch(w.stdout, /zz-elsewhere|globex|default/);
    const g = await kubectl(globex, ["get", "ns"]);
    assert.match(g.stdout, /^NAME\s+STATUS\s+AGE\nglobex-dev\s+Active/);
    assert.doesNotMatch(g.stdout, /acme|default|kube-system/);
  });

  it("both tenants' own work succeeds", async () => {
    for (const [who, ns] of [[acme, "acme-prod"], [globex, "globex-dev"]] as const) {
      const apply = await kubectl(who, ["apply", "-f", "-"], { input: deployment(ns) });
      assert.equal(apply.code, 0, apply.stderr);
      assert.match(apply.stdout, /deployment.apps\/web created/);
      const scale = await kubectl(who, ["scale", "deployment/web", "--replicas=2", "-n", ns]);
      assert.equal(scale.code, 0, scale.stderr);
      const get = await kubectl(who, ["get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}"]);
      assert.equal(get.stdout, "2");
      const label = await kubectl(who, ["label", "configmap", "plans", "team=a", "-n", ns === "acme-prod" ? "acme-dev" : ns]);
      assert.equal(label.code, 0, label.stderr);
      const role = await kubectl(who, ["create", "role", "reader", "--verb=get", "--resource=configmaps", "-n", ns]);
      assert.equal(role.code, 0, role.stderr);
      const rb = await kubectl(who, ["create", "rolebinding", "reader", "--role=reader", "--user=alice", "-n", ns]);
      assert.equal(rb.code, 0, rb.stderr);
      const del = await kubectl(who, ["delete", "deployment", "web", "-n", ns]);
      assert.equal(del.code, 0, del.stderr);
    }
  });

  it("every verb on the other tenant's namespace is denied with 403", async () => {
    const forbidden = async (who: LocalCluster, user: string, args: string[], input?: string) => {
      const r = await kubectl(who, args, { input, timeoutMs: 30_000 });
      assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should fail: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`(Forbidden|is forbidden): User "${user}" cannot`), `kubectl ${args.join(" ")}: ${r.stderr}`);
    };
    for (const [who, user, ns] of [[acme, "tenant:acme", "globex-dev"], [globex, "tenant:globex", "acme-dev"]] as const) {
      for (const kind of ["configmaps", "secrets", "pods", "services", "deployments", "jobs", "roles", "rolebindings", "events", "serviceaccounts"]) {
        await forbidden(who, user, ["get", kind, "-n", ns]);
        await forbidden(who, user, ["get", kind, "-n", ns, "--watch", "--request-timeout=5s"]);
        await forbidden(who, user, ["delete", kind, "--all", "-n", ns]);
      }
      await forbidden(who, user, ["get", "configmap", "plans", "-n", ns, "-o", "yaml"]);
      await forbidden(who, user, ["get", "secret", "creds", "-n", ns, "-o", "yaml"]);
      await forbidden(who, user, ["describe", "configmap", "plans", "-n", ns]);
      await forbidden(who, user, ["create", "configmap", "x", "--from-literal=a=b", "-n", ns]);
      await forbidden(who, user, ["apply", "-f", "-"], deployment(ns));
      await forbidden(who, user, ["patch", "configmap", "plans", "-n", ns, "-p", '{"data":{"secret":"stolen"}}']);
      await forbidden(who, user, ["label", "configmap", "plans", "stolen=yes", "-n", ns]);
      await forbidden(who, user, ["replace", "-f", "-"], `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plans, namespace: ${ns}}\ndata: {secret: stolen}\n`);
      await forbidden(who, user, ["delete", "configmap", "plans", "-n", ns]);
      await forbidden(who, user, ["delete", "namespace", ns]);
      await forbidden(who, user, ["get", "namespace", ns]);
      await forbidden(who, user, ["logs", "nope", "-n", ns]);
      await forbidden(who, user, ["create", "rolebinding", "steal", "--clusterrole=admin", `--user=${user}`, "-n", ns]);
    }
    // the victims' objects are untouched
    const cm = await kubectl(globex, ["get", "configmap", "plans", "-n", "globex-dev", "-o", "jsonpath={.data.secret}"]);
    assert.equal(cm.stdout, "42");
  });

  it("cluster-scoped access, namespace creation and RBAC escalation are denied", async () => {
    const denied = async (args: string[], message: RegExp) => {
      const r = await kubectl(acme, args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should fail`);
      assert.match(r.stderr, message);
    };
    await denied(["get", "nodes"], /nodes is forbidden: User "tenant:acme" cannot list resource "nodes" in API group "" at the cluster scope/);
    await denied(["create", "namespace", "acme-extra"], /namespaces is forbidden: User "tenant:acme" cannot create resource "namespaces" in API group "" at the cluster scope/);
    await denied(["get", "clusterroles"], /cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope/);
    await denied(["get", "pods", "-A"], /cannot list resource "pods" in API group "" at the cluster scope/);
    await denied(["create", "rolebinding", "god", "--clusterrole=cluster-admin", "--user=tenant:acme", "-n", "acme-dev"], /is attempting to grant RBAC permissions not currently held/);
    await denied(["create", "role", "nodes", "--verb=get", "--resource=nodes", "-n", "acme-dev"], /is attempting to grant RBAC permissions not currently held/);
  });

  it("edgeplane audit shows the operator who did what; tenants cannot read the log", async () => {
    const r = await cli(["audit", "--namespace", "acme-dev", "--user", "tenant:acme", "--since", "10m", "--limit", "500", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^TIME\s+USER\s+VERB\s+RESOURCE\s+NAMESPACE\s+NAME\s+CODE$/);
    // kubectl create configmap plans / secret creds by acme in before(), newest last in time.
    assert.ok(lines.some((l) => /tenant:acme\s+create\s+configmaps\s+acme-dev\s+201$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /tenant:acme\s+create\s+secrets\s+acme-dev\s+201$/.test(l)), r.stdout);
    assert.ok(lines.slice(1).every((l) => / tenant:acme /.test(l) && / acme-dev /.test(l)), r.stdout);
    // globex's denied attempts in acme-dev are there too, as 403s.
    const denied = await cli(["audit", "--namespace", "acme-dev", "--user", "tenant:globex", "-o", "json", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(denied.code, 0, denied.stderr);
    const items = JSON.parse(denied.stdout) as { verb: string; code: number; resource?: string }[];
    assert.ok(items.length > 0 && items.every((e) => e.code === 403), denied.stdout);
    assert.ok(items.some((e) => e.verb === "delete" && e.resource === "namespaces") || items.some((e) => e.verb === "patch"), denied.stdout);
    // The log holds no secret values.
    assert.doesNotMatch(denied.stdout + r.stdout, /stolen|"pw"/);
    const tenant = await kubectl(acme, ["get", "--raw", "/edgeplane/v1/audit"]);
    assert.notEqual(tenant.code, 0);
    assert.match(tenant.stderr, /forbidden: User "tenant:acme" cannot get path "\/edgeplane\/v1\/audit"/);
  });

  it("a revoked tenant token stops working", async () => {
    const r = await cli(["tenant", "revoke", "globex", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked 1 token\(s\) of tenant "globex"/);
    const after = await kubectl(globex, ["get", "configmaps", "-n", "globex-dev"]);
    assert.notEqual(after.code, 0);
    assert.match(after.stderr, /Unauthorized|must be logged in/);
  });
});
