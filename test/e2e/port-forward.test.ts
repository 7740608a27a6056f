import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningAgent } from "../../src/agent/agent.ts";
import { freePort, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, kubectlSession, startCluster, waitForObject, startTestAgent } from "./cluster.ts";

/**
 * kubectl port-forward (SPDY/3.1 tunneled in a WebSocket) through the node tunnel to a busybox
 * httpd in a pod: the real control plane, a real agent (process runtime), real kubectl.
 */

const NODE = "pf-node";

async function portForward(cluster: LocalCluster, spec: string) {
  const f = kubectlSession(cluster, ["port-forward", "pod/web", spec]);
  const deadline = Date.now() + 30_000;
  while (!f.out.includes("Forwarding from")) {
    if (Date.now() > deadline || f.child.exitCode !== null) assert.fail(`kubectl port-forward did not start: ${f.out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return f;
}

const expectedBig = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join("");

describe("kubectl port-forward through the node tunnel", () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  let httpPort: number;
  let closedPort: number;

  before(async () => {
    cluster = await startCluster();
    agent = await startTestAgent(cluster, { name: NODE, runtime: "process" });
    httpPort = await freePort();
    closedPort = await freePort();
    const www = mkdtempSync(join(tmpdir(), "edgeplane-pf-www-"));
    const script = `echo hello-from-pod > ${www}/index.html && seq 1 200000 > ${www}/big.txt && exec busybox httpd -f -p ${httpPort} -h ${www}`;
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web" },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "httpd", image: "busybox", command: ["sh", "-c", script] }] },
    };
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await waitForObject(cluster, ["pod", "web"], (p) => p?.status?.phase === "Running", "web Running");
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("forwards local connections to the pod's port, several in a row, bytes intact", async () => {
    const local = await freePort();
    const f = await portForward(cluster, `${local}:${httpPort}`);
    try {
      assert.match(f.out, new RegExp(`Forwarding from 127.0.0.1:${local} -> ${httpPort}`));
      // httpd may need a moment after Running to listen: retry the first request.
      let first = "";
      for (let i = 0; i < 50 && first === ""; i++) {
        first = await fetch(`http://127.0.0.1:${local}/`).then((r) => r.text(), () => "");
        if (!first) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(first, "hello-from-pod\n");
      assert.equal(await (await fetch(`http://127.0.0.1:${local}/index.html`)).text(), "hello-from-pod\n");
      const big = await (await fetch(`http://127.0.0.1:${local}/big.txt`)).text();
      assert.equal(big.length, expectedBig.length);
      assert.equal(big, expectedBig);
      const missing = await fetch(`http://127.0.0.1:${local}/nope`);
      assert.equal(missing.status, 404);
      await missing.text();
    } finally {
      f.child.kill("SIGINT");
      await f.code;
    }
  });

  it("a port nobody listens on: kubectl shows the error from the error stream; the tunnel keeps serving", async () => {
    const local = await freePort();
    const f = await portForward(cluster, `${local}:${closedPort}`);
    try {
      await fetch(`http://127.0.0.1:${local}/`).then(
        (r) => r.text(),
        () => "",
      );
      const deadline = Date.now() + 20_000;
      while (!/an error occurred forwarding/.test(f.out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(f.out, new RegExp(`an error occurred forwarding ${local} -> ${closedPort}: error forwarding port ${closedPort} to pod web, uid [0-9a-f-]+: .*ECONNREFUSED`));
    } finally {
      f.child.kill("SIGINT");
      await f.code;
    }
    const again = await freePort();
    const g = await portForward(cluster, `${again}:${httpPort}`);
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${again}/`)).text(), "hello-from-pod\n");
    } finally {
      g.child.kill("SIGINT");
      await g.code;
    }
  });
});
