import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { LogSink } from "../../src/agent/container-logs.ts";
import { DetachedContainer, loadContainerStates } from "../../src/agent/process-container.ts";
import { OutputCopier } from "../../src/agent/process-output.ts";
import { readProcess } from "../../src/agent/proc-stats.ts";
import type { ProcessContainerState } from "../../src/agent/process-state.ts";

/**
 * The process runtime's files, with real files and processes (no cluster): the output copy across
 * a truncation and across an agent that died (a second copier on the same directory), and a state
 * file whose monitor pid now names another process (pid reuse): that process is never signalled.
 */

/** A sink that keeps what it is given. */
function memorySink(): LogSink & { text: () => string; closed: boolean } {
  const chunks: Buffer[] = [];
  const s = {
    closed: false,
    write: (_stream: string, chunk: Buffer) => void chunks.push(Buffer.from(chunk)),
    close: () => void (s.closed = true),
    text: () => Buffer.concat(chunks).toString(),
  };
  return s;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join("");

describe("process runtime files", () => {
  it("copies a container's output completely across a truncation of its raw file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeplane-out-"));
    const sink = memorySink();
    const copier = new OutputCopier(dir, sink, new Set());
    copier.start();
    try {
      // 6 MiB+ in bursts: the file is truncated once the copy has caught up past 4 MiB.
      let expected = "";
      for (let b = 0; b < 16; b++) {
        const chunk = lines(b * 40_000, (b + 1) * 40_000);
        appendFileSync(join(dir, "stdout"), chunk);
        expected += chunk;
        await until(`burst ${b} copied`, () => sink.text().length === expected.length);
      }
      assert.ok(expected.length > 6 * 1024 * 1024);
      assert.equal(sink.text(), expected);
      assert.ok(statSync(join(dir, "stdout")).size < 4 * 1024 * 1024, "the raw file was started over");
      await copier.finish();
      assert.ok(sink.closed);
    } finally {
      copier.stop();
    }
  });

  it("an agent started after one that died goes on where that one stopped copying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgeplane-out-"));
    const first = memorySink();
    const a = new OutputCopier(dir, first, new Set());
    a.start();
    appendFileSync(join(dir, "stdout"), "before 1\nbefore 2\n");
    appendFileSync(join(dir, "stderr"), "err before\n");
    await until("first copy", () => first.text().length === "before 1\nbefore 2\nerr before\n".length);
    a.stop(); // the agent dies: its log is not closed
    assert.equal(first.closed, false);
    appendFileSync(join(dir, "stdout"), "while away\n");
    const second = memorySink();
    const b = new OutputCopier(dir, second, new Set());
    b.start();
    try {
      appendFileSync(join(dir, "stdout"), "after\n");
      await until("second copy", () => second.text() === "while away\nafter\n");
    } finally {
      b.stop();
    }
  });

  it("a state whose monitor pid is now another process: reported ended (137), that process not signalled", async () => {
    const root = mkdtempSync(join(tmpdir(), "edgeplane-proc-"));
    const me = readProcess(process.pid)!;
    const state: ProcessContainerState = {
      version: 1,
      id: "0123456789abcdef0123456789abcdef",
      podUid: "uid-1",
      namespace: "default",
      pod: "p",
      container: "c",
      restartCount: 0,
      startedAt: new Date().toISOString(),
      // This test's own pid, with another start time: the monitor that had it is gone.
      monitorPid: process.pid,
      monitorStart: me.startTime + 1,
      isolated: false,
      cwd: root,
      env: {},
      tty: false,
      graceSeconds: 0,
    };
    mkdirSync(join(root, state.id));
    writeFileSync(join(root, state.id, "state.json"), JSON.stringify(state));
    mkdirSync(join(root, "garbage"));
    writeFileSync(join(root, "garbage", "state.json"), "{");
    const loaded = loadContainerStates(root);
    assert.deepEqual(loaded, [state], "the unusable one is dropped");
    let signalled = false;
    const onTerm = () => (signalled = true);
    process.on("SIGTERM", onTerm);
    try {
      const c = DetachedContainer.adopt(root, loaded[0]);
      await c.stop(1);
      const exit = await c.exited;
      assert.equal(exit.exitCode, 137);
      assert.match(exit.message ?? "", /without writing its exit status/);
      assert.equal(signalled, false);
      assert.deepEqual(loadContainerStates(root), [], "its directory is removed");
    } finally {
      process.off("SIGTERM", onTerm);
    }
  });
});
