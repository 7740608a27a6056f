import { describe, expect, it } from "vitest";
import { schedule } from "../../src/scheduler/schedule.ts";
import type { Decision } from "../../src/scheduler/types.ts";
import { bound, node, pod } from "./scheduler-helpers.ts";

const victimNames = (d: Decision) => (d.nodeName === undefined ? (d.preemption?.victims ?? []).map((v) => v.metadata.name).sort() : undefined);

describe("preemption", () => {
  it("evicts the fewest, least important lower-priority pods on the best node, and reserves the room", () => {
    const nodes = [node("a", { cpu: "2" }), node("b", { cpu: "2" })];
    const running = [
      bound(pod("a-low", { requests: { cpu: "1" }, priority: 10 }), "a"),
      bound(pod("a-mid", { requests: { cpu: "1" }, priority: 50 }), "a"),
      bound(pod("b-low1", { requests: { cpu: "1" }, priority: 10 }), "b"),
      bound(pod("b-low2", { requests: { cpu: "1" }, priority: 10 }), "b"),
    ];
    const urgent = pod("urgent", { requests: { cpu: "1" }, priority: 100 });
    const other = pod("other", { requests: { cpu: "1" }, priority: 5 });
    const [d, o] = schedule([urgent, other], nodes, running);
    expect(d.pod.metadata.name).toBe("urgent");
    expect(d.nodeName).toBeUndefined();
    // Node a costs one victim of priority 10; node b also one of priority 10: ties go by name.
    expect(d.nodeName === undefined && d.preemption?.nodeName).toBe("a");
    expect(victimNames(d)).toEqual(["a-low"]);
    expect(d.nodeName === undefined && d.message).toBe("0/2 nodes are available: 2 Insufficient cpu.");
    // The room is reserved for the preemptor: the lower-priority pod gets nothing (and preempts nothing: 5 < 10).
    expect(o.nodeName).toBeUndefined();
    expect(victimNames(o)).toEqual([]);
  });

  it("prefers the node whose most important victim is least important", () => {
    const nodes = [node("a", { cpu: "1" }), node("b", { cpu: "1" })];
    const running = [bound(pod("a1", { requests: { cpu: "1" }, priority: 40 }), "a"), bound(pod("b1", { requests: { cpu: "1" }, priority: 20 }), "b")];
    const [d] = schedule([pod("p", { requests: { cpu: "1" }, priority: 100 })], nodes, running);
    expect(d.nodeName === undefined && d.preemption?.nodeName).toBe("b");
    expect(victimNames(d)).toEqual(["b1"]);
  });

  it("reprieves the pods it can keep", () => {
    const nodes = [node("a", { cpu: "3" })];
    const running = [
      bound(pod("small-old", { requests: { cpu: "1" }, priority: 1 }), "a"),
      bound(pod("big", { requests: { cpu: "2" }, priority: 2 }), "a"),
    ];
    const [d] = schedule([pod("p", { requests: { cpu: "2" }, priority: 100 })], nodes, running);
    // Removing both frees 3; reprieving "big" (more important) leaves 1: too little; "small-old" fits back.
    expect(victimNames(d)).toEqual(["big"]);
  });

  it("never preempts equal or higher priority, with preemptionPolicy Never, or while earlier victims are terminating", () => {
    const nodes = [node("a", { cpu: "1" })];
    const same = [bound(pod("peer", { requests: { cpu: "1" }, priority: 100 }), "a")];
    expect(victimNames(schedule([pod("p", { requests: { cpu: "1" }, priority: 100 })], nodes, same)[0])).toEqual([]);
    const low = [bound(pod("low", { requests: { cpu: "1" }, priority: 1 }), "a")];
    expect(victimNames(schedule([pod("p", { requests: { cpu: "1" }, priority: 100, preemptionPolicy: "Never" })], nodes, low)[0])).toEqual([]);
    const terminating = [{ ...low[0], metadata: { ...low[0].metadata, deletionTimestamp: "2024-01-01T00:10:00Z" } }];
    const waiting = pod("p", { requests: { cpu: "1" }, priority: 100 });
    waiting.status = { phase: "Pending", nominatedNodeName: "a" };
    expect(victimNames(schedule([waiting], nodes, terminating)[0])).toEqual([]);
  });

  it("does not preempt when nothing lower would make room (a taint, not resources)", () => {
    const nodes = [node("a", { cpu: "1", taints: [{ key: "k", effect: "NoSchedule" }] })];
    const running = [bound(pod("low", { requests: { cpu: "1" }, priority: 1 }), "a")];
    const [d] = schedule([pod("p", { requests: { cpu: "1" }, priority: 100 })], nodes, running);
    expect(victimNames(d)).toEqual([]);
  });
});
