import { describe, expect, it } from "vitest";
import { parseContainerState, parseExitStatus, resumeOffset, sameProcess, type ProcessContainerState } from "../../src/agent/process-state.ts";

const state: ProcessContainerState = {
  version: 1,
  id: "0123456789abcdef0123456789abcdef",
  podUid: "6f1c2a1e-8a5b-4a43-9a51-0b5d0b1d3f00",
  namespace: "default",
  pod: "web",
  container: "main",
  restartCount: 2,
  startedAt: "2026-11-24T00:10:00Z",
  monitorPid: 4242,
  monitorStart: 123456,
  isolated: true,
  cwd: "/var/lib/edgeplane/pods/default_web_6f1c",
  env: { PATH: "/usr/bin:/bin", HOSTNAME: "web" },
  tty: false,
  graceSeconds: 30,
};

/** A /proc/<pid>/stat line of pid 4242 started at `start` ticks (field 22), its command with spaces and parentheses. */
const stat = (pid: number, start: number) => `${pid} (sh (x) y) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 50 0 0 20 0 1 0 ${start} 5000000 300 18446744073709551615`;

describe("process runtime: container state files", () => {
  it("reads back a state it wrote", () => {
    expect(parseContainerState(JSON.stringify(state))).toEqual({ state });
  });

  it("rejects what it cannot trust, saying why", () => {
    const bad = (patch: Record<string, unknown>) => parseContainerState(JSON.stringify({ ...state, ...patch }));
    expect(parseContainerState("{not json")).toEqual({ error: "not JSON" });
    expect(parseContainerState("[]")).toEqual({ error: "not an object" });
    expect(parseContainerState("null")).toEqual({ error: "not an object" });
    expect(bad({ version: 2 })).toEqual({ error: "unknown version 2" });
    expect(bad({ id: "../../etc" })).toEqual({ error: "bad id" });
    expect(bad({ podUid: "" })).toEqual({ error: "bad podUid" });
    expect(bad({ container: 7 })).toEqual({ error: "bad container" });
    expect(bad({ restartCount: -1 })).toEqual({ error: "bad restartCount" });
    expect(bad({ restartCount: 1.5 })).toEqual({ error: "bad restartCount" });
    expect(bad({ startedAt: "yesterday" })).toEqual({ error: "bad startedAt" });
    // pid 0 or 1 would signal every process or init.
    expect(bad({ monitorPid: 1 })).toEqual({ error: "bad monitorPid" });
    expect(bad({ monitorPid: "4242" })).toEqual({ error: "bad monitorPid" });
    expect(bad({ monitorStart: null })).toEqual({ error: "bad monitorStart" });
    expect(bad({ graceSeconds: -5 })).toEqual({ error: "bad graceSeconds" });
    expect(bad({ isolated: "yes" })).toEqual({ error: "bad flags" });
    expect(bad({ env: { A: 1 } })).toEqual({ error: "bad env" });
    expect(bad({ env: ["A=1"] })).toEqual({ error: "bad env" });
  });

  it("pid reuse: the same pid with another start time is another process", () => {
    expect(sameProcess(stat(4242, 123456), 4242, 123456)).toBe(true);
    expect(sameProcess(stat(4242, 999999), 4242, 123456)).toBe(false);
    expect(sameProcess(stat(4243, 123456), 4242, 123456)).toBe(false);
    expect(sameProcess(undefined, 4242, 123456)).toBe(false);
    expect(sameProcess("garbage", 4242, 123456)).toBe(false);
  });

  it("exit status: only a complete line with a code 0-255", () => {
    expect(parseExitStatus("0\n")).toBe(0);
    expect(parseExitStatus("7\n")).toBe(7);
    expect(parseExitStatus("137\n")).toBe(137);
    expect(parseExitStatus("")).toBeUndefined();
    expect(parseExitStatus("13")).toBeUndefined(); // still being written
    expect(parseExitStatus("256\n")).toBeUndefined();
    expect(parseExitStatus("-1\n")).toBeUndefined();
  });

  it("output offsets: go on where the earlier run stopped, from the start if the file was truncated since", () => {
    expect(resumeOffset(100, 250)).toBe(100);
    expect(resumeOffset(250, 250)).toBe(250);
    expect(resumeOffset(300, 40)).toBe(0);
    expect(resumeOffset(undefined, 40)).toBe(0);
    expect(resumeOffset(Number.NaN, 40)).toBe(0);
    expect(resumeOffset(-3, 40)).toBe(0);
  });
});
