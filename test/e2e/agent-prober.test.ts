import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runProbe, type ProbeTarget } from "../../src/agent/prober.ts";
import type { ExecOptions, ExecProcess } from "../../src/agent/runtime.ts";

/** The probe executors (node, not workerd: real sockets on 127.0.0.1) and a fake runtime exec. */

let server: Server;
let port = 0;
let seen: { path?: string; headers?: Record<string, unknown> } = {};

before(async () => {
  server = createServer((req, res) => {
    seen = { path: req.url, headers: req.headers };
    res.statusCode = req.url === "/ok" ? 200 : req.url === "/moved" ? 302 : 500;
    res.end("body");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const target = (extra: Partial<ProbeTarget> = {}): ProbeTarget => ({
  podUid: "u1",
  podIP: "127.0.0.1",
  container: { name: "main", image: "img", ports: [{ name: "http", containerPort: port }] },
  ...extra,
});

function fakeExec(code: number, output: string, calls: ExecOptions[]): (o: ExecOptions) => Promise<ExecProcess> {
  return async (o) => {
    calls.push(o);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end(output);
    stderr.end();
    return { stdout, stderr, exited: new Promise((r) => setTimeout(() => r(code), 5)), kill() {} };
  };
}

describe("agent probe executors", () => {
  it("httpGet: 2xx/3xx succeed, others fail with the status code; named ports, path and headers", async () => {
    assert.deepEqual(await runProbe("readiness", { httpGet: { port: "http", path: "/ok", httpHeaders: [{ name: "X-Probe", value: "1" }] } }, target()), { ok: true });
    assert.equal(seen.path, "/ok");
    assert.equal(seen.headers?.["x-probe"], "1");
    assert.equal(seen.headers?.["user-agent"], "kube-probe/1.32");
    assert.deepEqual(await runProbe("readiness", { httpGet: { port, path: "/moved" } }, target()), { ok: true });
    assert.deepEqual(await runProbe("liveness", { httpGet: { port, path: "/bad" } }, target()), { ok: false, output: "HTTP probe failed with statuscode: 500" });
    assert.deepEqual(await runProbe("liveness", { httpGet: { port: "nope" } }, target()), { ok: false, output: 'port "nope" is not a named port of container "main"' });
    const closed = await closedPort();
    const r = await runProbe("liveness", { httpGet: { port: closed, path: "/x" } }, target());
    assert.equal(r.ok, false);
    assert.match(r.output ?? "", new RegExp(`^Get "http://127\\.0\\.0\\.1:${closed}/x": .*ECONNREFUSED`));
  });

  it("tcpSocket: a listening port succeeds, a closed one fails", async () => {
    assert.deepEqual(await runProbe("readiness", { tcpSocket: { port } }, target()), { ok: true });
    const closed = await closedPort();
    const r = await runProbe("readiness", { tcpSocket: { port: closed } }, target());
    assert.equal(r.ok, false);
    assert.match(r.output ?? "", new RegExp(`^dial tcp 127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`));
  });

  it("exec: runs the command in the container through the runtime; exit 0 succeeds, else fails with its output", async () => {
    const calls: ExecOptions[] = [];
    assert.deepEqual(await runProbe("liveness", { exec: { command: ["cat", "/tmp/healthy"] } }, target({ exec: fakeExec(0, "", calls) })), { ok: true });
    assert.deepEqual(calls, [{ podUid: "u1", container: "main", command: ["cat", "/tmp/healthy"], stdin: false, tty: false }]);
    assert.deepEqual(await runProbe("liveness", { exec: { command: ["cat", "/tmp/healthy"] } }, target({ exec: fakeExec(1, "cat: /tmp/healthy: No such file\n", calls) })), {
      ok: false,
      output: "cat: /tmp/healthy: No such file",
    });
    assert.deepEqual(await runProbe("liveness", { exec: { command: ["false"] } }, target({ exec: fakeExec(1, "", calls) })), { ok: false, output: 'command "false" exited with 1' });
    assert.deepEqual(await runProbe("liveness", { exec: { command: ["true"] } }, target()), { ok: false, output: "this runtime cannot run exec probes" });
  });

  it("hollow runtimes: every probe succeeds", async () => {
    const closed = await closedPort();
    assert.deepEqual(await runProbe("liveness", { tcpSocket: { port: closed } }, target({ alwaysSucceed: true })), { ok: true });
  });
});
