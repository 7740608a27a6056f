import { describe, expect, it } from "vitest";
import { unboundVolume, volumeActions, type VolumeAction } from "../../src/controllers/persistent-volume.ts";
import { localPathClass } from "../../src/resources/storageclass.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { bindClaim, bindVolume, boundClaimStatus } from "../../src/scheduler/volume-binding.ts";
import { findMatchingVolume, volumeMismatch } from "../../src/scheduler/volume-match.ts";

/** The PersistentVolume controller and PV protection (pure): matching, static binding, phases, reclaim, the finalizer. */

const PROTECT = "kubernetes.io/pv-protection";
const T0 = "2024-01-01T00:00:00Z";

function pv(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, phase = "Available"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, uid: `pv-${name}`, resourceVersion: "3", finalizers: [PROTECT], ...meta },
    spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", volumeMode: "Filesystem", storageClassName: "", hostPath: { path: `/srv/${name}` }, ...spec },
    status: { phase },
  };
}

function pvc(name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, phase = "Pending"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "5", finalizers: ["kubernetes.io/pvc-protection"], ...meta },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "", volumeMode: "Filesystem", ...spec },
    status: { phase },
  };
}

const refTo = (c: KubeObject, uid = true) => ({ kind: "PersistentVolumeClaim", namespace: "ns", name: c.metadata.name, ...(uid ? { uid: c.metadata.uid } : {}), apiVersion: "v1" });
const immediate: KubeObject = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "fast" }, provisioner: "example.com/none", volumeBindingMode: "Immediate" };
const run = (volumes: KubeObject[], claims: KubeObject[], classes: KubeObject[] = [localPathClass(), immediate]) => volumeActions({ volumes, claims, classes });
const names = (actions: VolumeAction[]) =>
  actions.map((a) => {
    switch (a.type) {
      case "bind":
        return `bind ${a.volume.metadata.name} ${a.claim.metadata.name}`;
      case "status":
        return `${a.phase} ${a.volume.metadata.name}`;
      case "claim-lost":
        return `lost ${a.claim.metadata.name}`;
      case "unbind":
        return `unbind ${a.volume.metadata.name}`;
      case "delete":
        return `delete ${a.name}`;
      case "finalizer":
        return `${a.add ? "protect" : "release"} ${a.volume.metadata.name}`;
      case "event":
        return `event ${a.reason} ${a.involved.metadata.name}: ${a.message}`;
    }
  });

describe("volume matching (FindMatchingVolume)", () => {
  it("takes the smallest Available volume of the claim's class, modes, mode, selector and size", () => {
    const claim = pvc("c", { resources: { requests: { storage: "2Gi" } }, selector: { matchLabels: { tier: "gold" } } });
    const gold = { labels: { tier: "gold" } };
    const volumes = [
      pv("small", { capacity: { storage: "1Gi" } }, gold),
      pv("big", { capacity: { storage: "10Gi" } }, gold),
      pv("fits", { capacity: { storage: "3Gi" } }, gold),
      pv("exact-no-label", { capacity: { storage: "2Gi" } }),
      pv("other-class", { capacity: { storage: "2Gi" }, storageClassName: "fast" }, gold),
      pv("rox-only", { capacity: { storage: "2Gi" }, accessModes: ["ReadOnlyMany"] }, gold),
      pv("block", { capacity: { storage: "2Gi" }, volumeMode: "Block" }, gold),
      pv("released", { capacity: { storage: "2Gi" } }, gold, "Released"),
      pv("claimed", { capacity: { storage: "2Gi" }, claimRef: { namespace: "ns", name: "other" } }, gold),
      pv("deleting", { capacity: { storage: "2Gi" } }, { ...gold, deletionTimestamp: T0 }),
    ];
    expect(findMatchingVolume(claim, volumes)?.metadata.name).toBe("fits");
    expect(findMatchingVolume(claim, volumes, { taken: new Set(["fits"]) })?.metadata.name).toBe("big");
    // A volume pre-bound to the claim wins whatever its size, also for claims waiting for their first consumer.
    const pre = pv("pre", { capacity: { storage: "1Gi" }, claimRef: refTo(claim, false) }, {}, "Available");
    expect(findMatchingVolume(claim, [...volumes, pre])?.metadata.name).toBe("pre");
    expect(findMatchingVolume(claim, volumes, { delayBinding: true })).toBeUndefined();
    expect(findMatchingVolume(claim, [pre], { delayBinding: true })?.metadata.name).toBe("pre");
  });

  it("with a node, only volumes whose node affinity admits it", () => {
    const claim = pvc("c");
    const onA = pv("on-a", { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["a"] }] }] } } });
    expect(findMatchingVolume(claim, [onA], { node: { name: "a", labels: { "kubernetes.io/hostname": "a" } }, delayBinding: true })?.metadata.name).toBe("on-a");
    expect(findMatchingVolume(claim, [onA], { node: { name: "b", labels: { "kubernetes.io/hostname": "b" } }, delayBinding: true })).toBeUndefined();
  });

  it("says why a requested volume does not satisfy a claim", () => {
    expect(volumeMismatch(pv("v"), pvc("c", { resources: { requests: { storage: "5Gi" } } }))).toBe("requested PV is too small");
    expect(volumeMismatch(pv("v"), pvc("c", { storageClassName: "fast" }))).toBe("storageClassName does not match");
    expect(volumeMismatch(pv("v"), pvc("c", { accessModes: ["ReadWriteMany"] }))).toBe("incompatible accessMode");
    expect(volumeMismatch(pv("v"), pvc("c"))).toBeUndefined();
  });
});

describe("binding objects", () => {
  it("the volume gets a claimRef with the uid and bound-by-controller; a user's pre-binding does not", () => {
    const claim = pvc("c");
    const v = bindVolume(pv("v"), claim);
    expect(v.spec).toMatchObject({ claimRef: { kind: "PersistentVolumeClaim", namespace: "ns", name: "c", uid: "uid-c", apiVersion: "v1", resourceVersion: "5" } });
    expect(v.metadata.annotations).toEqual({ "pv.kubernetes.io/bound-by-controller": "yes" });
    const pre = bindVolume(pv("v", { claimRef: refTo(claim, false) }), claim);
    expect(pre.metadata.annotations).toBeUndefined();
    expect((pre.spec as { claimRef: { uid: string } }).claimRef.uid).toBe("uid-c");
  });

  it("the claim gets volumeName, bind-completed, and bound-by-controller only when the controller chose the volume", () => {
    const volume = pv("v", { capacity: { storage: "5Gi" }, accessModes: ["ReadWriteOnce", "ReadOnlyMany"] });
    const chosen = bindClaim(pvc("c"), volume);
    expect((chosen.spec as { volumeName: string }).volumeName).toBe("v");
    expect(chosen.metadata.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    const asked = bindClaim(pvc("c", { volumeName: "v" }), volume);
    expect(asked.metadata.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes" });
    expect(boundClaimStatus(volume)).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce", "ReadOnlyMany"], capacity: { storage: "5Gi" } });
  });

  it("unbinding clears the controller's claimRef; a user's pre-binding keeps the claim's name", () => {
    const claim = pvc("c");
    const byController = unboundVolume(bindVolume(pv("v"), claim));
    expect((byController.spec as { claimRef?: unknown }).claimRef).toBeUndefined();
    expect(byController.metadata.annotations).toEqual({});
    const byUser = unboundVolume(pv("v", { claimRef: refTo(claim) }));
    expect((byUser.spec as { claimRef?: unknown }).claimRef).toEqual({ kind: "PersistentVolumeClaim", namespace: "ns", name: "c", apiVersion: "v1" });
  });
});

describe("PersistentVolume controller (pure)", () => {
  it("binds unbound claims of class \"\" and Immediate classes to the smallest fitting volume, one claim per volume", () => {
    const a = pvc("a");
    const b = pvc("b");
    const fast = pvc("f", { storageClassName: "fast" });
    const volumes = [pv("v5", { capacity: { storage: "5Gi" } }), pv("v1", { capacity: { storage: "1Gi" } }), pv("fast1", { storageClassName: "fast" })];
    const actions = run(volumes, [a, b, fast]);
    expect(actions).toEqual([
      { type: "bind", volume: volumes[1], claim: a },
      { type: "bind", volume: volumes[0], claim: b },
      { type: "bind", volume: volumes[2], claim: fast },
    ]);
  });

  it("leaves claims that wait for their first consumer to the scheduler; a claim of class \"\" with no volume gets FailedBinding", () => {
    const wffc = pvc("w", { storageClassName: "local-path" });
    const lonely = pvc("l", { resources: { requests: { storage: "100Gi" } } });
    expect(names(run([pv("lp", { storageClassName: "local-path" })], [wffc, lonely]))).toEqual([
      "event FailedBinding l: no persistent volumes available for this claim and no storage class is set",
    ]);
  });

  it("pre-bound claims: bound when the volume satisfies them, VolumeMismatch otherwise; a Bound claim without its volume is Lost", () => {
    const ok = pvc("ok", { volumeName: "v" });
    const small = pvc("small", { volumeName: "w", resources: { requests: { storage: "9Gi" } } });
    const lost = pvc("lost", { volumeName: "gone" }, {}, "Bound");
    const v = pv("v");
    expect(run([v, pv("w")], [ok, small, lost])).toEqual([
      { type: "bind", volume: v, claim: ok },
      { type: "event", involved: small, eventType: "Warning", reason: "VolumeMismatch", message: 'Cannot bind to requested volume "w": requested PV is too small' },
      { type: "claim-lost", claim: lost },
      { type: "event", involved: lost, eventType: "Warning", reason: "ClaimLost", message: "Bound claim has lost reference to PersistentVolume. Data on the claim is lost!" },
    ]);
  });

  it("pre-bound volumes go only to their claim, and stay Available until it exists; half-done bindings are completed; done ones left alone", () => {
    const mine = pvc("mine");
    const pre = pv("pre", { claimRef: refTo(mine, false) }, {}, "Pending");
    expect(names(run([pre], [pvc("other")]))).toEqual(["event FailedBinding other: no persistent volumes available for this claim and no storage class is set", "Available pre"]);
    expect(names(run([pre], [mine]))).toEqual(["bind pre mine"]);
    // The scheduler wrote the volume's side only: the controller finishes.
    const half = pv("half", { claimRef: refTo(mine), storageClassName: "local-path" }, {}, "Bound");
    expect(names(run([half], [pvc("mine", { storageClassName: "local-path" })]))).toEqual(["bind half mine"]);
    const done = pvc("mine", { volumeName: "half", storageClassName: "local-path" }, { annotations: { "pv.kubernetes.io/bind-completed": "yes" } }, "Bound");
    expect(run([half], [done])).toEqual([]);
  });

  it("volume phases: Available without a claim; Bound with its claim; Released (Retain) or deleted (Delete) when the claim goes or is recreated", () => {
    const kept = pvc("kept", { volumeName: "kept" }, { annotations: { "pv.kubernetes.io/bind-completed": "yes" } }, "Bound");
    const recreated = pvc("recreated", {}, { uid: "new-uid" });
    const volumes = [
      pv("fresh", {}, {}, "Pending"),
      pv("kept", { claimRef: refTo(kept) }, {}, "Bound"),
      pv("gone", { claimRef: refTo(pvc("gone")), persistentVolumeReclaimPolicy: "Delete" }, {}, "Bound"),
      pv("retained", { claimRef: refTo(pvc("retained")) }, {}, "Bound"),
      pv("released", { claimRef: refTo(pvc("released")) }, {}, "Released"),
      pv("recreated", { claimRef: refTo(pvc("recreated")), persistentVolumeReclaimPolicy: "Delete", storageClassName: "local-path" }, {}, "Bound"),
      pv("stale", { claimRef: refTo(kept) }, { annotations: { "pv.kubernetes.io/bound-by-controller": "yes" } }, "Bound"),
    ];
    expect(names(run(volumes, [kept, { ...recreated, spec: { ...(recreated.spec as object), storageClassName: "local-path" } }]))).toEqual([
      "Available fresh",
      "Released gone",
      "delete gone",
      "Released retained",
      "Released recreated",
      "delete recreated",
      "unbind stale",
    ]);
  });

  it("protection: adds the finalizer; a volume being deleted keeps it while Bound and loses it once Released or Available", () => {
    const claim = pvc("c", { volumeName: "bound" }, { annotations: { "pv.kubernetes.io/bind-completed": "yes" } }, "Bound");
    const deleting = { deletionTimestamp: T0 };
    const bare = pv("bare", {}, { finalizers: undefined });
    const volumes = [bare, pv("bound", { claimRef: refTo(claim) }, deleting, "Bound"), pv("free", {}, deleting), pv("released", { claimRef: refTo(pvc("x")) }, deleting, "Released")];
    expect(names(run(volumes, [claim]))).toEqual(["protect bare", "release free", "release released"]);
    // The claim goes: the bound volume being deleted is Released first, then loses the finalizer.
    const released = names(run([volumes[1]], []));
    expect(released).toEqual(["Released bound"]);
    expect(names(run([{ ...volumes[1], status: { phase: "Released" } }], []))).toEqual(["release bound"]);
    // Delete policy: Released, deleted (the store marks it, the finalizer holds it), then the finalizer goes.
    const del = pv("del", { claimRef: refTo(pvc("y")), persistentVolumeReclaimPolicy: "Delete" }, {}, "Bound");
    expect(names(run([del], []))).toEqual(["Released del", "delete del"]);
    expect(names(run([{ ...del, metadata: { ...del.metadata, ...deleting }, status: { phase: "Released" } }], []))).toEqual(["release del"]);
  });
});
