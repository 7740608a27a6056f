import { describe, expect, it } from "vitest";
import { cronJobKind } from "../../src/resources/cronjob.ts";
import { daemonSetKind } from "../../src/resources/daemonset.ts";
import { deploymentKind } from "../../src/resources/deployment.ts";
import { jobKind } from "../../src/resources/job.ts";
import { replicaSetKind } from "../../src/resources/replicaset.ts";
import { statefulSetKind } from "../../src/resources/statefulset.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { admit, cells, CREATED, headers, make, paths } from "./resources-helpers.ts";

const template = (labels: Record<string, string> = { app: "web" }, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: "c", image: "nginx:1.27" }], ...spec },
});
const podDefaults = {
  restartPolicy: "Always",
  terminationGracePeriodSeconds: 30,
  dnsPolicy: "ClusterFirst",
  schedulerName: "default-scheduler",
  securityContext: {},
  enableServiceLinks: true,
};
const specOf = (o: KubeObject) => o.spec as Record<string, unknown>;

describe("Deployment (additions)", () => {
  const dep = (spec: Record<string, unknown>) => make(deploymentKind, { spec: { selector: { matchLabels: { app: "web" } }, template: template(), ...spec } });
  it("keeps the selector immutable and pods restarting", () => {
    const old = dep({});
    admit(deploymentKind, old);
    const errs = admit(deploymentKind, dep({ selector: { matchLabels: { app: "web", v: "2" } }, template: template({ app: "web", v: "2" }, { restartPolicy: "Never" }) }), old);
    expect(paths(errs)).toEqual(["spec.template.spec.restartPolicy", "spec.selector"]);
    expect(errs[1].message).toBe('Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable');
  });
  it("checks rolling update values and progress deadline", () => {
    expect(paths(admit(deploymentKind, dep({ strategy: { rollingUpdate: { maxSurge: "x", maxUnavailable: "150%" } }, minReadySeconds: 700 })))).toEqual([
      "spec.strategy.rollingUpdate.maxSurge",
      "spec.strategy.rollingUpdate.maxUnavailable",
      "spec.progressDeadlineSeconds",
    ]);
  });
});

describe("ReplicaSet", () => {
  const rs = (spec: Record<string, unknown>) => make(replicaSetKind, { spec: { selector: { matchLabels: { app: "web" } }, template: template(), ...spec } });
  it("defaults replicas and the pod template", () => {
    const r = rs({});
    expect(admit(replicaSetKind, r)).toEqual([]);
    expect(specOf(r).replicas).toBe(1);
    expect((specOf(r).template as { spec: unknown }).spec).toMatchObject(podDefaults);
    expect(replicaSetKind.scale).toEqual({ specReplicasPath: "spec.replicas", statusReplicasPath: "status.replicas", labelSelectorPath: "spec.selector" });
  });
  it("rejects mismatched selectors, negative replicas, bad expressions and selector changes", () => {
    expect(paths(admit(replicaSetKind, rs({ replicas: -1, template: template({ app: "other" }) })))).toEqual(["spec.template.metadata.labels", "spec.replicas"]);
    expect(paths(admit(replicaSetKind, rs({ selector: { matchExpressions: [{ key: "app", operator: "Is", values: ["web"] }] } })))).toEqual([
      "spec.selector.matchExpressions[0].operator",
    ]);
    expect(paths(admit(replicaSetKind, rs({ selector: undefined })))).toEqual(["spec.selector"]);
    const old = rs({});
    admit(replicaSetKind, old);
    expect(paths(admit(replicaSetKind, rs({ selector: { matchLabels: { app: "web", x: "y" } }, template: template({ app: "web", x: "y" }) }), old))).toEqual(["spec.selector"]);
  });
  it("prints DESIRED, CURRENT, READY, AGE and wide CONTAINERS, IMAGES, SELECTOR", () => {
    expect(headers(replicaSetKind)).toEqual({ default: ["Name", "Desired", "Current", "Ready", "Age"], wide: ["Containers", "Images", "Selector"] });
    const r = rs({ replicas: 3 });
    r.status = { replicas: 2, readyReplicas: 1 };
    r.metadata.creationTimestamp = CREATED;
    expect(cells(replicaSetKind, r)).toEqual({ Name: "x", Desired: 3, Current: 2, Ready: 1, Age: "60m", Containers: "c", Images: "nginx:1.27", Selector: "app=web" });
  });
});

describe("StatefulSet", () => {
  const sts = (spec: Record<string, unknown>) => make(statefulSetKind, { spec: { serviceName: "web", selector: { matchLabels: { app: "web" } }, template: template(), ...spec } });
  it("defaults like apps/v1", () => {
    const s = sts({ volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }] });
    expect(admit(statefulSetKind, s)).toEqual([]);
    expect(specOf(s)).toMatchObject({
      replicas: 1,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
    expect((specOf(s).volumeClaimTemplates as unknown[])[0]).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, volumeMode: "Filesystem" },
      status: { phase: "Pending" },
    });
    const onDelete = sts({ updateStrategy: { type: "OnDelete" } });
    admit(statefulSetKind, onDelete);
    expect(specOf(onDelete).updateStrategy).toEqual({ type: "OnDelete" });
  });
  it("rejects bad policies and claim templates", () => {
    const errs = admit(
      statefulSetKind,
      sts({
        podManagementPolicy: "Random",
        updateStrategy: { type: "OnDelete", rollingUpdate: { partition: -1 } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Keep" },
        volumeClaimTemplates: [{ spec: {} }],
      }),
    );
    expect(paths(errs)).toEqual([
      "spec.podManagementPolicy",
      "spec.updateStrategy.rollingUpdate",
      "spec.updateStrategy.rollingUpdate.partition",
      "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
      "spec.volumeClaimTemplates[0].metadata.name",
      "spec.volumeClaimTemplates[0].spec.accessModes",
      "spec.volumeClaimTemplates[0].spec.resources[storage]",
    ]);
  });
  it("allows only some spec fields to change", () => {
    const old = sts({});
    admit(statefulSetKind, old);
    expect(admit(statefulSetKind, sts({ replicas: 5, template: template({ app: "web" }, { containers: [{ name: "c", image: "nginx:2" }] }) }), old)).toEqual([]);
    const errs = admit(statefulSetKind, sts({ serviceName: "other" }), old);
    expect(errs).toEqual([
      {
        field: "spec",
        reason: "FieldValueForbidden",
        message:
          "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      },
    ]);
  });
  it("prints READY, AGE and wide CONTAINERS, IMAGES", () => {
    expect(headers(statefulSetKind)).toEqual({ default: ["Name", "Ready", "Age"], wide: ["Containers", "Images"] });
    const s = sts({ replicas: 3 });
    s.status = { readyReplicas: 2 };
    expect(cells(statefulSetKind, s)).toMatchObject({ Ready: "2/3", Containers: "c", Images: "nginx:1.27" });
    expect(statefulSetKind.scale?.labelSelectorPath).toBe("spec.selector");
  });
});

describe("DaemonSet", () => {
  const ds = (spec: Record<string, unknown>) => make(daemonSetKind, { spec: { selector: { matchLabels: { app: "web" } }, template: template(), ...spec } });
  it("defaults the update strategy and history", () => {
    const d = ds({});
    expect(admit(daemonSetKind, d)).toEqual([]);
    expect(specOf(d)).toMatchObject({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, revisionHistoryLimit: 10 });
    expect(specOf(d).replicas).toBeUndefined();
  });
  it("rejects bad strategies", () => {
    expect(paths(admit(daemonSetKind, ds({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } })))).toEqual([
      "spec.updateStrategy.rollingUpdate.maxSurge",
    ]);
    const zero = admit(daemonSetKind, ds({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "0%" } } }));
    expect(zero).toEqual([{ field: "spec.updateStrategy.rollingUpdate.maxUnavailable", reason: "FieldValueRequired", message: "Required value: cannot be 0 when maxSurge is 0" }]);
    expect(paths(admit(daemonSetKind, ds({ updateStrategy: { type: "Always" } })))).toEqual(["spec.updateStrategy.type"]);
    expect(paths(admit(daemonSetKind, ds({ template: template({ app: "web" }, { restartPolicy: "OnFailure" }) })))).toEqual(["spec.template.spec.restartPolicy"]);
  });
  it("prints like kubectl get ds", () => {
    expect(headers(daemonSetKind)).toEqual({
      default: ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"],
      wide: ["Containers", "Images", "Selector"],
    });
    const d = ds({ template: template({ app: "web" }, { nodeSelector: { "kubernetes.io/os": "linux" } }) });
    d.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 };
    expect(cells(daemonSetKind, d)).toMatchObject({ Desired: 3, Current: 3, Ready: 2, "Up-to-date": 3, Available: 2, "Node Selector": "kubernetes.io/os=linux", Selector: "app=web" });
  });
});

describe("Job", () => {
  const job = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
    make(jobKind, { spec: { template: template({ app: "batch" }, { restartPolicy: "Never" }), ...spec } }, meta);
  it("defaults like batch/v1 (selector generation waits for a uid)", () => {
    const j = job({});
    expect(admit(jobKind, j)).toEqual([]);
    expect(specOf(j)).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      podReplacementPolicy: "TerminatingOrFailed",
      manualSelector: false,
    });
    expect(specOf(j).selector).toBeUndefined();
    expect(j.metadata.labels).toEqual({ app: "batch" });
    // Only parallelism given: completions stays unset (a work queue).
    const queue = job({ parallelism: 3 });
    admit(jobKind, queue);
    expect(specOf(queue)).toMatchObject({ parallelism: 3 });
    expect(specOf(queue).completions).toBeUndefined();
  });
  it("generates the selector and pod labels once the uid is known", () => {
    const j = job({}, { uid: "u-1", name: "pi" });
    expect(admit(jobKind, j)).toEqual([]);
    expect(specOf(j).selector).toEqual({ matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } });
    expect((specOf(j).template as { metadata: unknown }).metadata).toEqual({
      labels: { app: "batch", "job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1" },
    });
    expect(j.metadata.labels).toEqual({ app: "batch" });
  });
  it("rejects bad counts, modes, restart policies and hand-made selectors", () => {
    const errs = admit(jobKind, job({ parallelism: -1, backoffLimit: -2, completionMode: "Indexed", completions: undefined, template: template({ app: "batch" }) }));
    expect(paths(errs)).toEqual(["spec.parallelism", "spec.backoffLimit", "spec.completions", "spec.template.spec.restartPolicy"]);
    expect(errs[2].message).toBe("Required value: when completion mode is Indexed");
    expect(errs[3].message).toBe('Unsupported value: "Always": supported values: "OnFailure", "Never"');
    expect(paths(admit(jobKind, job({ completionMode: "Sometimes" })))).toEqual(["spec.completionMode"]);
    expect(paths(admit(jobKind, job({ selector: { matchLabels: { app: "batch" } } })))).toEqual(["spec.selector"]);
    expect(admit(jobKind, job({ manualSelector: true, selector: { matchLabels: { app: "batch" } } }))).toEqual([]);
    expect(paths(admit(jobKind, job({ manualSelector: true })))).toEqual(["spec.selector"]);
    expect(paths(admit(jobKind, job({ manualSelector: true, selector: { matchLabels: { app: "other" } } })))).toEqual(["spec.template.metadata.labels"]);
  });
  it("keeps selector and template immutable but generates against the stored uid", () => {
    const old = job({}, { uid: "u-1" });
    admit(jobKind, old);
    // A PUT of the original manifest (no uid, no selector) is fine.
    expect(admit(jobKind, job({}), old)).toEqual([]);
    expect(paths(admit(jobKind, job({ template: template({ app: "batch" }, { restartPolicy: "OnFailure" }) }), old))).toEqual(["spec.template"]);
    expect(paths(admit(jobKind, job({ completions: 5 }), old))).toEqual(["spec.completions"]);
    // A suspended Job that never started may change scheduling directives.
    const suspended = job({ suspend: true }, { uid: "u-2" });
    admit(jobKind, suspended);
    expect(admit(jobKind, job({ suspend: false, template: template({ app: "batch" }, { restartPolicy: "Never", nodeSelector: { zone: "a" } }) }), suspended)).toEqual([]);
  });
  it("prints STATUS, COMPLETIONS, DURATION, AGE", () => {
    expect(headers(jobKind)).toEqual({ default: ["Name", "Status", "Completions", "Duration", "Age"], wide: ["Containers", "Images", "Selector"] });
    const j = job({ completions: 3 }, { creationTimestamp: CREATED });
    admit(jobKind, j);
    j.status = { succeeded: 1, startTime: "2024-01-01T00:00:00Z" };
    expect(cells(jobKind, j)).toMatchObject({ Status: "Running", Completions: "1/3", Duration: "60m", Age: "60m", Selector: "<none>" });
    j.status = { succeeded: 3, startTime: "2024-01-01T00:00:00Z", completionTime: "2024-01-01T00:00:42Z", conditions: [{ type: "Complete", status: "True" }] };
    expect(cells(jobKind, j)).toMatchObject({ Status: "Complete", Completions: "3/3", Duration: "42s" });
    const queue = job({ parallelism: 4 });
    admit(jobKind, queue);
    expect(cells(jobKind, queue)).toMatchObject({ Completions: "0/1 of 4", Duration: "" });
    queue.status = { conditions: [{ type: "Suspended", status: "True" }] };
    expect(cells(jobKind, queue).Status).toBe("Suspended");
  });
});

describe("CronJob", () => {
  const cj = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
    make(cronJobKind, { spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: template({ app: "c" }, { restartPolicy: "OnFailure" }) } }, ...spec } }, meta);
  it("defaults policy, limits and the pod template only", () => {
    const c = cj({});
    expect(admit(cronJobKind, c)).toEqual([]);
    expect(specOf(c)).toMatchObject({ concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    const jobSpec = (specOf(c).jobTemplate as { spec: Record<string, unknown> }).spec;
    expect(Object.keys(jobSpec)).toEqual(["template"]);
    expect((jobSpec.template as { spec: unknown }).spec).toMatchObject({ ...podDefaults, restartPolicy: "OnFailure" });
  });
  it("accepts descriptors and IANA time zones", () => {
    for (const schedule of ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight", "@every 1h", "0 9 * * MON-FRI"])
      expect(admit(cronJobKind, cj({ schedule })), schedule).toEqual([]);
    expect(admit(cronJobKind, cj({ timeZone: "Europe/Berlin" }))).toEqual([]);
  });
  it("rejects bad schedules, zones, policies and job templates", () => {
    const errs = admit(cronJobKind, cj({ schedule: "61 * * * *", timeZone: "Mars/Olympus", concurrencyPolicy: "Sometimes", failedJobsHistoryLimit: -1 }));
    expect(errs).toEqual([
      { field: "spec.schedule", reason: "FieldValueInvalid", message: 'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' },
      { field: "spec.timeZone", reason: "FieldValueInvalid", message: 'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus' },
      { field: "spec.concurrencyPolicy", reason: "FieldValueNotSupported", message: 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"' },
      { field: "spec.failedJobsHistoryLimit", reason: "FieldValueInvalid", message: "Invalid value: -1: must be greater than or equal to 0" },
    ]);
    expect(paths(admit(cronJobKind, cj({ schedule: "" })))).toEqual(["spec.schedule"]);
    expect(paths(admit(cronJobKind, cj({ schedule: "TZ=UTC 0 * * * *" })))).toEqual(["spec.schedule"]);
    expect(paths(admit(cronJobKind, cj({ timeZone: "Local" })))).toEqual(["spec.timeZone"]);
    expect(paths(admit(cronJobKind, cj({ jobTemplate: { spec: { manualSelector: true, template: template({ app: "c" }) } } })))).toEqual([
      "spec.jobTemplate.spec.manualSelector",
      "spec.jobTemplate.spec.template.spec.restartPolicy",
    ]);
    expect(paths(admit(cronJobKind, cj({}, { name: "n".repeat(53) })))).toEqual(["metadata.name"]);
  });
  it("prints SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, AGE", () => {
    expect(headers(cronJobKind)).toEqual({ default: ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"], wide: ["Containers", "Images", "Selector"] });
    const c = cj({}, { creationTimestamp: CREATED });
    admit(cronJobKind, c);
    expect(cells(cronJobKind, c)).toEqual({
      Name: "x",
      Schedule: "*/5 * * * *",
      Timezone: "<none>",
      Suspend: "False",
      Active: 0,
      "Last Schedule": "<none>",
      Age: "60m",
      Containers: "c",
      Images: "nginx:1.27",
      Selector: "<none>",
    });
    c.status = { active: [{ name: "j1" }], lastScheduleTime: "2024-01-01T00:55:00Z" };
    expect(cells(cronJobKind, c)).toMatchObject({ Active: 1, "Last Schedule": "5m" });
  });
});
