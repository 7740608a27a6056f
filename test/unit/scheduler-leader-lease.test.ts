import { describe, expect, it } from "vitest";
import { SCHEDULER_IDENTITY, standbyUntil } from "../../src/scheduler/leader-lease.ts";

const lease = (spec: Record<string, unknown>) => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "kube-scheduler", namespace: "kube-system" }, spec });
const now = Date.parse("2026-11-24T00:00:30Z");

describe("kube-scheduler's lease", () => {
  it("stands by until another holder's lease expires", () => {
    const held = lease({ holderIdentity: "ops", leaseDurationSeconds: 60, renewTime: "2026-11-24T00:00:00.000000Z" });
    expect(standbyUntil(held, now)).toBe(Date.parse("2026-11-24T00:01:00Z"));
    expect(standbyUntil(held, Date.parse("2026-11-24T00:01:00Z"))).toBeUndefined();
  });

  it("falls back to acquireTime when the holder never renewed", () => {
    expect(standbyUntil(lease({ holderIdentity: "ops", leaseDurationSeconds: 60, acquireTime: "2026-11-24T00:00:10Z" }), now)).toBe(Date.parse("2026-11-24T00:01:10Z"));
  });

  it("leads with no lease, an empty or own holder, or a lease without a duration or time", () => {
    expect(standbyUntil(undefined, now)).toBeUndefined();
    expect(standbyUntil(lease({ holderIdentity: "", leaseDurationSeconds: 60, renewTime: "2026-11-24T00:00:00Z" }), now)).toBeUndefined();
    expect(standbyUntil(lease({ holderIdentity: SCHEDULER_IDENTITY, leaseDurationSeconds: 60, renewTime: "2026-11-24T00:00:00Z" }), now)).toBeUndefined();
    expect(standbyUntil(lease({ holderIdentity: "ops", renewTime: "2026-11-24T00:00:00Z" }), now)).toBeUndefined();
    expect(standbyUntil(lease({ holderIdentity: "ops", leaseDurationSeconds: 60 }), now)).toBeUndefined();
  });
});
