import { describe, expect, it } from "vitest";
import { eventKind } from "../../src/resources/event.ts";
import { eventsV1Kind } from "../../src/resources/events-v1.ts";
import { limitRangeKind } from "../../src/resources/limitrange.ts";
import { nodeKind } from "../../src/resources/node.ts";
import { persistentVolumeKind } from "../../src/resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../../src/resources/persistentvolumeclaim.ts";
import { resourceQuotaKind } from "../../src/resources/resourcequota.ts";
import type { ResourceKind } from "../../src/resources/types.ts";
import { admit, cells, CREATED, headers, make, paths } from "./resources-helpers.ts";

/** Column names straight from the kind (for kinds that print no AGE). */
const names = (k: ResourceKind) => (k.columns ?? []).map((c) => `${c.name}${c.priority ? "*" : ""}`);

describe("Node", () => {
  it("defaults allocatable to capacity (canonical quantities)", () => {
    const n = make(nodeKind, { status: { capacity: { cpu: "4", memory: "8192Mi", pods: "110" } } });
    expect(admit(nodeKind, n)).toEqual([]);
    expect(n.status).toEqual({ capacity: { cpu: "4", memory: "8Gi", pods: "110" }, allocatable: { cpu: "4", memory: "8Gi", pods: "110" } });
  });
  it("rejects bad taints, CIDRs and quantities", () => {
    const errs = admit(
      nodeKind,
      make(nodeKind, {
        spec: {
          podCIDR: "10.0.0.0/33",
          taints: [{ key: "a", effect: "NoSchedule" }, { key: "a", effect: "NoSchedule" }, { key: "b", effect: "Sometimes" }, { key: "bad key!", value: "x", effect: "NoExecute" }, { key: "c" }],
        },
        status: { capacity: { cpu: "lots" } },
      }),
    );
    expect(paths(errs)).toEqual(["spec.podCIDR", "spec.taints[1]", "spec.taints[2].effect", "spec.taints[3].key", "spec.taints[4].effect", "status.capacity[cpu]", "status.allocatable[cpu]"]);
    expect(errs[2].message).toBe('Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"');
  });
  it("keeps podCIDR and providerID once set", () => {
    const old = make(nodeKind, { spec: { podCIDR: "10.1.0.0/24", providerID: "edge://a" } });
    expect(paths(admit(nodeKind, make(nodeKind, { spec: { podCIDR: "10.2.0.0/24", providerID: "edge://b" } }), old))).toEqual(["spec.podCIDRs", "spec.providerID"]);
    expect(admit(nodeKind, make(nodeKind, { spec: { podCIDR: "10.1.0.0/24" } }), make(nodeKind, { spec: {} }))).toEqual([]);
  });
  it("prints STATUS, ROLES, AGE, VERSION and wide node info", () => {
    expect(headers(nodeKind)).toEqual({
      default: ["Name", "Status", "Roles", "Age", "Version"],
      wide: ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
    });
    const n = make(
      nodeKind,
      {
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: "True" }],
          addresses: [{ type: "InternalIP", address: "10.0.0.5" }, { type: "Hostname", address: "n1" }],
          nodeInfo: { kubeletVersion: "v1.32.0", osImage: "Ubuntu", containerRuntimeVersion: "containerd://2.0" },
        },
      },
      { creationTimestamp: CREATED, labels: { "node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge" } },
    );
    expect(cells(nodeKind, n)).toEqual({
      Name: "x",
      Status: "Ready,SchedulingDisabled",
      Roles: "control-plane,edge,worker",
      Age: "60m",
      Version: "v1.32.0",
      "Internal-IP": "10.0.0.5",
      "External-IP": "<none>",
      "OS-Image": "Ubuntu",
      "Kernel-Version": "<unknown>",
      "Container-Runtime": "containerd://2.0",
    });
    expect(cells(nodeKind, make(nodeKind, { status: { conditions: [{ type: "Ready", status: "Unknown" }] } })).Status).toBe("NotReady");
    expect(cells(nodeKind, make(nodeKind, {}))).toMatchObject({ Status: "Unknown", Roles: "<none>" });
  });
});

describe("Event (core/v1)", () => {
  const ev = (body: Record<string, unknown>, ns = "default") => make(eventKind, body, { namespace: ns });
  it("has no defaults and accepts a classic event", () => {
    const e = ev({ involvedObject: { kind: "Pod", name: "web", namespace: "default" }, reason: "Started", message: "ok" });
    expect(admit(eventKind, e)).toEqual([]);
    expect(e.type).toBeUndefined();
    expect(e.count).toBeUndefined();
  });
  it("checks the involved object's namespace and new-style fields", () => {
    expect(paths(admit(eventKind, ev({ involvedObject: { kind: "Pod", name: "a", namespace: "other" } })))).toEqual(["involvedObject.namespace"]);
    expect(admit(eventKind, ev({ involvedObject: { kind: "Node", name: "n1" } }))).toEqual([]);
    expect(paths(admit(eventKind, ev({ involvedObject: { kind: "Node", name: "n1" } }, "apps")))).toEqual(["involvedObject.namespace"]);
    const errs = admit(eventKind, ev({ eventTime: "2024-01-01T00:00:00.000000Z", involvedObject: { kind: "Pod", namespace: "default" }, reason: "x".repeat(129) }));
    expect(paths(errs)).toEqual(["reportingComponent", "reportingComponent", "reportingInstance", "action", "reason"]);
    expect(errs[4].message).toBe('Invalid value: "": can have at most 128 characters');
  });
  it("prints like kubectl get events (no AGE)", () => {
    expect(eventKind.noAgeColumn).toBe(true);
    expect(names(eventKind)).toEqual(["Last Seen", "Type", "Reason", "Object", "Subobject*", "Source*", "Message", "First Seen*", "Count*", "Name*"]);
    const e = ev({
      involvedObject: { kind: "Pod", name: "web", fieldPath: "spec.containers{app}" },
      type: "Normal",
      reason: "Pulled",
      message: " Pulled image \n",
      source: { component: "kubelet", host: "n1" },
      firstTimestamp: "2024-01-01T00:00:00Z",
      lastTimestamp: "2024-01-01T00:50:00Z",
      count: 3,
    });
    expect(cells(eventKind, e)).toMatchObject({
      "Last Seen": "10m",
      Type: "Normal",
      Reason: "Pulled",
      Object: "pod/web",
      Subobject: "spec.containers{app}",
      Source: "kubelet, n1",
      Message: "Pulled image",
      "First Seen": "60m",
      Count: 3,
      Name: "x",
    });
    const fresh = ev({ involvedObject: { kind: "Node" }, eventTime: "2024-01-01T00:59:30.000000Z", reportingComponent: "ctrl", reportingInstance: "i1" });
    expect(cells(eventKind, fresh)).toMatchObject({ "Last Seen": "30s", "First Seen": "30s", Object: "node", Source: "ctrl, i1", Count: 1 });
    const series = ev({ eventTime: "2024-01-01T00:00:00Z", series: { count: 7, lastObservedTime: "2024-01-01T00:59:00Z" } });
    expect(cells(eventKind, series)).toMatchObject({ "Last Seen": "60s", Count: 7 });
  });
});

describe("Event (events.k8s.io/v1)", () => {
  const good = {
    eventTime: "2024-01-01T00:00:00.000000Z",
    reportingController: "example.com/ctrl",
    reportingInstance: "ctrl-1",
    action: "Sync",
    reason: "Synced",
    type: "Normal",
    regarding: { kind: "Pod", name: "web", namespace: "default" },
    note: "done",
  };
  it("accepts a strict new-style event", () => {
    expect(admit(eventsV1Kind, make(eventsV1Kind, good))).toEqual([]);
  });
  it("rejects what the strict API forbids", () => {
    const errs = admit(eventsV1Kind, make(eventsV1Kind, { ...good, type: "Info", deprecatedCount: 2, series: { count: 1 }, eventTime: undefined }));
    expect(paths(errs)).toEqual(["series.count", "series.lastObservedTime", "eventTime", "type", "deprecatedCount"]);
    expect(errs[3].message).toBe('Invalid value: "": has invalid value: Info');
  });
  it("keeps most fields immutable", () => {
    const old = make(eventsV1Kind, good);
    expect(paths(admit(eventsV1Kind, make(eventsV1Kind, { ...good, note: "changed", series: { count: 2, lastObservedTime: "2024-01-01T00:01:00Z" } }), old))).toEqual(["note"]);
  });
  it("prints with the same columns as core events", () => {
    expect(names(eventsV1Kind)).toEqual(names(eventKind));
    expect(eventsV1Kind.noAgeColumn).toBe(true);
    expect(cells(eventsV1Kind, make(eventsV1Kind, good))).toMatchObject({ Object: "pod/web", Message: "done", Source: "example.com/ctrl, ctrl-1", Count: 1, "Last Seen": "60m" });
  });
});

describe("PersistentVolume", () => {
  const pv = (spec: Record<string, unknown>, extra = {}) => make(persistentVolumeKind, { spec, ...extra });
  it("defaults reclaim policy, volume mode and phase", () => {
    const v = pv({ capacity: { storage: "1.5Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/data" } });
    expect(admit(persistentVolumeKind, v)).toEqual([]);
    expect(v.spec).toEqual({ capacity: { storage: "1536Mi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/data" }, persistentVolumeReclaimPolicy: "Retain", volumeMode: "Filesystem" });
    expect(v.status).toEqual({ phase: "Pending" });
  });
  it("requires capacity.storage, access modes and one volume source", () => {
    const errs = admit(persistentVolumeKind, pv({}));
    expect(paths(errs)).toEqual(["spec.capacity", "spec.capacity", "spec.accessModes", "spec"]);
    expect(errs[3].message).toBe("Required value: must specify a volume type");
    expect(paths(admit(persistentVolumeKind, pv({ capacity: { storage: "0", cpu: "1" }, accessModes: ["ReadWriteOncePod", "Sometimes"], hostPath: { path: "/a" }, nfs: { server: "s", path: "/x" }, persistentVolumeReclaimPolicy: "Keep" })))).toEqual([
      "spec.capacity",
      "spec.capacity[storage]",
      "spec.accessModes",
      "spec.accessModes",
      "spec.nfs",
      "spec.persistentVolumeReclaimPolicy",
    ]);
    expect(paths(admit(persistentVolumeKind, pv({ capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], local: { path: "/mnt" } })))).toEqual(["spec.nodeAffinity"]);
  });
  it("keeps the volume source immutable", () => {
    const old = pv({ capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/a" } });
    admit(persistentVolumeKind, old);
    expect(paths(admit(persistentVolumeKind, pv({ capacity: { storage: "2Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/b" } }), old))).toEqual(["spec.persistentvolumesource"]);
  });
  it("prints like kubectl get pv", () => {
    expect(headers(persistentVolumeKind)).toEqual({
      default: ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age"],
      wide: ["VolumeMode"],
    });
    const v = pv({ capacity: { storage: "10Gi" }, accessModes: ["ReadWriteMany", "ReadWriteOnce"], hostPath: { path: "/a" }, claimRef: { namespace: "ns", name: "c" }, storageClassName: "fast" }, { status: { phase: "Bound" } });
    admit(persistentVolumeKind, v);
    expect(cells(persistentVolumeKind, v)).toMatchObject({
      Capacity: "10Gi",
      "Access Modes": "RWO,RWX",
      "Reclaim Policy": "Retain",
      Status: "Bound",
      Claim: "ns/c",
      StorageClass: "fast",
      VolumeAttributesClass: "<unset>",
      Reason: "",
      VolumeMode: "Filesystem",
    });
  });
});

describe("PersistentVolumeClaim", () => {
  const pvc = (spec: Record<string, unknown>) => make(persistentVolumeClaimKind, { spec });
  const spec = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };
  it("defaults volume mode and phase", () => {
    const c = pvc(spec);
    expect(admit(persistentVolumeClaimKind, c)).toEqual([]);
    expect(c.spec).toEqual({ ...spec, volumeMode: "Filesystem" });
    expect(c.status).toEqual({ phase: "Pending" });
  });
  it("requires access modes and a storage request", () => {
    const errs = admit(persistentVolumeClaimKind, pvc({ resources: { requests: { storage: "0" } }, volumeMode: "Raw" }));
    expect(paths(errs)).toEqual(["spec.accessModes", "spec.resources.requests[storage]", "spec.volumeMode"]);
    expect(errs[0].message).toBe("Required value: at least 1 access mode is required");
    expect(paths(admit(persistentVolumeClaimKind, pvc({ accessModes: ["ReadWriteOnce"] })))).toEqual(["spec.resources[storage]"]);
  });
  it("allows only binding on update, and request changes of bound claims (not below their capacity)", () => {
    const immutable = [{ field: "spec", reason: "FieldValueForbidden", message: "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims" }];
    const old = pvc(spec);
    admit(persistentVolumeClaimKind, old);
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, volumeName: "pv-1" }), old)).toEqual([]);
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, resources: { requests: { storage: "2Gi" } } }), old)).toEqual(immutable);
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, accessModes: ["ReadWriteMany"] }), old)).toEqual(immutable);
    const bound = pvc({ ...spec, volumeName: "pv-1" });
    admit(persistentVolumeClaimKind, bound);
    bound.status = { phase: "Bound", capacity: { storage: "1Gi" } };
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, volumeName: "pv-1", resources: { requests: { storage: "2Gi" } } }), bound)).toEqual([]);
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, volumeName: "pv-2" }), bound)).toEqual(immutable);
    expect(admit(persistentVolumeClaimKind, pvc({ ...spec, volumeName: "pv-1", resources: { requests: { storage: "1Mi" } } }), bound)).toEqual([
      { field: "spec.resources.requests.storage", reason: "FieldValueForbidden", message: "Forbidden: field can not be less than status.capacity" },
    ]);
  });
  it("prints like kubectl get pvc", () => {
    expect(headers(persistentVolumeClaimKind)).toEqual({
      default: ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age"],
      wide: ["VolumeMode"],
    });
    const c = pvc(spec);
    admit(persistentVolumeClaimKind, c);
    expect(cells(persistentVolumeClaimKind, c)).toMatchObject({ Status: "Pending", Volume: "", Capacity: "", "Access Modes": "", StorageClass: "", VolumeMode: "Filesystem" });
    c.spec = { ...(c.spec as object), volumeName: "pv-1" };
    c.status = { phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" } };
    expect(cells(persistentVolumeClaimKind, c)).toMatchObject({ Status: "Bound", Volume: "pv-1", Capacity: "1Gi", "Access Modes": "RWO" });
  });
});

describe("ResourceQuota", () => {
  const rq = (spec: Record<string, unknown>, status?: Record<string, unknown>) => make(resourceQuotaKind, { spec, ...(status ? { status } : {}) });
  it("canonicalizes hard quantities", () => {
    const q = rq({ hard: { pods: "10", "requests.memory": "1024Mi", "count/deployments.apps": "5" } });
    expect(admit(resourceQuotaKind, q)).toEqual([]);
    expect((q.spec as { hard: unknown }).hard).toEqual({ pods: "10", "requests.memory": "1Gi", "count/deployments.apps": "5" });
  });
  it("rejects bad names, values, integers and scopes", () => {
    const errs = admit(resourceQuotaKind, rq({ hard: { pods: "1.5", cpu: "-1", "requests.gpu": "1", memory: "lots" }, scopes: ["Terminating", "Sometimes"] }));
    expect(paths(errs)).toEqual(["spec.hard[pods]", "spec.hard[cpu]", "spec.hard[requests.gpu]", "spec.hard[memory]", "spec.scopes"]);
    expect(errs[0].message).toBe('Invalid value: "1500m": must be an integer');
    expect(errs[2].message).toBe('Invalid value: "requests.gpu": must be a standard resource for quota');
  });
  it("prints REQUEST, LIMIT, AGE", () => {
    expect(headers(resourceQuotaKind).default).toEqual(["Name", "Request", "Limit", "Age"]);
    const q = rq({ hard: { pods: "10", "limits.cpu": "2", "requests.cpu": "1" } }, { hard: { pods: "10", "limits.cpu": "2", "requests.cpu": "1" }, used: { pods: "3", "requests.cpu": "500m" } });
    expect(cells(resourceQuotaKind, q)).toMatchObject({ Request: "pods: 3/10, requests.cpu: 500m/1", Limit: "limits.cpu: 0/2" });
    // Before a quota controller fills the status, the spec is shown with nothing used.
    expect(cells(resourceQuotaKind, rq({ hard: { secrets: "4" } }))).toMatchObject({ Request: "secrets: 0/4", Limit: "" });
  });
});

describe("LimitRange", () => {
  const lr = (limits: unknown) => make(limitRangeKind, { spec: { limits } });
  it("defaults container default limits and requests", () => {
    const l = lr([{ type: "Container", max: { cpu: "2", memory: "1Gi" }, min: { cpu: "100m" }, default: { memory: "512Mi" } }]);
    expect(admit(limitRangeKind, l)).toEqual([]);
    expect((l.spec as { limits: unknown[] }).limits[0]).toEqual({
      type: "Container",
      max: { cpu: "2", memory: "1Gi" },
      min: { cpu: "100m" },
      default: { memory: "512Mi", cpu: "2" },
      defaultRequest: { memory: "512Mi", cpu: "2" },
    });
  });
  it("rejects bad types, orderings and Pod defaults", () => {
    const errs = admit(limitRangeKind, lr([{ type: "Pod", default: { cpu: "1" }, max: { cpu: "1" } }, { type: "Pod" }, { type: "Thing" }, { type: "PersistentVolumeClaim" }, { type: "Container", min: { cpu: "2" }, max: { cpu: "1" }, maxLimitRequestRatio: { cpu: "500m" } }]));
    expect(paths(errs)).toEqual([
      "spec.limits[0].default",
      "spec.limits[1].type",
      "spec.limits[2].type",
      "spec.limits[3].limits",
      "spec.limits[4].min[cpu]",
      "spec.limits[4].defaultRequest[cpu]",
      "spec.limits[4].default[cpu]",
      "spec.limits[4].maxLimitRequestRatio[cpu]",
    ]);
    expect(errs[4].message).toBe('Invalid value: "2": min value 2 is greater than max value 1');
  });
  it("prints NAME and CREATED AT only", () => {
    expect(limitRangeKind.noAgeColumn).toBe(true);
    expect(names(limitRangeKind)).toEqual(["Created At"]);
    expect(cells(limitRangeKind, make(limitRangeKind, {}, { creationTimestamp: CREATED }))["Created At"]).toBe(CREATED);
  });
});
