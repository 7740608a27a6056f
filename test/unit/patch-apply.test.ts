import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors.ts";
import { applyPatch, mergePatch } from "../../src/api/patch.ts";
import { schemaFor } from "../../src/api/patch-strategy.ts";
import { serverSideApply } from "../../src/api/server-side-apply.ts";
import { kindFor } from "../../src/resources/index.ts";
import type { KubeObject, ResourceKind } from "../../src/resources/types.ts";

type Obj = Record<string, unknown>;

const deploymentKind = kindFor("apps/v1", "Deployment") as ResourceKind;
const DEPLOYMENT = schemaFor(deploymentKind);

function failure(fn: () => unknown): { code: number; reason: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, reason: e.reason };
    throw e;
  }
  throw new Error("expected an ApiError");
}

function live(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: { app: "web" }, finalizers: ["a"], resourceVersion: "7" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          tolerations: [{ key: "t", operator: "Exists" }],
          containers: [
            {
              name: "web",
              image: "nginx:1",
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
              ],
              ports: [
                { containerPort: 53, protocol: "TCP" },
                { containerPort: 53, protocol: "UDP" },
              ],
            },
            { name: "side", image: "busybox" },
          ],
        },
      },
    },
  };
}

const podSpec = (o: Obj) => ((o.spec as Obj).template as { spec: Obj }).spec;

describe("server-side apply (merge into the live object)", () => {
  it("merges maps, keyed lists by key and replaces other lists", () => {
    const config = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { tier: "fe" }, finalizers: ["b"] },
      spec: {
        template: {
          spec: {
            tolerations: [{ key: "u", operator: "Exists" }],
            containers: [
              { name: "web", image: "nginx:2", env: [{ name: "B", value: "two" }, { name: "C", value: "3" }], ports: [{ containerPort: 53, protocol: "UDP", name: "dns" }] },
              { name: "new", image: "redis" },
            ],
          },
        },
      },
    };
    const out = serverSideApply(live(), config, DEPLOYMENT);
    expect(out).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default", labels: { app: "web", tier: "fe" }, finalizers: ["a", "b"], resourceVersion: "7" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            tolerations: [{ key: "u", operator: "Exists" }],
            containers: [
              {
                name: "web",
                image: "nginx:2",
                env: [
                  { name: "A", value: "1" },
                  { name: "B", value: "two" },
                  { name: "C", value: "3" },
                ],
                ports: [
                  { containerPort: 53, protocol: "TCP" },
                  { containerPort: 53, protocol: "UDP", name: "dns" },
                ],
              },
              { name: "side", image: "busybox" },
              { name: "new", image: "redis" },
            ],
          },
        },
      },
    });
  });

  it("keys container ports by containerPort and protocol, TCP when omitted", () => {
    const out = serverSideApply(live(), { spec: { template: { spec: { containers: [{ name: "web", ports: [{ containerPort: 53, name: "tcp-dns" }] }] } } } }, DEPLOYMENT);
    expect((podSpec(out).containers as Obj[])[0].ports).toEqual([
      { containerPort: 53, protocol: "TCP", name: "tcp-dns" },
      { containerPort: 53, protocol: "UDP" },
    ]);
  });

  it("removes fields set to null and ignores managedFields in the configuration", () => {
    const out = serverSideApply(live(), { metadata: { labels: { app: null }, managedFields: [{ manager: "x" }] }, spec: { replicas: null } }, DEPLOYMENT);
    expect(out.metadata).toEqual({ name: "web", namespace: "default", labels: {}, finalizers: ["a"], resourceVersion: "7" });
    expect((out.spec as Obj).replicas).toBeUndefined();
  });

  it("does not change the live object and rejects what is not a configuration", () => {
    const l = live();
    const before = JSON.stringify(l);
    serverSideApply(l, { spec: { replicas: 5 } }, DEPLOYMENT);
    expect(JSON.stringify(l)).toBe(before);
    expect(failure(() => serverSideApply(l, [1], DEPLOYMENT))).toEqual({ code: 400, reason: "BadRequest" });
    expect(failure(() => serverSideApply(l, { spec: { template: { spec: { containers: [{ image: "no-name" }] } } } }, DEPLOYMENT))).toEqual({
      code: 400,
      reason: "BadRequest",
    });
  });
});

describe("applyPatch", () => {
  it("dispatches on the content type", () => {
    const merge = applyPatch("application/merge-patch+json", live(), { spec: { replicas: 3, selector: null } }, deploymentKind);
    expect(merge.spec).toEqual({ replicas: 3, template: (live().spec as Obj).template });
    const json = applyPatch("application/json-patch+json", live(), [{ op: "replace", path: "/spec/replicas", value: 4 }], deploymentKind);
    expect((json.spec as Obj).replicas).toBe(4);
    const smp = applyPatch("application/strategic-merge-patch+json", live(), { spec: { template: { spec: { containers: [{ name: "side", image: "b:2" }] } } } }, deploymentKind);
    expect((podSpec(smp).containers as Obj[]).map((c) => c.image)).toEqual(["nginx:1", "b:2"]);
    const ssa = applyPatch("application/apply-patch+yaml", live(), { spec: { replicas: 9 } }, deploymentKind, { force: true });
    expect((ssa.spec as Obj).replicas).toBe(9);
  });

  it("uses only metadata strategies for a Scale view of a kind", () => {
    const scale = { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web" }, spec: { replicas: 1 } } as KubeObject;
    expect(applyPatch("application/strategic-merge-patch+json", scale, { spec: { replicas: 4 } }, deploymentKind).spec).toEqual({ replicas: 4 });
  });

  it("rejects unknown types (415), non-object merge patches (400) and results that are no object or too deep (422)", () => {
    expect(failure(() => applyPatch("application/json", live(), {}, deploymentKind))).toEqual({ code: 415, reason: "UnsupportedMediaType" });
    expect(failure(() => applyPatch("application/merge-patch+json", live(), [1], deploymentKind))).toEqual({ code: 400, reason: "BadRequest" });
    expect(failure(() => applyPatch("application/strategic-merge-patch+json", live(), "x", deploymentKind))).toEqual({ code: 400, reason: "BadRequest" });
    expect(failure(() => applyPatch("application/json-patch+json", live(), [{ op: "replace", path: "", value: [1] }], deploymentKind))).toEqual({
      code: 422,
      reason: "Invalid",
    });
    // 3 ops per level: nest "a" one level deeper each time, past the depth limit
    const ops: unknown[] = [];
    for (let i = 0; i < 120; i++) ops.push({ op: "add", path: "/t", value: {} }, { op: "move", from: "/a", path: "/t/a" }, { op: "move", from: "/t", path: "/a" });
    expect(failure(() => applyPatch("application/json-patch+json", { ...live(), a: {} }, ops, deploymentKind))).toEqual({ code: 422, reason: "Invalid" });
    // thousands of levels: deeper than recursion copes with, still a 422
    for (let i = 0; i < 3200; i++) ops.push({ op: "add", path: "/t", value: {} }, { op: "move", from: "/a", path: "/t/a" }, { op: "move", from: "/t", path: "/a" });
    ops.push({ op: "copy", from: "/a", path: "/b" }, { op: "test", path: "/a", value: {} });
    expect(failure(() => applyPatch("application/json-patch+json", { ...live(), a: {} }, ops, deploymentKind))).toEqual({ code: 422, reason: "Invalid" });
  });

  it("merge patch (RFC 7386) replaces lists and deletes with null", () => {
    expect(mergePatch({ a: [1, 2], b: { c: 1, d: 2 }, e: 1 }, { a: [3], b: { c: null, f: { g: 1 } }, e: null })).toEqual({ a: [3], b: { d: 2, f: { g: 1 } } });
    expect(mergePatch({ a: 1 }, { b: { c: null } })).toEqual({ a: 1, b: {} });
  });
});
