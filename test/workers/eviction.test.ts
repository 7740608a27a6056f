import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apiJson, createNamespace } from "./helpers.ts";

/** pods/eviction honouring PodDisruptionBudgets kept by the disruption controller, over real D1 and Durable Objects. */

const PDBS = (ns: string) => `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`;

async function until<T>(what: string, hub: string, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await runDurableObjectAlarm(env.HUB.get(env.HUB.idFromName(hub)));
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readyPod(ns: string, name: string) {
  expect((await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, { apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "i" }] } })).status).toBe(201);
  expect((await apiJson("POST", `/api/v1/namespaces/${ns}/pods/${name}/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { kind: "Node", name: "evict-node" } })).status).toBe(201);
  const st = await apiJson("PATCH", `/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }, { contentType: "application/merge-patch+json" });
  expect(st.status).toBe(200);
}

const evict = (ns: string, name: string) =>
  apiJson("POST", `/api/v1/namespaces/${ns}/pods/${name}/eviction`, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } });

describe("eviction", () => {
  it("honours the pod's PodDisruptionBudget: 429 without an allowance, decrement + disruptedPods with one", async () => {
    const ns = "evict";
    await createNamespace(ns);
    expect((await apiJson("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "evict-node" }, status: { conditions: [{ type: "Ready", status: "True" }] } })).status).toBe(201);
    await readyPod(ns, "a");
    await readyPod(ns, "b");
    const created = await apiJson("POST", PDBS(ns), { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } } });
    expect(created.status).toBe(201);
    const status = await until("pdb status", `ns:${ns}`, async () => (await apiJson("GET", `${PDBS(ns)}/web`)).body.status?.expectedPods === 2 && (await apiJson("GET", `${PDBS(ns)}/web`)).body.status);
    expect(status).toMatchObject({ observedGeneration: 1, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0, expectedPods: 2 });

    const refused = await evict(ns, "a");
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      reason: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { causes: [{ reason: "DisruptionBudget", message: "The disruption budget web needs 2 healthy pods and has 2 currently" }] },
    });
    expect((await apiJson("GET", `/api/v1/namespaces/${ns}/pods/a`)).body.metadata.deletionTimestamp).toBeUndefined();

    expect((await apiJson("PATCH", `${PDBS(ns)}/web`, { spec: { minAvailable: 1 } }, { contentType: "application/merge-patch+json" })).status).toBe(200);
    await until("one disruption allowed", `ns:${ns}`, async () => (await apiJson("GET", `${PDBS(ns)}/web`)).body.status?.disruptionsAllowed === 1);
    expect((await evict(ns, "a")).status).toBe(201);
    expect((await apiJson("GET", `/api/v1/namespaces/${ns}/pods/a`)).body.metadata.deletionTimestamp).toBeDefined();
    const after = (await apiJson("GET", `${PDBS(ns)}/web`)).body.status;
    expect(after.disruptionsAllowed).toBe(0);
    // disruptedPods holds "a" until the disruption controller sees it terminating (then it leaves currentHealthy anyway).
    expect(after.disruptedPods === undefined ? [] : Object.keys(after.disruptedPods)).toEqual(after.disruptedPods === undefined ? [] : ["a"]);
    expect((await evict(ns, "b")).status).toBe(429);
  });
});
