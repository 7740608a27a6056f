import { describe, expect, it } from "vitest";
import { Backoff, crashLoopDelayMs } from "../../src/agent/backoff.ts";

describe("agent backoff", () => {
  it("crash-loop: first restart immediate, then 10 s doubling, capped at 5 min", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => crashLoopDelayMs(n))).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it("crash-loop: a container that ran 10 minutes starts over without delay", () => {
    expect(crashLoopDelayMs(5, 599_999)).toBe(160_000);
    expect(crashLoopDelayMs(5, 600_000)).toBe(0);
  });

  it("reconnect: doubles from the initial delay up to the max, jitter adds up to half, reset starts over", () => {
    const noJitter = new Backoff(500, 4000, 0.5, () => 0);
    expect([1, 2, 3, 4, 5].map(() => noJitter.next())).toEqual([500, 1000, 2000, 4000, 4000]);
    noJitter.reset();
    expect(noJitter.next()).toBe(500);
    const fullJitter = new Backoff(500, 4000, 0.5, () => 1);
    expect([1, 2, 3, 4].map(() => fullJitter.next())).toEqual([750, 1500, 3000, 6000]);
  });
});
