import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import { kubeconfigYaml } from "../../src/cli/kubeconfig.ts";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

/**
 * Joining with a join token: `edgeplane token create` prints one, an agent exchanges it for
 * its own credential (system:node:<name>), runs its pods with it, and that credential is
 * confined by the node authorizer: other nodes' pods, secrets its pods do not use and other
 * Nodes get 403 under real kubectl.
 */

type Json = Record<string, any>;
const NODE = "joined";

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), [join(PROJECT_ROOT, "src", "cli", "main.ts"), ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function waitFor(cluster: { kubeconfig: string }, args: string[], ok: (o: Json | undefined) => boolean, what: string): Promise<Json> {
  const deadline = Date.now() + 60_000;
  let last: Json | undefined;
  for (;;) {
    const r = await kubectl(cluster as LocalCluster, ["get", ...args, "-o", "json"]);
    last = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    if (ok(last)) return last!;
    if (Date.now() > deadline) assert.fail(`${what}: not reached; last seen:\n${JSON.stringify(last?.status ?? last, null, 1)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const apply = async (cluster: LocalCluster, obj: Json) => {
  const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(obj) });
  assert.equal(r.code, 0, r.stderr);
};

describe("node agent: join tokens and the node authorizer", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  let joinToken: string;
  let dataDir: string;
  let nodeCluster: { kubeconfig: string };

  before(async () => {
    cluster = await startCluster();
    dataDir = mkdtempSync(join(tmpdir(), "edgeplane-join-"));
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("`edgeplane token create` prints a join token of the bootstrap token shape", async () => {
    const r = await cli(["token", "create", "--ttl", "1h", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    joinToken = r.stdout.trim();
    assert.match(joinToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(r.stderr, /join token expires \d{4}-\d\d-\d\dT/);
  });

  it("a join token alone can do nothing but exchange itself", async () => {
    const kc = join(dataDir, "join.kubeconfig");
    writeFileSync(kc, kubeconfigYaml({ server: cluster.url, token: joinToken, user: "join", cluster: "edgeplane" }));
    const r = await kubectl({ kubeconfig: kc } as LocalCluster, ["get", "pods", "-A"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Forbidden|forbidden/);
  });

  it("an unknown join token is refused with a clear message", async () => {
    await assert.rejects(
      startAgent({ api: { server: cluster.url, token: "abcdef.0123456789abcdef", insecure: true }, name: "nope", runtime: "hollow", dataDir, log: () => {} }),
      /join token was not accepted/,
    );
  });

  it("the agent joins with it and runs its pods with its own node credential", async () => {
    await kubectl(cluster, ["create", "secret", "generic", "used", "--from-literal=k=v"]);
    await kubectl(cluster, ["create", "secret", "generic", "unused", "--from-literal=k=v"]);
    await apply(cluster, { apiVersion: "v1", kind: "Node", metadata: { name: "other-node" } });
    agent = await startAgent({ api: { server: cluster.url, token: joinToken, insecure: true }, name: NODE, runtime: "hollow", dataDir, statusUpdateMs: 1000, log: () => {} });
    await apply(cluster, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "mine" },
      spec: { nodeName: NODE, containers: [{ name: "c", image: "busybox", env: [{ name: "S", valueFrom: { secretKeyRef: { name: "used", key: "k" } } }] }] },
    });
    await apply(cluster, { apiVersion: "v1", kind: "Pod", metadata: { name: "theirs" }, spec: { nodeName: "other-node", containers: [{ name: "c", image: "busybox" }] } });
    const p = await waitFor(cluster, ["pod", "mine"], (o) => o?.status?.phase === "Running", "mine Running");
    assert.equal(p.status.containerStatuses[0].ready, true);
    await waitFor(cluster, ["node", NODE], (n) => n?.status?.conditions?.some((c: Json) => c.type === "Ready" && c.status === "True"), "node Ready");
    await waitFor(cluster, ["lease", "-n", "kube-node-lease", NODE], (l) => l?.spec?.holderIdentity === NODE, "lease");
    const credential = readFileSync(join(dataDir, "agent", "credentials", `${NODE}.token`), "utf8").trim();
    assert.notEqual(credential, joinToken);
    const kc = join(dataDir, "node.kubeconfig");
    writeFileSync(kc, kubeconfigYaml({ server: cluster.url, token: credential, user: NODE, cluster: "edgeplane", namespace: "default" }));
    nodeCluster = { kubeconfig: kc };
    const who = await kubectl(nodeCluster as LocalCluster, ["auth", "whoami", "-o", "json"]);
    assert.equal(who.code, 0, who.stderr);
    const info = JSON.parse(who.stdout).status.userInfo;
    assert.equal(info.username, `system:node:${NODE}`);
    assert.ok(info.groups.includes("system:nodes"));
  });

  it("the node credential reads only its own pods and the secrets they use", async () => {
    const nc = nodeCluster as LocalCluster;
    const own = await kubectl(nc, ["get", "pods", "-A", "--field-selector", `spec.nodeName=${NODE}`, "-o", "name"]);
    assert.equal(own.code, 0, own.stderr);
    assert.equal(own.stdout.trim(), "pod/mine");
    assert.equal((await kubectl(nc, ["get", "pod", "mine", "-o", "name"])).stdout.trim(), "pod/mine");
    const all = await kubectl(nc, ["get", "pods", "-A"]);
    assert.match(all.stderr, /Forbidden.*cannot list resource "pods"/s);
    const other = await kubectl(nc, ["get", "pod", "theirs"]);
    assert.match(other.stderr, /pods "theirs" is forbidden: User "system:node:joined" cannot get resource "pods"/);
    const otherSelector = await kubectl(nc, ["get", "pods", "-A", "--field-selector", "spec.nodeName=other-node"]);
    assert.match(otherSelector.stderr, /Forbidden/);
    assert.equal((await kubectl(nc, ["get", "secret", "used", "-o", "name"])).stdout.trim(), "secret/used");
    const unused = await kubectl(nc, ["get", "secret", "unused"]);
    assert.match(unused.stderr, /secrets "unused" is forbidden: User "system:node:joined" cannot get resource "secrets"/);
    assert.match((await kubectl(nc, ["get", "secrets"])).stderr, /Forbidden/);
  });

  it("the node credential writes only its own Node, Lease and pods", async () => {
    const nc = nodeCluster as LocalCluster;
    assert.equal((await kubectl(nc, ["label", "node", NODE, "x=y"])).code, 0);
    assert.match((await kubectl(nc, ["label", "node", "other-node", "x=y"])).stderr, /Forbidden|forbidden/);
    assert.match((await kubectl(nc, ["delete", "pod", "theirs"])).stderr, /forbidden/);
    assert.match((await kubectl(nc, ["-n", "kube-node-lease", "delete", "lease", "other-node"])).stderr, /forbidden/);
    const fake = await kubectl(nc, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "impostor" } }) });
    assert.match(fake.stderr, /forbidden/);
    assert.match((await kubectl(nc, ["create", "namespace", "x"])).stderr, /forbidden/);
  });
});
