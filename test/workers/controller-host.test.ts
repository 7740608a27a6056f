import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ControllerHost } from "../../src/controllers/host.ts";
import type { Reconciler } from "../../src/controllers/types.ts";
import type { NamespaceHub } from "../../src/store/hub.ts";
import { apiJson, createNamespace } from "./helpers.ts";

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "i" }] },
});

/** Labels every pod once and says so in an event: converges after one pass of actions. */
const labeller: Reconciler = (o) => ({
  actions: o.pods
    .filter((p) => p.metadata.labels?.seen !== "yes")
    .flatMap((p) => [
      { type: "update" as const, resource: "core/pods" as const, object: { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, seen: "yes" } } } },
      { type: "event" as const, involved: p, eventType: "Normal" as const, reason: "Seen", message: "labelled" },
    ]),
});

const broken: Reconciler = () => {
  throw new Error("boom");
};

async function runHost(namespace: string, reconcilers: { name: string; reconcile: Reconciler }[]) {
  const name = `ns:${namespace}`;
  const stub = env.HUB.get(env.HUB.idFromName(name));
  return runInDurableObject(stub, (hub: NamespaceHub) =>
    new ControllerHost(env, namespace, name, (h, w) => hub.commit(h, w), reconcilers).run(),
  );
}

describe("controller host", () => {
  it("observes, acts until converged, records aggregated events, and survives a broken reconciler", async () => {
    await createNamespace("hosted");
    await apiJson("POST", "/api/v1/namespaces/hosted/pods", pod("a"));
    await apiJson("POST", "/api/v1/namespaces/hosted/pods", pod("b"));
    const first = await runHost("hosted", [
      { name: "broken", reconcile: broken },
      { name: "labeller", reconcile: labeller },
    ]);
    expect(first.actionsApplied).toBe(2);
    expect(first.passes).toBe(2);
    expect(first.requeueAfterMs).toBe(5000); // the broken one is retried
    const pods = (await apiJson("GET", "/api/v1/namespaces/hosted/pods")).body.items;
    expect(pods.map((p: { metadata: { labels: Record<string, string> } }) => p.metadata.labels.seen)).toEqual(["yes", "yes"]);
    const events = (await apiJson("GET", "/api/v1/namespaces/hosted/events?fieldSelector=involvedObject.name%3Da")).body.items;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: "Seen", message: "labelled", type: "Normal", count: 1 });

    // Converged: a second run reads once and does nothing.
    const second = await runHost("hosted", [{ name: "labeller", reconcile: labeller }]);
    expect(second).toEqual({ passes: 1, actionsApplied: 0, requeueAfterMs: undefined });
  });

  it("folds a repeated event into count", async () => {
    await createNamespace("repeat");
    const created = await apiJson("POST", "/api/v1/namespaces/repeat/pods", pod("p"));
    const noisy: Reconciler = (o) => ({
      actions: o.pods.map((p) => ({ type: "event" as const, involved: p, eventType: "Warning" as const, reason: "Noisy", message: "again" })),
    });
    await runHost("repeat", [{ name: "noisy", reconcile: noisy }]);
    await runHost("repeat", [{ name: "noisy", reconcile: noisy }]);
    const events = (await apiJson("GET", `/api/v1/namespaces/repeat/events?fieldSelector=involvedObject.uid%3D${created.body.metadata.uid}`)).body.items;
    expect(events).toHaveLength(1);
    expect(events[0].count).toBe(2);
  });
});
