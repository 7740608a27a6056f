import { describe, expect, it } from "vitest";
import { formatInZone, mostRecentUnmet, nextScheduleAfter } from "../../src/controllers/cron-schedule.ts";
import { reconcile, scheduledJobName } from "../../src/controllers/cronjob.ts";
import type { Action, Observed } from "../../src/controllers/types.ts";
import { parseCron } from "../../src/resources/cron.ts";
import type { KubeObject, OwnerReference } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const C0 = at("2026-01-01T00:00:30Z");
const MIN = 60_000;

function observe(now: number, cronJobs: KubeObject[], jobs: KubeObject[] = []): Observed {
  return { ...emptyObserved("ns", now), jobs, cronJobs };
}

const jobSpec = { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "hello", image: "busybox", command: ["date"] }] } } };

function cronJob(spec: Record<string, unknown> = {}, status?: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "hello", namespace: "ns", uid: "cj-uid", resourceVersion: "7", generation: 1, creationTimestamp: iso(C0), ...meta },
    spec: { schedule: "*/5 * * * *", jobTemplate: { metadata: { labels: { app: "hello" } }, spec: jobSpec }, ...spec },
    ...(status ? { status } : {}),
  };
}

const cjRef = { apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: "cj-uid", controller: true, blockOwnerDeletion: true };

interface JobOpts {
  scheduled?: number;
  zone?: string;
  manual?: boolean;
  finished?: "Complete" | "Failed";
  finishedAt?: number;
  startTime?: number;
  deleting?: boolean;
  owner?: OwnerReference | null;
}

/** A Job as the store holds it; scheduled ones are named like the controller names them. */
function job(o: JobOpts = {}, name?: string): KubeObject {
  const n = name ?? (o.scheduled !== undefined ? scheduledJobName("hello", o.scheduled) : "hello-manual");
  const annotations: Record<string, string> = {};
  if (o.scheduled !== undefined) annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] = formatInZone(o.scheduled, o.zone ?? "UTC");
  if (o.manual) annotations["cronjob.kubernetes.io/instantiate"] = "manual";
  const status: Record<string, unknown> = {};
  if (o.startTime !== undefined) status.startTime = iso(o.startTime);
  if (o.finished) {
    const t = iso(o.finishedAt ?? o.startTime ?? C0);
    status.conditions = [{ type: o.finished, status: "True", lastProbeTime: t, lastTransitionTime: t }];
    if (o.finished === "Complete") status.completionTime = t;
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: n,
      namespace: "ns",
      uid: `uid-${n}`,
      resourceVersion: "20",
      annotations,
      ...(o.owner === null ? {} : { ownerReferences: [o.owner ?? cjRef] }),
      ...(o.deleting ? { deletionTimestamp: iso(C0) } : {}),
    },
    spec: jobSpec,
    status,
  };
}

const ref = (j: KubeObject) => ({ kind: "Job", namespace: "ns", name: j.metadata.name, uid: j.metadata.uid, apiVersion: "batch/v1", resourceVersion: "20" });
const statusUpdate = (cj: KubeObject, status: Record<string, unknown>): Action => ({ type: "update", resource: "batch/cronjobs", subresource: "status", object: { ...cj, status } });
const event = (cj: KubeObject, reason: string, message: string, eventType: "Normal" | "Warning" = "Normal"): Action => ({ type: "event", involved: cj, eventType, reason, message });
const deleteJob = (j: KubeObject): Action => ({ type: "delete", resource: "batch/jobs", name: j.metadata.name!, uid: j.metadata.uid, propagationPolicy: "Background" });

/** The create (and its event) for the run at `scheduled`. */
function creates(cj: KubeObject, scheduled: number, zone = "UTC"): Action[] {
  const name = scheduledJobName("hello", scheduled);
  return [
    {
      type: "create",
      resource: "batch/jobs",
      object: {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name,
          namespace: "ns",
          labels: { app: "hello" },
          annotations: { "batch.kubernetes.io/cronjob-scheduled-timestamp": formatInZone(scheduled, zone) },
          ownerReferences: [cjRef],
        },
        spec: jobSpec,
      },
    },
    event(cj, "SuccessfulCreate", `Created job ${name}`),
  ];
}

describe("CronJob reconciler: scheduling", () => {
  const T5 = at("2026-01-01T00:05:00Z");

  it("waits for the first schedule time", () => {
    expect(reconcile(observe(at("2026-01-01T00:03:00Z"), [cronJob()]))).toEqual({ actions: [], requeueAfterMs: 2 * MIN });
  });

  it("creates the Job of a due schedule time, named by minutes since the epoch", () => {
    const cj = cronJob();
    expect(scheduledJobName("hello", T5)).toBe("hello-29453765");
    expect(reconcile(observe(T5, [cj]))).toEqual({ actions: creates(cj, T5), requeueAfterMs: 5 * MIN });
    // Late but without a starting deadline: still run, and wake for the next one.
    expect(reconcile(observe(at("2026-01-01T00:07:10Z"), [cj]))).toEqual({ actions: creates(cj, T5), requeueAfterMs: 170_000 });
  });

  it("records the created Job in status once it is observed, and then converges", () => {
    const cj = cronJob();
    const j = job({ scheduled: T5 });
    const now = T5 + 2000;
    const status = { active: [ref(j)], lastScheduleTime: "2026-01-01T00:05:00Z" };
    expect(reconcile(observe(now, [cj], [j]))).toEqual({ actions: [statusUpdate(cj, status)], requeueAfterMs: 5 * MIN - 2000 });
    expect(reconcile(observe(now, [cronJob({}, status)], [j]))).toEqual({ actions: [], requeueAfterMs: 5 * MIN - 2000 });
  });

  it("never creates a schedule time twice, even before status caught up", () => {
    const cj = cronJob();
    const j = job({ scheduled: T5 });
    const r = reconcile(observe(T5, [cj], [j]));
    expect(r.actions.filter((a) => a.type === "create")).toEqual([]);
  });

  it("leaves a same-named Job it does not own alone", () => {
    const cj = cronJob();
    const other = job({ scheduled: T5, owner: null });
    expect(reconcile(observe(T5, [cj], [other]))).toEqual({ actions: [], requeueAfterMs: 5 * MIN });
  });

  it("drops finished Jobs from active and records lastSuccessfulTime", () => {
    const j = job({ scheduled: T5, startTime: T5, finished: "Complete", finishedAt: T5 + 30_000 });
    const cj = cronJob({}, { active: [ref(j)], lastScheduleTime: iso(T5) });
    expect(reconcile(observe(T5 + MIN, [cj], [j]))).toEqual({
      actions: [
        statusUpdate(cj, { lastScheduleTime: iso(T5), lastSuccessfulTime: iso(T5 + 30_000) }),
        event(cj, "SawCompletedJob", `Saw completed job: ${j.metadata.name}, status: Complete`),
      ],
      requeueAfterMs: 4 * MIN,
    });
  });

  it("drops Jobs that went missing", () => {
    const gone = job({ scheduled: T5 });
    const cj = cronJob({}, { active: [ref(gone)], lastScheduleTime: iso(T5) });
    expect(reconcile(observe(T5 + MIN, [cj], []))).toEqual({
      actions: [statusUpdate(cj, { lastScheduleTime: iso(T5) }), event(cj, "MissingJob", `Active job went missing: ${gone.metadata.name}`)],
      requeueAfterMs: 4 * MIN,
    });
  });

  it("suspended: no runs and no wake-up, but status is kept current", () => {
    const j = job({ scheduled: T5, finished: "Failed", startTime: T5 });
    const cj = cronJob({ suspend: true }, { active: [ref(j)], lastScheduleTime: iso(T5) });
    expect(reconcile(observe(at("2026-01-01T01:00:00Z"), [cj], [j]))).toEqual({
      actions: [statusUpdate(cj, { lastScheduleTime: iso(T5) }), event(cj, "SawCompletedJob", `Saw completed job: ${j.metadata.name}, status: Failed`)],
    });
  });

  it("a CronJob being deleted only keeps its status", () => {
    const cj = cronJob({}, undefined, { deletionTimestamp: iso(C0) });
    expect(reconcile(observe(T5, [cj]))).toEqual({ actions: [] });
  });

  it("an invalid schedule or time zone schedules nothing", () => {
    expect(reconcile(observe(T5, [cronJob({ schedule: "61 * * * *" })]))).toEqual({ actions: [] });
    expect(reconcile(observe(T5, [cronJob({ timeZone: "Mars/Olympus" })]))).toEqual({ actions: [] });
  });

  it("supports descriptors and @every", () => {
    const hourly = cronJob({ schedule: "@hourly" });
    const h1 = at("2026-01-01T01:00:00Z");
    expect(reconcile(observe(h1, [hourly]))).toEqual({ actions: creates(hourly, h1), requeueAfterMs: 60 * MIN });
    const every = cronJob({ schedule: "@every 90m" });
    // Anchored at the creation time (00:00:30).
    const first = at("2026-01-01T01:30:30Z");
    expect(reconcile(observe(first - 1000, [every]))).toEqual({ actions: [], requeueAfterMs: 1000 });
    expect(reconcile(observe(first, [every]))).toEqual({ actions: creates(every, first), requeueAfterMs: 90 * MIN });
  });
});

describe("CronJob reconciler: concurrency policies", () => {
  const T5 = at("2026-01-01T00:05:00Z");
  const T10 = at("2026-01-01T00:10:00Z");
  const running = job({ scheduled: T5, startTime: T5 });
  const status = { active: [ref(running)], lastScheduleTime: iso(T5) };

  it("Allow runs alongside the active Job", () => {
    const cj = cronJob({}, status);
    expect(reconcile(observe(T10, [cj], [running]))).toEqual({ actions: creates(cj, T10), requeueAfterMs: 5 * MIN });
  });

  it("Forbid skips while a Job is active, and runs the missed time once it is done", () => {
    const cj = cronJob({ concurrencyPolicy: "Forbid" }, status);
    expect(reconcile(observe(T10, [cj], [running]))).toEqual({ actions: [], requeueAfterMs: 5 * MIN });
    // A Job created last round but not yet in status blocks too.
    const unlisted = cronJob({ concurrencyPolicy: "Forbid" }, { lastScheduleTime: iso(T5) });
    expect(reconcile(observe(T10, [unlisted], [running])).actions.filter((a) => a.type === "create")).toEqual([]);
    // Done at 00:12: the 00:10 run starts late.
    const done = job({ scheduled: T5, startTime: T5, finished: "Complete", finishedAt: T5 + 7 * MIN });
    const now = at("2026-01-01T00:12:00Z");
    expect(reconcile(observe(now, [cj], [done]))).toEqual({
      actions: [
        statusUpdate(cj, { lastScheduleTime: iso(T5), lastSuccessfulTime: iso(T5 + 7 * MIN) }),
        event(cj, "SawCompletedJob", `Saw completed job: ${done.metadata.name}, status: Complete`),
        ...creates(cj, T10),
      ],
      requeueAfterMs: 3 * MIN,
    });
  });

  it("Replace deletes the active Jobs and creates the new one", () => {
    const cj = cronJob({ concurrencyPolicy: "Replace" }, status);
    expect(reconcile(observe(T10, [cj], [running]))).toEqual({
      actions: [
        statusUpdate(cj, { lastScheduleTime: iso(T5) }),
        deleteJob(running),
        event(cj, "SuccessfulDelete", `Deleted job ${running.metadata.name}`),
        ...creates(cj, T10),
      ],
      requeueAfterMs: 5 * MIN,
    });
  });

  it("a manual Job (kubectl create job --from) is not a scheduled run and not active", () => {
    const manual = job({ manual: true, startTime: T5 });
    const cj = cronJob({ concurrencyPolicy: "Forbid" }, status);
    // Forbid only looks at scheduled runs: the manual Job does not block, nor get listed.
    const idle = cronJob({ concurrencyPolicy: "Forbid" }, { lastScheduleTime: iso(T5) });
    expect(reconcile(observe(T10, [idle], [manual]))).toEqual({ actions: creates(idle, T10), requeueAfterMs: 5 * MIN });
    expect(reconcile(observe(T5 + MIN, [cj], [running, manual]))).toEqual({ actions: [], requeueAfterMs: 4 * MIN });
    // It does not move lastScheduleTime; once it succeeds it sets lastSuccessfulTime.
    const manualDone = job({ manual: true, startTime: T10, finished: "Complete", finishedAt: T10 + 5000 });
    expect(reconcile(observe(T10 + MIN, [idle], [manualDone]))).toEqual({
      actions: [statusUpdate(idle, { lastScheduleTime: iso(T5), lastSuccessfulTime: iso(T10 + 5000) }), ...creates(idle, T10)],
      requeueAfterMs: 4 * MIN,
    });
  });
});

describe("CronJob reconciler: missed schedules", () => {
  it("startingDeadlineSeconds skips times older than the deadline", () => {
    const last = { lastScheduleTime: "2026-01-01T00:05:00Z" };
    const now = at("2026-01-01T00:22:30Z");
    const tight = cronJob({ startingDeadlineSeconds: 60 }, last);
    expect(reconcile(observe(now, [tight]))).toEqual({ actions: [], requeueAfterMs: 150_000 });
    const loose = cronJob({ startingDeadlineSeconds: 200 }, last);
    expect(reconcile(observe(now, [loose]))).toEqual({ actions: creates(loose, at("2026-01-01T00:20:00Z")), requeueAfterMs: 150_000 });
  });

  it("with more than 100 missed times, runs only the latest and warns TooManyMissedTimes", () => {
    const cj = cronJob({ schedule: "* * * * *" });
    const now = at("2026-01-02T00:00:10Z");
    expect(reconcile(observe(now, [cj]))).toEqual({
      actions: [
        event(cj, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew", "Warning"),
        ...creates(cj, at("2026-01-02T00:00:00Z")),
      ],
      requeueAfterMs: 50_000,
    });
  });

  it("counts missed times and finds the latest without walking them all", () => {
    const s = parseCron("0 9 * * MON");
    expect(mostRecentUnmet(s, at("2026-01-01T00:00:00Z"), at("2026-01-20T00:00:00Z"))).toEqual({ time: at("2026-01-19T09:00:00Z"), missed: 3, tooMany: false });
    expect(mostRecentUnmet(s, at("2020-01-01T00:00:00Z"), at("2026-01-20T00:00:00Z"))).toEqual({ time: at("2026-01-19T09:00:00Z"), missed: 101, tooMany: true });
    expect(mostRecentUnmet(s, at("2026-01-19T09:00:00Z"), at("2026-01-20T00:00:00Z"))).toEqual({ missed: 0, tooMany: false });
    const every = parseCron("@every 1h");
    expect(mostRecentUnmet(every, at("2026-01-01T00:00:30Z"), at("2026-01-01T05:10:00Z"))).toEqual({ time: at("2026-01-01T05:00:30Z"), missed: 5, tooMany: false });
    expect(nextScheduleAfter(every, at("2026-01-01T00:00:30Z"), at("2026-01-01T05:10:00Z"))).toBe(at("2026-01-01T06:00:30Z"));
  });
});

describe("CronJob reconciler: time zones", () => {
  it("schedules in spec.timeZone and stamps the scheduled time with its offset", () => {
    const cj = cronJob({ schedule: "0 9 * * *", timeZone: "Europe/Berlin" }, undefined, { creationTimestamp: "2026-01-14T12:00:00Z" });
    const nine = at("2026-01-15T08:00:00Z"); // 09:00 CET
    const r = reconcile(observe(nine, [cj]));
    expect(r).toEqual({ actions: creates(cj, nine, "Europe/Berlin"), requeueAfterMs: 24 * 60 * MIN });
    const created = (r.actions[0] as { object: KubeObject }).object;
    expect(created.metadata.annotations).toEqual({ "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-01-15T09:00:00+01:00" });
    expect(created.metadata.name).toBe(`hello-${nine / MIN}`);
  });

  it("skips a wall-clock time that does not exist when clocks go forward (Europe/Berlin)", () => {
    // 02:30 on 2026-03-29 does not exist in Berlin: the next run is 02:30 CEST on the 30th.
    const cj = cronJob({ schedule: "30 2 * * *", timeZone: "Europe/Berlin" }, { lastScheduleTime: "2026-03-28T01:30:00Z" });
    const noon = at("2026-03-29T12:00:00Z");
    const next = at("2026-03-30T00:30:00Z");
    expect(reconcile(observe(noon, [cj]))).toEqual({ actions: [], requeueAfterMs: next - noon });
    const r = reconcile(observe(next, [cj]));
    expect(r).toEqual({ actions: creates(cj, next, "Europe/Berlin"), requeueAfterMs: 24 * 60 * MIN });
    expect((r.actions[0] as { object: KubeObject }).object.metadata.annotations).toEqual({
      "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-03-30T02:30:00+02:00",
    });
  });

  it("keeps wall-clock time across the change back to standard time (25-hour day)", () => {
    const cj = cronJob({ schedule: "0 9 * * *", timeZone: "Europe/Berlin" }, { lastScheduleTime: "2026-10-24T07:00:00Z" });
    const after = at("2026-10-24T07:00:30Z");
    const next = at("2026-10-25T08:00:00Z"); // 09:00 CET
    expect(reconcile(observe(after, [cj]))).toEqual({ actions: [], requeueAfterMs: next - after });
    expect(next - after).toBe(25 * 60 * MIN - 30_000);
    const r = reconcile(observe(next, [cj]));
    expect((r.actions[0] as { object: KubeObject }).object.metadata.annotations).toEqual({
      "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-10-25T09:00:00+01:00",
    });
  });

  it("formats RFC 3339 like Go does", () => {
    const t = at("2026-01-15T08:00:00Z");
    expect(formatInZone(t)).toBe("2026-01-15T08:00:00Z");
    expect(formatInZone(t, "America/New_York")).toBe("2026-01-15T03:00:00-05:00");
    expect(formatInZone(t, "Asia/Kolkata")).toBe("2026-01-15T13:30:00+05:30");
    expect(formatInZone(t, "Europe/London")).toBe("2026-01-15T08:00:00Z");
  });
});

describe("CronJob reconciler: history limits", () => {
  const start = (i: number) => at("2026-01-01T00:00:00Z") + i * 5 * MIN;
  const done = (i: number, finished: "Complete" | "Failed") => job({ scheduled: start(i), startTime: start(i), finished, finishedAt: start(i) + MIN });

  it("deletes the oldest finished Jobs beyond the defaults (3 successful, 1 failed)", () => {
    const ok = [5, 1, 3, 2, 4].map((i) => done(i, "Complete"));
    const bad = [6, 7].map((i) => done(i, "Failed"));
    const status = { lastScheduleTime: iso(start(7)), lastSuccessfulTime: iso(start(5) + MIN) };
    const cj = cronJob({ suspend: true }, status);
    expect(reconcile(observe(start(8), [cj], [...ok, ...bad]))).toEqual({
      actions: [
        deleteJob(ok[1]),
        event(cj, "SuccessfulDelete", `Deleted job ${ok[1].metadata.name}`),
        deleteJob(ok[3]),
        event(cj, "SuccessfulDelete", `Deleted job ${ok[3].metadata.name}`),
        deleteJob(bad[0]),
        event(cj, "SuccessfulDelete", `Deleted job ${bad[0].metadata.name}`),
      ],
    });
  });

  it("honours explicit limits, including zero, and skips Jobs already being deleted", () => {
    const a = done(1, "Complete");
    const b = job({ scheduled: start(2), startTime: start(2), finished: "Complete", finishedAt: start(2) + MIN, deleting: true });
    const manual = job({ manual: true, startTime: start(3), finished: "Failed", finishedAt: start(3) + MIN });
    const status = { lastScheduleTime: iso(start(2)), lastSuccessfulTime: iso(start(2) + MIN) };
    const cj = cronJob({ suspend: true, successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }, status);
    expect(reconcile(observe(start(4), [cj], [a, b, manual]))).toEqual({
      actions: [
        deleteJob(a),
        event(cj, "SuccessfulDelete", `Deleted job ${a.metadata.name}`),
        deleteJob(manual),
        event(cj, "SuccessfulDelete", `Deleted job ${manual.metadata.name}`),
      ],
    });
  });
});
