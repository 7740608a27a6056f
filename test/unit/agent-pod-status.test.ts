import { describe, expect, it } from "vitest";
import { newRecord, type ContainerRecord, type Pod, type PodSpec } from "../../src/agent/container-record.ts";
import { planPod } from "../../src/agent/pod-plan.ts";
import { computePodStatus, podPhase } from "../../src/agent/pod-status.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

function rec(name: string, state: ContainerRecord["state"], extra: Partial<ContainerRecord> = {}, init = false): ContainerRecord {
  return { ...newRecord({ name, image: "img" }, init), state, everStarted: state.kind !== "waiting", ...extra };
}
const running = (name: string, extra: Partial<ContainerRecord> = {}) => rec(name, { kind: "running", startedAt: iso(T0) }, extra);
const exited = (name: string, exitCode: number, at = T0, extra: Partial<ContainerRecord> = {}, init = false) =>
  rec(name, { kind: "terminated", terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", startedAt: iso(at - 1000), finishedAt: iso(at) } }, extra, init);
const fresh = (name: string, init = false) => newRecord({ name, image: "img" }, init);

function pod(spec: Partial<PodSpec>): Pod {
  return { metadata: { name: "p", namespace: "ns", uid: "u1" }, spec: { containers: [{ name: "a", image: "img" }], ...spec } };
}

describe("agent pod plan", () => {
  it("runs init containers one at a time, in order, before any app container", () => {
    const spec = pod({}).spec;
    expect(planPod(spec, [fresh("i1", true), fresh("i2", true)], [fresh("a")], T0)).toEqual({ start: ["i1"] });
    expect(planPod(spec, [exited("i1", 0, T0, {}, true), fresh("i2", true)], [fresh("a")], T0)).toEqual({ start: ["i2"] });
    expect(planPod(spec, [exited("i1", 0, T0, {}, true), exited("i2", 0, T0, {}, true)], [fresh("a"), fresh("b")], T0)).toEqual({ start: ["a", "b"] });
  });

  it("a failed init container fails the pod under Never, is retried with backoff otherwise", () => {
    expect(planPod(pod({ restartPolicy: "Never" }).spec, [exited("i1", 1, T0, {}, true)], [fresh("a")], T0)).toEqual({ start: [], initFailed: "i1" });
    expect(planPod(pod({ restartPolicy: "Always" }).spec, [exited("i1", 1, T0, { restartCount: 1 }, true)], [fresh("a")], T0)).toEqual({ start: [], wakeAt: T0 + 10_000 });
  });

  it("restartPolicy decides restarts; the crash-loop backoff decides when", () => {
    const always = pod({ restartPolicy: "Always" }).spec;
    const onFailure = pod({ restartPolicy: "OnFailure" }).spec;
    const never = pod({ restartPolicy: "Never" }).spec;
    expect(planPod(always, [], [exited("a", 0)], T0)).toEqual({ start: ["a"] });
    expect(planPod(always, [], [exited("a", 1, T0, { restartCount: 2 })], T0 + 5000)).toEqual({ start: [], wakeAt: T0 + 20_000 });
    expect(planPod(always, [], [exited("a", 1, T0, { restartCount: 2 })], T0 + 20_000)).toEqual({ start: ["a"] });
    expect(planPod(onFailure, [], [exited("a", 0)], T0)).toEqual({ start: [] });
    expect(planPod(onFailure, [], [exited("a", 1)], T0)).toEqual({ start: ["a"] });
    expect(planPod(never, [], [exited("a", 1)], T0)).toEqual({ start: [] });
  });
});

describe("agent pod phase", () => {
  const spec = (restartPolicy: PodSpec["restartPolicy"]) => pod({ restartPolicy }).spec;
  it("follows the kubelet's getPhase", () => {
    expect(podPhase(spec("Always"), [fresh("i", true)], [fresh("a")], false)).toBe("Pending");
    expect(podPhase(spec("Always"), [], [fresh("a")], false)).toBe("Pending");
    expect(podPhase(spec("Always"), [], [running("a"), fresh("b")], false)).toBe("Pending");
    expect(podPhase(spec("Always"), [], [running("a")], false)).toBe("Running");
    expect(podPhase(spec("Always"), [], [exited("a", 0)], false)).toBe("Running");
    expect(podPhase(spec("Never"), [], [exited("a", 0), exited("b", 0)], false)).toBe("Succeeded");
    expect(podPhase(spec("Never"), [], [exited("a", 0), exited("b", 1)], false)).toBe("Failed");
    expect(podPhase(spec("Never"), [], [running("a"), exited("b", 1)], false)).toBe("Running");
    expect(podPhase(spec("OnFailure"), [], [exited("a", 0)], false)).toBe("Succeeded");
    expect(podPhase(spec("OnFailure"), [], [exited("a", 1)], false)).toBe("Running");
    expect(podPhase(spec("Never"), [exited("i", 1, T0, {}, true)], [fresh("a")], true)).toBe("Failed");
  });
});

describe("agent pod status", () => {
  const ctx = { hostIP: "192.0.2.7", podIP: "10.64.0.9", startTime: iso(T0), now: T0 };

  it("a running pod: Ready, IPs, start time, container status", () => {
    const s = computePodStatus(pod({}), [], [running("a", { containerID: "process://abc", imageID: "" })], ctx);
    expect(s.phase).toBe("Running");
    expect(s.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(["PodScheduled=True", "Initialized=True", "ContainersReady=True", "Ready=True"]);
    expect(s).toMatchObject({ hostIP: "192.0.2.7", hostIPs: [{ ip: "192.0.2.7" }], podIP: "10.64.0.9", podIPs: [{ ip: "10.64.0.9" }], startTime: iso(T0) });
    expect(s.containerStatuses).toEqual([
      { name: "a", image: "img", imageID: "", containerID: "process://abc", state: { running: { startedAt: iso(T0) } }, lastState: {}, ready: true, restartCount: 0, started: true },
    ]);
  });

  it("waiting on init containers: Initialized=False naming them", () => {
    const s = computePodStatus(pod({}), [running("i1", {}), fresh("i2", true)], [fresh("a")], ctx);
    expect(s.phase).toBe("Pending");
    expect(s.conditions![1]).toMatchObject({ type: "Initialized", status: "False", reason: "ContainersNotInitialized", message: "containers with incomplete status: [i1 i2]" });
    expect(s.conditions![3]).toMatchObject({ type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [a]" });
    expect(s.initContainerStatuses!.map((c) => c.name)).toEqual(["i1", "i2"]);
  });

  it("a crash-looping container waits in CrashLoopBackOff with its last termination", () => {
    const s = computePodStatus(pod({}), [], [exited("a", 2, T0, { restartCount: 1 })], { ...ctx, now: T0 + 1000 });
    expect(s.phase).toBe("Running");
    expect(s.containerStatuses![0].state).toEqual({ waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=a pod=p_ns(u1)" } });
    expect(s.containerStatuses![0].lastState).toMatchObject({ terminated: { exitCode: 2, reason: "Error" } });
    expect(s.containerStatuses![0].restartCount).toBe(1);
  });

  it("a finished pod: Succeeded, Ready=False PodCompleted, terminated state kept", () => {
    const s = computePodStatus(pod({ restartPolicy: "Never" }), [], [exited("a", 0)], ctx);
    expect(s.phase).toBe("Succeeded");
    expect(s.conditions![3]).toMatchObject({ type: "Ready", status: "False", reason: "PodCompleted" });
    expect(s.containerStatuses![0].state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
  });

  it("keeps a condition's lastTransitionTime while its status holds", () => {
    const p = pod({});
    const first = computePodStatus(p, [], [running("a")], ctx);
    const again = computePodStatus({ ...p, status: first }, [], [running("a")], { ...ctx, now: T0 + 60_000 });
    expect(again.conditions!.map((c) => c.lastTransitionTime)).toEqual(first.conditions!.map((c) => c.lastTransitionTime));
    const down = computePodStatus({ ...p, status: first }, [], [exited("a", 1, T0 + 60_000, { restartCount: 1 })], { ...ctx, now: T0 + 61_000 });
    expect(down.conditions![3]).toMatchObject({ status: "False", lastTransitionTime: iso(T0 + 61_000) });
  });

  it("probes drive ready and started: a running container failing readiness keeps the pod Ready=False", () => {
    const p = pod({ containers: [{ name: "a", image: "img" }, { name: "b", image: "img" }] });
    const s = computePodStatus(p, [], [running("a", { probeStarted: true, probeReady: false }), running("b", { probeStarted: false, probeReady: false })], ctx);
    expect(s.phase).toBe("Running");
    expect(s.containerStatuses!.map((c) => [c.name, c.started, c.ready])).toEqual([
      ["a", true, false],
      ["b", false, false],
    ]);
    const message = "containers with unready status: [a b]";
    expect(s.conditions!.slice(2)).toMatchObject([
      { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message },
      { type: "Ready", status: "False", reason: "ContainersNotReady", message },
    ]);
    const ready = computePodStatus(p, [], [running("a", { probeStarted: true, probeReady: true }), running("b")], ctx);
    expect(ready.conditions!.slice(2).map((c) => `${c.type}=${c.status}`)).toEqual(["ContainersReady=True", "Ready=True"]);
    expect(ready.containerStatuses!.map((c) => c.ready)).toEqual([true, true]);
  });
});
