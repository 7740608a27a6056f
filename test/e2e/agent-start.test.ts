import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort } from "../../src/cli/local-cluster.ts";
import { kubectl } from "./cluster.ts";
import { startCli, stopCli } from "./npm-start.ts";

/** The project contract: `npm start` brings up the control plane plus one node agent, and `kubectl run` goes Running here. */

function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("npm start with its node agent", () => {
  it("registers a Ready node, runs `kubectl run` pods on this machine, and stops them on Ctrl-C", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-agent-start-"));
    const port = await freePort();
    const { child, ready, output } = startCli(dataDir, port);
    const marker = "4243";
    try {
      const out = await ready;
      // podman where this machine has it (scripts/setup-podman.sh), else the process runtime, saying why
      assert.match(out, /edgeplane agent: node \S+ ready; runtime (podman \d|process \(podman not used: )/);
      const cluster = { kubeconfig: join(dataDir, "kubeconfig") } as Parameters<typeof kubectl>[0];
      const nodes = await kubectl(cluster, ["get", "nodes", "--no-headers"]);
      assert.equal(nodes.code, 0, nodes.stderr);
      const rows = nodes.stdout.trim().split("\n");
      assert.equal(rows.length, 1, nodes.stdout);
      assert.equal(rows[0].split(/\s+/)[1], "Ready");
      const run = await kubectl(cluster, ["run", "sl", "--image=localhost/busybox:latest", "--", "sleep", marker]);
      assert.equal(run.code, 0, run.stderr);
      const wait = await kubectl(cluster, ["wait", "--for=jsonpath={.status.phase}=Running", "pod/sl", "--timeout=60s"], { timeoutMs: 70_000 });
      assert.equal(wait.code, 0, `${wait.stderr}\n${output()}`);
      const pod = JSON.parse((await kubectl(cluster, ["get", "pod", "sl", "-o", "json"])).stdout);
      assert.equal(pod.spec.nodeName, rows[0].split(/\s+/)[0]);
      assert.ok(pod.status.podIP);
      assert.ok(processesWith(`sleep ${marker}`).length > 0, "the pod's process runs on this machine");
    } finally {
      assert.ok(await stopCli(child), `npm start must stop cleanly on Ctrl-C:\n${output()}`);
    }
    assert.deepEqual(processesWith(`sleep ${marker}`), [], "Ctrl-C stops the agent's containers");
  });
});
