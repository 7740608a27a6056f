import { describe, expect, it } from "vitest";
import { concurrentGroups } from "../../src/controllers/host.ts";
import type { Action } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const obj = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name } });
const create = (name: string, resource: "core/pods" | "core/persistentvolumeclaims" = "core/pods"): Action => ({ type: "create", resource, object: obj(name) });
const del = (name: string): Action => ({ type: "delete", resource: "core/pods", name });
const event = (message: string): Action => ({ type: "event", involved: obj("rs"), eventType: "Normal", reason: "R", message });
const shape = (groups: Action[][]) =>
  groups.map((g) => g.map((a) => (a.type === "create" ? `c:${a.object.metadata.name}` : a.type === "delete" ? `d:${a.name}` : a.type === "event" ? `e:${a.message}` : a.type)));

describe("concurrentGroups", () => {
  it("groups runs of creates or deletes of one resource, keeps every other step in order", () => {
    const groups = concurrentGroups([create("a"), create("b"), event("made 2"), del("x"), del("y"), create("claim", "core/persistentvolumeclaims"), create("c")]);
    expect(shape(groups)).toEqual([["c:a", "c:b"], ["e:made 2"], ["d:x", "d:y"], ["c:claim"], ["c:c"]]);
  });

  it("caps a group at 64 actions", () => {
    const groups = concurrentGroups(Array.from({ length: 130 }, (_, i) => create(`p${i}`)));
    expect(groups.map((g) => g.length)).toEqual([64, 64, 2]);
  });

  it("never groups events or updates", () => {
    const update: Action = { type: "update", resource: "core/pods", object: obj("u") };
    expect(concurrentGroups([event("1"), event("2"), update, update]).map((g) => g.length)).toEqual([1, 1, 1, 1]);
  });
});
