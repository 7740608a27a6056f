import { describe, expect, it } from "vitest";
import { reconcile, resolveTargetPort } from "../../src/controllers/endpoints.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";
import type { Observed } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");

const observed = (o: Partial<Observed>): Observed => ({ ...emptyObserved("ns", NOW), ...o });

function service(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "3", ...(labels ? { labels } : {}) },
    spec: { type: "ClusterIP", clusterIP: "10.96.0.10", ipFamilies: ["IPv4"], ...spec },
  };
}

interface PodOpts {
  ip?: string;
  ready?: boolean;
  phase?: string;
  deleting?: boolean;
  labels?: Record<string, string>;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  node?: string;
  hostname?: string;
  subdomain?: string;
}

function pod(name: string, o: PodOpts = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "5", labels: o.labels ?? { app: "web" }, ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:09:00Z" } : {}) },
    spec: {
      nodeName: o.node ?? "n1",
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: "c", image: "busybox", ports: o.ports ?? [{ name: "http", containerPort: 8080 }] }],
    },
    status: {
      phase: o.phase ?? "Running",
      ...(o.ip === "" ? {} : { podIP: o.ip ?? "10.244.0.2", podIPs: [{ ip: o.ip ?? "10.244.0.2" }] }),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

const ref = (name: string) => ({ kind: "Pod", namespace: "ns", name, uid: `uid-${name}` });
const owner = (svc: string) => [{ apiVersion: "v1", kind: "Service", name: svc, uid: `uid-${svc}`, controller: true, blockOwnerDeletion: true }];
const epLabels = { "endpoints.kubernetes.io/managed-by": "endpoint-controller" };
const sliceLabels = (svc: string) => ({ "kubernetes.io/service-name": svc, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" });

/** The stored form of a create action's object (what the next observation would hold). */
function stored(object: KubeObject, name: string): KubeObject {
  return { ...structuredClone(object), metadata: { ...structuredClone(object.metadata), name, namespace: "ns", uid: `uid-${name}`, resourceVersion: "9" } };
}

describe("endpoints controller", () => {
  const web = service("web", { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http", protocol: "TCP" }] }, { team: "a" });
  const pods = [
    pod("a", { ip: "10.244.0.3" }),
    pod("b", { ip: "10.244.0.2" }),
    pod("c", { ip: "10.244.0.4", ready: false }),
    pod("no-ip", { ip: "", ready: false }),
    pod("done", { ip: "10.244.0.9", phase: "Succeeded" }),
    pod("going", { ip: "10.244.0.5", deleting: true }),
    pod("other", { ip: "10.244.0.6", labels: { app: "other" } }),
  ];

  it("creates Endpoints (ready / not ready) and one EndpointSlice with ready/serving/terminating", () => {
    const { actions } = reconcile(observed({ services: [web], pods }));
    expect(actions).toEqual([
      {
        type: "create",
        resource: "core/endpoints",
        object: {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "web", labels: { team: "a", ...epLabels } },
          subsets: [
            {
              addresses: [
                { ip: "10.244.0.2", nodeName: "n1", targetRef: ref("b") },
                { ip: "10.244.0.3", nodeName: "n1", targetRef: ref("a") },
              ],
              notReadyAddresses: [{ ip: "10.244.0.4", nodeName: "n1", targetRef: ref("c") }],
              ports: [{ port: 8080, protocol: "TCP" }],
            },
          ],
        },
      },
      {
        type: "create",
        resource: "discovery.k8s.io/endpointslices",
        object: {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { generateName: "web-", labels: { team: "a", ...sliceLabels("web") }, ownerReferences: owner("web") },
          addressType: "IPv4",
          ports: [{ name: "", port: 8080, protocol: "TCP" }],
          endpoints: [
            { addresses: ["10.244.0.2"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "n1", targetRef: ref("b") },
            { addresses: ["10.244.0.3"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "n1", targetRef: ref("a") },
            { addresses: ["10.244.0.4"], conditions: { ready: false, serving: false, terminating: false }, nodeName: "n1", targetRef: ref("c") },
            { addresses: ["10.244.0.5"], conditions: { ready: false, serving: true, terminating: true }, nodeName: "n1", targetRef: ref("going") },
          ],
        },
      },
    ]);
  });

  it("writes nothing once what is stored is right", () => {
    const first = reconcile(observed({ services: [web], pods })).actions as { object: KubeObject }[];
    const ep = stored(first[0].object, "web");
    const slice = stored(first[1].object, "web-x7k2p");
    expect(reconcile(observed({ services: [web], pods, endpoints: [ep], endpointSlices: [slice] })).actions).toEqual([]);
  });

  it("follows readiness: a pod turning ready moves to addresses; the slice is updated in place", () => {
    const first = reconcile(observed({ services: [web], pods: [pod("c", { ip: "10.244.0.4", ready: false })] })).actions as { object: KubeObject }[];
    const ep = stored(first[0].object, "web");
    const slice = stored(first[1].object, "web-x7k2p");
    const { actions } = reconcile(observed({ services: [web], pods: [pod("c", { ip: "10.244.0.4" })], endpoints: [ep], endpointSlices: [slice] }));
    expect(actions).toEqual([
      {
        type: "update",
        resource: "core/endpoints",
        object: { ...ep, subsets: [{ addresses: [{ ip: "10.244.0.4", nodeName: "n1", targetRef: ref("c") }], ports: [{ port: 8080, protocol: "TCP" }] }] },
      },
      {
        type: "update",
        resource: "discovery.k8s.io/endpointslices",
        object: {
          ...slice,
          endpoints: [{ addresses: ["10.244.0.4"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "n1", targetRef: ref("c") }],
        },
      },
    ]);
  });

  it("publishNotReadyAddresses publishes every pod as ready, terminating ones too", () => {
    const svc = service("pub", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }], publishNotReadyAddresses: true });
    const { actions } = reconcile(observed({ services: [svc], pods: [pod("c", { ip: "10.244.0.4", ready: false }), pod("going", { ip: "10.244.0.5", deleting: true })] }));
    const [ep, slice] = actions as { object: KubeObject }[];
    expect(ep.object.subsets).toEqual([
      {
        addresses: [
          { ip: "10.244.0.4", nodeName: "n1", targetRef: ref("c") },
          { ip: "10.244.0.5", nodeName: "n1", targetRef: ref("going") },
        ],
        ports: [{ port: 8080, protocol: "TCP" }],
      },
    ]);
    expect((slice.object.endpoints as { conditions: unknown }[]).map((e) => e.conditions)).toEqual([
      { ready: true, serving: false, terminating: false },
      { ready: true, serving: true, terminating: true },
    ]);
  });

  it("resolves a named targetPort per pod: different ports give different subsets and slices; a pod without it is left out", () => {
    const svc = service("named", { selector: { app: "web" }, ports: [{ name: "web", port: 80, targetPort: "http", protocol: "TCP" }] });
    const ps = [
      pod("p1", { ip: "10.244.0.2", ports: [{ name: "http", containerPort: 8080 }] }),
      pod("p2", { ip: "10.244.0.3", ports: [{ name: "http", containerPort: 9090 }] }),
      pod("p3", { ip: "10.244.0.4", ports: [{ name: "http", containerPort: 8080, protocol: "UDP" }] }),
    ];
    const { actions } = reconcile(observed({ services: [svc], pods: ps }));
    expect((actions[0] as { object: KubeObject }).object.subsets).toEqual([
      { addresses: [{ ip: "10.244.0.2", nodeName: "n1", targetRef: ref("p1") }], ports: [{ name: "web", port: 8080, protocol: "TCP" }] },
      { addresses: [{ ip: "10.244.0.3", nodeName: "n1", targetRef: ref("p2") }], ports: [{ name: "web", port: 9090, protocol: "TCP" }] },
    ]);
    const slices = actions.slice(1).map((a) => (a as { object: KubeObject }).object);
    expect(slices.map((s) => [s.ports, (s.endpoints as { addresses: string[] }[]).map((e) => e.addresses[0])])).toEqual([
      [[{ name: "web", port: 8080, protocol: "TCP" }], ["10.244.0.2"]],
      [[{ name: "web", port: 9090, protocol: "TCP" }], ["10.244.0.3"]],
      [[], ["10.244.0.4"]],
    ]);
    expect(resolveTargetPort(ps[0], { port: 80, targetPort: "8081" })).toBe(8081);
    expect(resolveTargetPort(ps[0], { port: 80 })).toBe(80);
  });

  it("headless services: labelled, hostnames of the subdomain published, no ports needed", () => {
    const svc = service("db", { selector: { app: "web" }, clusterIP: "None", ports: [] });
    const { actions } = reconcile(observed({ services: [svc], pods: [pod("db-0", { ip: "10.244.0.7", hostname: "db-0", subdomain: "db" })] }));
    expect(actions).toEqual([
      {
        type: "create",
        resource: "core/endpoints",
        object: {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "db", labels: { ...epLabels, "service.kubernetes.io/headless": "" } },
          subsets: [{ addresses: [{ ip: "10.244.0.7", hostname: "db-0", nodeName: "n1", targetRef: ref("db-0") }] }],
        },
      },
      {
        type: "create",
        resource: "discovery.k8s.io/endpointslices",
        object: {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { generateName: "db-", labels: { ...sliceLabels("db"), "service.kubernetes.io/headless": "" }, ownerReferences: owner("db") },
          addressType: "IPv4",
          ports: [],
          endpoints: [{ addresses: ["10.244.0.7"], conditions: { ready: true, serving: true, terminating: false }, hostname: "db-0", nodeName: "n1", targetRef: ref("db-0") }],
        },
      },
    ]);
  });

  it("a service selecting nothing gets empty Endpoints and one empty slice, reused when a pod appears", () => {
    const svc = service("empty", { selector: { app: "none" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] });
    const first = reconcile(observed({ services: [svc], pods })).actions as { object: KubeObject }[];
    expect(first.map((a) => a.object)).toEqual([
      { apiVersion: "v1", kind: "Endpoints", metadata: { name: "empty", labels: epLabels } },
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { generateName: "empty-", labels: sliceLabels("empty"), ownerReferences: owner("empty") },
        addressType: "IPv4",
        ports: [],
        endpoints: [],
      },
    ]);
    const slice = stored(first[1].object, "empty-abcde");
    const { actions } = reconcile(observed({ services: [svc], pods: [pod("n", { labels: { app: "none" } })], endpoints: [stored(first[0].object, "empty")], endpointSlices: [slice] }));
    expect(actions.map((a) => [a.type, (a as { resource: string }).resource, (a as { object: KubeObject }).object.metadata.name])).toEqual([
      ["update", "core/endpoints", "empty"],
      ["update", "discovery.k8s.io/endpointslices", "empty-abcde"],
    ]);
  });

  it("leaves selectorless services' endpoints alone and deletes what it managed for services that are gone", () => {
    const manual = service("manual", { ports: [{ port: 80, targetPort: 80, protocol: "TCP" }] });
    const userEp: KubeObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "manual", uid: "u1", resourceVersion: "4" }, subsets: [{ addresses: [{ ip: "192.168.1.5" }], ports: [{ port: 80, protocol: "TCP" }] }] };
    const orphanEp: KubeObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "gone", uid: "u2", resourceVersion: "6", labels: epLabels } };
    const orphanSlice: KubeObject = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "gone-abcde", uid: "u3", resourceVersion: "7", labels: sliceLabels("gone") }, addressType: "IPv4", endpoints: [] };
    const foreignSlice: KubeObject = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "mine", uid: "u4", resourceVersion: "8", labels: { "kubernetes.io/service-name": "gone" } }, addressType: "IPv4", endpoints: [] };
    const { actions } = reconcile(observed({ services: [manual], pods, endpoints: [userEp, orphanEp], endpointSlices: [orphanSlice, foreignSlice] }));
    expect(actions).toEqual([
      { type: "delete", resource: "core/endpoints", name: "gone", uid: "u2", resourceVersion: "6" },
      { type: "delete", resource: "discovery.k8s.io/endpointslices", name: "gone-abcde", uid: "u3", resourceVersion: "7" },
    ]);
  });

  it("splits more than 100 endpoints into slices of at most 100", () => {
    const svc = service("big", { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] });
    const many = Array.from({ length: 150 }, (_, i) => pod(`p${String(i).padStart(3, "0")}`, { ip: `10.244.${Math.floor(i / 200)}.${(i % 200) + 2}` }));
    const slices = reconcile(observed({ services: [svc], pods: many })).actions.filter((a) => (a as { resource?: string }).resource === "discovery.k8s.io/endpointslices");
    expect(slices.map((a) => ((a as { object: KubeObject }).object.endpoints as unknown[]).length)).toEqual([100, 50]);
  });
});
