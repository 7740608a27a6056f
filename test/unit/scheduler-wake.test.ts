import { describe, expect, it } from "vitest";
import type { LogEvent } from "../../src/store/revision-log.ts";
import { schedulerHint, wantsScheduling } from "../../src/scheduler/wake.ts";

const ev = (type: LogEvent["type"], value: object, prev?: object, resource = "core/pods"): LogEvent => ({
  rev: 1,
  type,
  key: "k",
  resource,
  namespace: "ns",
  name: "p",
  value: JSON.stringify(value),
  ...(prev ? { prevValue: JSON.stringify(prev) } : {}),
});

const pending = { metadata: { labels: { app: "a" } }, spec: { schedulerName: "default-scheduler", containers: [] }, status: { phase: "Pending" } };
const boundTo = (node: string, phase = "Running", labels = { app: "a" }) => ({ metadata: { labels }, spec: { ...pending.spec, nodeName: node }, status: { phase } });

describe("scheduler wake-up hints", () => {
  it("which pods the default scheduler places", () => {
    expect(wantsScheduling(pending)).toBe(true);
    expect(wantsScheduling({ ...pending, spec: { schedulerName: "other" } })).toBe(false);
    expect(wantsScheduling({ ...pending, spec: { schedulingGates: [{ name: "g" }] } })).toBe(false);
    expect(wantsScheduling({ ...pending, metadata: { deletionTimestamp: "2024-01-01T00:00:00Z" } })).toBe(false);
    expect(wantsScheduling(boundTo("n"))).toBe(false);
    expect(wantsScheduling({ spec: {} })).toBe(true);
  });

  it("new unbound pods and spec changes of unbound pods are pending; the scheduler's own status writes are not", () => {
    expect(schedulerHint([ev("ADDED", pending)])).toEqual({ pending: true, released: false });
    const marked = { ...pending, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] } };
    expect(schedulerHint([ev("MODIFIED", marked, pending)])).toEqual({ pending: false, released: false });
    const tolerant = { ...pending, spec: { ...pending.spec, tolerations: [{ operator: "Exists" }] } };
    expect(schedulerHint([ev("MODIFIED", tolerant, pending)])).toEqual({ pending: true, released: false });
    expect(schedulerHint([ev("ADDED", pending, undefined, "core/configmaps")])).toEqual({ pending: false, released: false });
  });

  it("bound pods deleted, finished or relabelled release; a binding does not", () => {
    expect(schedulerHint([ev("DELETED", boundTo("n"))])).toEqual({ pending: false, released: true });
    expect(schedulerHint([ev("DELETED", pending)])).toEqual({ pending: false, released: false });
    expect(schedulerHint([ev("MODIFIED", boundTo("n", "Succeeded"), boundTo("n"))])).toEqual({ pending: false, released: true });
    expect(schedulerHint([ev("MODIFIED", boundTo("n", "Running", { app: "b" }), boundTo("n"))])).toEqual({ pending: false, released: true });
    expect(schedulerHint([ev("MODIFIED", boundTo("n"), pending)])).toEqual({ pending: false, released: false });
    expect(schedulerHint([ev("MODIFIED", boundTo("n", "Running"), boundTo("n", "Pending"))])).toEqual({ pending: false, released: false });
  });
});
