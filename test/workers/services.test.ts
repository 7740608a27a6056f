import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apiJson, createNamespace, eventually, setPodStatus } from "./helpers.ts";

/** Services: endpoints kept by the namespace hub's controllers. */

const hub = (namespace: string) => env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));

async function settle(namespace: string): Promise<void> {
  for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(namespace))); i++);
}

const podBody = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "web" } },
  spec: { containers: [{ name: "c", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }] },
});


describe("endpoints controller in the namespace hub", () => {
  it("Endpoints and EndpointSlices follow pod readiness", async () => {
    const ns = "svc-ep";
    await createNamespace(ns);
    const svc = await apiJson("POST", `/api/v1/namespaces/${ns}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
    });
    expect(svc.status).toBe(201);
    for (const p of ["a", "b"]) expect((await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, podBody(p))).status).toBe(201);
    await setPodStatus(ns, "a", "10.244.1.2", true);
    await setPodStatus(ns, "b", "10.244.1.3", false);
    await settle(ns);

    // The hub's own alarm may be running the controllers right now: wait for the result.
    const ep = await eventually(async () => {
      const ep = (await apiJson("GET", `/api/v1/namespaces/${ns}/endpoints/web`)).body;
      expect(ep.subsets?.[0]?.notReadyAddresses?.length).toBe(1);
      const sliced = (await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`)).body.items;
      expect(sliced[0]?.endpoints?.length).toBe(2);
      return ep;
    }, () => settle(ns));
    expect(ep.subsets).toEqual([
      {
        addresses: [{ ip: "10.244.1.2", targetRef: { kind: "Pod", namespace: ns, name: "a", uid: expect.any(String) } }],
        notReadyAddresses: [{ ip: "10.244.1.3", targetRef: { kind: "Pod", namespace: ns, name: "b", uid: expect.any(String) } }],
        ports: [{ port: 8080, protocol: "TCP" }],
      },
    ]);
    const slices = (await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`)).body.items;
    expect(slices).toHaveLength(1);
    expect(slices[0].metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(slices[0].metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: "web", uid: svc.body.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(slices[0].endpoints.map((e: { addresses: string[]; conditions: unknown }) => [e.addresses[0], e.conditions])).toEqual([
      ["10.244.1.2", { ready: true, serving: true, terminating: false }],
      ["10.244.1.3", { ready: false, serving: false, terminating: false }],
    ]);
    const rv = ep.metadata.resourceVersion;
    const sliceRv = slices[0].metadata.resourceVersion;

    // Converged: another run writes nothing.
    await settle(ns);
    expect((await apiJson("GET", `/api/v1/namespaces/${ns}/endpoints/web`)).body.metadata.resourceVersion).toBe(rv);

    // b turns ready, a stops being ready: the hub's alarm moves them.
    await setPodStatus(ns, "b", "10.244.1.3", true);
    await setPodStatus(ns, "a", "10.244.1.2", false);
    await settle(ns);
    const after = await eventually(async () => {
      const after = (await apiJson("GET", `/api/v1/namespaces/${ns}/endpoints/web`)).body;
      expect(after.subsets[0].addresses.map((a: { ip: string }) => a.ip)).toEqual(["10.244.1.3"]);
      const slice = (await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${slices[0].metadata.name}`)).body;
      expect(slice.endpoints.map((e: { conditions: { ready: boolean } }) => e.conditions.ready)).toEqual([false, true]);
      return after;
    }, () => settle(ns));
    expect(after.subsets[0].notReadyAddresses.map((a: { ip: string }) => a.ip)).toEqual(["10.244.1.2"]);
    const updated = (await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${slices[0].metadata.name}`)).body;
    expect(updated.metadata.resourceVersion).not.toBe(sliceRv);
    expect(updated.endpoints.map((e: { conditions: { ready: boolean } }) => e.conditions.ready)).toEqual([false, true]);

    // The Service goes: its Endpoints and slices go with it.
    expect((await apiJson("DELETE", `/api/v1/namespaces/${ns}/services/web`)).status).toBe(200);
    await settle(ns);
    await eventually(async () => expect((await apiJson("GET", `/api/v1/namespaces/${ns}/endpoints/web`)).status).toBe(404), () => settle(ns));
    expect((await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`)).body.items).toEqual([]);
  });

  it("a selectorless Service's user-written Endpoints are left alone", async () => {
    const ns = "svc-manual";
    await createNamespace(ns);
    await apiJson("POST", `/api/v1/namespaces/${ns}/services`, { apiVersion: "v1", kind: "Service", metadata: { name: "ext" }, spec: { ports: [{ port: 5432 }] } });
    const ep = await apiJson("POST", `/api/v1/namespaces/${ns}/endpoints`, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "ext" },
      subsets: [{ addresses: [{ ip: "192.168.10.5" }], ports: [{ port: 5432 }] }],
    });
    expect(ep.status).toBe(201);
    await settle(ns);
    const now = (await apiJson("GET", `/api/v1/namespaces/${ns}/endpoints/ext`)).body;
    expect(now.metadata.resourceVersion).toBe(ep.body.metadata.resourceVersion);
    expect((await apiJson("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`)).body.items).toEqual([]);
  });

  it("user-written Endpoints and EndpointSlices may not point at loopback or link-local addresses (422)", async () => {
    const ns = "svc-badip";
    await createNamespace(ns);
    for (const ip of ["127.0.0.1", "169.254.169.254"]) {
      const ep = await apiJson("POST", `/api/v1/namespaces/${ns}/endpoints`, {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "ext" },
        subsets: [{ addresses: [{ ip }], ports: [{ port: 80 }] }],
      });
      expect(ep.status).toBe(422);
      expect(ep.body.details.causes[0].field).toBe("subsets[0].addresses[0].ip");
      const slice = await apiJson("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "ext-1", labels: { "kubernetes.io/service-name": "ext" } },
        addressType: "IPv4",
        endpoints: [{ addresses: [ip] }],
        ports: [{ port: 80 }],
      });
      expect(slice.status).toBe(422);
      expect(slice.body.message).toMatch(/may not be in the (loopback|link-local) range/);
    }
  });
});
