import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apiJson, createNamespace, eventually } from "./helpers.ts";

/**
 * PersistentVolume/PersistentVolumeClaim lifecycle over real D1 and Durable Objects, through the
 * API: the protection finalizers (admission, the namespace hub's pvc-protection controller, the
 * cluster hub's PV protection), static binding by the cluster hub's volume controller, phases
 * and reclaim, binding of static local volumes at scheduling, and bad input.
 */

const hub = (name: string) => env.HUB.get(env.HUB.idFromName(name));
/** Runs the namespace's controllers and the cluster hub (volume controller, scheduler) once. */
const settle = (ns: string) => async () => {
  await runDurableObjectAlarm(hub(`ns:${ns}`));
  await runDurableObjectAlarm(hub("cluster"));
};

const pv = (name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: `/srv/${name}` }, ...spec },
});
const pvc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "500Mi" } }, ...spec },
});
const podUsing = (name: string, claimName: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "i" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName } }], ...spec },
});

async function create(path: string, body: unknown) {
  const r = await apiJson("POST", path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}
const getClaim = (ns: string, name: string) => apiJson("GET", `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`);
const getVolume = (name: string) => apiJson("GET", `/api/v1/persistentvolumes/${name}`);

describe("storage protection finalizers", () => {
  it("a claim used by a pod stays Terminating until the pod is gone, then goes", async () => {
    const ns = "vol-protect";
    await createNamespace(ns);
    const claim = await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("data", { storageClassName: "none-here" }));
    expect(claim.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    await create(`/api/v1/namespaces/${ns}/pods`, podUsing("user", "data"));
    const del = await apiJson("DELETE", `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
    expect(del.status).toBe(202); // accepted, not deleted yet
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    for (let i = 0; i < 3; i++) await settle(ns)();
    const terminating = await getClaim(ns, "data");
    expect(terminating.status).toBe(200);
    expect(terminating.body.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    const table = await apiJson("GET", `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.body.rows[0].cells[1]).toBe("Terminating");
    // A new pod may not use a claim being deleted: the scheduler says so.
    expect((await apiJson("DELETE", `/api/v1/namespaces/${ns}/pods/user`)).status).toBe(200);
    await eventually(async () => expect((await getClaim(ns, "data")).status).toBe(404), settle(ns));
  });

  it("a namespace with a claim in use is emptied: its pods go, then the claim, then the namespace", async () => {
    const ns = "vol-ns-gone";
    await createNamespace(ns);
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("data", { storageClassName: "none-here" }));
    await create(`/api/v1/namespaces/${ns}/pods`, podUsing("user", "data"));
    expect((await apiJson("DELETE", `/api/v1/namespaces/${ns}`)).status).toBe(202);
    await eventually(async () => expect((await apiJson("GET", `/api/v1/namespaces/${ns}`)).status).toBe(404), settle(ns), 20_000);
    expect((await getClaim(ns, "data")).status).toBe(404);
  });

  it("a volume bound to a claim stays Terminating until the claim goes; then it is Released and goes", async () => {
    const ns = "vol-pv-protect";
    await createNamespace(ns);
    const volume = await create("/api/v1/persistentvolumes", pv("vol-protected", { storageClassName: "protect-class" }));
    expect(volume.metadata.finalizers).toEqual(["kubernetes.io/pv-protection"]);
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("c", { storageClassName: "protect-class" }));
    await eventually(async () => expect((await getClaim(ns, "c")).body.status.phase).toBe("Bound"), settle(ns));
    expect((await apiJson("DELETE", "/api/v1/persistentvolumes/vol-protected")).status).toBe(202);
    for (let i = 0; i < 3; i++) await settle(ns)();
    const held = await getVolume("vol-protected");
    expect(held.body.metadata.deletionTimestamp).toBeTruthy();
    expect(held.body.status.phase).toBe("Bound");
    expect((await apiJson("DELETE", `/api/v1/namespaces/${ns}/persistentvolumeclaims/c`)).status).toBe(202);
    await eventually(async () => expect((await getVolume("vol-protected")).status).toBe(404), settle(ns));
  });
});

describe("static binding", () => {
  it("binds a claim to the smallest fitting Available volume of its class and selector; both sides Bound as Kubernetes writes them", async () => {
    const ns = "vol-static";
    await createNamespace(ns);
    await create("/api/v1/persistentvolumes", pv("vol-s-big", { storageClassName: "manual", capacity: { storage: "10Gi" } }, { tier: "gold" }));
    await create("/api/v1/persistentvolumes", pv("vol-s-fit", { storageClassName: "manual", capacity: { storage: "2Gi" } }, { tier: "gold" }));
    await create("/api/v1/persistentvolumes", pv("vol-s-nolabel", { storageClassName: "manual", capacity: { storage: "1Gi" } }));
    await create("/api/v1/persistentvolumes", pv("vol-s-small", { storageClassName: "manual", capacity: { storage: "100Mi" } }, { tier: "gold" }));
    await eventually(async () => expect((await getVolume("vol-s-fit")).body.status.phase).toBe("Available"), settle(ns));
    const claim = await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("data", { storageClassName: "manual", selector: { matchLabels: { tier: "gold" } } }));
    const bound = await eventually(async () => {
      const c = (await getClaim(ns, "data")).body;
      expect(c.status.phase).toBe("Bound");
      return c;
    }, settle(ns));
    expect(bound.spec.volumeName).toBe("vol-s-fit");
    expect(bound.status).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "2Gi" } });
    expect(bound.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    const volume = (await getVolume("vol-s-fit")).body;
    expect(volume.status.phase).toBe("Bound");
    expect(volume.spec.claimRef).toMatchObject({ kind: "PersistentVolumeClaim", namespace: ns, name: "data", uid: claim.metadata.uid });
    expect(volume.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bound-by-controller": "yes" });
    for (const other of ["vol-s-big", "vol-s-nolabel", "vol-s-small"]) expect((await getVolume(other)).body.status.phase).toBe("Available");
    const table = await apiJson("GET", "/api/v1/persistentvolumes/vol-s-fit", undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(table.body.rows[0].cells.slice(0, 7)).toEqual(["vol-s-fit", "2Gi", "RWO", "Retain", "Bound", `${ns}/data`, "manual"]);

    // Retain: the claim's deletion leaves the volume Released, with its claimRef.
    expect((await apiJson("DELETE", `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`)).status).toBe(202);
    await eventually(async () => expect((await getVolume("vol-s-fit")).body.status.phase).toBe("Released"), settle(ns));
    // A Released volume is not bound again...
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("again", { storageClassName: "manual", selector: { matchLabels: { tier: "gold" } } }));
    await eventually(async () => expect((await getClaim(ns, "again")).body.spec.volumeName).toBe("vol-s-big"), settle(ns));
    // ...and deleting it (not Bound) lets its finalizer go.
    expect((await apiJson("DELETE", "/api/v1/persistentvolumes/vol-s-fit")).status).toBe(202);
    await eventually(async () => expect((await getVolume("vol-s-fit")).status).toBe(404), settle(ns));
  });

  it("a claim naming its volume (pre-bound) is bound to it; a volume too small gets VolumeMismatch", async () => {
    const ns = "vol-prebound";
    await createNamespace(ns);
    await create("/api/v1/persistentvolumes", pv("vol-p-asked", { storageClassName: "" }));
    await create("/api/v1/persistentvolumes", pv("vol-p-tiny", { storageClassName: "", capacity: { storage: "1Mi" } }));
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("asks", { storageClassName: "", volumeName: "vol-p-asked" }));
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("tiny", { storageClassName: "", volumeName: "vol-p-tiny" }));
    const bound = await eventually(async () => {
      const c = (await getClaim(ns, "asks")).body;
      expect(c.status.phase).toBe("Bound");
      return c;
    }, settle(ns));
    expect(bound.metadata.annotations["pv.kubernetes.io/bound-by-controller"]).toBeUndefined();
    await eventually(async () => {
      const events = (await apiJson("GET", `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dtiny`)).body.items;
      expect(events.map((e: { reason: string; message: string }) => `${e.reason}: ${e.message}`)).toContain('VolumeMismatch: Cannot bind to requested volume "vol-p-tiny": requested PV is too small');
    }, settle(ns));
    expect((await getClaim(ns, "tiny")).body.status.phase).toBe("Pending");
  });

  it("the scheduler binds a claim waiting for its first consumer to a static local volume on the node it picks", async () => {
    const ns = "vol-local";
    await createNamespace(ns);
    await create("/apis/storage.k8s.io/v1/storageclasses", {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "local-storage" },
      provisioner: "kubernetes.io/no-provisioner",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    for (const name of ["vol-node-a", "vol-node-b"])
      await create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { "kubernetes.io/hostname": name } },
        status: { allocatable: { cpu: "2", memory: "4Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
      });
    await create(
      "/api/v1/persistentvolumes",
      pv("vol-local-b", {
        storageClassName: "local-storage",
        hostPath: undefined,
        local: { path: "/mnt/disk1" },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["vol-node-b"] }] }] } },
      }),
    );
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("local", { storageClassName: "local-storage" }));
    // Not bound before a pod uses it.
    for (let i = 0; i < 2; i++) await settle(ns)();
    expect((await getClaim(ns, "local")).body.status.phase).toBe("Pending");
    await create(`/api/v1/namespaces/${ns}/pods`, podUsing("consumer", "local", { tolerations: [{ operator: "Exists" }] }));
    const pod = await eventually(async () => {
      const p = (await apiJson("GET", `/api/v1/namespaces/${ns}/pods/consumer`)).body;
      expect(p.spec.nodeName).toBeTruthy();
      return p;
    }, settle(ns));
    expect(pod.spec.nodeName).toBe("vol-node-b");
    const claim = (await getClaim(ns, "local")).body;
    expect(claim.spec.volumeName).toBe("vol-local-b");
    expect(claim.status.phase).toBe("Bound");
    expect(claim.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(claim.metadata.annotations["volume.kubernetes.io/selected-node"]).toBeUndefined(); // only asked of provisioners
    expect((await getVolume("vol-local-b")).body.status.phase).toBe("Bound");
    // A second claim of the class finds no volume left: its pod is unschedulable with Kubernetes' reason.
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("second", { storageClassName: "local-storage" }));
    await create(`/api/v1/namespaces/${ns}/pods`, podUsing("waiting", "second", { tolerations: [{ operator: "Exists" }] }));
    await eventually(async () => {
      const p = (await apiJson("GET", `/api/v1/namespaces/${ns}/pods/waiting`)).body;
      const c = (p.status.conditions ?? []).find((x: { type: string }) => x.type === "PodScheduled");
      expect(c?.message).toMatch(/node\(s\) didn't find available persistent volumes to bind/);
    }, settle(ns));
    for (const name of ["vol-node-a", "vol-node-b"]) await apiJson("DELETE", `/api/v1/nodes/${name}`);
  });
});

describe("bad input", () => {
  it("invalid volumes and claims are 422 with Kubernetes' wording", async () => {
    const ns = "vol-bad";
    await createNamespace(ns);
    const cases: [string, unknown, string][] = [
      ["/api/v1/persistentvolumes", { ...pv("bad-cap"), spec: { accessModes: ["ReadWriteOnce"], hostPath: { path: "/x" } } }, 'PersistentVolume "bad-cap" is invalid: spec.capacity: Required value, spec.capacity: Unsupported value: null: supported values: "storage"'],
      ["/api/v1/persistentvolumes", pv("bad-source", { hostPath: undefined }), 'PersistentVolume "bad-source" is invalid: spec: Required value: must specify a volume type'],
      ["/api/v1/persistentvolumes", pv("bad-up", { hostPath: { path: "/srv/../etc" } }), `PersistentVolume "bad-up" is invalid: spec.hostPath.path: Invalid value: "/srv/../etc": must not contain '..'`],
      ["/api/v1/persistentvolumes", pv("bad-type", { hostPath: { path: "/srv/x", type: "Dir" } }), 'PersistentVolume "bad-type" is invalid: spec.hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'],
      ["/api/v1/persistentvolumes", pv("bad-local", { hostPath: undefined, local: { path: "/mnt/x" } }), 'PersistentVolume "bad-local" is invalid: spec.nodeAffinity: Required value: Local volume requires node affinity'],
      ["/api/v1/persistentvolumes", pv("bad-modes", { accessModes: ["ReadWriteSometimes"] }), 'PersistentVolume "bad-modes" is invalid: spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'],
      [`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("no-modes", { accessModes: [] }), 'PersistentVolumeClaim "no-modes" is invalid: spec.accessModes: Required value: at least 1 access mode is required'],
      [`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("no-size", { resources: {} }), 'PersistentVolumeClaim "no-size" is invalid: spec.resources[storage]: Required value'],
      [`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("zero", { resources: { requests: { storage: "0" } } }), 'PersistentVolumeClaim "zero" is invalid: spec.resources.requests[storage]: Invalid value: "0": must be greater than zero'],
    ];
    for (const [path, body, message] of cases) {
      const r = await apiJson("POST", path, body);
      expect({ status: r.status, reason: r.body.reason, message: r.body.message }).toEqual({ status: 422, reason: "Invalid", message });
    }
    // A volume's source is fixed.
    await create("/api/v1/persistentvolumes", pv("vol-bad-fixed", { storageClassName: "bad-fixed" }));
    const moved = await apiJson("PATCH", "/api/v1/persistentvolumes/vol-bad-fixed", { spec: { hostPath: { path: "/elsewhere" } } }, { contentType: "application/merge-patch+json" });
    expect({ status: moved.status, message: moved.body.message }).toEqual({
      status: 422,
      message: 'PersistentVolume "vol-bad-fixed" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation',
    });
  });

  it("a claim's spec is immutable (its request may not even change while unbound); a bound claim may not shrink below its capacity nor grow without an expandable class", async () => {
    const ns = "vol-immutable";
    await createNamespace(ns);
    const patch = (name: string, spec: unknown) =>
      apiJson("PATCH", `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`, { spec }, { contentType: "application/merge-patch+json" });
    const immutable = (name: string) =>
      `PersistentVolumeClaim "${name}" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims`;
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("unbound", { storageClassName: "nothing-matches" }));
    for (const spec of [{ resources: { requests: { storage: "1Gi" } } }, { accessModes: ["ReadWriteMany"] }, { storageClassName: "other" }]) {
      const r = await patch("unbound", spec);
      expect({ status: r.status, message: r.body.message }).toEqual({ status: 422, message: immutable("unbound") });
    }
    await create("/api/v1/persistentvolumes", pv("vol-immutable", { storageClassName: "immutable-class", capacity: { storage: "1Gi" } }));
    await create(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc("bound", { storageClassName: "immutable-class", resources: { requests: { storage: "1Gi" } } }));
    await eventually(async () => expect((await getClaim(ns, "bound")).body.status.phase).toBe("Bound"), settle(ns));
    for (const spec of [{ volumeName: "another" }, { accessModes: ["ReadOnlyMany"] }, { selector: { matchLabels: { a: "b" } } }]) {
      const r = await patch("bound", spec);
      expect({ status: r.status, message: r.body.message }).toEqual({ status: 422, message: immutable("bound") });
    }
    const shrink = await patch("bound", { resources: { requests: { storage: "500Mi" } } });
    expect({ status: shrink.status, message: shrink.body.message }).toEqual({
      status: 422,
      message: 'PersistentVolumeClaim "bound" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
    });
    const grow = await patch("bound", { resources: { requests: { storage: "2Gi" } } });
    expect({ status: grow.status, message: grow.body.message }).toEqual({
      status: 403,
      message: 'persistentvolumeclaims "bound" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    });
    // Labels and annotations stay editable.
    const labelled = await apiJson("PATCH", `/api/v1/namespaces/${ns}/persistentvolumeclaims/bound`, { metadata: { labels: { team: "a" } } }, { contentType: "application/merge-patch+json" });
    expect(labelled.status).toBe(200);
  });
});
