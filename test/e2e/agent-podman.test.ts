import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { get } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningAgent } from "../../src/agent/agent.ts";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, kubectlSession, onTerminal, startCluster, getJson, waitForObject as waitFor, startTestAgent } from "./cluster.ts";

/**
 * The podman runtime against the real local control plane: `kubectl run web
 * --image=localhost/busybox:latest -- httpd -f -p 8080` goes Running with its own pod IP, the
 * host fetches its page from that IP, a missing image goes ErrImagePull -> ImagePullBackOff,
 * exit codes and restarts are reported, volumes are mounted and probes drive readiness and
 * restarts, and deleting the pod removes its container and its
 * network namespace. Podman is installed by scripts/setup-podman.sh in `before` (about half a
 * minute on a clean machine); if that fails, the suite fails.
 */

type Json = Record<string, any>;
const NODE = "e2e-podman";

function sh(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** GET over plain HTTP to a pod IP (only addresses on this node's own bridge). */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
  });
}

const containersOf = (uid: string) =>
  execFileSync("podman", ["ps", "-a", "-q", "--filter", `label=edgeplane.dev/pod-uid=${uid}`]).toString().trim().split("\n").filter(Boolean);
const spawnCode = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status;
const netnsList = () => execFileSync("ip", ["netns", "list"]).toString();

describe("node agent: podman runtime", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  const logs: string[] = [];

  before(async () => {
    const began = Date.now();
    const setup = await sh("bash", [join(PROJECT_ROOT, "scripts", "setup-podman.sh")]);
    assert.equal(setup.code, 0, `scripts/setup-podman.sh failed, so podman cannot be tested here:\n${setup.stdout}\n${setup.stderr}`);
    console.log(`# podman ready in ${((Date.now() - began) / 1000).toFixed(1)} s (scripts/setup-podman.sh)`);
    cluster = await startCluster();
    agent = await startTestAgent(cluster, { name: NODE, runtime: "podman", statusUpdateMs: 1000, metricsMs: 1000, log: (l) => logs.push(l) });
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("registers its node with the podman runtime version", async () => {
    assert.equal(agent.runtime, "podman");
    const node = await waitFor(cluster, ["node", NODE], (n) => !!n?.status?.nodeInfo, "node");
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^podman:\/\/\d+\.\d+/);
  });

  it("runs `kubectl run web ... httpd` Running with its own pod IP that the host reaches", async () => {
    const run = await kubectl(cluster, ["run", "web", "--image=localhost/busybox:latest", "--", "httpd", "-f", "-p", "8080"]);
    assert.equal(run.code, 0, run.stderr);
    const p = await waitFor(cluster, ["pod", "web"], (o) => o?.status?.phase === "Running", "web Running");
    assert.equal(p.spec.nodeName, NODE);
    const ip: string = p.status.podIP;
    assert.match(ip, /^10\.244\.\d+\.\d+$/);
    assert.notEqual(ip, p.status.hostIP);
    assert.deepEqual(p.status.podIPs, [{ ip }]);
    const cs = p.status.containerStatuses[0];
    assert.match(cs.containerID, /^podman:\/\/[0-9a-f]{64}$/);
    assert.match(cs.imageID, /^sha256:[0-9a-f]{64}$/);
    assert.equal(cs.restartCount, 0);
    // busybox httpd serves the image's /www (its WORKDIR)
    let page: { status: number; body: string } | undefined;
    for (let i = 0; i < 20 && !page; i++)
      page = await httpGet(`http://${ip}:8080/`).catch(async () => (await new Promise((r) => setTimeout(r, 250)), undefined));
    assert.equal(page?.status, 200);
    assert.match(page!.body, /edgeplane busybox/);
    const ids = containersOf(p.metadata.uid);
    assert.equal(ids.length, 1);
    const inspect = JSON.parse(execFileSync("podman", ["inspect", ids[0]]).toString())[0];
    assert.equal(inspect.HostConfig.PidsLimit, 4096);
    assert.equal(inspect.Config.Labels["edgeplane.dev/node"], NODE);

    const del = await kubectl(cluster, ["delete", "pod", "web", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(containersOf(p.metadata.uid), [], "the pod's container is removed");
    assert.doesNotMatch(netnsList(), new RegExp(`-${p.metadata.uid.replace(/-/g, "").slice(0, 8)}\\b`), "the pod's network namespace is removed");
  });

  it("applies env, workingDir, limits and securityContext; two containers share the pod IP", async () => {
    await kubectl(cluster, ["create", "configmap", "cfg", "--from-literal=color=blue"]);
    const manifest = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "shaped" },
      spec: {
        restartPolicy: "Never",
        containers: [
          {
            name: "server",
            image: "localhost/busybox:latest",
            command: ["httpd", "-f", "-p", "9090"],
          },
          {
            name: "check",
            image: "localhost/busybox:latest",
            workingDir: "/tmp",
            command: ["sh", "-c"],
            args: [
              'sleep 1; test "$COLOR" = blue && test "$(pwd)" = /tmp && test "$(id -u)" = 65534 && ! touch /x 2>/dev/null && ' +
                'test "$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" = 67108864 && wget -qO- http://127.0.0.1:9090/ | grep -q edgeplane && echo ok',
            ],
            env: [{ name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } }],
            resources: { limits: { memory: "64Mi", cpu: "500m" } },
            securityContext: { runAsUser: 65534, readOnlyRootFilesystem: true },
          },
        ],
      },
    };
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(manifest) });
    assert.equal(r.code, 0, r.stderr);
    const p = await waitFor(
      cluster,
      ["pod", "shaped"],
      (o) => !!o?.status?.containerStatuses?.find((c: Json) => c.name === "check")?.state?.terminated,
      "check finished",
    );
    const check = p.status.containerStatuses.find((c: Json) => c.name === "check");
    assert.equal(check.state.terminated.exitCode, 0, JSON.stringify(check));
    assert.equal(check.state.terminated.reason, "Completed");
    await kubectl(cluster, ["delete", "pod", "shaped", "--grace-period=0", "--force"]);
  });

  it("reports exit codes and restarts (CrashLoopBackOff)", async () => {
    const run = await kubectl(cluster, ["run", "crash", "--image=localhost/busybox:latest", "--", "sh", "-c", "exit 7"]);
    assert.equal(run.code, 0, run.stderr);
    const p = await waitFor(
      cluster,
      ["pod", "crash"],
      (o) => (o?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && o!.status.containerStatuses[0].lastState?.terminated,
      "crash restarted",
    );
    const cs = p.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 7);
    assert.equal(cs.lastState.terminated.reason, "Error");
    assert.ok(containersOf(p.metadata.uid).length >= 2, "the previous run's container is kept (its logs)");
    await kubectl(cluster, ["delete", "pod", "crash", "--grace-period=0", "--force"]);
    // Every run's container goes with the pod (the ids the runtime kept, in one batched podman rm).
    for (let i = 0; i < 120 && containersOf(p.metadata.uid).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(containersOf(p.metadata.uid), []);
  });

  it("a missing image: ErrImagePull, then ImagePullBackOff with a clear message", async () => {
    const run = await kubectl(cluster, ["run", "ghost", "--image=localhost/no-such-image:1.0"]);
    assert.equal(run.code, 0, run.stderr);
    const seen = new Set<string>();
    const p = await waitFor(
      cluster,
      ["pod", "ghost"],
      (o) => {
        const reason = o?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (reason) seen.add(reason);
        return reason === "ImagePullBackOff";
      },
      "ImagePullBackOff",
    );
    const w = p.status.containerStatuses[0].state.waiting;
    assert.match(w.message, /^Back-off pulling image "localhost\/no-such-image:1\.0": ErrImagePull: image "localhost\/no-such-image:1\.0" is not present on node e2e-podman/);
    assert.equal(p.status.phase, "Pending");
    const events = await kubectl(cluster, ["get", "events", "--field-selector", "involvedObject.name=ghost", "-o", "json"]);
    assert.ok(JSON.parse(events.stdout).items.some((e: Json) => e.reason === "Failed" && /not present on node/.test(e.message)), events.stdout);
    await kubectl(cluster, ["delete", "pod", "ghost", "--grace-period=0", "--force"]);
  });

  it("mounts configMap/secret/emptyDir volumes (podman -v); httpGet readiness and exec liveness probes", async () => {
    const manifest = (obj: Json) => kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(obj) });
    assert.equal((await manifest({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "site" }, data: { "index.html": "from a configmap\n" } })).code, 0);
    assert.equal((await manifest({ apiVersion: "v1", kind: "Secret", metadata: { name: "tok" }, stringData: { token: "s3cret" } })).code, 0);
    const r = await manifest({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "site" },
      spec: {
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: "www", configMap: { name: "site" } },
          { name: "tok", secret: { secretName: "tok", defaultMode: 0o400 } },
          { name: "scratch", emptyDir: {} },
        ],
        containers: [
          {
            name: "web",
            image: "localhost/busybox:latest",
            command: ["sh", "-c", 'cp /run/tok/token /scratch/copy && exec httpd -f -p 8080 -h /www'],
            ports: [{ name: "http", containerPort: 8080 }],
            volumeMounts: [
              { name: "www", mountPath: "/www" },
              { name: "tok", mountPath: "/run/tok" },
              { name: "scratch", mountPath: "/scratch" },
            ],
            readinessProbe: { httpGet: { path: "/index.html", port: "http" }, periodSeconds: 1 },
            livenessProbe: { exec: { command: ["test", "-f", "/scratch/copy"] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const p = await waitFor(cluster, ["pod", "site"], (o) => (o?.status?.conditions ?? []).some((c: Json) => c.type === "Ready" && c.status === "True"), "site Ready");
    assert.equal(p.status.containerStatuses[0].ready, true);
    const page = await httpGet(`http://${p.status.podIP}:8080/index.html`);
    assert.deepEqual(page, { status: 200, body: "from a configmap\n" });
    const id = containersOf(p.metadata.uid)[0];
    assert.equal(execFileSync("podman", ["exec", id, "stat", "-c", "%a", "/run/tok/token"]).toString().trim(), "400");
    // the configMap volume is read-only in the container
    assert.notEqual(spawnCode("podman", ["exec", id, "touch", "/www/x"]), 0);
    // the liveness probe fails once its file is gone: the container is killed and restarted
    execFileSync("podman", ["exec", id, "rm", "/scratch/copy"]);
    const restarted = await waitFor(cluster, ["pod", "site"], (o) => (o?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, "site restarted");
    assert.ok(restarted.status.containerStatuses[0].lastState.terminated, JSON.stringify(restarted.status.containerStatuses[0]));
    const events = JSON.parse((await kubectl(cluster, ["get", "events", "--field-selector", "involvedObject.name=site", "-o", "json"])).stdout).items as Json[];
    assert.ok(events.some((e) => e.reason === "Killing" && e.message === "Container web failed liveness probe, will be restarted"));
    await kubectl(cluster, ["delete", "pod", "site", "--grace-period=0", "--force"]);
  });

  it("serves kubectl logs and kubectl top from podman containers", async () => {
    const run = await kubectl(cluster, ["run", "talker", "--image=localhost/busybox:latest", "--overrides", JSON.stringify({ spec: { nodeName: NODE } }), "--", "sh", "-c", "echo hello-from-podman; echo oops >&2; sleep 600"]);
    assert.equal(run.code, 0, run.stderr);
    await waitFor(cluster, ["pod", "talker"], (p) => p?.status?.phase === "Running", "talker Running");
    let out = "";
    for (let i = 0; i < 40 && !out.includes("oops"); i++) {
      out = (await kubectl(cluster, ["logs", "talker"])).stdout;
      if (!out.includes("oops")) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(out, "hello-from-podman\noops\n");
    let top = { code: 1, stdout: "", stderr: "" };
    for (let i = 0; i < 60 && top.code !== 0; i++) {
      top = await kubectl(cluster, ["top", "pod", "talker"]);
      if (top.code !== 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(top.stdout, /^talker\s+\d+m\s+\d+Mi/m, top.stderr);
    // kubectl exec -it: podman exec -it on a terminal of the agent's, sized as kubectl's (30x100).
    const t = onTerminal(cluster, "exec -it talker -- sh");
    try {
      for (let i = 0; i < 120 && !t.out.includes("# "); i++) await new Promise((r) => setTimeout(r, 250));
      t.child.stdin.write("stty size; tty; exit 5\r");
      assert.equal(await t.code, 5, t.out);
    } finally {
      t.child.kill();
    }
    assert.match(t.out, /30 100\r\n/);
    assert.match(t.out, /\/dev\/pts\/\d+\r\n/);
    assert.equal((await kubectl(cluster, ["delete", "pod", "talker", "--grace-period=0", "--force"])).code, 0);
  });

  it("kubectl attach -i to a podman container started with stdin (stdinOnce closes it after)", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "listener" },
      spec: {
        nodeName: NODE,
        restartPolicy: "Never",
        containers: [{ name: "c", image: "localhost/busybox:latest", stdin: true, stdinOnce: true, command: ["sh", "-c", "while read l; do echo got:$l; done; echo bye"] }],
      },
    };
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(cluster, ["pod", "listener"], (p) => p?.status?.phase === "Running", "listener Running");
    const a = kubectlSession(cluster, ["attach", "-i", "listener"]);
    a.child.stdin.write("one\n");
    for (let i = 0; i < 120 && !a.out.includes("got:one"); i++) await new Promise((res) => setTimeout(res, 250));
    a.child.stdin.end("two\n");
    assert.equal(await a.code, 0, a.out);
    assert.match(a.out, /got:one\ngot:two\nbye\n/);
    await waitFor(cluster, ["pod", "listener"], (p) => p?.status?.phase === "Succeeded", "listener Succeeded");
  });

  it("a container that exits at once: all its output and its exit code; one podman process per start, none per running container", async () => {
    const before = agent.processCounts();
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "quick" },
      spec: { nodeName: NODE, restartPolicy: "Never", containers: [{ name: "c", image: "localhost/busybox:latest", command: ["sh", "-c", "echo first; echo second; printf tail; exit 3"] }] },
    };
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    const p = await waitFor(cluster, ["pod", "quick"], (o) => !!o?.status?.containerStatuses?.[0]?.state?.terminated, "quick terminated");
    const t = p.status.containerStatuses[0].state.terminated;
    assert.equal(t.exitCode, 3, JSON.stringify(t));
    assert.equal(t.reason, "Error");
    assert.equal(p.status.phase, "Failed");
    // conmon's log file, copied by the agent to its end once the container's death is seen.
    assert.equal((await kubectl(cluster, ["logs", "quick"])).stdout, "first\nsecond\ntail");
    const after = agent.processCounts();
    assert.equal((after.run ?? 0) - (before.run ?? 0), 1, JSON.stringify({ before, after }));
    // Exits come from the node's one event stream, output from conmon's files: no podman wait/logs per container.
    assert.equal(after.wait ?? 0, 0, JSON.stringify(after));
    assert.equal(after.logs ?? 0, 0, JSON.stringify(after));
    assert.equal(after.events, 1, JSON.stringify(after));
    assert.equal((await kubectl(cluster, ["delete", "pod", "quick", "--grace-period=0", "--force"])).code, 0);
  });

  it("exits are still seen after the podman events process dies (it is started again and catches up)", async () => {
    const mine = () =>
      execFileSync("ps", ["-eo", "pid=,ppid=,args="])
        .toString()
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => Number(f[1]) === process.pid && f.slice(2).join(" ").startsWith("podman events"))
        .map((f) => Number(f[0]));
    const streams = mine();
    assert.equal(streams.length, 1, "this agent runs one podman events process");
    const run = await kubectl(cluster, ["run", "late", "--image=localhost/busybox:latest", "--restart=Never", "--overrides", JSON.stringify({ spec: { nodeName: NODE } }), "--", "sh", "-c", "sleep 2; exit 4"]);
    assert.equal(run.code, 0, run.stderr);
    await waitFor(cluster, ["pod", "late"], (o) => o?.status?.phase === "Running", "late Running");
    process.kill(streams[0], "SIGKILL");
    const p = await waitFor(cluster, ["pod", "late"], (o) => !!o?.status?.containerStatuses?.[0]?.state?.terminated, "late terminated");
    assert.equal(p.status.containerStatuses[0].state.terminated.exitCode, 4);
    assert.equal(agent.processCounts().events, 2, "the stream was started again");
    const again = mine();
    assert.equal(again.length, 1);
    assert.notEqual(again[0], streams[0]);
    assert.equal((await kubectl(cluster, ["delete", "pod", "late", "--grace-period=0", "--force"])).code, 0);
  });

  it("stopping the agent removes its containers, namespaces and bridge", async () => {
    const run = await kubectl(cluster, ["run", "left", "--image=localhost/busybox:latest", "--", "sleep", "3600"]);
    assert.equal(run.code, 0, run.stderr);
    const p = await waitFor(cluster, ["pod", "left"], (o) => o?.status?.phase === "Running", "left Running");
    assert.equal(containersOf(p.metadata.uid).length, 1);
    await agent.stop();
    assert.deepEqual(containersOf(p.metadata.uid), []);
    assert.equal(execFileSync("podman", ["ps", "-a", "-q", "--filter", `label=edgeplane.dev/node=${NODE}`]).toString().trim(), "");
    assert.doesNotMatch(netnsList(), new RegExp(`-${p.metadata.uid.replace(/-/g, "").slice(0, 8)}\\b`));
    const gateway = `${p.status.podIP.split(".").slice(0, 3).join(".")}.1/24`;
    assert.ok(!execFileSync("ip", ["-o", "addr"]).toString().includes(gateway), "the node's bridge is removed");
  });
});
