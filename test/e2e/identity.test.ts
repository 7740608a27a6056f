import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningAgent } from "../../src/agent/agent.ts";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, ok, startCluster, waitForObject, waitForOutput, startTestAgent } from "./cluster.ts";

/**
 * Workload identity with real kubectl: `kubectl create token`, using the token with `--token`
 * (`auth whoami` shows the service account, RBAC applies), and a pod on a podman node (joined
 * with a join token, so the node credential requests the pod's token) whose container reads
 * the projected token and namespace files at /var/run/secrets/kubernetes.io/serviceaccount.
 */

type Json = Record<string, any>;
const NODE = "e2e-identity";

function sh(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 300_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

const decodePayload = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8")) as Json;

describe("service-account identity (kubectl)", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent | undefined;

  before(async () => {
    cluster = await startCluster();
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("kubectl create token; the token authenticates as the service account and RBAC applies", async () => {
    ok(await kubectl(cluster, ["create", "serviceaccount", "builder"]));
    const token = ok(await kubectl(cluster, ["create", "token", "builder", "--duration=20m"])).trim();
    const claims = decodePayload(token);
    assert.equal(claims.sub, "system:serviceaccount:default:builder");
    assert.equal(claims.exp - claims.iat, 1200);
    const whoami = JSON.parse(ok(await kubectl(cluster, ["--token", token, "auth", "whoami", "-o", "json"])));
    assert.equal(whoami.status.userInfo.username, "system:serviceaccount:default:builder");
    assert.deepEqual(whoami.status.userInfo.groups, ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]);
    const denied = await kubectl(cluster, ["--token", token, "get", "pods"]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /pods is forbidden: User "system:serviceaccount:default:builder" cannot list resource "pods" in API group "" in the namespace "default"/);
    ok(await kubectl(cluster, ["create", "rolebinding", "builder-view", "--clusterrole=view", "--serviceaccount=default:builder"]));
    ok(await kubectl(cluster, ["--token", token, "get", "pods"]));
    // deleting and recreating the service account revokes the token
    ok(await kubectl(cluster, ["delete", "serviceaccount", "builder"]));
    ok(await kubectl(cluster, ["create", "serviceaccount", "builder"]));
    const revoked = await kubectl(cluster, ["--token", token, "get", "pods"]);
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /Unauthorized|provide credentials/);
  });

  it("Pod Security admission: kubectl shows the forbidden message (enforce) and the warning (warn)", async () => {
    ok(await kubectl(cluster, ["create", "namespace", "psa"]));
    ok(await kubectl(cluster, ["label", "namespace", "psa", "pod-security.kubernetes.io/enforce=baseline", "pod-security.kubernetes.io/warn=restricted"]));
    const refused = await kubectl(cluster, ["run", "hostnet", "-n", "psa", "--image=localhost/busybox:latest", '--overrides={"spec":{"hostNetwork":true}}', "--", "sleep", "1"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error from server \(Forbidden\): pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/);
    const warned = await kubectl(cluster, ["run", "plain", "-n", "psa", "--image=localhost/busybox:latest", "--", "sleep", "1"]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "plain" must set securityContext.allowPrivilegeEscalation=false\)/);
  });

  it("mounts the pod's token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount (podman node)", async () => {
    const setup = await sh("bash", [join(PROJECT_ROOT, "scripts", "setup-podman.sh")]);
    assert.equal(setup.code, 0, `scripts/setup-podman.sh failed:\n${setup.stdout}\n${setup.stderr}`);
    const joinToken = JSON.parse(ok(await kubectl(cluster, ["create", "--raw", "/edgeplane/v1/jointokens", "-f", "-"], { input: "{}" })));
    agent = await startTestAgent(cluster, { token: joinToken.token, name: NODE, runtime: "podman", statusUpdateMs: 1000 });
    const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    ok(
      await kubectl(cluster, [
        "run", "reader", "--image=localhost/busybox:latest", "--restart=Never", `--overrides={"spec":{"nodeName":"${NODE}"}}`,
        "--", "sh", "-c", `cat ${dir}/namespace; echo; cat ${dir}/token; echo; ls ${dir}; sleep 3600`,
      ]),
    );
    const pod = await waitForObject(cluster, ["pod", "reader"], (p) => p?.status?.phase === "Running", "reader Running", 120_000);
    assert.equal(pod.spec.serviceAccountName, "default");
    assert.match(pod.spec.volumes.find((v: Json) => v.projected)?.name ?? "", /^kube-api-access-[a-z0-9]{5}$/);
    const logs = await waitForOutput(cluster, ["logs", "reader"], (out) => out.includes("token"), 60_000);
    const [ns, token, ...files] = logs.trim().split("\n");
    assert.equal(ns, "default");
    assert.deepEqual(files.sort(), ["ca.crt", "namespace", "token"]);
    const claims = decodePayload(token);
    assert.equal(claims.sub, "system:serviceaccount:default:default");
    assert.equal(claims["kubernetes.io"].pod.name, "reader");
    assert.equal(claims["kubernetes.io"].node.name, NODE);
    const whoami = JSON.parse(ok(await kubectl(cluster, ["--token", token, "auth", "whoami", "-o", "json"])));
    assert.equal(whoami.status.userInfo.username, "system:serviceaccount:default:default");
    // the token is bound to the pod: deleting the pod revokes it
    ok(await kubectl(cluster, ["delete", "pod", "reader", "--wait=true"]));
    assert.notEqual((await kubectl(cluster, ["--token", token, "auth", "whoami"])).code, 0);
  });
});
