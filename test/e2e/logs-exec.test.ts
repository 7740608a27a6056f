import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import type { ClientRequest } from "node:http";
import { request } from "node:https";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningAgent } from "../../src/agent/agent.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, kubectlSession, onTerminal, startCluster, getJson, startTestAgent } from "./cluster.ts";

/**
 * Logs and exec through the node tunnel: the real local control plane, a real agent (process
 * runtime) connected only by its outbound WebSocket, and real kubectl.
 */

type Json = Record<string, any>;
const NODE = "tunnel-node";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function pod(name: string, node: string, script: string, restartPolicy = "Always"): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { nodeName: node, restartPolicy, terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script] }] },
  };
}

/** A pod whose container keeps stdin open for one attach (stdinOnce), as `kubectl run -i` makes them. */
function withStdin(p: Json): Json {
  Object.assign(p.spec.containers[0], { stdin: true, stdinOnce: true });
  return p;
}

describe("logs and exec through the node tunnel", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;

  const podJson = (name: string): Promise<Json | undefined> => getJson(cluster, ["pod", name]);

  before(async () => {
    cluster = await startCluster();
    agent = await startTestAgent(cluster, { name: NODE, runtime: "process" });
    const manifest = [
      pod("lines", NODE, "for i in 1 2 3 4 5; do echo line $i; done; sleep 0.5; echo oops >&2; exec sleep 3600"),
      pod("ticker", NODE, "echo start; sleep 3; echo ready-marker; exec sleep 3600"),
      pod("crash", NODE, "echo run at $(date +%s%N); sleep 1; exit 1"),
      pod("ghost", "ghost-node", "sleep 1"),
      withStdin(pod("talk", NODE, "echo before-attach; while read l; do echo got:$l; done; echo bye", "Never")),
    ]
      .map((p) => JSON.stringify(p))
      .join("\n");
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    await waitFor("tunnel connected", async () => (agent.nodes[0].tunnel?.connected ? true : undefined));
    for (const name of ["lines", "ticker"]) await waitFor(`${name} Running`, async () => ((await podJson(name))?.status?.phase === "Running" ? true : undefined));
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("kubectl logs shows the container's stdout and stderr; --tail, --timestamps, -c", async () => {
    const all = await waitFor("all lines logged", async () => {
      const r = await kubectl(cluster, ["logs", "lines"]);
      return r.code === 0 && r.stdout.includes("oops") ? r : undefined;
    });
    assert.equal(all.stdout, "line 1\nline 2\nline 3\nline 4\nline 5\noops\n");
    const tail = await kubectl(cluster, ["logs", "lines", "--tail=2", "-c", "main"]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout, "line 5\noops\n");
    const stamped = await kubectl(cluster, ["logs", "lines", "--tail=1", "--timestamps"]);
    assert.equal(stamped.code, 0, stamped.stderr);
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$/);
    const limited = await kubectl(cluster, ["logs", "lines", "--limit-bytes=9"]);
    assert.equal(limited.stdout, "line 1\nli");
  });

  it("a missing container is 400 with Kubernetes' message; an offline node is a clear 503", async () => {
    const missing = await kubectl(cluster, ["logs", "lines", "-c", "nope"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /container nope is not valid for pod lines/);
    const offline = await kubectl(cluster, ["logs", "ghost"], { timeoutMs: 20_000 });
    assert.notEqual(offline.code, 0);
    assert.match(offline.stderr, /node "ghost-node" is not connected: its agent has no tunnel to the control plane/);
  });

  it("kubectl logs -f streams new lines as the container writes them", async () => {
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "logs", "-f", "ticker"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    try {
      await waitFor("ready-marker followed", async () => (out.includes("ready-marker") ? true : undefined), 30_000);
      assert.equal(out, "start\nready-marker\n");
    } finally {
      child.kill("SIGINT");
    }
    // Known gap: under local wrangler a client leaving is not seen by the Worker, so the agent's
    // follow stays open until the container ends or the tunnel drops (README "Logs and exec").
  });

  it("kubectl logs --previous shows the last instance of a restarted container", async () => {
    await waitFor("crash restarted", async () => ((await podJson("crash"))?.status?.containerStatuses?.[0]?.restartCount >= 1 ? true : undefined));
    const prev = await kubectl(cluster, ["logs", "crash", "--previous"]);
    assert.equal(prev.code, 0, prev.stderr);
    assert.match(prev.stdout, /^run at \d+\n$/);
    const none = await kubectl(cluster, ["logs", "lines", "--previous"]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /previous terminated container "main" in pod "lines" not found/);
  });

  it("kubectl exec runs in the container and returns its exit code; stdin reaches it", async () => {
    const r = await kubectl(cluster, ["exec", "lines", "--", "sh", "-c", "echo hi; echo err >&2; exit 3"]);
    assert.equal(r.stdout, "hi\n");
    assert.equal(r.stderr.includes("err\n"), true, r.stderr);
    assert.equal(r.code, 3);
    const cat = await kubectl(cluster, ["exec", "-i", "lines", "--", "cat"], { input: "hello through the tunnel\n" });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, "hello through the tunnel\n");
    // The command sees the container's pid namespace: its sleep is there.
    const ps = await kubectl(cluster, ["exec", "lines", "--", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /sleep 3600/);
    const bad = await kubectl(cluster, ["exec", "lines", "-c", "nope", "--", "true"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod lines/);
  });

  it("kubectl exec -it runs the command on a terminal of the given size and returns its exit code", async () => {
    // kubectl sends its terminal's size (30x100) on the resize channel.
    const t = onTerminal(cluster, "exec -it lines -- sh");
    try {
      await waitFor("a shell prompt", async () => (t.out.includes("# ") ? true : undefined), 30_000);
      t.child.stdin.write("stty size; tty; echo TERM=$TERM; exit 7\r");
      assert.equal(await t.code, 7, t.out);
    } finally {
      t.child.kill();
    }
    assert.match(t.out, /30 100\r\n/);
    assert.match(t.out, /\/dev\/pts\/\d+\r\n/);
    assert.match(t.out, /TERM=xterm\r\n/);
  });

  it("kubectl attach -i joins the container's stdin and output; stdinOnce closes its stdin after", async () => {
    await waitFor("talk Running", async () => ((await podJson("talk"))?.status?.phase === "Running" ? true : undefined));
    const a = kubectlSession(cluster, ["attach", "-i", "talk"]);
    a.child.stdin.write("one\n");
    await waitFor("first line echoed", async () => (a.out.includes("got:one") ? true : undefined), 30_000);
    a.child.stdin.end("two\n");
    assert.equal(await a.code, 0, a.out);
    assert.match(a.out, /got:one\ngot:two\nbye\n/);
    assert.doesNotMatch(a.out, /before-attach/); // output from before the attach is in the log, not replayed
    await waitFor("talk Succeeded", async () => ((await podJson("talk"))?.status?.phase === "Succeeded" ? true : undefined));
  });

  it("kubectl run -it --rm runs a shell on a terminal, attached, and removes the pod", async () => {
    const t = onTerminal(cluster, "run shell-once -it --rm --restart=Never --image=busybox --overrides={\\\"spec\\\":{\\\"nodeName\\\":\\\"" + NODE + "\\\"}} -- sh");
    try {
      await waitFor("attached", async () => (t.out.includes("If you don't see a command prompt") ? true : undefined), 60_000);
      t.child.stdin.write("stty size; echo answer-$((6*7)); exit 4\r");
      assert.equal(await t.code, 4, t.out); // kubectl run hands back the container's exit code
    } finally {
      t.child.kill();
    }
    assert.match(t.out, /30 100\r\n/);
    assert.match(t.out, /answer-42\r\n/);
    assert.match(t.out, /pod "shell-once" deleted/);
    await waitFor("shell-once gone", async () => ((await podJson("shell-once")) === undefined ? true : undefined));
  });

  it("kubectl cp copies files into the container and back (tar over exec stdin/stdout)", async () => {
    const local = mkdtempSync(join(tmpdir(), "edgeplane-cp-"));
    const data = randomBytes(300 * 1024);
    writeFileSync(join(local, "blob.bin"), data);
    const inPod = `/tmp/edgeplane-cp-${process.pid}-${Date.now()}`;
    const mk = await kubectl(cluster, ["exec", "lines", "--", "mkdir", "-p", inPod]);
    assert.equal(mk.code, 0, mk.stderr);
    const up = await kubectl(cluster, ["cp", join(local, "blob.bin"), `lines:${inPod}/blob.bin`]);
    assert.equal(up.code, 0, up.stderr);
    const sum = await kubectl(cluster, ["exec", "lines", "--", "sha256sum", `${inPod}/blob.bin`]);
    assert.equal(sum.stdout.split(" ")[0], createHash("sha256").update(data).digest("hex"));
    const down = await kubectl(cluster, ["cp", `lines:${inPod}/blob.bin`, join(local, "back.bin")]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(readFileSync(join(local, "back.bin")), data);
    await kubectl(cluster, ["exec", "lines", "--", "rm", "-rf", inPod]);
  });

  it("100 concurrent log follows each get the lines written after they opened; dropping them leaves the tunnel serving", async () => {
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(pod("chatter", NODE, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done")) });
    assert.equal(r.code, 0, r.stderr);
    await waitFor("chatter Running", async () => ((await podJson("chatter"))?.status?.phase === "Running" ? true : undefined));
    const url = `${cluster.url}/api/v1/namespaces/default/pods/chatter/log?follow=true&tailLines=0`;
    const requests: ClientRequest[] = [];
    const firstLine = () =>
      new Promise<string>((resolve, reject) => {
        const req = request(url, { rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${cluster.token}` } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`follow answered ${res.statusCode}`));
          let got = "";
          res.on("data", (d: Buffer) => {
            got += d.toString();
            if (got.includes("\n")) resolve(got.split("\n")[0]);
          });
          res.on("error", () => undefined);
        });
        req.on("error", (e) => reject(e));
        req.end();
        requests.push(req);
      });
    try {
      const lines = await Promise.race([
        Promise.all(Array.from({ length: 100 }, firstLine)),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("not every follow got a line within 90 s")), 90_000)),
      ]);
      assert.equal(lines.length, 100);
      for (const line of lines) assert.match(line, /^tick \d+$/);
    } finally {
      for (const req of requests) req.destroy();
    }
    // The tunnel still serves: a fresh log read and an exec right after.
    const tail = await kubectl(cluster, ["logs", "chatter", "--tail", "1"]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /^tick \d+$/m);
    const exec = await kubectl(cluster, ["exec", "chatter", "--", "echo", "still-here"]);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout.trim(), "still-here");
    await kubectl(cluster, ["delete", "pod", "chatter", "--wait=false"]);
  });
});
