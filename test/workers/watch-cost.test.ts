import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { NamespaceHub } from "../../src/store/hub.ts";
import { api, apiJson, createNamespace, readEvents } from "./helpers.ts";

/** What an idle all-namespace watch (a node agent's pod watch) costs in D1 reads. */

const clusterHub = () => env.HUB.get(env.HUB.idFromName("cluster"));
const watchReads = () => runInDurableObject(clusterHub(), (h: NamespaceHub) => h.stats()).then((s) => s.watchReads);

const lease = (name: string, i: number) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name },
  spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace("Z", "000Z") },
});

describe("watch cost", () => {
  it("writes of other resources cost an all-namespace pod watch no D1 reads", async () => {
    await createNamespace("agent-ns");
    const res = await api("GET", "/api/v1/pods?watch=1&resourceVersion=0&fieldSelector=spec.nodeName%3Dnode-w");
    const eventsP = readEvents(res, 1, 8000);
    await new Promise((r) => setTimeout(r, 200));
    const before = await watchReads();
    // Twenty lease renewals, as node agents send them.
    for (let i = 0; i < 20; i++) {
      const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases${i === 0 ? "" : "/node-w"}`;
      const r = await apiJson(i === 0 ? "POST" : "PUT", path, lease("node-w", i));
      expect([200, 201]).toContain(r.status);
    }
    // A pod for the watched node: the watch sees it, having read only pod rows.
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { nodeName: "node-w", containers: [{ name: "c", image: "i" }] } };
    expect((await apiJson("POST", "/api/v1/namespaces/agent-ns/pods", pod)).status).toBe(201);
    const events = await eventsP;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([["ADDED", "p"]]);
    const after = await watchReads();
    expect(after.queries).toBeGreaterThan(before.queries);
    // The pod's row and the compaction mark; not the twenty lease revisions.
    expect(after.rowsRead - before.rowsRead).toBeLessThan(10);
  });
});
