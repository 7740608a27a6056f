import { describe, expect, it } from "vitest";
import {
  activeProbes,
  dueProbes,
  newContainerProbes,
  newProbeState,
  nextProbeAt,
  probeParams,
  probesFailed,
  probesReady,
  probesStarted,
  recordProbe,
} from "../../src/agent/probe-state.ts";

const T0 = 1_000_000;
const exec = { exec: { command: ["true"] } };

describe("agent probe state", () => {
  it("defaults: period 10 s, timeout 1 s, success 1, failure 3; liveness/startup success threshold is always 1", () => {
    expect(probeParams("readiness", exec)).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
    expect(probeParams("readiness", { ...exec, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 4 })).toEqual({
      initialDelayMs: 5000,
      periodMs: 2000,
      timeoutMs: 3000,
      successThreshold: 2,
      failureThreshold: 4,
    });
    expect(probeParams("liveness", { ...exec, successThreshold: 3 }).successThreshold).toBe(1);
    expect(probeParams("startup", { ...exec, successThreshold: 3 }).successThreshold).toBe(1);
  });

  it("initial results: readiness failure, liveness success, startup failure; first run after initialDelaySeconds", () => {
    const r = newProbeState("readiness", { ...exec, initialDelaySeconds: 7 }, T0);
    expect([r.result, r.nextAt]).toEqual([false, T0 + 7000]);
    expect(newProbeState("liveness", exec, T0).result).toBe(true);
    expect(newProbeState("startup", exec, T0).result).toBe(false);
  });

  it("readiness commits success after successThreshold in a row and failure after failureThreshold in a row", () => {
    const s = newProbeState("readiness", { ...exec, periodSeconds: 1, successThreshold: 2, failureThreshold: 2 }, T0);
    const seq = [true, false, true, true, false, true, false, false, true, true].map((ok, i) => [recordProbe(s, ok, T0 + i * 1000), s.result]);
    expect(seq).toEqual([
      [false, false],
      [false, false],
      [false, false],
      [true, true],
      [false, true],
      [false, true],
      [false, true],
      [true, false],
      [false, false],
      [true, true],
    ]);
    expect(s.nextAt).toBe(T0 + 9000 + 1000);
    expect(s.onHold).toBe(false);
  });

  it("liveness: a failure is committed after failureThreshold in a row, then the probe is on hold", () => {
    const p = newContainerProbes({ livenessProbe: { ...exec, failureThreshold: 2 } }, T0);
    expect(recordProbe(p.liveness!, false, T0)).toBe(false);
    expect(recordProbe(p.liveness!, true, T0 + 10_000)).toBe(false);
    expect(recordProbe(p.liveness!, false, T0 + 20_000)).toBe(false);
    expect(probesFailed(p)).toBeUndefined();
    expect(recordProbe(p.liveness!, false, T0 + 30_000)).toBe(true);
    expect(p.liveness!.result).toBe(false);
    expect(probesFailed(p)).toBe("liveness");
    expect(activeProbes(p)).toEqual([]);
    expect(nextProbeAt(p)).toBeUndefined();
  });

  it("a startup probe gates liveness and readiness: not started, not ready, only startup runs", () => {
    const p = newContainerProbes(
      { startupProbe: { ...exec, periodSeconds: 1, failureThreshold: 3 }, livenessProbe: { ...exec, periodSeconds: 5 }, readinessProbe: { ...exec, periodSeconds: 2, initialDelaySeconds: 3 } },
      T0,
    );
    expect([probesStarted(p), probesReady(p)]).toEqual([false, false]);
    expect(dueProbes(p, T0).map((s) => s.kind)).toEqual(["startup"]);
    recordProbe(p.startup!, false, T0);
    expect(nextProbeAt(p)).toBe(T0 + 1000);
    expect(dueProbes(p, T0 + 999)).toEqual([]);
    expect(recordProbe(p.startup!, true, T0 + 1000)).toBe(true);
    expect([probesStarted(p), probesReady(p)]).toEqual([true, false]);
    // liveness was due from the start; readiness after its initial delay from the container's start
    expect(dueProbes(p, T0 + 1000).map((s) => s.kind)).toEqual(["liveness"]);
    expect(nextProbeAt(p)).toBe(T0);
    expect(dueProbes(p, T0 + 3000).map((s) => s.kind)).toEqual(["liveness", "readiness"]);
    expect(recordProbe(p.readiness!, true, T0 + 3000)).toBe(true);
    expect(probesReady(p)).toBe(true);
  });

  it("a startup probe that fails failureThreshold times fails the container", () => {
    const p = newContainerProbes({ startupProbe: { ...exec, failureThreshold: 2 }, livenessProbe: exec }, T0);
    recordProbe(p.startup!, false, T0);
    expect(probesFailed(p)).toBeUndefined();
    recordProbe(p.startup!, false, T0 + 10_000);
    expect(probesFailed(p)).toBe("startup");
    expect([probesStarted(p), probesReady(p), activeProbes(p).length]).toEqual([false, false, 0]);
  });

  it("without probes a container is started and ready", () => {
    const p = newContainerProbes({}, T0);
    expect([probesStarted(p), probesReady(p), nextProbeAt(p), probesFailed(p)]).toEqual([true, true, undefined, undefined]);
  });
});
