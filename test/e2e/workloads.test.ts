import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, ok, waitForOutput as waitFor } from "./cluster.ts";
import { startKubeletSim, type KubeletSim } from "./kubelet-sim.ts";

/**
 * The workload controllers, driven by real kubectl against the real local stack. A simulated
 * kubelet (through the public API) reports the pods the scheduler bound to its node Ready or Succeeded.
 */

const NS = ["-n", "apps"];

describe("workload controllers with kubectl", () => {
  let cluster: LocalCluster;
  let kubelet: KubeletSim;
  before(async () => {
    cluster = await startCluster();
    kubelet = await startKubeletSim(cluster, { completeJobPods: true });
    ok(await kubectl(cluster, ["create", "namespace", "apps"]));
  });
  after(async () => {
    await kubelet?.stop();
    await cluster?.stop();
  });

  it("creates a deployment whose rollout finishes with ready pods", async () => {
    ok(await kubectl(cluster, ["create", "deployment", "web", "--image=localhost/busybox:1", "--replicas=2", ...NS]));
    const status = ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    assert.match(status, /successfully rolled out/);
    const pods = ok(await kubectl(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}", ...NS]));
    assert.equal(pods.split(" ").length, 2);
    const rs = ok(await kubectl(cluster, ["get", "rs", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.annotations.deployment\\.kubernetes\\.io/revision}", ...NS]));
    assert.equal(rs, "1");
  });

  it("scales up and down", async () => {
    ok(await kubectl(cluster, ["scale", "deployment/web", "--replicas=4", ...NS]));
    await waitFor(cluster, ["get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}", ...NS], (o) => o === "4");
    ok(await kubectl(cluster, ["scale", "deployment/web", "--replicas=1", ...NS]));
    await waitFor(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}", ...NS], (o) => o.trim().split(" ").length === 1);
  });

  it("rolls out a new image, keeps history and rolls back", async () => {
    ok(await kubectl(cluster, ["set", "image", "deployment/web", "busybox=localhost/busybox:2", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    await waitFor(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}", ...NS], (o) => o.trim() === "localhost/busybox:2");
    const history = ok(await kubectl(cluster, ["rollout", "history", "deployment/web", ...NS]));
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);

    ok(await kubectl(cluster, ["rollout", "undo", "deployment/web", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    const back = ok(await kubectl(cluster, ["get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}", ...NS]));
    // Rolling back to revision 1 makes it the newest: revision 3.
    assert.equal(back, "localhost/busybox:1 3");
  });

  it("pauses, resumes and restarts a rollout", async () => {
    ok(await kubectl(cluster, ["rollout", "pause", "deployment/web", ...NS]));
    ok(await kubectl(cluster, ["set", "image", "deployment/web", "busybox=localhost/busybox:3", ...NS]));
    await new Promise((res) => setTimeout(res, 1500));
    const paused = ok(await kubectl(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}", ...NS]));
    assert.doesNotMatch(paused, /busybox:3/, "a paused deployment must not roll out");
    ok(await kubectl(cluster, ["rollout", "resume", "deployment/web", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    await waitFor(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}", ...NS], (o) => o.trim() === "localhost/busybox:3");

    const before = ok(await kubectl(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}", ...NS])).trim();
    ok(await kubectl(cluster, ["rollout", "restart", "deployment/web", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/web", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    await waitFor(cluster, ["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}", ...NS], (o) => o.trim() !== "" && !o.split(" ").includes(before));
    const describe = ok(await kubectl(cluster, ["describe", "deployment", "web", ...NS]));
    assert.match(describe, /ScalingReplicaSet/);
  });

  it("runs a job to completion", async () => {
    ok(await kubectl(cluster, ["create", "job", "once", "--image=localhost/busybox:1", ...NS, "--", "true"]));
    ok(await kubectl(cluster, ["wait", "--for=condition=complete", "job/once", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    const succeeded = ok(await kubectl(cluster, ["get", "job", "once", "-o", "jsonpath={.status.succeeded}", ...NS]));
    assert.equal(succeeded, "1");
  });

  it("creates a cronjob and a job from it", async () => {
    ok(await kubectl(cluster, ["create", "cronjob", "tick", "--image=localhost/busybox:1", "--schedule=0 0 1 1 *", ...NS, "--", "true"]));
    ok(await kubectl(cluster, ["create", "job", "tick-now", "--from=cronjob/tick", ...NS]));
    ok(await kubectl(cluster, ["wait", "--for=condition=complete", "job/tick-now", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    const owner = ok(await kubectl(cluster, ["get", "job", "tick-now", "-o", "jsonpath={.metadata.ownerReferences[0].kind}", ...NS]));
    assert.equal(owner, "CronJob");
  });

  it("autoscales a deployment from the pods' cpu metrics", async () => {
    ok(await kubectl(cluster, ["create", "deployment", "api", "--image=localhost/busybox:1", "--replicas=1", ...NS]));
    ok(await kubectl(cluster, ["set", "resources", "deployment/api", "--requests=cpu=100m", ...NS]));
    ok(await kubectl(cluster, ["rollout", "status", "deployment/api", "--timeout=60s", ...NS], { timeoutMs: 70_000 }));
    // kubectl autoscale sends autoscaling/v1, served from the stored autoscaling/v2 object.
    ok(await kubectl(cluster, ["autoscale", "deployment/api", "--min=1", "--max=3", "--cpu-percent=50", ...NS]));
    const target = ok(await kubectl(cluster, ["get", "hpa.v2.autoscaling", "api", "-o", "jsonpath={.spec.metrics[0].resource.target.averageUtilization}", ...NS]));
    assert.equal(target, "50");
    const pod = (await waitFor(cluster, ["get", "pods", "-l", "app=api", "-o", "jsonpath={.items[*].metadata.name}", ...NS], (o) => o.trim().split(" ").length === 1)).trim();
    // What a node agent reports: 250m used of 100m requested, 5x the 50% target. Like
    // Kubernetes, the HPA ignores cpu samples whose window began before the pod was Ready
    // (timestamps have 1 s resolution), so the sample is taken 2 s after readiness.
    await new Promise((res) => setTimeout(res, 2000));
    const metrics = {
      apiVersion: "metrics.k8s.io/v1beta1",
      kind: "PodMetrics",
      metadata: { name: pod, namespace: "apps" },
      timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      window: "1s",
      containers: [{ name: "busybox", usage: { cpu: "250m", memory: "10Mi" } }],
    };
    ok(await kubectl(cluster, ["create", "-f", "-"], { input: JSON.stringify(metrics) }));
    await waitFor(cluster, ["get", "deployment", "api", "-o", "jsonpath={.spec.replicas}", ...NS], (o) => o === "3").catch(async (e) => {
      console.log((await kubectl(cluster, ["get", "hpa,pods,podmetrics.metrics.k8s.io,events", "-o", "yaml", ...NS])).stdout);
      throw e;
    });
    const events = ok(await kubectl(cluster, ["get", "events", "--field-selector", "reason=SuccessfulRescale", "-o", "jsonpath={.items[*].message}", ...NS]));
    assert.match(events, /New size: 3/);
    ok(await kubectl(cluster, ["delete", "hpa,deployment", "api", ...NS]));
  });

  it("deletes a deployment and garbage-collects its replicasets and pods", async () => {
    ok(await kubectl(cluster, ["delete", "deployment", "web", ...NS]));
    await waitFor(cluster, ["get", "rs,pods", "-l", "app=web", "-o", "name", ...NS], (o) => o.trim() === "");
  });
});
