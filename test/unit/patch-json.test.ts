import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors.ts";
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS, parsePointer } from "../../src/api/json-patch.ts";

/** The code and reason of the ApiError `fn` throws. */
function failure(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, reason: e.reason, message: e.message };
    throw e;
  }
  throw new Error("expected an ApiError");
}

describe("JSON pointers", () => {
  it("parses tokens and unescapes ~1 then ~0", () => {
    expect(parsePointer("", "p")).toEqual([]);
    expect(parsePointer("/", "p")).toEqual([""]);
    expect(parsePointer("/a/b~1c/d~0e/~01", "p")).toEqual(["a", "b/c", "d~e", "~1"]);
  });
  it("rejects what is not a pointer", () => {
    expect(failure(() => parsePointer("a/b", "p")).code).toBe(400);
    expect(failure(() => parsePointer("/a~2", "p")).code).toBe(400);
    expect(failure(() => parsePointer("/a~", "p")).code).toBe(400);
  });
});

describe("JSON patch (RFC 6902)", () => {
  it("adds object members and array elements, '-' appends", () => {
    const doc = { foo: "bar", list: [1, 2] };
    expect(
      applyJsonPatch(doc, [
        { op: "add", path: "/baz", value: "qux" },
        { op: "add", path: "/list/1", value: 9 },
        { op: "add", path: "/list/-", value: 3 },
        { op: "add", path: "/list/0", value: 0 },
        { op: "add", path: "/nested", value: { a: [] } },
        { op: "add", path: "/nested/a/0", value: "x" },
      ]),
    ).toEqual({ foo: "bar", list: [0, 1, 9, 2, 3], baz: "qux", nested: { a: ["x"] } });
    expect(doc).toEqual({ foo: "bar", list: [1, 2] }); // the input is not changed
  });

  it("removes, replaces, moves and copies", () => {
    const doc = { a: { b: 1, c: [1, 2, 3] }, d: "x" };
    expect(
      applyJsonPatch(doc, [
        { op: "remove", path: "/a/c/1" },
        { op: "replace", path: "/a/b", value: { deep: true } },
        { op: "move", from: "/d", path: "/a/d" },
        { op: "copy", from: "/a/c", path: "/e" },
        { op: "move", from: "/a/c/0", path: "/a/c/-" },
      ]),
    ).toEqual({ a: { b: { deep: true }, c: [3, 1], d: "x" }, e: [1, 3] });
  });

  it("replaces the whole document with an empty path", () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }])).toEqual({ b: 2 });
  });

  it("unescapes ~0 and ~1 in member names (label keys with slashes)", () => {
    const doc = { metadata: { labels: { "app.kubernetes.io/name": "web", "a~b": "1" } } };
    expect(
      applyJsonPatch(doc, [
        { op: "replace", path: "/metadata/labels/app.kubernetes.io~1name", value: "api" },
        { op: "remove", path: "/metadata/labels/a~0b" },
      ]),
    ).toEqual({ metadata: { labels: { "app.kubernetes.io/name": "api" } } });
  });

  it("passes a test of an equal value, whatever the member order", () => {
    const doc = { spec: { replicas: 2, selector: { matchLabels: { a: "1", b: "2" } } } };
    expect(
      applyJsonPatch(doc, [
        { op: "test", path: "/spec/selector", value: { matchLabels: { b: "2", a: "1" } } },
        { op: "test", path: "/spec/replicas", value: 2 },
        { op: "replace", path: "/spec/replicas", value: 3 },
      ]),
    ).toEqual({ spec: { replicas: 3, selector: { matchLabels: { a: "1", b: "2" } } } });
  });

  it("fails a test of a different value with 422 Invalid and applies nothing", () => {
    const f = failure(() => applyJsonPatch({ spec: { replicas: 2 } }, [{ op: "test", path: "/spec/replicas", value: 3 }]));
    expect(f).toEqual({
      code: 422,
      reason: "Invalid",
      message: 'the server rejected our request due to an error in our request: test operation failed: the value at "/spec/replicas" is not 3',
    });
    expect(failure(() => applyJsonPatch({ a: [1] }, [{ op: "test", path: "/a", value: [1, 2] }])).code).toBe(422);
    expect(failure(() => applyJsonPatch({}, [{ op: "test", path: "/missing", value: 1 }])).code).toBe(422);
  });

  it("keeps the leniencies of Kubernetes' json-patch library", () => {
    // replace of a missing object member adds it (kubectl rollout undo relies on it for annotations)
    expect(applyJsonPatch({ metadata: {} }, [{ op: "replace", path: "/metadata/annotations", value: { a: "1" } }])).toEqual({
      metadata: { annotations: { a: "1" } },
    });
    // test of a missing member against null succeeds
    expect(applyJsonPatch({ a: 1 }, [{ op: "test", path: "/b", value: null }])).toEqual({ a: 1 });
  });

  it("answers 422 for operations that do not apply", () => {
    const doc = { a: { b: [1, 2] } };
    const cases: unknown[] = [
      { op: "add", path: "/x/y", value: 1 }, // missing parent
      { op: "add", path: "/a/b/3", value: 1 }, // past the end
      { op: "add", path: "/a/b/01", value: 1 }, // leading zero
      { op: "add", path: "/a/b/-1", value: 1 },
      { op: "remove", path: "/a/c" },
      { op: "remove", path: "/a/b/2" },
      { op: "remove", path: "/a/b/-" },
      { op: "remove", path: "" },
      { op: "replace", path: "/a/b/5", value: 1 },
      { op: "move", from: "/a", path: "/a/b/0" }, // into its own child
      { op: "move", from: "/nope", path: "/x" },
      { op: "copy", from: "/nope", path: "/x" },
      { op: "add", path: "/a/b/0/x", value: 1 }, // into a scalar
    ];
    for (const op of cases) {
      const f = failure(() => applyJsonPatch(doc, [op]));
      expect({ op, code: f.code, reason: f.reason }).toEqual({ op, code: 422, reason: "Invalid" });
    }
  });

  it("answers 400 for a malformed patch document", () => {
    const cases: unknown[] = [
      { op: "add", path: "/a", value: 1 }, // not a list
      [{ path: "/a", value: 1 }],
      [{ op: "bogus", path: "/a" }],
      [{ op: "add", value: 1 }],
      [{ op: "add", path: "/a" }], // no value
      [{ op: "replace", path: "/a" }],
      [{ op: "test", path: "/a" }],
      [{ op: "move", path: "/a" }], // no from
      [{ op: "copy", path: "/a", from: 3 }],
      [{ op: "add", path: "a", value: 1 }],
      ["add"],
      [null],
    ];
    for (const p of cases) {
      const f = failure(() => applyJsonPatch({ a: 1 }, p));
      expect({ p, code: f.code, reason: f.reason }).toEqual({ p, code: 400, reason: "BadRequest" });
    }
  });

  it("accepts a null value", () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: "add", path: "/b", value: null }])).toEqual({ a: 1, b: null });
  });

  it("rejects more than 10,000 operations with 413 before applying any", () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: "test", path: "/a", value: 1 }));
    const f = failure(() => applyJsonPatch({ a: 1 }, ops));
    expect(f).toEqual({ code: 413, reason: "RequestEntityTooLarge", message: "The allowed maximum operations in a JSON patch is 10000, got 10001" });
    expect(applyJsonPatch({ a: 1 }, ops.slice(1))).toEqual({ a: 1 });
  });

  it("bounds how much copy operations may add (a copy can double the document)", () => {
    const ops = Array.from({ length: 40 }, () => ({ op: "copy", from: "/a", path: "/a/-" }));
    const started = Date.now();
    const f = failure(() => applyJsonPatch({ a: ["0123456789"] }, ops));
    expect(f.code).toBe(422);
    expect(f.message).toMatch(/copy operations of this patch add more than/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("bounds the work of shifting big arrays", () => {
    const big = { l: Array.from({ length: 700_000 }, () => 0) };
    const inserts = Array.from({ length: MAX_JSON_PATCH_OPERATIONS }, () => ({ op: "add", path: "/l/0", value: 1 }));
    // The bound is on work (elements shifted), not time: it rejects before doing it.
    expect(failure(() => applyJsonPatch(big, inserts)).message).toMatch(/too expensive to apply/);
    // appending is cheap whatever the array's size
    const appends = inserts.map(() => ({ op: "add", path: "/l/-", value: 1 }));
    expect((applyJsonPatch(big, appends) as { l: unknown[] }).l.length).toBe(710_000);
  });

  it("treats __proto__ as a plain member name", () => {
    const out = applyJsonPatch({ a: {} }, [{ op: "add", path: "/a/__proto__", value: { polluted: true } }]) as { a: Record<string, unknown> };
    expect(Object.keys(out.a)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out.a)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(failure(() => applyJsonPatch({ a: {} }, [{ op: "remove", path: "/a/constructor" }])).code).toBe(422);
  });

  it("applies kubectl rollout undo's patch", () => {
    const deployment = {
      metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "3", note: "x" } },
      spec: { replicas: 2, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:2" }] } } },
    };
    const patch = [
      {
        op: "replace",
        path: "/spec/template",
        value: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1", resources: {} }] } },
      },
      { op: "replace", path: "/metadata/annotations", value: { "deployment.kubernetes.io/revision": "3" } },
    ];
    expect(applyJsonPatch(deployment, patch)).toEqual({
      metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "3" } },
      spec: { replicas: 2, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1", resources: {} }] } } },
    });
  });
});
