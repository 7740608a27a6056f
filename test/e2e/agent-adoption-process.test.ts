import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, kubectlSession, ok, agentProcess, startCluster, getJson, waitForObject as waitFor, type AgentProcess } from "./cluster.ts";

/**
 * Container adoption after an agent restart (process runtime): the agent runs as its own process
 * (`edgeplane agent --runtime process`), is killed with SIGKILL while pods run, and started again
 * on the same data dir: a pod's container keeps running (its output written meanwhile reaches
 * `kubectl logs`), with the same container ID, startedAt, restartCount and pod IP; the container
 * of a pod deleted while the agent was down (forced, or gracefully) is stopped (SIGTERM first) and removed; a container adopted while
 * running that exits later has its exit code reported; a clean stop stops everything.
 */

type Json = Record<string, any>;
const NODE = "adopt-proc-node";

/** The state of each process-runtime container on the node's data dir, by container id. */
function containerStates(dataDir: string): Map<string, Json> {
  const root = join(dataDir, "agent", "process-containers");
  const out = new Map<string, Json>();
  for (const id of existsSync(root) ? readdirSync(root) : [])
    try {
      out.set(id, JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")));
    } catch {
      /* being removed */
    }
  return out;
}

/** Whether the process with this pid is alive (and not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The tick numbers a `tick-N` container printed, as `kubectl logs` shows them. */
async function ticks(cluster: LocalCluster, pod: string): Promise<number[]> {
  return ok(await kubectl(cluster, ["logs", pod]))
    .split("\n")
    .filter((l) => l.startsWith("tick-"))
    .map((l) => Number(l.slice(5)));
}

describe("node agent: adoption after a restart (process runtime)", () => {
  let cluster: LocalCluster;
  let agent: AgentProcess;
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-adopt-proc-"));
  const trigger = join(dataDir, "go");

  before(async () => {
    cluster = await startCluster();
    agent = agentProcess(cluster, { name: NODE, runtime: "process", dataDir });
  });

  after(async () => {
    await agent?.kill("SIGTERM");
    await cluster?.stop();
  });

  it("keeps running containers across a SIGKILL of the agent, stops a pod deleted meanwhile, reports a later exit, stops all on a clean stop", async () => {
    agent.start();
    const pod = (name: string, script: string, restartPolicy = "Always") => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { nodeName: NODE, restartPolicy, terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }] },
    });
    const manifests = [
      pod("stay", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"),
      // Deleted while no agent runs: stopped gracefully (SIGTERM first: it leaves a mark).
      pod("gone", `trap 'touch ${dataDir}/gone-stopped; exit 0' TERM; while true; do sleep 0.2; done`),
      pod("draining", `trap 'touch ${dataDir}/draining-stopped; exit 0' TERM; while true; do sleep 0.2; done`),
      // Exits with 7 once the test says so (after its adoption).
      pod("exits", `while [ ! -e ${trigger} ]; do sleep 0.2; done; exit 7`, "Never"),
    ];
    for (const m of manifests) assert.equal((await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(m) })).code, 0);
    const running = (o: Json | undefined) => o?.status?.containerStatuses?.[0]?.state?.running !== undefined;
    const before = await waitFor(cluster, ["pod", "stay"], running, "stay Running", 90_000);
    const gone = await waitFor(cluster, ["pod", "gone"], running, "gone Running", 90_000);
    const exits = await waitFor(cluster, ["pod", "exits"], running, "exits Running", 90_000);
    const draining = await waitFor(cluster, ["pod", "draining"], running, "draining Running", 90_000);
    const idOf = (p: Json) => p.status.containerStatuses[0].containerID.replace("process://", "");
    const states = containerStates(dataDir);
    const monitor = (p: Json) => states.get(idOf(p))!.monitorPid as number;
    for (const p of [before, gone, exits, draining]) assert.ok(states.has(idOf(p)), `state of ${p.metadata.name}'s container`);
    assert.ok([before, gone, exits, draining].every((p) => alive(monitor(p))));
    let beforeKill: number[] = [];
    await until("stay's output in kubectl logs", async () => (beforeKill = await ticks(cluster, "stay")).length > 0);

    await agent.kill("SIGKILL");
    assert.ok([before, gone, exits, draining].every((p) => alive(monitor(p))), "the containers outlive the agent");
    ok(await kubectl(cluster, ["delete", "pod", "gone", "--force", "--grace-period=0"]));
    // Deleted gracefully: it stays in the API (terminating) until the agent has stopped its container.
    ok(await kubectl(cluster, ["delete", "pod", "draining", "--wait=false"]));
    // A while without an agent: stay's output goes on into its files.
    await new Promise((r) => setTimeout(r, 2000));

    agent.start();
    await until("the deleted pod's container stopped and removed", () => !alive(monitor(gone)) && !containerStates(dataDir).has(idOf(gone)));
    assert.ok(existsSync(join(dataDir, "gone-stopped")), "the force-deleted pod's container got SIGTERM first");
    await waitFor(cluster, ["pod", "draining"], (o) => o === undefined, "draining deleted once its container stopped");
    assert.ok(!alive(monitor(draining)) && !containerStates(dataDir).has(idOf(draining)));
    assert.ok(existsSync(join(dataDir, "draining-stopped")), "the terminating pod's container got SIGTERM first");
    const status = before.status.containerStatuses[0];
    // The agent reports again (its status writes continue), with the same containers.
    await waitFor(cluster, ["node", NODE], (n) => Date.parse(n?.status?.conditions?.find((c: Json) => c.type === "Ready")?.lastHeartbeatTime ?? "") > Date.parse(status.state.running.startedAt), "node re-registered");
    await until("stay and exits adopted", () => (agent.output().match(/adopted container main/g) ?? []).length >= 2);
    const after = (await getJson(cluster, ["pod", "stay"]))!;
    const now = after.status.containerStatuses[0];
    assert.equal(now.containerID, status.containerID);
    assert.equal(now.restartCount, status.restartCount);
    assert.deepEqual(now.state, status.state, "still running since the same startedAt");
    assert.equal(after.status.podIP, before.status.podIP);
    assert.ok(alive(monitor(before)));

    // Its output while no agent ran, and after, is in kubectl logs: every tick, none missing.
    let seen: number[] = [];
    await until("ticks after the restart", async () => (seen = await ticks(cluster, "stay")).length > 0 && seen.at(-1)! > beforeKill.at(-1)! + 15);
    assert.deepEqual(seen, seen.map((_, i) => i), "consecutive ticks from 0: nothing written while the agent was down is lost");

    // kubectl logs -f of the adopted container streams its new lines.
    const follow = kubectlSession(cluster, ["logs", "-f", "--tail=1", "stay"]);
    try {
      const last = seen.at(-1)!;
      await until("new ticks through logs -f", () => follow.out.split("\n").some((l) => l.startsWith("tick-") && Number(l.slice(5)) > last + 3));
    } finally {
      follow.child.kill();
    }

    // Still managed: exec reaches it.
    assert.equal(ok(await kubectl(cluster, ["exec", "stay", "--", "echo", "hi"])), "hi\n");

    // A container adopted while running reports its exit code when it exits later.
    writeFileSync(trigger, "");
    const failed = await waitFor(cluster, ["pod", "exits"], (o) => o?.status?.phase === "Failed", "exits Failed", 60_000);
    const term = failed.status.containerStatuses[0].state.terminated;
    assert.equal(term.exitCode, 7);
    assert.equal(failed.status.containerStatuses[0].containerID, exits.status.containerStatuses[0].containerID);
    assert.equal(term.startedAt, exits.status.containerStatuses[0].state.running.startedAt);
    await until("the exited container's directory removed", () => !containerStates(dataDir).has(idOf(exits)));

    // A clean stop (SIGTERM) stops every container, as podman's does.
    await agent.kill("SIGTERM");
    assert.ok(!alive(monitor(before)), "stay's container stopped with the agent");
    assert.equal(containerStates(dataDir).size, 0);
  });
});
