import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { compact, currentRevision, openDb } from "../../src/store/revision-log.ts";
import { expireObjects } from "../../src/store/maintenance.ts";
import type { NamespaceHub } from "../../src/store/hub.ts";
import { api, apiJson, createNamespace, readEvents } from "./helpers.ts";

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

describe("store: optimistic concurrency", () => {
  it("lets exactly one of many concurrent updates with the same resourceVersion win", async () => {
    await createNamespace("race");
    const created = await apiJson("POST", "/api/v1/namespaces/race/configmaps", cm("x", { n: "0" }));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        apiJson("PUT", "/api/v1/namespaces/race/configmaps/x", { ...created.body, data: { n: String(i + 1) } }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const conflicts = results.filter((r) => r.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(11);
    for (const c of conflicts) expect(c.body.reason).toBe("Conflict");
    const now = await apiJson("GET", "/api/v1/namespaces/race/configmaps/x");
    expect(now.body.data).toEqual(ok[0].body.data);
    expect(now.body.metadata.resourceVersion).toBe(ok[0].body.metadata.resourceVersion);
  });

  it("a delete without preconditions succeeds while other writes race it (no 409)", async () => {
    await createNamespace("race-del");
    await apiJson("POST", "/api/v1/namespaces/race-del/configmaps", cm("x", { n: "0" }));
    const patches = Array.from({ length: 8 }, (_, i) =>
      apiJson("PATCH", "/api/v1/namespaces/race-del/configmaps/x", { data: { n: String(i + 1) } }, { contentType: "application/merge-patch+json" }),
    );
    const deleted = apiJson("DELETE", "/api/v1/namespaces/race-del/configmaps/x");
    await Promise.all(patches);
    expect((await deleted).status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/race-del/configmaps/x")).status).toBe(404);
  });

  it("lets exactly one of many concurrent creates of the same name win", async () => {
    await createNamespace("race2");
    const results = await Promise.all(
      Array.from({ length: 10 }, () => apiJson("POST", "/api/v1/namespaces/race2/configmaps", cm("same"))),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body.reason === "AlreadyExists")).toHaveLength(9);
  });

  it("commits concurrent creates of different names, each with its own revision", async () => {
    await createNamespace("bulk");
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => apiJson("POST", "/api/v1/namespaces/bulk/configmaps", cm(`c${i}`))),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const revs = new Set(results.map((r) => r.body.metadata.resourceVersion));
    expect(revs.size).toBe(40);
    const list = await apiJson("GET", "/api/v1/namespaces/bulk/configmaps");
    expect(list.body.items).toHaveLength(40);
  });

  it("creates in a namespace that does not exist answer 404", async () => {
    const r = await apiJson("POST", "/api/v1/namespaces/nowhere/configmaps", cm("x"));
    expect(r.status).toBe(404);
    expect(r.body.message).toContain('namespaces "nowhere" not found');
  });

  it("bumps generation only when the spec changes", async () => {
    // An IngressClass: no controller rewrites it between the test's reads and writes.
    const path = "/apis/networking.k8s.io/v1/ingressclasses";
    const spec = (params: string) => ({ controller: "example.com/ingress", parameters: { apiGroup: "example.com", kind: "Params", name: params } });
    const created = await apiJson("POST", path, { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: "gen" }, spec: spec("a") });
    expect(created.status).toBe(201);
    expect(created.body.metadata.generation).toBe(1);
    const labelled = await apiJson("PUT", `${path}/gen`, { ...created.body, metadata: { ...created.body.metadata, labels: { x: "y" } } });
    expect(labelled.status).toBe(200);
    expect(labelled.body.metadata.generation).toBe(1);
    const changed = await apiJson("PUT", `${path}/gen`, { ...labelled.body, spec: spec("b") });
    expect(changed.status).toBe(200);
    expect(changed.body.metadata.generation).toBe(2);
  });
});

describe("store: finalizers and deletion", () => {
  it("marks an object with finalizers and deletes it when the last finalizer goes", async () => {
    await createNamespace("fin");
    const created = await apiJson("POST", "/api/v1/namespaces/fin/configmaps", {
      ...cm("f"),
      metadata: { name: "f", finalizers: ["example.com/hold"] },
    });
    const del = await apiJson("DELETE", "/api/v1/namespaces/fin/configmaps/f");
    expect(del.status).toBe(202);
    const marked = await apiJson("GET", "/api/v1/namespaces/fin/configmaps/f");
    expect(marked.body.metadata.deletionTimestamp).toBeTruthy();
    expect(marked.body.metadata.uid).toBe(created.body.metadata.uid);
    const released = await apiJson("PUT", "/api/v1/namespaces/fin/configmaps/f", {
      ...marked.body,
      metadata: { ...marked.body.metadata, finalizers: [] },
    });
    expect(released.status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/fin/configmaps/f")).status).toBe(404);
  });

  it("checks delete preconditions", async () => {
    await createNamespace("pre");
    await apiJson("POST", "/api/v1/namespaces/pre/configmaps", cm("p"));
    const r = await apiJson("DELETE", "/api/v1/namespaces/pre/configmaps/p", { preconditions: { uid: "not-the-uid" } });
    expect(r.status).toBe(409);
    expect((await apiJson("GET", "/api/v1/namespaces/pre/configmaps/p")).status).toBe(200);
  });
});

describe("store: list", () => {
  it("filters by label selectors", async () => {
    await createNamespace("sel");
    await apiJson("POST", "/api/v1/namespaces/sel/configmaps", cm("a", {}, { app: "web", tier: "front" }));
    await apiJson("POST", "/api/v1/namespaces/sel/configmaps", cm("b", {}, { app: "web", tier: "back" }));
    await apiJson("POST", "/api/v1/namespaces/sel/configmaps", cm("c", {}, { app: "db" }));
    const names = async (selector: string) =>
      (await apiJson("GET", `/api/v1/namespaces/sel/configmaps?labelSelector=${encodeURIComponent(selector)}`)).body.items.map(
        (i: { metadata: { name: string } }) => i.metadata.name,
      );
    expect(await names("app=web")).toEqual(["a", "b"]);
    expect(await names("app!=web")).toEqual(["c"]);
    expect(await names("tier in (front,middle)")).toEqual(["a"]);
    expect(await names("tier notin (front)")).toEqual(["b", "c"]);
    expect(await names("tier")).toEqual(["a", "b"]);
    expect(await names("!tier")).toEqual(["c"]);
    expect(await names("app=web,tier=back")).toEqual(["b"]);
    const bad = await apiJson("GET", `/api/v1/namespaces/sel/configmaps?labelSelector=${encodeURIComponent("a b c")}`);
    expect(bad.status).toBe(400);
  });

  it("filters by field selectors", async () => {
    await createNamespace("fields");
    await apiJson("POST", "/api/v1/namespaces/fields/configmaps", cm("one"));
    await apiJson("POST", "/api/v1/namespaces/fields/configmaps", cm("two"));
    const r = await apiJson("GET", "/api/v1/namespaces/fields/configmaps?fieldSelector=metadata.name%3Dtwo");
    expect(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["two"]);
    const all = await apiJson("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dfields");
    expect(all.body.items).toHaveLength(2);
  });

  it("pages with limit/continue, every page consistent with the first one's revision", async () => {
    await createNamespace("pages");
    for (let i = 0; i < 7; i++) await apiJson("POST", "/api/v1/namespaces/pages/configmaps", cm(`item-${i}`, { v: "old" }));
    const first = await apiJson("GET", "/api/v1/namespaces/pages/configmaps?limit=3");
    expect(first.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["item-0", "item-1", "item-2"]);
    const token = first.body.metadata.continue;
    expect(token).toBeTruthy();
    // Changes after the first page must not show in later pages.
    const item4 = await apiJson("GET", "/api/v1/namespaces/pages/configmaps/item-4");
    await apiJson("PUT", "/api/v1/namespaces/pages/configmaps/item-4", { ...item4.body, data: { v: "new" } });
    await apiJson("DELETE", "/api/v1/namespaces/pages/configmaps/item-5");
    await apiJson("POST", "/api/v1/namespaces/pages/configmaps", cm("item-3a"));
    const second = await apiJson("GET", `/api/v1/namespaces/pages/configmaps?limit=3&continue=${encodeURIComponent(token)}`);
    expect(second.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["item-3", "item-4", "item-5"]);
    expect(second.body.items[1].data).toEqual({ v: "old" });
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    const third = await apiJson("GET", `/api/v1/namespaces/pages/configmaps?limit=3&continue=${encodeURIComponent(second.body.metadata.continue)}`);
    expect(third.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["item-6"]);
    expect(third.body.metadata.continue).toBeUndefined();
    const bad = await apiJson("GET", "/api/v1/namespaces/pages/configmaps?limit=3&continue=garbage");
    expect(bad.status).toBe(400);
  });

  it("answers 410 Gone for a continue token older than the compacted revision", async () => {
    await createNamespace("expire");
    for (let i = 0; i < 4; i++) await apiJson("POST", "/api/v1/namespaces/expire/configmaps", cm(`e${i}`));
    const first = await apiJson("GET", "/api/v1/namespaces/expire/configmaps?limit=2");
    const o = await apiJson("GET", "/api/v1/namespaces/expire/configmaps/e0");
    await apiJson("PUT", "/api/v1/namespaces/expire/configmaps/e0", { ...o.body, data: { changed: "1" } });
    const db = openDb(env.DB);
    await compact(db, await currentRevision(db));
    const r = await apiJson("GET", `/api/v1/namespaces/expire/configmaps?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    expect(r.status).toBe(410);
    expect(r.body.reason).toBe("Expired");
  });
});

describe("store: watch", () => {
  it("delivers every event of concurrent writes, in revision order, also as Table rows", async () => {
    await createNamespace("w-burst");
    const raw = await api("GET", "/api/v1/namespaces/w-burst/configmaps?watch=1&resourceVersion=0");
    const table = await api("GET", "/api/v1/namespaces/w-burst/configmaps?watch=1&resourceVersion=0", undefined, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    const rawP = readEvents(raw, 8);
    const tableP = readEvents(table, 8);
    await new Promise((r) => setTimeout(r, 100));
    // Concurrent creates share commit batches: several events per chunk.
    await Promise.all(Array.from({ length: 8 }, (_, i) => apiJson("POST", "/api/v1/namespaces/w-burst/configmaps", cm(`c${i}`))));
    const rawEvents = await rawP;
    const revs = rawEvents.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rawEvents).toHaveLength(8);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    const tableEvents = await tableP;
    expect(tableEvents.map((e) => e.object.kind)).toEqual(Array(8).fill("Table"));
    expect(tableEvents.map((e) => e.object.rows[0].cells[0])).toEqual(rawEvents.map((e) => e.object.metadata.name));
  });
  it("streams ADDED for the current state, then live changes", async () => {
    await createNamespace("w1");
    await apiJson("POST", "/api/v1/namespaces/w1/configmaps", cm("before"));
    const res = await api("GET", "/api/v1/namespaces/w1/configmaps?watch=1");
    expect(res.status).toBe(200);
    const eventsP = readEvents(res, 3);
    await new Promise((r) => setTimeout(r, 100));
    const created = await apiJson("POST", "/api/v1/namespaces/w1/configmaps", cm("after"));
    await apiJson("DELETE", "/api/v1/namespaces/w1/configmaps/before");
    const events = await eventsP;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["ADDED", "before"],
      ["ADDED", "after"],
      ["DELETED", "before"],
    ]);
    expect(events[1].object.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
  });

  it("an all-namespace watch started after a namespace's hub last told the cluster hub still gets that namespace's changes", async () => {
    await createNamespace("w-late");
    // The namespace's hub tells the cluster hub (and learns what it watches: not Leases).
    const lease = (name: string) => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name }, spec: { holderIdentity: name } });
    expect((await apiJson("POST", "/apis/coordination.k8s.io/v1/namespaces/w-late/leases", lease("first"))).status).toBe(201);
    const res = await api("GET", "/apis/coordination.k8s.io/v1/leases?watch=1&resourceVersion=0");
    expect(res.status).toBe(200);
    const eventsP = readEvents(res, 3);
    await new Promise((r) => setTimeout(r, 100));
    expect((await apiJson("POST", "/apis/coordination.k8s.io/v1/namespaces/w-late/leases", lease("second"))).status).toBe(201);
    expect((await apiJson("POST", "/apis/coordination.k8s.io/v1/namespaces/w-late/leases", lease("third"))).status).toBe(201);
    const events = await eventsP;
    expect(events.filter((e) => e.object.metadata.namespace === "w-late").map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["ADDED", "first"],
      ["ADDED", "second"],
      ["ADDED", "third"],
    ]);
  });

  it("replays every change after a resourceVersion, with selectors", async () => {
    await createNamespace("w2");
    const a = await apiJson("POST", "/api/v1/namespaces/w2/configmaps", cm("a", {}, { app: "x" }));
    await apiJson("POST", "/api/v1/namespaces/w2/configmaps", cm("b", {}, { app: "y" }));
    await apiJson("PUT", "/api/v1/namespaces/w2/configmaps/a", { ...a.body, data: { k: "v" } });
    const res = await api("GET", `/api/v1/namespaces/w2/configmaps?watch=1&labelSelector=app%3Dx&resourceVersion=${a.body.metadata.resourceVersion}`);
    const events = await readEvents(res, 1, 2000);
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.data])).toEqual([["MODIFIED", "a", { k: "v" }]]);
  });

  it("sends a 410 ERROR event for a resourceVersion older than the compacted log", async () => {
    await createNamespace("w3");
    const a = await apiJson("POST", "/api/v1/namespaces/w3/configmaps", cm("a"));
    await apiJson("PUT", "/api/v1/namespaces/w3/configmaps/a", { ...a.body, data: { k: "1" } });
    const db = openDb(env.DB);
    await compact(db, await currentRevision(db));
    const res = await api("GET", `/api/v1/namespaces/w3/configmaps?watch=1&resourceVersion=${a.body.metadata.resourceVersion}`);
    const events = await readEvents(res, 1, 2000);
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe("ERROR");
    expect(events[0].object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
  });

  it("watches across all namespaces through the cluster hub", async () => {
    await createNamespace("w4a");
    await createNamespace("w4b");
    const list = await apiJson("GET", "/api/v1/configmaps");
    const res = await api("GET", `/api/v1/configmaps?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`);
    const eventsP = readEvents(res, 2);
    await new Promise((r) => setTimeout(r, 100));
    await apiJson("POST", "/api/v1/namespaces/w4a/configmaps", cm("one"));
    await apiJson("POST", "/api/v1/namespaces/w4b/configmaps", cm("two"));
    const events = await eventsP;
    expect(events.map((e) => [e.type, e.object.metadata.namespace, e.object.metadata.name])).toEqual([
      ["ADDED", "w4a", "one"],
      ["ADDED", "w4b", "two"],
    ]);
  });

  it("ends the stream after timeoutSeconds", async () => {
    await createNamespace("w5");
    const res = await api("GET", "/api/v1/namespaces/w5/configmaps?watch=1&timeoutSeconds=1");
    const started = Date.now();
    const text = await res.text();
    expect(text).toBe("");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("namespace hub", () => {
  it("counts the changes committed in its namespace", async () => {
    await createNamespace("counted");
    const stub = env.HUB.get(env.HUB.idFromName("ns:counted"));
    const changesSeen = async () => (await runInDurableObject(stub, (hub: NamespaceHub) => hub.stats())).changesSeen;
    // (The namespace's own creation wrote its default ServiceAccount there.)
    const before = await changesSeen();
    for (let i = 0; i < 3; i++) await apiJson("POST", "/api/v1/namespaces/counted/configmaps", cm(`k${i}`));
    expect((await changesSeen()) - before).toBe(3);
  });
});

describe("events TTL", () => {
  it("expires events after their TTL, with a DELETED event for watchers", async () => {
    await createNamespace("ttl");
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e1" },
      involvedObject: { kind: "Pod", name: "p", namespace: "ttl" },
      reason: "Test",
      message: "hello",
      type: "Normal",
    };
    expect((await apiJson("POST", "/api/v1/namespaces/ttl/events", ev)).status).toBe(201);
    expect((await apiJson("GET", "/api/v1/namespaces/ttl/events/e1")).status).toBe(200);
    const removed = await expireObjects(env, Date.now() + 2 * 3600 * 1000);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect((await apiJson("GET", "/api/v1/namespaces/ttl/events/e1")).status).toBe(404);
  });
});

describe("namespace lifecycle", () => {
  it("terminates a namespace: refuses new content, deletes what it holds, then removes it", async () => {
    const { runDurableObjectAlarm } = await import("cloudflare:test");
    await createNamespace("doomed");
    await apiJson("POST", "/api/v1/namespaces/doomed/configmaps", cm("one"));
    await apiJson("POST", "/api/v1/namespaces/doomed/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } });
    const del = await apiJson("DELETE", "/api/v1/namespaces/doomed");
    expect(del.status).toBe(202);
    expect(del.body.status.phase).toBe("Terminating");
    const refused = await apiJson("POST", "/api/v1/namespaces/doomed/configmaps", cm("late"));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("because it is being terminated");
    const cluster = env.HUB.get(env.HUB.idFromName("cluster"));
    // Emptied, it still waits out NAMESPACE_SETTLE_MS before it goes.
    const deadline = Date.now() + 10_000;
    while ((await apiJson("GET", "/api/v1/namespaces/doomed")).status !== 404 && Date.now() < deadline) {
      await runDurableObjectAlarm(cluster);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await apiJson("GET", "/api/v1/namespaces/doomed")).status).toBe(404);
    expect((await apiJson("GET", "/api/v1/namespaces/doomed/configmaps")).body.items).toEqual([]);
  });
});

describe("watch with selectors", () => {
  it("reports objects entering the selection as ADDED and leaving it as DELETED", async () => {
    await createNamespace("w6");
    const a = await apiJson("POST", "/api/v1/namespaces/w6/configmaps", cm("a", {}, { app: "other" }));
    const res = await api("GET", `/api/v1/namespaces/w6/configmaps?watch=1&labelSelector=app%3Dweb&resourceVersion=${a.body.metadata.resourceVersion}`);
    const eventsP = readEvents(res, 3);
    await new Promise((r) => setTimeout(r, 100));
    const inSel = await apiJson("PUT", "/api/v1/namespaces/w6/configmaps/a", { ...a.body, metadata: { ...a.body.metadata, labels: { app: "web" } } });
    const changed = await apiJson("PUT", "/api/v1/namespaces/w6/configmaps/a", { ...inSel.body, data: { k: "v" } });
    await apiJson("PUT", "/api/v1/namespaces/w6/configmaps/a", { ...changed.body, metadata: { ...changed.body.metadata, labels: { app: "gone" } } });
    const events = await eventsP;
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
  });
});
