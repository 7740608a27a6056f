import { describe, expect, it } from "vitest";
import { Batcher } from "../../src/agent/batcher.ts";
import { criOutput, parseCriLine, splitLines } from "../../src/agent/cri-log-format.ts";
import { Limiter } from "../../src/agent/limiter.ts";
import { parsePodmanEvent } from "../../src/agent/podman-event.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("podman events", () => {
  it("a died event: id, name, exit code, labels, time", () => {
    const line =
      '{"ContainerExitCode":3,"ID":"1e965de7145f4a6535f830a11257ea052c4e7bea8d137d45b4c7ba106b7216a1","Image":"localhost/busybox:latest","Name":"evtest1","Status":"died","Time":"2026-11-24T00:09:21.0292635Z","Type":"container","Attributes":{"edgeplane.dev/node":"n1"}}';
    expect(parsePodmanEvent(line)).toEqual({
      kind: "died",
      id: "1e965de7145f4a6535f830a11257ea052c4e7bea8d137d45b4c7ba106b7216a1",
      name: "evtest1",
      exitCode: 3,
      time: "2026-11-24T00:09:21.0292635Z",
      labels: { "edgeplane.dev/node": "n1" },
    });
  });

  it("exit code 0 is left out by podman: a died event without one exited 0", () => {
    const e = parsePodmanEvent('{"ID":"e3e7514a8418d7a4879a0fc187e82dd233d63fbb3626e1501e9f229a4c750798","Name":"x","Status":"died","Time":"2026-11-24T00:13:16Z","Type":"container","Attributes":null}');
    expect(e).toMatchObject({ kind: "died", exitCode: 0, labels: {} });
  });

  it("container and volume removals; other events, other types and junk are ignored", () => {
    expect(parsePodmanEvent('{"ID":"68e1e9ee161e","Name":"rot1","Status":"remove","Type":"container","Time":"t"}')).toEqual({ kind: "removed", id: "68e1e9ee161e", name: "rot1", time: "t" });
    expect(parsePodmanEvent('{"Name":"ep-probe-1","Status":"remove","Time":"t","Type":"volume","Attributes":null}')).toEqual({ kind: "volume-removed", name: "ep-probe-1", time: "t" });
    expect(parsePodmanEvent('{"ID":"68e1e9ee161e","Status":"start","Type":"container"}')).toBeUndefined();
    expect(parsePodmanEvent('{"Name":"/run/libpod/events/events.log","Status":"log-rotation","Type":"system"}')).toBeUndefined();
    expect(parsePodmanEvent('{"ID":"not-hex!","Status":"died","Type":"container"}')).toBeUndefined();
    expect(parsePodmanEvent("Error: something")).toBeUndefined();
    expect(parsePodmanEvent("null")).toBeUndefined();
  });
});

describe("CRI log lines (conmon k8s-file and the agent's own files)", () => {
  it("parses time, stream, partial flag and text", () => {
    const l = parseCriLine(Buffer.from("2026-11-24T00:09:19.972418276+00:00 stderr P half a li"))!;
    expect(l.time).toBe("2026-11-24T00:09:19.972418276+00:00");
    expect(l.stream).toBe("stderr");
    expect(l.partial).toBe(true);
    expect(l.text.toString()).toBe("half a li");
    expect(Number.isFinite(l.ms)).toBe(true);
    expect(parseCriLine(Buffer.from("no-spaces"))).toBeUndefined();
  });

  it("splits complete lines from the unfinished rest", () => {
    const { lines, rest } = splitLines(Buffer.from("a\nbb\nccc"));
    expect(lines.map(String)).toEqual(["a", "bb"]);
    expect(String(rest)).toBe("ccc");
  });

  it("turns lines back into the output as written: full lines get their newline, partial ones join the next", () => {
    const lines = splitLines(
      Buffer.from(
        "2026-11-24T00:09:19Z stdout F hello\n" +
          "2026-11-24T00:09:19Z stdout P par\n" +
          "2026-11-24T00:09:20Z stdout F t\n" +
          "2026-11-24T00:09:20Z stderr F oops\n" +
          "garbage\n" +
          "2026-11-24T00:09:21Z stdout P tail\n",
      ),
    ).lines;
    expect(criOutput(lines).map((o) => [o.stream, o.data.toString()])).toEqual([
      ["stdout", "hello\npart\n"],
      ["stderr", "oops\n"],
      ["stdout", "tail"],
    ]);
  });
});

describe("Batcher", () => {
  it("lookups asked for while a batch runs go together in the next one; duplicates are looked up once", async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const b = new Batcher<string, string>(async (keys) => {
      calls.push(keys);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      return new Map(keys.filter((k) => k !== "gone").map((k) => [k, k.toUpperCase()]));
    });
    const first = b.get("a");
    await tick();
    const rest = [b.get("b"), b.get("c"), b.get("b"), b.get("gone")];
    release();
    expect(await first).toBe("A");
    expect(await Promise.all(rest)).toEqual(["B", "C", "B", undefined]);
    expect(calls).toEqual([["a"], ["b", "c", "gone"]]);
    expect(b.calls).toBe(2);
  });

  it("at most maxBatch keys per call; a failing call answers undefined to its keys only", async () => {
    const calls: number[][] = [];
    const b = new Batcher<number, number>(async (keys) => {
      calls.push(keys);
      if (keys.includes(0)) throw new Error("boom");
      return new Map(keys.map((k) => [k, k * 2]));
    }, 2);
    const got = await Promise.all([0, 1, 2, 3, 4].map((k) => b.get(k)));
    expect(calls).toEqual([[0], [1, 2], [3, 4]]);
    expect(got).toEqual([undefined, 2, 4, 6, 8]);
  });
});

describe("Limiter", () => {
  it("runs at most `limit` tasks at once, in arrival order, and passes on results and errors", async () => {
    const l = new Limiter(2);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = [0, 1, 2, 3].map((i) =>
      l.run(async () => {
        started.push(i);
        await new Promise<void>((r) => releases.push(r));
        if (i === 3) throw new Error("task 3 failed");
        return i * 10;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(l.queued).toBe(2);
    releases[1]();
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    releases[0]();
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    releases[2]();
    releases[3]();
    const settled = await Promise.allSettled(tasks);
    expect(settled.slice(0, 3).map((s) => (s.status === "fulfilled" ? s.value : s.reason))).toEqual([0, 10, 20]);
    expect(settled[3].status).toBe("rejected");
    expect(l.peak).toBe(2);
    expect(() => new Limiter(0)).toThrow();
  });
});
