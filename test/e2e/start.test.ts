import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort, PROJECT_ROOT } from "../../src/cli/local-cluster.ts";
import { kubectl } from "./cluster.ts";

/** `npm start` itself: ready line, kubeconfig, clean Ctrl-C, state kept across restarts. */

function startCli(dataDir: string, port: number): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn("npm", ["start", "--", "--port", String(port), "--data-dir", dataDir], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, like a terminal's foreground job
  });
  let out = "";
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 120 s:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/edgeplane: ready at /.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before ready:\n${out}`));
    });
  });
  return { child, ready };
}

/** Ctrl-C (SIGINT to the whole process group, as a terminal sends it); true if it stopped by itself. */
function stop(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      process.kill(-child.pid!, "SIGKILL");
    }, 15_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(!forced && (code === 0 || code === 130 || signal === "SIGINT"));
    });
    process.kill(-child.pid!, "SIGINT");
  });
}

describe("npm start", () => {
  it("serves kubectl with the kubeconfig it writes, stops on Ctrl-C and keeps state across restarts", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-start-"));
    const port = await freePort();
    const first = startCli(dataDir, port);
    const out = await first.ready;
    assert.match(out, /applying D1 migrations/);
    assert.match(out, new RegExp(`ready at https://127\\.0\\.0\\.1:${port}`));
    const kubeconfig = join(dataDir, "kubeconfig");
    assert.ok(existsSync(kubeconfig));
    assert.equal(statSync(kubeconfig).mode & 0o077, 0, "kubeconfig must not be readable by others");
    assert.doesNotMatch(readFileSync(kubeconfig, "utf8"), /ADMIN_TOKEN_SHA256/);
    const cluster = { kubeconfig } as Parameters<typeof kubectl>[0];
    const created = await kubectl(cluster, ["create", "--validate=false", "-f", "-"], {
      input: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: persisted\n",
    });
    assert.equal(created.code, 0, created.stderr);

    assert.ok(await stop(first.child), "npm start must stop cleanly on Ctrl-C");
    const down = await kubectl(cluster, ["get", "ns"], { timeoutMs: 10_000 });
    assert.notEqual(down.code, 0, "the server must be gone after Ctrl-C");

    const second = startCli(dataDir, port);
    await second.ready;
    try {
      const got = await kubectl(cluster, ["get", "ns", "persisted", "-o", "name"]);
      assert.equal(got.stdout.trim(), "namespace/persisted");
      const noAuth = await kubectl(cluster, ["get", "ns", "--token", "wrong-token"]);
      assert.notEqual(noAuth.code, 0);
      assert.match(noAuth.stderr, /Unauthorized|must be logged in/);
    } finally {
      await stop(second.child);
    }
  });
});
