import { describe, expect, it } from "vitest";
import { NAMESPACE_SETTLE_MS, reconcileNamespace } from "../../src/controllers/namespace-lifecycle.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const ns = (deleting: boolean, phase = "Active"): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "n", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  status: { phase },
});
const obj = (name: string, deleting = false) => ({
  key: `core/configmaps/n/${name}`,
  rev: 7,
  object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(deleting ? { deletionTimestamp: "x", finalizers: ["f"] } : {}) } },
});

describe("reconcileNamespace", () => {
  it("does nothing for a live namespace", () => {
    expect(reconcileNamespace({ namespace: ns(false), contents: [obj("a")] })).toEqual([]);
  });
  it("marks Terminating and deletes every object not already being deleted", () => {
    expect(reconcileNamespace({ namespace: ns(true), contents: [obj("a"), obj("b", true)] })).toEqual([
      { type: "mark-terminating" },
      { type: "delete-object", key: "core/configmaps/n/a", rev: 7 },
    ]);
  });
  it("waits for objects held by finalizers", () => {
    expect(reconcileNamespace({ namespace: ns(true, "Terminating"), contents: [obj("b", true)] })).toEqual([{ type: "wait" }]);
  });
  it("removes the namespace once it is empty", () => {
    expect(reconcileNamespace({ namespace: ns(true, "Terminating"), contents: [] })).toEqual([{ type: "remove-namespace" }]);
  });
});

describe("namespace settle time", () => {
  it("keeps an emptied namespace until NAMESPACE_SETTLE_MS after its deletion, then removes it", () => {
    const deleted = "2026-01-01T00:00:00Z";
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "x", deletionTimestamp: deleted }, status: { phase: "Terminating" } };
    const t = Date.parse(deleted);
    expect(reconcileNamespace({ namespace: ns, contents: [], now: t + 1000 })).toEqual([{ type: "wait" }]);
    expect(reconcileNamespace({ namespace: ns, contents: [], now: t + NAMESPACE_SETTLE_MS })).toEqual([{ type: "remove-namespace" }]);
  });
});
