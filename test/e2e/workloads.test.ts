import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";
import { startKubeletSim, type KubeletSim } from "./kubelet-sim.ts";

/**
 * Workload controllers with real kubectl. No node agent or scheduler exists yet, so a
 * simulated kubelet binds pods and reports them Ready through the API; the controllers
 * themselves only ever see the API.
 */

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

describe("workload controllers with kubectl", () => {
  let cluster: LocalCluster;
  let kubelet: KubeletSim;
  const k = (args: string[], opts = {}) => kubectl(cluster, ["-n", "apps", ...args], opts);
  const getJson = async (args: string[]) => JSON.parse((await k([...args, "-o", "json"])).stdout);

  before(async () => {
    cluster = await startCluster();
    kubelet = await startKubeletSim(cluster, { completeJobPods: true });
    const ns = await kubectl(cluster, ["create", "namespace", "apps"]);
    assert.equal(ns.code, 0, ns.stderr);
  });
  after(async () => {
    await kubelet?.stop();
    await cluster?.stop();
  });

  it("creates a deployment whose pods come up and rollout status finishes", async () => {
    const r = await k(["create", "deployment", "web", "--image=localhost/busybox:1", "--replicas=3"]);
    assert.equal(r.code, 0, r.stderr);
    const status = await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(status.code, 0, status.stderr + status.stdout);
    assert.match(status.stdout, /successfully rolled out/);
    const pods = await getJson(["get", "pods", "-l", "app=web"]);
    assert.equal(pods.items.length, 3);
    for (const p of pods.items) assert.equal(p.metadata.ownerReferences[0].kind, "ReplicaSet");
    const rs = await getJson(["get", "rs", "-l", "app=web"]);
    assert.equal(rs.items.length, 1);
    assert.equal(rs.items[0].metadata.annotations["deployment.kubernetes.io/revision"], "1");
  });

  it("scales up and down", async () => {
    assert.equal((await k(["scale", "deployment/web", "--replicas=5"])).code, 0);
    await eventually("5 pods", async () => (await getJson(["get", "pods", "-l", "app=web"])).items.length === 5);
    assert.equal((await k(["scale", "deployment/web", "--replicas=2"])).code, 0);
    await eventually("2 pods", async () => (await getJson(["get", "pods", "-l", "app=web"])).items.length === 2);
    const st = await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(st.code, 0, st.stderr);
  });

  it("rolls out a new image, keeps history and undoes it", async () => {
    assert.equal((await k(["set", "image", "deployment/web", "busybox=localhost/busybox:2"])).code, 0);
    const st = await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(st.code, 0, st.stderr);
    const pods = await getJson(["get", "pods", "-l", "app=web"]);
    assert.ok(pods.items.length >= 2);
    await eventually("old pods gone", async () => {
      const items = (await getJson(["get", "pods", "-l", "app=web"])).items;
      return items.length === 2 && items.every((p: any) => p.spec.containers[0].image === "localhost/busybox:2");
    });
    const history = await k(["rollout", "history", "deployment/web"]);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^1\s/m);
    assert.match(history.stdout, /^2\s/m);
    const undo = await k(["rollout", "undo", "deployment/web"]);
    assert.equal(undo.code, 0, undo.stderr);
    await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 });
    const dep = await getJson(["get", "deployment", "web"]);
    assert.equal(dep.spec.template.spec.containers[0].image, "localhost/busybox:1");
    assert.equal(dep.metadata.annotations["deployment.kubernetes.io/revision"], "3");
  });

  it("pauses, resumes and restarts a rollout", async () => {
    assert.equal((await k(["rollout", "pause", "deployment/web"])).code, 0);
    assert.equal((await k(["set", "image", "deployment/web", "busybox=localhost/busybox:3"])).code, 0);
    await new Promise((r) => setTimeout(r, 1500));
    const paused = await getJson(["get", "rs", "-l", "app=web"]);
    assert.ok(paused.items.every((rs: any) => rs.spec.template.spec.containers[0].image !== "localhost/busybox:3"), "no rollout while paused");
    assert.equal((await k(["rollout", "resume", "deployment/web"])).code, 0);
    assert.equal((await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 })).code, 0);
    assert.equal((await k(["rollout", "restart", "deployment/web"])).code, 0);
    assert.equal((await k(["rollout", "status", "deployment/web", "--timeout=60s"], { timeoutMs: 90_000 })).code, 0);
    const dep = await getJson(["get", "deployment", "web"]);
    assert.ok(dep.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]);
  });

  it("describes a deployment with its events", async () => {
    const d = await k(["describe", "deployment", "web"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /ScalingReplicaSet/);
    const events = await k(["get", "events"]);
    assert.match(events.stdout, /SuccessfulCreate|ScalingReplicaSet/);
  });

  it("runs a job to completion", async () => {
    assert.equal((await k(["create", "job", "once", "--image=localhost/busybox:1", "--", "true"])).code, 0);
    const w = await k(["wait", "--for=condition=complete", "job/once", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(w.code, 0, w.stderr);
    const job = await getJson(["get", "job", "once"]);
    assert.equal(job.status.succeeded, 1);
  });

  it("creates a cronjob and a job from it", async () => {
    assert.equal((await k(["create", "cronjob", "tick", "--image=localhost/busybox:1", "--schedule=*/5 * * * *", "--", "true"])).code, 0);
    const from = await k(["create", "job", "tick-manual", "--from=cronjob/tick"]);
    assert.equal(from.code, 0, from.stderr);
    const w = await k(["wait", "--for=condition=complete", "job/tick-manual", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(w.code, 0, w.stderr);
    const cj = await getJson(["get", "cronjob", "tick"]);
    assert.equal(cj.spec.schedule, "*/5 * * * *");
  });

  it("deletes a deployment and garbage-collects its replica sets and pods", async () => {
    assert.equal((await k(["delete", "deployment", "web"])).code, 0);
    await eventually("replica sets and pods gone", async () => {
      const rs = await getJson(["get", "rs", "-l", "app=web"]);
      const pods = await getJson(["get", "pods", "-l", "app=web"]);
      return rs.items.length === 0 && pods.items.length === 0;
    });
  });
});
