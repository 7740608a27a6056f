import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { commitWrites, objectKey, openDb } from "../../src/store/revision-log.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/**
 * Writes may start from the copy of an object this isolate last saw (src/store/recent-objects.ts).
 * Here another writer changes the object behind its back (straight into the log, as another isolate
 * would): every answer must still be the one a read from D1 gives.
 */

const path = (ns: string, name = "") => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ""}`;

/** Stores a new revision of a ConfigMap without going through the API (so no copy of it is updated). */
async function writeBehind(ns: string, current: any, data: Record<string, string>): Promise<string> {
  const { resourceVersion, ...metadata } = current.metadata;
  const [r] = await commitWrites(openDb(env.DB), [
    {
      type: "MODIFIED",
      key: objectKey("core/configmaps", ns, metadata.name),
      resource: "core/configmaps",
      namespace: ns,
      name: metadata.name,
      value: JSON.stringify({ ...current, metadata, data }),
      expectedRev: Number(resourceVersion),
    },
  ]);
  if (!r.ok) throw new Error("the write behind the API's back lost its compare-and-swap");
  return String(r.rev);
}

async function created(ns: string, name: string) {
  await createNamespace(ns);
  const c = await apiJson("POST", path(ns), { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "1" } });
  expect(c.status).toBe(201);
  return c.body;
}

describe("writes that start from a recent copy", () => {
  it("a PUT naming the revision this isolate wrote, when another writer wrote since, is a 409 and changes nothing", async () => {
    const first = await created("recent-put", "x");
    const behind = await writeBehind("recent-put", first, { a: "other" });
    const put = await apiJson("PUT", path("recent-put", "x"), { ...first, data: { a: "2" } });
    expect(put.status).toBe(409);
    expect(put.body.reason).toBe("Conflict");
    const now = await apiJson("GET", path("recent-put", "x"));
    expect(now.body.data).toEqual({ a: "other" });
    expect(now.body.metadata.resourceVersion).toBe(behind);
  });

  it("a PUT that would change nothing on an out-of-date copy is a 409, not a 200 with the old object", async () => {
    const first = await created("recent-noop", "x");
    await writeBehind("recent-noop", first, { a: "other" });
    const put = await apiJson("PUT", path("recent-noop", "x"), first);
    expect(put.status).toBe(409);
    expect((await apiJson("GET", path("recent-noop", "x"))).body.data).toEqual({ a: "other" });
  });

  it("a PUT at the current revision still writes, and the next PUT naming the new revision too", async () => {
    const first = await created("recent-chain", "x");
    const second = await apiJson("PUT", path("recent-chain", "x"), { ...first, data: { a: "2" } });
    expect(second.status).toBe(200);
    const third = await apiJson("PUT", path("recent-chain", "x"), { ...second.body, data: { a: "3" } });
    expect(third.status).toBe(200);
    expect(Number(third.body.metadata.resourceVersion)).toBeGreaterThan(Number(second.body.metadata.resourceVersion));
    expect((await apiJson("GET", path("recent-chain", "x"))).body.data).toEqual({ a: "3" });
  });

  it("a PATCH applies to what is stored now, not to the out-of-date copy", async () => {
    const first = await created("recent-patch", "x");
    await writeBehind("recent-patch", first, { a: "other", b: "kept" });
    const patched = await apiJson("PATCH", path("recent-patch", "x"), { data: { c: "3" } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ a: "other", b: "kept", c: "3" });
    expect((await apiJson("GET", path("recent-patch", "x"))).body.data).toEqual({ a: "other", b: "kept", c: "3" });
  });

  it("a PATCH that changes nothing on the out-of-date copy is applied to what is stored now", async () => {
    const first = await created("recent-patch-noop", "x");
    const behind = await writeBehind("recent-patch-noop", first, { a: "other" });
    // {a: "1"} is what the old copy holds: against it, nothing to write; against D1, a change.
    const patched = await apiJson("PATCH", path("recent-patch-noop", "x"), { data: { a: "1" } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ a: "1" });
    expect(Number(patched.body.metadata.resourceVersion)).toBeGreaterThan(Number(behind));
  });

  it("a PATCH with a resourceVersion precondition is judged against what is stored now", async () => {
    const first = await created("recent-patch-rv", "x");
    const behind = await writeBehind("recent-patch-rv", first, { a: "other" });
    const stale = await apiJson("PATCH", path("recent-patch-rv", "x"), { metadata: { resourceVersion: first.metadata.resourceVersion }, data: { a: "2" } }, { contentType: "application/merge-patch+json" });
    expect(stale.status).toBe(409);
    const fresh = await apiJson("PATCH", path("recent-patch-rv", "x"), { metadata: { resourceVersion: behind }, data: { a: "2" } }, { contentType: "application/merge-patch+json" });
    expect(fresh.status).toBe(200);
    expect(fresh.body.data).toEqual({ a: "2" });
  });

  it("a deleted object's copy is not used: a PUT after the delete is a 404", async () => {
    const first = await created("recent-del", "x");
    expect((await apiJson("DELETE", path("recent-del", "x"))).status).toBe(200);
    const put = await apiJson("PUT", path("recent-del", "x"), { ...first, data: { a: "2" } });
    expect(put.status).toBe(404);
  });
});
