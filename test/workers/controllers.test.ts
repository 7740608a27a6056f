import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { NamespaceHub } from "../../src/store/hub.ts";
import { apiJson, createNamespace, eventually } from "./helpers.ts";

/** The shipped controllers, driven through the namespace hub's alarm over real D1. */

const replicaSet = (name: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
  },
});

const hub = (namespace: string) => env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));

/** Runs the hub's alarms until none is pending (alarms may also fire on their own meanwhile). */
async function settle(namespace: string): Promise<void> {
  for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(namespace))); i++);
}

async function podNames(namespace: string, app: string): Promise<string[]> {
  const r = await apiJson("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=app%3D${app}`);
  return r.body.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort();
}

describe("controllers in the namespace hub", () => {
  it("a commit wakes the hub, which creates the pods a ReplicaSet wants, then rests with no alarm", async () => {
    await createNamespace("rs-host");
    expect((await apiJson("POST", "/apis/apps/v1/namespaces/rs-host/replicasets", replicaSet("web", 3))).status).toBe(201);
    await settle("rs-host");
    // (The hub's own alarm may still be running: wait for its result.)
    const pods = await eventually(async () => {
      const names = await podNames("rs-host", "web");
      expect(names).toHaveLength(3);
      return names;
    }, () => settle("rs-host"));
    for (const p of pods) expect(p).toMatch(/^web-[a-z0-9]{5}$/);
    const rs = (await apiJson("GET", "/apis/apps/v1/namespaces/rs-host/replicasets/web")).body;
    expect(rs.status).toMatchObject({ replicas: 3, observedGeneration: 1 });
    // Converged: nothing scheduled, and a repeated (at-least-once) alarm changes nothing.
    expect(await runInDurableObject(hub("rs-host"), (_h: NamespaceHub, state) => state.storage.getAlarm())).toBeNull();
    await runInDurableObject(hub("rs-host"), (h: NamespaceHub) => h.alarm());
    expect(await podNames("rs-host", "web")).toEqual(pods);
  });

  it("replaces a deleted pod and deletes surplus pods on scale-down", async () => {
    await createNamespace("rs-heal");
    await apiJson("POST", "/apis/apps/v1/namespaces/rs-heal/replicasets", replicaSet("api", 2));
    await settle("rs-heal");
    const [first, second] = await eventually(async () => {
      const names = await podNames("rs-heal", "api");
      expect(names).toHaveLength(2);
      return names;
    }, () => settle("rs-heal"));
    expect((await apiJson("DELETE", `/api/v1/namespaces/rs-heal/pods/${first}`)).status).toBe(200);
    await settle("rs-heal");
    const healed = await eventually(async () => {
      const names = await podNames("rs-heal", "api");
      expect(names).toHaveLength(2);
      expect(names).not.toContain(first);
      return names;
    }, () => settle("rs-heal"));
    expect(healed).toContain(second);
    expect(healed).not.toContain(first);

    const scaled = await apiJson("PATCH", "/apis/apps/v1/namespaces/rs-heal/replicasets/api", { spec: { replicas: 0 } }, { contentType: "application/merge-patch+json" });
    expect(scaled.status).toBe(200);
    await settle("rs-heal");
    await eventually(async () => expect(await podNames("rs-heal", "api")).toEqual([]), () => settle("rs-heal"));
    const events = (await apiJson("GET", "/api/v1/namespaces/rs-heal/events?fieldSelector=involvedObject.name%3Dapi")).body.items;
    const reasons = new Set(events.map((e: { reason: string }) => e.reason));
    expect([...reasons].sort()).toEqual(["SuccessfulCreate", "SuccessfulDelete"]);
    expect(events.find((e: { reason: string; message: string }) => e.reason === "SuccessfulDelete").message).toMatch(/^Deleted pod: api-/);
  });
});
