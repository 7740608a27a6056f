import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

/** `kubectl top` from the usage a real agent (process runtime) reports as metrics.k8s.io objects. */

const NODE = "top-node";

async function until(what: string, check: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("kubectl top", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;

  before(async () => {
    cluster = await startCluster();
    const api = { server: cluster.url, token: cluster.token, insecure: true };
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-top-"));
    agent = await startAgent({ api, name: NODE, runtime: "process", dataDir, statusUpdateMs: 1000, metricsMs: 1000, log: () => {} });
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("shows a running pod's and the node's usage", async () => {
    const run = await kubectl(cluster, ["run", "busy", "--image=localhost/busybox:latest", "--overrides", JSON.stringify({ spec: { nodeName: NODE } }), "--", "sleep", "4321"]);
    assert.equal(run.code, 0, run.stderr);
    await until("the pod Running", async () => (await kubectl(cluster, ["get", "pod", "busy", "-o", "jsonpath={.status.phase}"])).stdout === "Running");
    let top = { code: 1, stdout: "", stderr: "" };
    await until("kubectl top pod", async () => (top = await kubectl(cluster, ["top", "pod", "busy"])).code === 0);
    assert.match(top.stdout, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/m);
    // sleep uses no CPU and some memory (resident pages of the process).
    assert.match(top.stdout, /^busy\s+\d+m\s+\d+Mi/m);
    const containers = await kubectl(cluster, ["top", "pod", "busy", "--containers"]);
    assert.match(containers.stdout, /^busy\s+busy\s+\d+m\s+\d+Mi/m);
    let node = { code: 1, stdout: "", stderr: "" };
    await until("kubectl top node", async () => (node = await kubectl(cluster, ["top", "node", NODE])).code === 0);
    assert.match(node.stdout, new RegExp(`^${NODE}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, "m"));
    // The PodMetrics object goes with its pod (the agent removes what it reported).
    assert.equal((await kubectl(cluster, ["delete", "pod", "busy", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 })).code, 0);
    await until("PodMetrics removed", async () => (await kubectl(cluster, ["get", "podmetrics.metrics.k8s.io", "busy"])).code !== 0);
  });
});
