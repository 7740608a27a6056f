import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OBSERVED_STORAGE, RUN_TOTALS } from "../../src/controllers/host.ts";
import { ObservedCache } from "../../src/controllers/observed-cache.ts";
import { newUsage, openDb } from "../../src/store/revision-log.ts";
import type { NamespaceHub } from "../../src/store/hub.ts";
import { apiJson, createNamespace, eventually } from "./helpers.ts";

/**
 * The controller host's D1 accounting (from D1's own meta), kept by the namespace hub:
 * a reconcile of a converged namespace reads nothing (the hub's cache, built from one
 * list) and writes nothing.
 */

const hub = (namespace: string) => env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));
const stats = (namespace: string) => runInDurableObject(hub(namespace), (h: NamespaceHub) => h.stats());

describe("controller host D1 usage", () => {
  it("counts rows written while acting, and one list with no writes for an unchanged ReplicaSet", async () => {
    const ns = "usage";
    await createNamespace(ns);
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web" },
      spec: {
        replicas: 20,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
      },
    };
    expect((await apiJson("POST", `/apis/apps/v1/namespaces/${ns}/replicasets`, rs)).status).toBe(201);
    for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(ns))); i++);
    await eventually(
      async () => expect((await apiJson("GET", `/api/v1/namespaces/${ns}/pods`)).body.items).toHaveLength(20),
      async () => runDurableObjectAlarm(hub(ns)),
    );

    // Acting: the creates' share of the group-committed batches is counted.
    await runInDurableObject(hub(ns), (h: NamespaceHub) => h.alarm());
    // Converged now: a run (a repeated alarm, or any wake-up) observes once and writes nothing.
    await runInDurableObject(hub(ns), (h: NamespaceHub) => h.alarm());
    const run = (await stats(ns)).lastControllerRun!;
    expect(run).toMatchObject({ passes: 1, actionsApplied: 0 });
    expect(run.d1).toEqual({ queries: 0, rowsRead: 0, rowsWritten: 0 });
    expect(run.lastPass).toEqual(run.d1);
  });

  it("builds the hub's cache with one list of what the controllers observe", async () => {
    const ns = "usage-cold";
    await createNamespace(ns);
    for (let i = 0; i < 3; i++) {
      const cm = await apiJson("POST", `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `c${i}` } });
      expect(cm.status).toBe(201);
    }
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i" }] } };
    expect((await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, pod)).status).toBe(201);
    // A fresh hub instance (as after an eviction) has no cache yet. The commits' own wake-ups may
    // run the controllers too, so count over every run until it settles.
    for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(ns))); i++);
    const totals = () => runInDurableObject(hub(ns), () => structuredClone(RUN_TOTALS[ns]));
    const before = await totals();
    await runInDurableObject(hub(ns), async (h: NamespaceHub) => {
      (h as unknown as { observedCache: { invalidate(): void } }).observedCache.invalidate();
      await h.alarm();
    });
    for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(ns))); i++);
    const after = await eventually(async () => {
      const t = await totals();
      expect(t.d1.queries - before.d1.queries).toBe(1);
      return t;
    });
    // The pod and one index probe per observed kind, each of which may step onto the next index
    // entry (how many depends on what else the store holds, e.g. the bootstrap StorageClass).
    expect(after.d1.rowsRead - before.d1.rowsRead).toBeGreaterThanOrEqual(1);
    expect(after.d1.rowsRead - before.d1.rowsRead).toBeLessThanOrEqual(2 * OBSERVED_STORAGE.length + 1);
    await runInDurableObject(hub(ns), (h: NamespaceHub) => h.alarm());
    expect((await stats(ns)).lastControllerRun!.d1.queries).toBe(0);
  });

  it("attributes the rows a run wrote", async () => {
    const ns = "usage-write";
    await createNamespace(ns);
    const totals = () => runInDurableObject(hub(ns), () => structuredClone(RUN_TOTALS[ns] ?? { runs: 0, actionsApplied: 0, d1: { queries: 0, rowsRead: 0, rowsWritten: 0 } }));
    const before = await totals();
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "one" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "one" } },
        template: { metadata: { labels: { app: "one" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
      },
    };
    expect((await apiJson("POST", `/apis/apps/v1/namespaces/${ns}/replicasets`, rs)).status).toBe(201);
    // The commit's own wake-up may run the controllers before the test does: settle, then count.
    for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(ns))); i++);
    await eventually(
      async () => expect((await apiJson("GET", `/api/v1/namespaces/${ns}/pods`)).body.items).toHaveLength(1),
      async () => runDurableObjectAlarm(hub(ns)),
    );
    const after = await totals();
    expect(after.actionsApplied - before.actionsApplied).toBeGreaterThanOrEqual(1);
    // The pod's revision and current-state rows at least, and the ReplicaSet's status.
    expect(after.d1.rowsWritten - before.d1.rowsWritten).toBeGreaterThanOrEqual(4);
    // Settled: the last run wrote nothing and read nothing (the hub's cache).
    await runInDurableObject(hub(ns), (h: NamespaceHub) => h.alarm());
    const last = (await stats(ns)).lastControllerRun!;
    expect(last.lastPass).toEqual({ queries: 0, rowsRead: 0, rowsWritten: 0 });
  });

  it("concurrent reads of a cold cache share one query, and events during the read are applied", async () => {
    const ns = "usage-cache";
    await createNamespace(ns);
    const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { containers: [{ name: "c", image: "i" }] } });
    expect((await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, pod("a"))).status).toBe(201);
    const usage = newUsage();
    const cache = new ObservedCache(OBSERVED_STORAGE);
    const db = openDb(env.DB, usage);
    const [one, two] = await Promise.all([cache.read(db, ns), cache.read(db, ns)]);
    expect(usage.queries).toBe(1);
    expect(one.map((r) => r.name)).toEqual(["a"]);
    expect(two).toEqual(one);
    cache.apply([{ rev: Number.MAX_SAFE_INTEGER, type: "ADDED", key: `core/pods/${ns}/b`, resource: "core/pods", namespace: ns, name: "b", value: "{}" }]);
    expect((await cache.read(db, ns)).map((r) => r.name)).toEqual(["a", "b"]);
    expect(usage.queries).toBe(1);
    cache.invalidate();
    expect((await cache.read(db, ns)).map((r) => r.name)).toEqual(["a"]);
    expect(usage.queries).toBe(2);
  });
});
