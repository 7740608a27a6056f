import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, type KubectlResult } from "./cluster.ts";

function cli(args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), [join(PROJECT_ROOT, "src/cli/main.ts"), ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** ResourceQuota, LimitRange and Secrets at rest under real kubectl. */

const pod = (name: string, cpu: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: q1}
spec: {containers: [{name: c, image: busybox, resources: {requests: {cpu: "${cpu}", memory: 64Mi}}}]}
`;

/** Every file under a directory, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("quotas, limits and secrets at rest (real kubectl)", () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await startCluster();
    assert.equal((await kubectl(cluster, ["create", "namespace", "q1"])).code, 0);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("kubectl create quota, exceeded quota refused with Kubernetes' message, kubectl describe quota", async () => {
    const q = await kubectl(cluster, ["create", "quota", "compute", "--hard=pods=2,requests.cpu=1,requests.memory=1Gi", "-n", "q1"]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal((await kubectl(cluster, ["apply", "-f", "-"], { input: pod("a", "500m") })).code, 0);
    const over = await kubectl(cluster, ["apply", "-f", "-"], { input: pod("b", "600m") });
    assert.notEqual(over.code, 0);
    assert.match(
      over.stderr,
      /pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1/,
    );
    // status.used is kept by the quota controller; describe prints it.
    let out = "";
    for (let i = 0; i < 40; i++) {
      out = (await kubectl(cluster, ["describe", "quota", "compute", "-n", "q1"])).stdout;
      if (/requests\.cpu\s+500m\s+1/.test(out)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(out, /Name:\s+compute/);
    assert.match(out, /pods\s+1\s+2/);
    assert.match(out, /requests\.cpu\s+500m\s+1/);
    assert.match(out, /requests\.memory\s+64Mi\s+1Gi/);
  });

  it("edgeplane tenant create --quota puts the tenant's quota in each namespace", async () => {
    const r = await cli(["tenant", "create", "quotaco", "--namespaces", "qt-a,qt-b", "--quota", "pods=3,cpu=2", "--kubeconfig", cluster.kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    for (const ns of ["qt-a", "qt-b"]) {
      const hard = await kubectl(cluster, ["get", "quota", "edgeplane-tenant-quota", "-n", ns, "-o", "jsonpath={.spec.hard}"]);
      assert.deepEqual(JSON.parse(hard.stdout), { cpu: "2", pods: "3" });
    }
  });

  it("a LimitRange's max is enforced", async () => {
    const lr = `apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: q1}
spec: {limits: [{type: Container, max: {memory: 128Mi}}]}
`;
    assert.equal((await kubectl(cluster, ["apply", "-f", "-"], { input: lr })).code, 0);
    const big = pod("big", "100m").replace("memory: 64Mi", "memory: 64Mi}, limits: {memory: 256Mi");
    const r = await kubectl(cluster, ["apply", "-f", "-"], { input: big });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "big" is forbidden: maximum memory usage per Container is 128Mi, but limit is 256Mi/);
  });

  it("kubectl create secret: served in the clear, stored encrypted (no plaintext anywhere in the local state)", async () => {
    const plaintext = "e2e-plaintext-canary-7f3a";
    const s = await kubectl(cluster, ["create", "secret", "generic", "creds", `--from-literal=pw=${plaintext}`, "-n", "q1"]);
    assert.equal(s.code, 0, s.stderr);
    const got = await kubectl(cluster, ["get", "secret", "creds", "-n", "q1", "-o", "jsonpath={.data.pw}"]);
    assert.equal(Buffer.from(got.stdout, "base64").toString(), plaintext);
    const b64 = Buffer.from(plaintext).toString("base64");
    const stateFiles = files(join(cluster.dataDir, "state"));
    assert.ok(stateFiles.some((f) => f.endsWith(".sqlite")), "the local D1 database is under the state directory");
    for (const f of stateFiles) {
      const bytes = readFileSync(f);
      assert.equal(bytes.includes(plaintext), false, `${f} holds the secret in the clear`);
      assert.equal(bytes.includes(b64), false, `${f} holds the secret's base64`);
    }
    // Re-encryption as the README says to run it: everything is already under the current key.
    const re = await kubectl(cluster, ["create", "--raw", "/edgeplane/v1/secrets/reencrypt", "-f", "-"], { input: "{}" });
    assert.equal(re.code, 0, re.stderr);
    assert.deepEqual({ ...JSON.parse(re.stdout), keyId: "" }, { kind: "SecretReencryption", apiVersion: "edgeplane.dev/v1", keyId: "", secrets: 1, reencrypted: 0 });
  });
});
