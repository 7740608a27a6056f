import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ResourceMirror } from "../../src/store/resource-mirror.ts";
import { compact, currentRevision, openDb } from "../../src/store/revision-log.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/** The informer-like copy the scheduler keeps: one full read, then only the log rows written since. */

const cm = (name: string, data: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
const names = (m: ResourceMirror) => [...m.objects.values()].map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();

describe("ResourceMirror", () => {
  it("reads everything once, then only changes; follows updates and deletions; drops what it does not keep", async () => {
    await createNamespace("mirror-a");
    for (const n of ["one", "two", "three"]) expect((await apiJson("POST", "/api/v1/namespaces/mirror-a/configmaps", cm(n))).status).toBe(201);
    const db = openDb(env.DB);
    // A listener is told of the full read, then of each change to what is kept.
    const told: string[] = [];
    const nameOf = (o?: { metadata: { name?: string } }) => o?.metadata.name ?? "-";
    const listener = {
      reset: (objects: Map<string, unknown>) => told.push(`reset ${objects.size}`),
      changed: (key: string, before?: { metadata: { name?: string } }, after?: { metadata: { name?: string } }) =>
        key.includes("/mirror-a/") && told.push(`${nameOf(before)} -> ${nameOf(after)}`),
    };
    const mirror = new ResourceMirror("core/configmaps", (o) => (o.data as Record<string, string> | undefined)?.skip !== "yes", listener);
    await mirror.sync(db);
    expect(told).toEqual([`reset ${mirror.objects.size}`]);
    expect(names(mirror)).toEqual(expect.arrayContaining(["mirror-a/one", "mirror-a/three", "mirror-a/two"]));
    const fullRead = mirror.lastRowsRead;
    expect(fullRead).toBeGreaterThanOrEqual(3);

    // Nothing changed: nothing read.
    await mirror.sync(db);
    expect(mirror.lastRowsRead).toBe(0);

    // One update, one deletion, one object that stops being kept: three log rows, each applied.
    const upd = await apiJson("PUT", "/api/v1/namespaces/mirror-a/configmaps/one", cm("one", { v: "2" }));
    expect(upd.status).toBe(200);
    expect((await apiJson("DELETE", "/api/v1/namespaces/mirror-a/configmaps/two")).status).toBe(200);
    expect((await apiJson("PUT", "/api/v1/namespaces/mirror-a/configmaps/three", cm("three", { skip: "yes" }))).status).toBe(200);
    // Writes of other resources are not read at all.
    expect((await apiJson("POST", "/api/v1/namespaces/mirror-a/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } })).status).toBe(201);
    await mirror.sync(db);
    expect(mirror.lastRowsRead).toBe(3);
    expect(told.slice(1)).toEqual(["one -> one", "two -> -", "three -> -"]);
    const mine = names(mirror).filter((n) => n.startsWith("mirror-a/"));
    expect(mine).toEqual(["mirror-a/one"]);
    const one = [...mirror.objects.values()].find((o) => o.metadata.name === "one")!;
    expect(one.data).toEqual({ v: "2" });
    expect(one.metadata.resourceVersion).toBe(upd.body.metadata.resourceVersion);
  });

  it("reads everything again when the log it needs was compacted away", async () => {
    await createNamespace("mirror-b");
    expect((await apiJson("POST", "/api/v1/namespaces/mirror-b/configmaps", cm("kept"))).status).toBe(201);
    const db = openDb(env.DB);
    const mirror = new ResourceMirror("core/configmaps");
    await mirror.sync(db);
    expect((await apiJson("POST", "/api/v1/namespaces/mirror-b/configmaps", cm("late"))).status).toBe(201);
    expect((await apiJson("DELETE", "/api/v1/namespaces/mirror-b/configmaps/kept")).status).toBe(200);
    await compact(db, await currentRevision(db));
    await mirror.sync(db);
    // A full read (not two log rows), and the result is still exact.
    const mine = names(mirror).filter((n) => n.startsWith("mirror-b/"));
    expect(mine).toEqual(["mirror-b/late"]);
    expect(mirror.lastRowsRead).toBe(mirror.objects.size);
  });
});
