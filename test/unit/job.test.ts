import { describe, expect, it } from "vitest";
import { reconcile as reconcileCronJobs } from "../../src/controllers/cronjob.ts";
import { backoffRemaining, formatIndexes, nameSuffix, parseIndexes, reconcile } from "../../src/controllers/job.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import { jobKind } from "../../src/resources/job.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const FIN = "batch.kubernetes.io/job-tracking";
const JOB_UID = "job-uid";

function observe(now: number, jobs: KubeObject[], pods: KubeObject[] = []): Observed {
  return { ...emptyObserved("ns", now), pods, jobs };
}

const template = {
  metadata: { labels: { app: "pi" } },
  spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
};

function job(spec: Record<string, unknown> = {}, status?: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "ns", uid: JOB_UID, resourceVersion: "10", generation: 1, creationTimestamp: iso(T0), ...meta },
    spec: { template, ...spec },
    ...(status ? { status } : {}),
  };
}

const ownerRef = { apiVersion: "batch/v1", kind: "Job", name: "pi", uid: JOB_UID, controller: true, blockOwnerDeletion: true };

interface PodOpts {
  phase?: string;
  finalizer?: boolean;
  ready?: boolean;
  index?: number;
  deleting?: number;
  finished?: number;
  created?: number;
  node?: string;
  restarts?: number;
  owner?: typeof ownerRef | null;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  const status: Record<string, unknown> = { phase: o.phase ?? "Running" };
  if (o.ready) status.conditions = [{ type: "Ready", status: "True" }];
  if (o.finished !== undefined)
    status.containerStatuses = [{ name: "main", restartCount: o.restarts ?? 0, state: { terminated: { exitCode: o.phase === "Failed" ? 1 : 0, finishedAt: iso(o.finished) } } }];
  else if (o.restarts !== undefined) status.containerStatuses = [{ name: "main", restartCount: o.restarts, state: { running: {} } }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion: "5",
      creationTimestamp: iso(o.created ?? T0),
      ...(o.owner === null ? {} : { ownerReferences: [o.owner ?? ownerRef] }),
      ...(o.finalizer === false ? {} : { finalizers: [FIN] }),
      ...(o.index !== undefined ? { annotations: { "batch.kubernetes.io/job-completion-index": String(o.index) } } : {}),
      ...(o.deleting !== undefined ? { deletionTimestamp: iso(o.deleting), deletionGracePeriodSeconds: 0 } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: "main", image: "busybox" }] },
    status,
  };
}

/** The pod after its tracking finalizer is removed. */
const releasedPod = (p: KubeObject): KubeObject => {
  const next = structuredClone(p);
  delete next.metadata.finalizers;
  return next;
};
const released = (p: KubeObject): Action => ({ type: "update", resource: "core/pods", object: releasedPod(p) });
const statusUpdate = (j: KubeObject, status: Record<string, unknown>): Action => ({ type: "update", resource: "batch/jobs", subresource: "status", object: { ...j, status } });
const podEvent = (j: KubeObject, reason: string, message: string, eventType: "Normal" | "Warning" = "Normal"): Action => ({ type: "event", involved: j, eventType, reason, message });
const deleted = (p: KubeObject): Action => ({ type: "delete", resource: "core/pods", name: p.metadata.name!, uid: p.metadata.uid });
const cond = (type: string, reason: string, message: string, at: number, status = "True") => ({
  type,
  status,
  reason,
  message,
  lastProbeTime: iso(at),
  lastTransitionTime: iso(at),
});
const SCM = (at: number) => cond("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", at);
const COMPLETE = (at: number) => cond("Complete", "CompletionsReached", "Reached expected number of succeeded pods", at);

/** The pod a create action carries, for a NonIndexed job made from `template`. */
function expectedPod(name: string, extra: { index?: number } = {}): KubeObject {
  const i = extra.index;
  const labels: Record<string, string> = {
    app: "pi",
    "batch.kubernetes.io/controller-uid": JOB_UID,
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": JOB_UID,
    "job-name": "pi",
  };
  if (i !== undefined) labels["batch.kubernetes.io/job-completion-index"] = String(i);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      generateName: i === undefined ? "pi-" : `pi-${i}-`,
      namespace: "ns",
      labels,
      ...(i !== undefined ? { annotations: { "batch.kubernetes.io/job-completion-index": String(i) } } : {}),
      ownerReferences: [ownerRef],
      finalizers: [FIN],
    },
    spec:
      i === undefined
        ? template.spec
        : { ...template.spec, hostname: `pi-${i}`, containers: [{ name: "main", image: "busybox", env: [{ name: "JOB_COMPLETION_INDEX", value: String(i) }] }] },
  };
}

/** Names of the pods created, in order. */
const createdNames = (actions: Action[]) => actions.filter((a) => a.type === "create").map((a) => (a as { object: KubeObject }).object.metadata.name!);

function creations(j: KubeObject, names: string[], indexes?: number[]): Action[] {
  return names.flatMap((name, k) => [
    { type: "create", resource: "core/pods", object: expectedPod(name, { index: indexes?.[k] }) } as Action,
    podEvent(j, "SuccessfulCreate", `Created pod: ${name}`),
  ]);
}

const base = { ready: 0, terminating: 0, uncountedTerminatedPods: {} };

describe("Job reconciler: creating pods", () => {
  it("creates pods up to parallelism for a new job, then records active and startTime", () => {
    const j = job({ completions: 3, parallelism: 2 });
    const r = reconcile(observe(T0, [j]));
    const names = createdNames(r.actions);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^pi-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(names[0]).not.toBe(names[1]);
    expect(r).toEqual({
      actions: [...creations(j, names), statusUpdate(j, { startTime: iso(T0), active: 2, ...base })],
    });
  });

  it("is idempotent and names pods deterministically from the observation", () => {
    const j = job({ completions: 3, parallelism: 2 });
    expect(reconcile(observe(T0, [j]))).toEqual(reconcile(observe(T0, [j])));
    // A pod already named like the first choice is avoided.
    const first = createdNames(reconcile(observe(T0, [j])).actions)[0];
    const squatter = pod(first, { owner: null, finalizer: false });
    const names = createdNames(reconcile(observe(T0, [j], [squatter])).actions);
    expect(names).not.toContain(first);
  });

  it("defaults parallelism and completions to 1 and restartPolicy to Never", () => {
    const j = job({ template: { spec: { containers: [{ name: "main", image: "busybox" }] } } });
    const r = reconcile(observe(T0, [j]));
    const creates = r.actions.filter((a) => a.type === "create");
    expect(creates).toHaveLength(1);
    const p = (creates[0] as { object: KubeObject }).object;
    expect(p.spec).toEqual({ restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] });
    expect(p.metadata.labels).toEqual({
      "batch.kubernetes.io/controller-uid": JOB_UID,
      "batch.kubernetes.io/job-name": "pi",
      "controller-uid": JOB_UID,
      "job-name": "pi",
    });
  });

  it("does nothing once converged", () => {
    const j = job({ completions: 3, parallelism: 2 }, { startTime: iso(T0), active: 2, ...base });
    expect(reconcile(observe(T0 + 5000, [j], [pod("pi-a"), pod("pi-b")]))).toEqual({ actions: [] });
  });

  it("counts ready pods and updates status only when it changes", () => {
    const j = job({ completions: 3, parallelism: 2 }, { startTime: iso(T0), active: 2, ...base });
    expect(reconcile(observe(T0, [j], [pod("pi-a", { ready: true }), pod("pi-b")]))).toEqual({
      actions: [statusUpdate(j, { startTime: iso(T0), active: 2, ...base, ready: 1 })],
    });
  });

  it("runs a work-queue job (no completions) at parallelism until one pod succeeds", () => {
    const j = job({ parallelism: 2 }, { startTime: iso(T0), active: 2, ...base });
    const a = pod("pi-a", { phase: "Succeeded", finished: T0 + 1000 });
    const b = pod("pi-b");
    // One success: no replacement for it, the other keeps running.
    expect(reconcile(observe(T0 + 2000, [j], [a, b]))).toEqual({
      actions: [statusUpdate(j, { startTime: iso(T0), active: 1, ...base, uncountedTerminatedPods: { succeeded: ["uid-pi-a"] } })],
    });
    // Both done: success criteria met.
    const j2 = job({ parallelism: 2 }, { startTime: iso(T0), succeeded: 1, ...base });
    const b2 = pod("pi-b", { phase: "Succeeded", finished: T0 + 3000, finalizer: false });
    expect(reconcile(observe(T0 + 4000, [j2], [releasedPod(a), b2]))).toEqual({
      actions: [statusUpdate(j2, { startTime: iso(T0), succeeded: 1, ...base, conditions: [SCM(T0 + 4000), COMPLETE(T0 + 4000)], completionTime: iso(T0 + 4000) }), podEvent(j2, "Completed", "Job completed")],
    });
  });

  it("works on a Job as the API server stores it (defaults and generated selector)", () => {
    const j = job({ completions: 2, parallelism: 2, template: structuredClone(template) });
    jobKind.defaults!(j);
    expect(jobKind.validate!(j)).toEqual([]);
    const r = reconcile(observe(T0, [j]));
    const pods = r.actions.filter((a) => a.type === "create").map((a) => (a as { object: KubeObject }).object);
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.metadata.labels).toEqual({
        app: "pi",
        "batch.kubernetes.io/controller-uid": JOB_UID,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": JOB_UID,
        "job-name": "pi",
      });
      expect((p.spec as { restartPolicy: string }).restartPolicy).toBe("Never");
    }
    // The generated selector selects them.
    expect((j.spec as { selector: unknown }).selector).toEqual({ matchLabels: { "batch.kubernetes.io/controller-uid": JOB_UID } });
  });

  it("ignores jobs managed by another controller and jobs with an unknown completion mode", () => {
    expect(reconcile(observe(T0, [job({ managedBy: "example.com/other" })]))).toEqual({ actions: [] });
    expect(reconcile(observe(T0, [job({ completionMode: "Weird" })]))).toEqual({ actions: [] });
  });
});

describe("Job reconciler: counting with the tracking finalizer", () => {
  const spec = { completions: 3, parallelism: 2 };

  it("records a finished pod as uncounted, replaces it, and keeps counters until its finalizer is gone", () => {
    const j = job(spec, { startTime: iso(T0), active: 2, ...base });
    const a = pod("pi-a", { phase: "Succeeded", finished: T0 + 1000 });
    const b = pod("pi-b");
    const r = reconcile(observe(T0 + 2000, [j], [a, b]));
    const names = createdNames(r.actions);
    expect(names).toHaveLength(1);
    expect(r).toEqual({
      actions: [...creations(j, names), statusUpdate(j, { startTime: iso(T0), active: 2, ...base, uncountedTerminatedPods: { succeeded: ["uid-pi-a"] } })],
    });
  });

  it("removes the finalizer of a pod recorded as uncounted, then moves it into the counter", () => {
    const status = { startTime: iso(T0), active: 2, ...base, uncountedTerminatedPods: { succeeded: ["uid-pi-a"] } };
    const j = job(spec, status);
    const a = pod("pi-a", { phase: "Succeeded", finished: T0 + 1000 });
    const pods = [a, pod("pi-b"), pod("pi-c")];
    expect(reconcile(observe(T0 + 3000, [j], pods))).toEqual({ actions: [released(a)] });

    const a2 = releasedPod(a);
    expect(reconcile(observe(T0 + 4000, [j], [a2, pod("pi-b"), pod("pi-c")]))).toEqual({
      actions: [statusUpdate(j, { ...status, succeeded: 1, uncountedTerminatedPods: {} })],
    });
    // A pod deleted after it was recorded counts too.
    expect(reconcile(observe(T0 + 4000, [j], [pod("pi-b"), pod("pi-c")]))).toEqual({
      actions: [statusUpdate(j, { ...status, succeeded: 1, uncountedTerminatedPods: {} })],
    });
  });

  it("completes in three rounds: SuccessCriteriaMet, finalizer removal, Complete with completionTime", () => {
    const j = job({}, { startTime: iso(T0), active: 1, ...base });
    const a = pod("pi-a", { phase: "Succeeded", finished: T0 + 1000 });
    const r1 = reconcile(observe(T0 + 2000, [j], [a]));
    const s1 = { startTime: iso(T0), ...base, uncountedTerminatedPods: { succeeded: ["uid-pi-a"] }, conditions: [SCM(T0 + 2000)] };
    expect(r1).toEqual({ actions: [statusUpdate(j, s1)] });

    const j1 = job({}, s1);
    expect(reconcile(observe(T0 + 3000, [j1], [a]))).toEqual({ actions: [released(a)] });

    const a2 = releasedPod(a);
    expect(reconcile(observe(T0 + 4000, [j1], [a2]))).toEqual({
      actions: [
        statusUpdate(j1, { ...s1, succeeded: 1, uncountedTerminatedPods: {}, conditions: [SCM(T0 + 2000), COMPLETE(T0 + 4000)], completionTime: iso(T0 + 4000) }),
        podEvent(j1, "Completed", "Job completed"),
      ],
    });
  });

  it("counts a deleted (terminating) pod as failed and replaces it at once", () => {
    const j = job({ completions: 1, parallelism: 1 }, { startTime: iso(T0), active: 1, ...base });
    const a = pod("pi-a", { deleting: T0 - 60_000 });
    const r = reconcile(observe(T0, [j], [a]));
    // The deletion was a minute ago: past the 10 s backoff.
    const names = createdNames(r.actions);
    expect(names).toHaveLength(1);
    expect(r).toEqual({
      actions: [...creations(j, names), statusUpdate(j, { startTime: iso(T0), active: 1, ready: 0, terminating: 1, uncountedTerminatedPods: { failed: ["uid-pi-a"] } })],
    });
  });

  it("with podReplacementPolicy Failed, waits for terminating pods to fail before replacing them", () => {
    const j = job({ completions: 1, parallelism: 1, podReplacementPolicy: "Failed" }, { startTime: iso(T0), ...base, terminating: 1 });
    const a = pod("pi-a", { deleting: T0 - 60_000 });
    expect(reconcile(observe(T0, [j], [a]))).toEqual({ actions: [] });
  });

  it("releases orphaned pods that still hold the tracking finalizer", () => {
    const gone = { ...ownerRef, uid: "deleted-job" };
    const orphan = pod("old-x", { owner: gone, phase: "Succeeded" });
    const unowned = pod("loose", { owner: null });
    const foreign = pod("rs-pod", { owner: { ...ownerRef, apiVersion: "apps/v1", kind: "ReplicaSet", uid: "rs" } });
    expect(reconcile(observe(T0, [], [orphan, unowned, foreign]))).toEqual({ actions: [released(unowned), released(orphan)] });
  });

  it("releases every pod of a job being deleted and does nothing else", () => {
    const j = job(spec, { startTime: iso(T0), active: 2, ...base }, { deletionTimestamp: iso(T0) });
    const a = pod("pi-a");
    const b = pod("pi-b", { finalizer: false });
    expect(reconcile(observe(T0, [j], [a, b]))).toEqual({ actions: [released(a)] });
  });
});

describe("Job reconciler: failures and backoff", () => {
  it("waits out the backoff before replacing a failed pod, and asks to be woken then", () => {
    const j = job({ completions: 1 }, { startTime: iso(T0), ...base, failed: 1 });
    const a = pod("pi-a", { phase: "Failed", finished: T0 + 1000, finalizer: false });
    expect(reconcile(observe(T0 + 6000, [j], [a]))).toEqual({ actions: [], requeueAfterMs: 5000 });
    const r = reconcile(observe(T0 + 11_000, [j], [a]));
    const names = createdNames(r.actions);
    expect(r).toEqual({ actions: [...creations(j, names), statusUpdate(j, { startTime: iso(T0), active: 1, ...base, failed: 1 })] });
  });

  it("doubles the backoff per failure since the last success, capped at six minutes", () => {
    const fails = (n: number, at: number) => Array.from({ length: n }, (_, i) => pod(`f${i}`, { phase: "Failed", finished: at - (n - i) * 1000 }));
    const last = (n: number) => T0 - 1000; // the newest failure in fails(n, T0)
    expect(backoffRemaining(fails(1, T0), false, T0)).toBe(10_000 - (T0 - last(1)));
    expect(backoffRemaining(fails(2, T0), false, T0)).toBe(20_000 - 1000);
    expect(backoffRemaining(fails(3, T0), false, T0)).toBe(40_000 - 1000);
    expect(backoffRemaining(fails(6, T0), false, T0)).toBe(320_000 - 1000);
    expect(backoffRemaining(fails(7, T0), false, T0)).toBe(360_000 - 1000);
    expect(backoffRemaining(fails(12, T0), false, T0)).toBe(360_000 - 1000);
    // Failures before the last success do not count.
    const ok = pod("ok", { phase: "Succeeded", finished: T0 - 2500 });
    expect(backoffRemaining([...fails(3, T0), ok], false, T0)).toBe(20_000 - 1000);
    expect(backoffRemaining([], false, T0)).toBe(0);
    expect(backoffRemaining(fails(1, T0), false, T0 + 60_000)).toBe(0);
  });

  it("fails with BackoffLimitExceeded: FailureTarget and pod termination first, Failed once all pods are counted", () => {
    const j = job({ completions: 2, parallelism: 2, backoffLimit: 1 }, { startTime: iso(T0), active: 1, ...base, failed: 1 });
    const a = pod("pi-a", { phase: "Failed", finished: T0 + 1000 });
    const b = pod("pi-b", { ready: true });
    const ft = cond("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", T0 + 2000);
    const s1 = { startTime: iso(T0), failed: 1, ready: 0, terminating: 1, uncountedTerminatedPods: { failed: ["uid-pi-a", "uid-pi-b"] }, conditions: [ft] };
    expect(reconcile(observe(T0 + 2000, [j], [a, b]))).toEqual({
      actions: [deleted(b), podEvent(j, "SuccessfulDelete", "Deleted pod: pi-b"), statusUpdate(j, s1)],
    });

    // Next: both recorded, so their finalizers go (b is still terminating).
    const j1 = job(j.spec as Record<string, unknown>, s1);
    const b1 = pod("pi-b", { deleting: T0 + 2000 });
    expect(reconcile(observe(T0 + 3000, [j1], [a, b1]))).toEqual({ actions: [released(a), released(b1)] });

    // b is gone, a no longer tracked: counted, and the job has Failed.
    const a2 = releasedPod(a);
    const failedCond = cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", T0 + 4000);
    expect(reconcile(observe(T0 + 4000, [j1], [a2]))).toEqual({
      actions: [
        statusUpdate(j1, { ...s1, failed: 3, terminating: 0, uncountedTerminatedPods: {}, conditions: [ft, failedCond] }),
        podEvent(j1, "BackoffLimitExceeded", "Job has reached the specified backoff limit", "Warning"),
      ],
    });
  });

  it("waits for terminating pods before the terminal condition", () => {
    const ft = cond("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", T0);
    const j = job({ backoffLimit: 0 }, { startTime: iso(T0), failed: 1, ready: 0, terminating: 1, uncountedTerminatedPods: {}, conditions: [ft] });
    const graceful = pod("pi-b", { deleting: T0, finalizer: false, node: "n1" });
    expect(reconcile(observe(T0 + 1000, [j], [graceful]))).toEqual({ actions: [] });
  });

  it("fails a restartPolicy OnFailure job when container restarts reach the backoff limit", () => {
    const t = { ...template, spec: { ...template.spec, restartPolicy: "OnFailure" } };
    const j = job({ template: t, backoffLimit: 2 }, { startTime: iso(T0), active: 1, ...base });
    const a = pod("pi-a", { restarts: 2 });
    const ft = cond("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", T0 + 1000);
    expect(reconcile(observe(T0 + 1000, [j], [a]))).toEqual({
      actions: [
        deleted(a),
        podEvent(j, "SuccessfulDelete", "Deleted pod: pi-a"),
        statusUpdate(j, { startTime: iso(T0), ready: 0, terminating: 1, uncountedTerminatedPods: { failed: ["uid-pi-a"] }, conditions: [ft] }),
      ],
    });
    // One restart short: nothing to do.
    expect(reconcile(observe(T0 + 1000, [j], [pod("pi-a", { restarts: 1 })]))).toEqual({ actions: [] });
  });
});

describe("Job reconciler: activeDeadlineSeconds", () => {
  it("asks to be woken at the deadline", () => {
    const j = job({ activeDeadlineSeconds: 100 }, { startTime: iso(T0), active: 1, ...base });
    expect(reconcile(observe(T0 + 40_000, [j], [pod("pi-a")]))).toEqual({ actions: [], requeueAfterMs: 60_000 });
    // A new job counts from its startTime (now).
    const fresh = reconcile(observe(T0, [job({ activeDeadlineSeconds: 100 })]));
    expect(fresh.requeueAfterMs).toBe(100_000);
  });

  it("terminates active pods at the deadline and fails with DeadlineExceeded", () => {
    const spec = { activeDeadlineSeconds: 100, completions: 2, parallelism: 2 };
    const j = job(spec, { startTime: iso(T0), active: 2, ...base, ready: 1 });
    const a = pod("pi-a", { ready: true });
    const b = pod("pi-b");
    const now = T0 + 100_000;
    const ft = cond("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline", now);
    const s1 = { startTime: iso(T0), ready: 0, terminating: 2, uncountedTerminatedPods: { failed: ["uid-pi-a", "uid-pi-b"] }, conditions: [ft] };
    expect(reconcile(observe(now, [j], [a, b]))).toEqual({
      actions: [deleted(a), podEvent(j, "SuccessfulDelete", "Deleted pod: pi-a"), deleted(b), podEvent(j, "SuccessfulDelete", "Deleted pod: pi-b"), statusUpdate(j, s1)],
    });
    const j1 = job(spec, s1);
    const failedCond = cond("Failed", "DeadlineExceeded", "Job was active longer than specified deadline", now + 2000);
    expect(reconcile(observe(now + 2000, [j1], []))).toEqual({
      actions: [
        statusUpdate(j1, { ...s1, failed: 2, terminating: 0, uncountedTerminatedPods: {}, conditions: [ft, failedCond] }),
        podEvent(j1, "DeadlineExceeded", "Job was active longer than specified deadline", "Warning"),
      ],
    });
  });
});

describe("Job reconciler: suspend", () => {
  it("a job created suspended gets no pods, no startTime, and the Suspended condition", () => {
    const j = job({ suspend: true });
    expect(reconcile(observe(T0, [j]))).toEqual({
      actions: [statusUpdate(j, { ...base, conditions: [cond("Suspended", "JobSuspended", "Job suspended", T0)] }), podEvent(j, "Suspended", "Job suspended")],
    });
  });

  it("suspending releases the active pods, then deletes them without counting them", () => {
    const j = job({ completions: 2, parallelism: 2, suspend: true }, { startTime: iso(T0), active: 2, ...base });
    const a = pod("pi-a");
    const b = pod("pi-b", { ready: true, node: "n1" });
    const suspendedCond = cond("Suspended", "JobSuspended", "Job suspended", T0 + 1000);
    const s1 = { startTime: iso(T0), active: 2, ...base, conditions: [suspendedCond] };
    expect(reconcile(observe(T0 + 1000, [j], [a, b]))).toEqual({
      actions: [released(a), released(b), statusUpdate(j, { ...s1, ready: 1 }), podEvent(j, "Suspended", "Job suspended")],
    });
    const j1 = job(j.spec as Record<string, unknown>, { ...s1, ready: 1 });
    const a1 = releasedPod(a);
    const b1 = releasedPod(b);
    expect(reconcile(observe(T0 + 2000, [j1], [a1, b1]))).toEqual({
      actions: [
        deleted(a1),
        podEvent(j1, "SuccessfulDelete", "Deleted pod: pi-a"),
        deleted(b1),
        podEvent(j1, "SuccessfulDelete", "Deleted pod: pi-b"),
        statusUpdate(j1, { startTime: iso(T0), ready: 0, terminating: 2, uncountedTerminatedPods: {}, conditions: [suspendedCond] }),
      ],
    });
  });

  it("resuming flips the condition, restarts the deadline clock and creates pods", () => {
    const suspendedCond = cond("Suspended", "JobSuspended", "Job suspended", T0);
    const j = job({ activeDeadlineSeconds: 30 }, { startTime: iso(T0), ...base, conditions: [suspendedCond] });
    const now = T0 + 3_600_000; // long past the old deadline
    const r = reconcile(observe(now, [j]));
    const names = createdNames(r.actions);
    expect(r).toEqual({
      actions: [
        ...creations(j, names),
        statusUpdate(j, { startTime: iso(now), active: 1, ...base, conditions: [cond("Suspended", "JobResumed", "Job resumed", now, "False")] }),
        podEvent(j, "Resumed", "Job resumed"),
      ],
      requeueAfterMs: 30_000,
    });
  });
});

describe("Job reconciler: parallelism changes", () => {
  it("removes excess pods: pending before running, releasing before deleting", () => {
    const j = job({ completions: 5, parallelism: 1 }, { startTime: iso(T0), active: 3, ...base, ready: 1 });
    const running = pod("pi-a", { node: "n1", ready: true });
    const pending = pod("pi-b", { phase: "Pending" });
    const scheduled = pod("pi-c", { phase: "Pending", node: "n1" });
    expect(reconcile(observe(T0, [j], [running, pending, scheduled]))).toEqual({ actions: [released(pending), released(scheduled)] });
    const p1 = releasedPod(pending);
    const s1 = releasedPod(scheduled);
    expect(reconcile(observe(T0, [j], [running, p1, s1]))).toEqual({
      actions: [
        deleted(p1),
        podEvent(j, "SuccessfulDelete", "Deleted pod: pi-b"),
        deleted(s1),
        podEvent(j, "SuccessfulDelete", "Deleted pod: pi-c"),
        statusUpdate(j, { startTime: iso(T0), active: 1, ...base, ready: 1, terminating: 2 }),
      ],
    });
  });
});

describe("Job reconciler: Indexed", () => {
  const spec = { completionMode: "Indexed", completions: 5, parallelism: 3 };

  it("creates one pod per pending index with the index annotation, label, env and hostname", () => {
    const j = job(spec, { startTime: iso(T0), active: 1, ...base, completedIndexes: "0" });
    const three = pod("pi-3-xxxxx", { index: 3 });
    const r = reconcile(observe(T0, [j], [three]));
    const names = createdNames(r.actions);
    expect(names[0]).toMatch(/^pi-1-[a-z0-9]{5}$/);
    expect(names[1]).toMatch(/^pi-2-[a-z0-9]{5}$/);
    expect(r).toEqual({ actions: [...creations(j, names, [1, 2]), statusUpdate(j, { startTime: iso(T0), active: 3, ...base, completedIndexes: "0", succeeded: 1 })] });
  });

  it("records succeeded indexes in completedIndexes, then releases those pods", () => {
    const j = job({ ...spec, parallelism: 5 }, { startTime: iso(T0), active: 5, ...base });
    const pods = [0, 1, 2, 4].map((i) => pod(`pi-${i}-x`, { index: i, phase: "Succeeded", finished: T0 + 1000 }));
    const three = pod("pi-3-x", { index: 3 });
    const s1 = { startTime: iso(T0), active: 1, ...base, completedIndexes: "0-2,4", succeeded: 4 };
    expect(reconcile(observe(T0 + 2000, [j], [...pods, three]))).toEqual({ actions: [statusUpdate(j, s1)] });
    const j1 = job({ ...spec, parallelism: 5 }, s1);
    expect(reconcile(observe(T0 + 3000, [j1], [...pods, three]))).toEqual({ actions: pods.map(released) });
  });

  it("completes when every index has succeeded", () => {
    const j = job(spec, { startTime: iso(T0), active: 1, ...base, completedIndexes: "0-3", succeeded: 4 });
    const four = pod("pi-4-x", { index: 4, phase: "Succeeded", finished: T0 + 1000 });
    const s1 = { startTime: iso(T0), ...base, completedIndexes: "0-4", succeeded: 5, conditions: [SCM(T0 + 2000)] };
    expect(reconcile(observe(T0 + 2000, [j], [four]))).toEqual({ actions: [statusUpdate(j, s1)] });
    const j1 = job(spec, s1);
    expect(reconcile(observe(T0 + 3000, [j1], [four]))).toEqual({ actions: [released(four)] });
    expect(reconcile(observe(T0 + 4000, [j1], [releasedPod(four)]))).toEqual({
      actions: [statusUpdate(j1, { ...s1, conditions: [SCM(T0 + 2000), COMPLETE(T0 + 4000)], completionTime: iso(T0 + 4000) }), podEvent(j1, "Completed", "Job completed")],
    });
  });

  it("removes duplicate and out-of-range index pods", () => {
    const j = job(spec, { startTime: iso(T0), active: 3, ...base });
    const a = pod("pi-0-a", { index: 0, ready: true, node: "n1" });
    const dup = pod("pi-0-b", { index: 0, phase: "Pending" });
    const bad = pod("pi-9-c", { index: 9, finalizer: false });
    expect(reconcile(observe(T0, [j], [a, dup, bad]))).toEqual({
      actions: [released(dup), deleted(bad), podEvent(j, "SuccessfulDelete", "Deleted pod: pi-9-c"), statusUpdate(j, { startTime: iso(T0), active: 2, ...base, ready: 1, terminating: 1 })],
    });
  });

  it("formats and parses completedIndexes", () => {
    expect(formatIndexes([4, 0, 2, 1])).toBe("0-2,4");
    expect(formatIndexes([0, 1])).toBe("0-1");
    expect(formatIndexes([])).toBe("");
    expect([...parseIndexes("0-2,4,7-9", 8)].sort()).toEqual([0, 1, 2, 4, 7]);
    expect(nameSuffix("x")).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});

describe("Job reconciler: finished jobs", () => {
  const complete = { startTime: iso(T0), succeeded: 1, ...base, conditions: [SCM(T0), COMPLETE(T0)], completionTime: iso(T0) };

  it("does nothing for a finished job without TTL", () => {
    const j = job({}, complete);
    expect(reconcile(observe(T0 + 1000, [j], [pod("pi-a", { phase: "Succeeded", finalizer: false })]))).toEqual({ actions: [] });
  });

  it("releases and deletes pods of a finished job that still run", () => {
    const j = job({}, complete);
    const tracked = pod("pi-a");
    const loose = pod("pi-b", { finalizer: false });
    expect(reconcile(observe(T0 + 1000, [j], [tracked, loose]))).toEqual({
      actions: [released(tracked), deleted(loose), podEvent(j, "SuccessfulDelete", "Deleted pod: pi-b")],
    });
  });

  it("deletes the job ttlSecondsAfterFinished after it finished", () => {
    const j = job({ ttlSecondsAfterFinished: 60 }, complete);
    expect(reconcile(observe(T0 + 30_000, [j]))).toEqual({ actions: [], requeueAfterMs: 30_000 });
    expect(reconcile(observe(T0 + 60_000, [j]))).toEqual({
      actions: [{ type: "delete", resource: "batch/jobs", name: "pi", uid: JOB_UID, resourceVersion: "10", propagationPolicy: "Background" }],
    });
    // A failed job counts from its Failed condition.
    const failed = job({ ttlSecondsAfterFinished: 0 }, { ...base, failed: 1, conditions: [cond("Failed", "BackoffLimitExceeded", "x", T0 + 5000)] });
    expect(reconcile(observe(T0 + 4000, [failed])).requeueAfterMs).toBe(1000);
  });

  it("asks to be woken for the TTL in the round that finishes the job", () => {
    const s = { startTime: iso(T0), succeeded: 1, ...base, conditions: [SCM(T0)] };
    const j = job({ ttlSecondsAfterFinished: 100 }, s);
    expect(reconcile(observe(T0 + 1000, [j]))).toEqual({
      actions: [statusUpdate(j, { ...s, conditions: [SCM(T0), COMPLETE(T0 + 1000)], completionTime: iso(T0 + 1000) }), podEvent(j, "Completed", "Job completed")],
      requeueAfterMs: 100_000,
    });
  });
});

// ---------------------------------------------------------------- a simulated host


/**
 * A toy host: an in-memory store that applies actions the way the real one does
 * (CAS updates, status subresource, finalizers, preconditions, Background deletes
 * that take dependents), a kubelet stand-in, and a clock.
 */
class Sim {
  now = T0;
  objects = new Map<string, { resource: string; object: KubeObject }>();
  events: { reason: string; message: string; on: string }[] = [];
  private rv = 100;
  private uid = 0;
  rounds = 0;

  list(resource: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.resource === resource).map((o) => structuredClone(o.object));
  }
  get(resource: string, name: string): KubeObject | undefined {
    return this.objects.get(`${resource}/${name}`)?.object;
  }
  observe(): Observed {
    return { ...observe(this.now, this.list("batch/jobs"), this.list("core/pods")), cronJobs: this.list("batch/cronjobs") };
  }
  put(resource: string, object: KubeObject): void {
    object.metadata.resourceVersion = String(++this.rv);
    this.objects.set(`${resource}/${object.metadata.name}`, { resource, object });
  }
  create(resource: string, object: KubeObject): void {
    object.metadata.uid = `u${++this.uid}`;
    object.metadata.creationTimestamp = iso(this.now);
    if (resource === "core/pods") object.status = { phase: "Pending" };
    this.put(resource, object);
  }
  private remove(resource: string, name: string): void {
    const gone = this.get(resource, name)!;
    this.objects.delete(`${resource}/${name}`);
    // The garbage collector: dependents of a removed owner are deleted too.
    for (const o of [...this.objects.values()])
      if (o.object.metadata.ownerReferences?.some((r) => r.uid === gone.metadata.uid)) this.delete(o.resource, o.object.metadata.name!);
  }
  private delete(resource: string, name: string): void {
    const cur = this.get(resource, name);
    if (!cur) return;
    if (cur.metadata.finalizers?.length) {
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = iso(this.now);
        cur.metadata.deletionGracePeriodSeconds = 0;
        this.put(resource, cur);
      }
    } else this.remove(resource, name);
  }
  apply(actions: Action[]): void {
    for (const a of actions) {
      if (a.type === "event") {
        this.events.push({ reason: a.reason, message: a.message, on: a.involved.metadata.name! });
      } else if (a.type === "create") {
        if (this.get(a.resource, a.object.metadata.name!)) continue; // AlreadyExists
        this.create(a.resource, structuredClone(a.object));
      } else if (a.type === "update") {
        const cur = this.get(a.resource, a.object.metadata.name!);
        if (!cur || cur.metadata.resourceVersion !== a.object.metadata.resourceVersion) continue; // Conflict
        const next = structuredClone(a.object);
        if (a.subresource === "status") {
          const kept = structuredClone(cur);
          kept.status = next.status;
          this.put(a.resource, kept);
        } else {
          next.status = cur.status;
          next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
          if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) this.remove(a.resource, next.metadata.name!);
          else this.put(a.resource, next);
        }
      } else {
        const cur = this.get(a.resource, a.name);
        if (!cur || (a.uid && a.uid !== cur.metadata.uid) || (a.resourceVersion && a.resourceVersion !== cur.metadata.resourceVersion)) continue;
        this.delete(a.resource, a.name);
      }
    }
  }
  /** Reconcile until nothing is left to do; returns the smallest requeue asked for. */
  settle(): number | undefined {
    for (let i = 0; i < 50; i++) {
      this.rounds++;
      const observed = this.observe();
      const results = [reconcileCronJobs(observed), reconcile(observed)];
      const actions = results.flatMap((r) => r.actions);
      if (actions.length === 0) {
        const waits = results.map((r) => r.requeueAfterMs).filter((w): w is number => w !== undefined);
        return waits.length ? Math.min(...waits) : undefined;
      }
      this.apply(actions);
    }
    throw new Error("did not converge in 50 rounds");
  }
  /** The kubelet: each pod not yet finished gets the phase `outcome` picks (Running, Succeeded, Failed). */
  kubelet(outcome: (pod: KubeObject) => string): void {
    for (const pod of this.list("core/pods")) {
      const phase = (pod.status as { phase?: string }).phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const next = outcome(pod);
      const finished = next === "Succeeded" || next === "Failed";
      pod.status = {
        phase: next,
        ...(next === "Running" ? { conditions: [{ type: "Ready", status: "True" }] } : {}),
        ...(finished ? { containerStatuses: [{ name: "main", state: { terminated: { exitCode: next === "Failed" ? 1 : 0, finishedAt: iso(this.now) } } }] } : {}),
      };
      this.put("core/pods", pod);
    }
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

describe("Job reconciler against a simulated host", () => {
  it("runs a 3-completion, 2-parallel job to Complete with exact counts", () => {
    const sim = new Sim();
    sim.create("batch/jobs", job({ completions: 3, parallelism: 2 }));
    for (let i = 0; i < 10 && !(sim.get("batch/jobs", "pi")!.status as { completionTime?: string } | undefined)?.completionTime; i++) {
      sim.settle();
      sim.now += 1000;
      sim.kubelet(() => "Succeeded");
    }
    const j = sim.get("batch/jobs", "pi")!;
    expect(j.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect((j.status as { active?: number }).active).toBeUndefined();
    expect((j.status as { conditions: { type: string }[] }).conditions.map((c) => c.type)).toEqual(["SuccessCriteriaMet", "Complete"]);
    const pods = sim.list("core/pods");
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => !p.metadata.finalizers)).toBe(true);
    expect(sim.reasons()).toEqual(["SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "Completed"]);
    // Converged: another round does nothing.
    expect(reconcile(sim.observe())).toEqual({ actions: [] });
  });

  it("backs off 10 s then 20 s between failures and fails at the backoff limit", () => {
    const sim = new Sim();
    sim.create("batch/jobs", job({ backoffLimit: 2 }));
    const created: number[] = [];
    for (let i = 0; i < 20 && !(sim.get("batch/jobs", "pi")!.status as { conditions?: unknown[] } | undefined)?.conditions; i++) {
      const before = sim.list("core/pods").length;
      const wait = sim.settle();
      if (sim.list("core/pods").length > before) created.push(sim.now - T0);
      sim.kubelet(() => "Failed");
      sim.now += wait ?? 0;
    }
    // Conditions appear when the last failure is seen; finish the rounds.
    sim.settle();
    expect(created).toEqual([0, 10_000, 30_000]);
    const j = sim.get("batch/jobs", "pi")!;
    expect(j.status).toMatchObject({ failed: 3, uncountedTerminatedPods: {} });
    expect((j.status as { conditions: { type: string; reason: string }[] }).conditions.map((c) => [c.type, c.reason])).toEqual([
      ["FailureTarget", "BackoffLimitExceeded"],
      ["Failed", "BackoffLimitExceeded"],
    ]);
    expect(sim.reasons()).toEqual(["SuccessfulCreate", "SuccessfulCreate", "SuccessfulCreate", "BackoffLimitExceeded"]);
  });

  it("keeps counts when finished pods are deleted by someone else, and honours ttlSecondsAfterFinished", () => {
    const sim = new Sim();
    sim.create("batch/jobs", job({ completions: 2, parallelism: 2, ttlSecondsAfterFinished: 30 }));
    sim.settle();
    sim.kubelet(() => "Succeeded");
    // A user deletes both finished pods at once: the finalizer holds them until counted.
    sim.apply(sim.list("core/pods").map((p) => ({ type: "delete", resource: "core/pods", name: p.metadata.name! }) as Action));
    expect(sim.list("core/pods").every((p) => p.metadata.deletionTimestamp)).toBe(true);
    const wait = sim.settle();
    expect(sim.list("core/pods")).toEqual([]);
    expect(sim.get("batch/jobs", "pi")!.status).toMatchObject({ succeeded: 2, completionTime: iso(T0) });
    expect(wait).toBe(30_000);
    sim.now += wait!;
    sim.settle();
    expect(sim.get("batch/jobs", "pi")).toBeUndefined();
  });

  it("runs a CronJob's Jobs every 5 minutes, keeping the history limit", () => {
    const sim = new Sim();
    sim.now = Date.parse("2026-01-01T00:00:30Z");
    sim.create("batch/cronjobs", {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "tick", namespace: "ns" },
      spec: { schedule: "*/5 * * * *", concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 2, jobTemplate: { spec: { template } } },
    });
    const end = Date.parse("2026-01-01T00:30:00Z");
    while (sim.now <= end) {
      const wait = sim.settle();
      sim.now += 1000;
      sim.kubelet(() => "Succeeded");
      sim.settle();
      sim.now = Math.min(sim.now - 1000 + (wait ?? 0), end + 1);
    }
    const cj = sim.get("batch/cronjobs", "tick")!;
    expect(cj.status).toEqual({ lastScheduleTime: "2026-01-01T00:30:00Z", lastSuccessfulTime: "2026-01-01T00:30:01Z" });
    const jobs = sim.list("batch/jobs").map((j) => j.metadata.name);
    expect(jobs).toEqual([`tick-${Date.parse("2026-01-01T00:25:00Z") / 60_000}`, `tick-${Date.parse("2026-01-01T00:30:00Z") / 60_000}`]);
    expect(sim.events.filter((e) => e.on === "tick").map((e) => e.reason).filter((r) => r === "SuccessfulCreate")).toHaveLength(6);
    expect(sim.list("core/pods")).toHaveLength(2);
  });
});
