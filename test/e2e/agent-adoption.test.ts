import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, ok, agentProcess, startCluster, getJson, waitForObject as waitFor, type AgentProcess } from "./cluster.ts";

/**
 * Container adoption after an agent restart (podman runtime): the agent runs as its own process
 * (`edgeplane agent`), is killed with SIGKILL while a pod runs, and started again on the same
 * data dir: the pod's container keeps running, with the same container ID, startedAt and
 * restartCount, and its pod IP, and what it wrote while no agent ran is in `kubectl logs`; the
 * container of a pod deleted while the agent was down is removed.
 */

type Json = Record<string, any>;
const NODE = "adopt-node";

function sh(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

const containersOf = (uid: string, all = false) =>
  execFileSync("podman", ["ps", ...(all ? ["-a"] : []), "-q", "--no-trunc", "--filter", `label=edgeplane.dev/pod-uid=${uid}`]).toString().trim().split("\n").filter(Boolean);

describe("node agent: adoption after a restart (podman)", () => {
  let cluster: LocalCluster;
  let agent: AgentProcess;
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-adopt-"));

  before(async () => {
    const setup = await sh("bash", [join(PROJECT_ROOT, "scripts", "setup-podman.sh")]);
    assert.equal(setup.code, 0, `scripts/setup-podman.sh failed:\n${setup.stdout}\n${setup.stderr}`);
    cluster = await startCluster();
    agent = agentProcess(cluster, { name: NODE, runtime: "podman", dataDir });
  });

  after(async () => {
    await agent?.kill("SIGTERM");
    await cluster?.stop();
  });

  it("keeps a running container across a SIGKILL of the agent; removes the container of a pod deleted meanwhile", async () => {
    agent.start();
    const pod = (name: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: "localhost/busybox:latest", imagePullPolicy: "Never", command: ["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done"] }],
      },
    });
    /** The tick numbers `kubectl logs` shows, in order. */
    const ticks = async (name: string) =>
      ok(await kubectl(cluster, ["logs", name]))
        .split("\n")
        .filter(Boolean)
        .map((l) => Number(/^tick-(\d+)$/.exec(l)?.[1] ?? NaN));
    for (const name of ["stay", "gone"]) assert.equal((await kubectl(cluster, ["apply", "-f", "-"], { input: JSON.stringify(pod(name)) })).code, 0);
    const before = await waitFor(cluster, ["pod", "stay"], (o) => o?.status?.containerStatuses?.[0]?.state?.running !== undefined, "stay Running", 90_000);
    const gone = await waitFor(cluster, ["pod", "gone"], (o) => o?.status?.phase === "Running", "gone Running", 90_000);
    const status = before.status.containerStatuses[0];
    const id = status.containerID.replace("podman://", "");
    assert.deepEqual(containersOf(before.metadata.uid), [id]);

    for (let i = 0; i < 40 && (await ticks("stay")).length < 2; i++) await new Promise((r) => setTimeout(r, 250));
    const beforeKill = await ticks("stay");
    await agent.kill("SIGKILL");
    assert.deepEqual(containersOf(before.metadata.uid), [id], "the container outlives the agent");
    ok(await kubectl(cluster, ["delete", "pod", "gone", "--force", "--grace-period=0"]));

    agent.start();
    const goneId = gone.status.containerStatuses[0].containerID.replace("podman://", "");
    const deadline = Date.now() + 60_000;
    while (containersOf(gone.metadata.uid, true).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(containersOf(gone.metadata.uid, true), [], `the deleted pod's container ${goneId} is removed`);
    // The agent reports the pod again (its status writes continue), with the same container.
    await waitFor(cluster, ["node", NODE], (n) => Date.parse(n?.status?.conditions?.find((c: Json) => c.type === "Ready")?.lastHeartbeatTime ?? "") > Date.parse(status.state.running.startedAt), "node re-registered");
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await getJson(cluster, ["pod", "stay"]))!;
    const now = after.status.containerStatuses[0];
    assert.equal(now.containerID, status.containerID);
    assert.equal(now.restartCount, status.restartCount);
    assert.deepEqual(now.state, status.state, "still running since the same startedAt");
    assert.equal(after.status.podIP, before.status.podIP);
    assert.deepEqual(containersOf(before.metadata.uid), [id]);
    assert.match(agent.output(), /adopted container main/);
    // Its output while no agent ran was copied from conmon's file too: every tick from the first, none missing.
    const all = await ticks("stay");
    const last = Math.max(...all);
    assert.ok(last >= Math.max(...beforeKill) + 2, `ticks written while the agent was down are there: ${all.join(",")} (before the kill: ${beforeKill.join(",")})`);
    for (let k = 0; k <= last; k++) assert.ok(all.includes(k), `tick-${k} is in kubectl logs: ${all.join(",")}`);
    assert.ok(all.every((k) => Number.isInteger(k)), `only tick lines: ${all.join(",")}`);
    // Still managed: exec reaches it, and deleting the pod stops it.
    assert.equal(ok(await kubectl(cluster, ["exec", "stay", "--", "echo", "hi"])), "hi\n");
    ok(await kubectl(cluster, ["delete", "pod", "stay", "--wait=true"]));
    assert.deepEqual(containersOf(before.metadata.uid, true), []);
  });
});
