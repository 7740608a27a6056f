import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort } from "../../src/cli/local-cluster.ts";
import { kubectl } from "./cluster.ts";
import { startCli, stopCli as stop } from "./npm-start.ts";

/** `npm start` itself: ready line, kubeconfig, clean Ctrl-C, state kept across restarts. */

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
