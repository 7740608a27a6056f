import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, getJson, waitForObject as waitFor } from "./cluster.ts";

/**
 * Probes on a process-runtime node against the real control plane: readiness (exec, httpGet)
 * drives the container's `ready` and the pod's Ready/ContainersReady; a startup probe holds
 * `started` and readiness back; a failing liveness probe restarts the container.
 */

type Json = Record<string, any>;
const NODE = "probe-node";

async function apply(cluster: LocalCluster, name: string, spec: Json): Promise<void> {
  const manifest = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, ...spec } });
  const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
}

const conditions = (p: Json) => Object.fromEntries((p.status?.conditions ?? []).map((c: Json) => [c.type, c.status]));

async function events(cluster: LocalCluster, pod: string): Promise<Json[]> {
  const l = await getJson(cluster, ["events", "--field-selector", `involvedObject.name=${pod}`]);
  return l?.items ?? [];
}

describe("node agent probes", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  const dir = mkdtempSync(join(tmpdir(), "edgeplane-probes-"));

  before(async () => {
    cluster = await startCluster();
    agent = await startAgent({
      api: { server: cluster.url, token: cluster.token, insecure: true },
      name: NODE,
      runtime: "process",
      dataDir: join(dir, "data"),
      log: () => {},
    });
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an exec readiness probe keeps the pod Ready=False until it passes, then Ready=True", async () => {
    const flag = join(dir, "ready-flag");
    const started = join(dir, "started-flag");
    await apply(cluster, "readyp", {
      containers: [
        {
          name: "main",
          image: "busybox",
          command: ["sleep", "3600"],
          startupProbe: { exec: { command: ["test", "-f", started] }, periodSeconds: 1, failureThreshold: 600 },
          readinessProbe: { exec: { command: ["test", "-f", flag] }, periodSeconds: 1 },
        },
      ],
    });
    let p = await waitFor(cluster, ["pod", "readyp"], (o) => o?.status?.phase === "Running", "readyp Running");
    assert.deepEqual([p.status.containerStatuses[0].started, p.status.containerStatuses[0].ready], [false, false]);
    assert.deepEqual([conditions(p).ContainersReady, conditions(p).Ready], ["False", "False"]);
    writeFileSync(started, "");
    p = await waitFor(cluster, ["pod", "readyp"], (o) => o?.status?.containerStatuses?.[0]?.started === true, "readyp started");
    assert.equal(p.status.containerStatuses[0].ready, false);
    assert.equal(conditions(p).Ready, "False");
    assert.equal(p.status.conditions.find((c: Json) => c.type === "Ready").message, "containers with unready status: [main]");
    const unhealthy = (await events(cluster, "readyp")).filter((e) => e.reason === "Unhealthy").map((e) => e.message as string);
    assert.ok(unhealthy.some((m) => m.startsWith("Startup probe failed:")), JSON.stringify(unhealthy));
    writeFileSync(flag, "");
    p = await waitFor(cluster, ["pod", "readyp"], (o) => !!o && conditions(o).Ready === "True", "readyp Ready");
    assert.equal(conditions(p).ContainersReady, "True");
    assert.deepEqual([p.status.containerStatuses[0].started, p.status.containerStatuses[0].ready, p.status.containerStatuses[0].restartCount], [true, true, 0]);
    rmSync(flag);
    p = await waitFor(cluster, ["pod", "readyp"], (o) => !!o && conditions(o).Ready === "False", "readyp unready again");
    assert.equal(p.status.containerStatuses[0].ready, false);
    assert.equal(p.status.containerStatuses[0].restartCount, 0, "a failing readiness probe does not restart");
  });

  it("httpGet readiness and tcpSocket liveness against the pod IP", async () => {
    const server = "require('http').createServer((q, s) => { s.statusCode = q.url === '/healthz' ? 200 : 404; s.end('ok'); }).listen(8093)";
    await apply(cluster, "httpp", {
      containers: [
        {
          name: "web",
          image: "node",
          command: [process.execPath, "-e", server],
          ports: [{ name: "http", containerPort: 8093 }],
          readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
          livenessProbe: { tcpSocket: { port: 8093 }, periodSeconds: 1, initialDelaySeconds: 1 },
        },
      ],
    });
    const p = await waitFor(cluster, ["pod", "httpp"], (o) => !!o && conditions(o).Ready === "True", "httpp Ready");
    assert.equal(p.status.containerStatuses[0].ready, true);
  });

  it("a failing liveness probe restarts the container", async () => {
    await apply(cluster, "livep", {
      containers: [{ name: "main", image: "busybox", command: ["sleep", "3600"], livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2 } }],
    });
    const p = await waitFor(cluster, ["pod", "livep"], (o) => (o?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, "livep restarted");
    const cs = p.status.containerStatuses[0];
    assert.ok(cs.lastState.terminated, JSON.stringify(cs));
    assert.equal(cs.lastState.terminated.reason, "Error");
    // sleep is its PID namespace's init and ignores SIGTERM: SIGKILL after the 1 s grace period (128 + 9)
    assert.equal(cs.lastState.terminated.exitCode, 137);
    const ev = await events(cluster, "livep");
    assert.ok(ev.some((e) => e.reason === "Killing" && e.message === "Container main failed liveness probe, will be restarted"), JSON.stringify(ev.map((e) => `${e.reason}: ${e.message}`)));
    assert.ok(ev.some((e) => e.reason === "Unhealthy" && e.type === "Warning" && e.message.startsWith("Liveness probe failed:")));
    await waitFor(cluster, ["pod", "livep"], (o) => (o?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2, "livep restarted twice");
    const del = await kubectl(cluster, ["delete", "pod", "readyp", "httpp", "livep", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
  });
});
