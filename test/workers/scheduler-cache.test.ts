import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SchedulerCache } from "../../src/scheduler/loop.ts";
import { openDb } from "../../src/store/revision-log.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/** The scheduler's copies between rounds, over real D1: brought up to date in the background once enough changed. */

const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { schedulerName: "elsewhere", containers: [{ name: "c", image: "i" }] } });

describe("SchedulerCache", () => {
  it("reads pod changes between rounds once enough of them were committed, not before", async () => {
    await createNamespace("sched-cache");
    const db = openDb(env.DB);
    const cache = new SchedulerCache();
    await cache.pods.sync(db);
    cache.synced();
    const key = (name: string) => `core/pods/sched-cache/${name}`;
    for (const n of ["a", "b"]) expect((await apiJson("POST", "/api/v1/namespaces/sched-cache/pods", pod(n))).status).toBe(201);
    // A few changes: nothing is read until the next round.
    expect(cache.podsChanged(2, db)).toBeUndefined();
    expect(cache.pods.objects.has(key("a"))).toBe(false);
    // Hundreds: the copy catches up now, and its index with it.
    const refreshing = cache.podsChanged(1000, db);
    expect(refreshing).toBeDefined();
    await refreshing;
    expect(cache.pods.objects.has(key("a"))).toBe(true);
    expect(cache.pods.objects.has(key("b"))).toBe(true);
    expect(cache.pods.lastRowsRead).toBeGreaterThanOrEqual(2);
    // The count starts again after a refresh.
    expect(cache.podsChanged(2, db)).toBeUndefined();
  });
});
