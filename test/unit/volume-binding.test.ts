import { describe, expect, it } from "vitest";
import { localPathClass } from "../../src/resources/storageclass.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { schedule } from "../../src/scheduler/schedule.ts";
import { bindClaim, boundClaimStatus, chooseVolumes, claimStates, provisionedVolume } from "../../src/scheduler/volume-binding.ts";
import { node, pod } from "./scheduler-helpers.ts";

/** Local-path volumes: claim states for the scheduler, the provisioned volume, binding, reclaim (the agent's side: test/e2e/agent-storage.test.ts). */

const sc = localPathClass();
const claim = (name: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "7", ...meta },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "local-path", ...extra },
  status: { phase: "Pending" },
});
const withClaim = (name: string, claimName: string, spec: Record<string, unknown> = {}) => pod(name, { volumes: [{ name: "data", persistentVolumeClaim: { claimName } }], ...spec });

describe("volume binding (pure)", () => {
  const nodeA = { ...node("a"), metadata: { name: "a", labels: { "kubernetes.io/hostname": "a" }, annotations: { "edgeplane.dev/local-path-root": "/data/a/local-path/" } } };

  it("claim states: missing, unbound local-path (provisionable), unbound without provisioner, bound with node affinity", () => {
    const pv = provisionedVolume(claim("bound"), sc, nodeA);
    const states = claimStates(
      [claim("fresh"), claim("static", { storageClassName: "" }), claim("bound", { volumeName: pv.metadata.name })],
      [pv],
      [sc],
      ["default/fresh", "default/static", "default/bound", "default/nope"],
    );
    expect(states.get("default/nope")).toEqual({ error: 'persistentvolumeclaim "nope" not found' });
    expect(states.get("default/fresh")?.provisionWith?.metadata.name).toBe("local-path");
    expect(states.get("default/static")).toEqual({ error: "pod has unbound immediate PersistentVolumeClaims" });
    expect(states.get("default/bound")).toEqual({ nodeTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["a"] }] }] });
  });

  it("the provisioned volume: hostPath under the node's local-path root, node affinity, claimRef, the class's reclaim policy; the claim bound to it", () => {
    const pvc = claim("data");
    const pv = provisionedVolume(pvc, sc, nodeA);
    expect(pv.metadata.name).toBe("pvc-uid-data");
    expect(pv.spec).toMatchObject({
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "local-path",
      hostPath: { path: "/data/a/local-path/pvc-uid-data_default_data", type: "DirectoryOrCreate" },
      claimRef: { namespace: "default", name: "data", uid: "uid-data" },
    });
    const b = bindClaim(pvc, pv, { selectedNode: "a", provisioner: "edgeplane.dev/local-path" });
    expect((b.spec as { volumeName?: string }).volumeName).toBe("pvc-uid-data");
    expect(b.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": "a" });
    expect(pvc.metadata.annotations).toBeUndefined(); // not mutated
    expect(boundClaimStatus(pv)).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" } });
  });

  it("the scheduler: a bound volume's node affinity holds later pods; pods sharing a new claim in one round go to one node; a missing claim is unschedulable", () => {
    const nodes = [node("a"), node("b")];
    const pv = provisionedVolume(claim("bound"), sc, { ...node("b"), metadata: { name: "b", labels: { "kubernetes.io/hostname": "b" } } });
    const claims = [claim("bound", { volumeName: pv.metadata.name }), claim("fresh")];
    const pods = [withClaim("p1", "bound"), withClaim("p2", "fresh"), withClaim("p3", "fresh", { affinity: {} }), withClaim("p4", "nope")];
    const states = claimStates(claims, [pv], [sc], ["default/bound", "default/fresh", "default/nope"]);
    const d = Object.fromEntries(schedule(pods, nodes, [], { scoringStrategy: "LeastAllocated" }, [], states).map((x) => [x.pod.metadata.name, x.nodeName ?? (x as { message: string }).message]));
    expect(d.p1).toBe("b");
    expect(d.p2).toBe(d.p3);
    expect(d.p4).toBe('0/2 nodes are available: 2 persistentvolumeclaim "nope" not found.');
    // With the bound claim on b and another pod elsewhere, only b fits.
    const only = schedule([withClaim("q", "bound", { nodeSelector: { "kubernetes.io/hostname": "a" } })], nodes, [], {}, [], states)[0];
    expect(only.nodeName).toBeUndefined();
    expect((only as { message: string }).message).toContain("node(s) had volume node affinity conflict");
  });

  it("static local volumes: claims waiting for their first consumer go where a matching volume is (one claim each); local-path prefers one over provisioning", () => {
    const noProvisioner: KubeObject = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "local-storage" }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: "WaitForFirstConsumer" };
    const localPv = (name: string, nodeName: string, storage: string, cls: string): KubeObject => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, uid: `pv-${name}` },
      spec: {
        capacity: { storage },
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        storageClassName: cls,
        local: { path: `/mnt/${name}` },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] }] } },
      },
      status: { phase: "Available" },
    });
    const nodes = [node("a"), node("b")];
    const volumes = [localPv("on-b", "b", "2Gi", "local-storage"), localPv("too-small-on-a", "a", "100Mi", "local-storage")];
    const claims = [claim("x", { storageClassName: "local-storage" }), claim("y", { storageClassName: "local-storage" })];
    const states = claimStates(claims, volumes, [sc, noProvisioner], ["default/x", "default/y"]);
    expect(states.get("default/x")?.candidates?.map((v) => v.metadata.name)).toEqual(["on-b"]);
    expect(states.get("default/x")?.provisionWith).toBeUndefined();
    const d = schedule([withClaim("px", "x"), withClaim("py", "y")], nodes, [], {}, [], states);
    expect(d[0].nodeName).toBe("b");
    expect(d[1].nodeName).toBeUndefined();
    expect((d[1] as { message: string }).message).toBe("0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind.");
    // local-path: a matching static volume on the node is taken before provisioning; elsewhere it provisions.
    const lp = claimStates([claim("z")], [localPv("lp-on-a", "a", "1Gi", "local-path")], [sc], ["default/z"]).get("default/z")!;
    expect(chooseVolumes([lp], { name: "a", labels: { "kubernetes.io/hostname": "a" } })[0]).toMatchObject({ metadata: { name: "lp-on-a" } });
    expect(chooseVolumes([lp], { name: "b", labels: { "kubernetes.io/hostname": "b" } })).toEqual(["provision"]);
    expect(chooseVolumes([lp, lp], { name: "a", labels: { "kubernetes.io/hostname": "a" } }).map((c) => (c === "provision" ? c : c?.metadata.name))).toEqual(["lp-on-a", "provision"]);
    // A volume provisioned for the claim on a (its binding unfinished) holds the claim there: b gets nothing, not a second volume.
    const made = provisionedVolume(claim("w"), sc, { ...node("a"), metadata: { name: "a", labels: { "kubernetes.io/hostname": "a" } } });
    const half = claimStates([claim("w")], [made], [sc], ["default/w"]).get("default/w")!;
    expect(chooseVolumes([half], { name: "a", labels: { "kubernetes.io/hostname": "a" } })[0]).toBe(made);
    expect(chooseVolumes([half], { name: "b", labels: { "kubernetes.io/hostname": "b" } })).toEqual([undefined]);
  });
});
