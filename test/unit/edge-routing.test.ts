import { describe, expect, it } from "vitest";
import { reconcile as lbStatus } from "../../src/controllers/load-balancer-status.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";
import { edgeTarget, hostnameOf, isApiPath } from "../../src/edge/edge-host.ts";
import app from "../../src/worker.ts";
import { hostMatches, matchIngress, pathMatches } from "../../src/edge/ingress-match.ts";
import { readyEndpoints } from "../../src/edge/ready-endpoints.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { claimScope, hostClaim, ingressClaims, sharedPrefixes } from "../../src/store/host-claims.ts";

const ing = (name: string, spec: Record<string, unknown>, created = "2026-01-01T00:00:00Z"): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "ns", creationTimestamp: created, resourceVersion: "5" },
  spec,
});
const backend = (service: string, port: number | string = 80) => ({ service: { name: service, port: typeof port === "string" ? { name: port } : { number: port } } });
const path = (p: string, pathType: string, service: string) => ({ path: p, pathType, backend: backend(service) });

describe("edge: which requests are the edge's", () => {
  it("IP literals and localhost are the API; API paths stay the API's unless API_HOSTS names the API's hosts", () => {
    expect(edgeTarget({}, "127.0.0.1:8443", "/anything")).toBeUndefined();
    expect(edgeTarget({}, "[::1]:8443", "/")).toBeUndefined();
    expect(edgeTarget({}, "localhost:8443", "/")).toBeUndefined();
    expect(edgeTarget({}, "web.example", "/api/v1/pods")).toBeUndefined();
    expect(edgeTarget({}, "web.example", "/healthz")).toBeUndefined();
    expect(edgeTarget({}, "Web.Example.:443", "/apiary")).toEqual({ type: "host", host: "web.example" });
    const hosted = { API_HOSTS: "edgeplane.acme.workers.dev, api.acme.dev" };
    expect(edgeTarget(hosted, "edgeplane.acme.workers.dev", "/api/v1/pods")).toBeUndefined();
    expect(edgeTarget(hosted, "api.acme.dev", "/x")).toBeUndefined();
    expect(edgeTarget(hosted, "web.example", "/api/v1/pods")).toEqual({ type: "host", host: "web.example" });
    expect(isApiPath("/apis/apps/v1")).toBe(true);
    expect(isApiPath("/apis2")).toBe(false);
    expect(hostnameOf("A.B:80")).toBe("a.b");
  });

  it("every route the Worker serves is an API path, so it stays reachable on any host while API_HOSTS is unset", () => {
    const paths = [...new Set(app.routes.map((r) => r.path).filter((p) => p !== "*" && p !== "/*"))];
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p) => !isApiPath(p.replace(/:[^/]+/g, "x").replace(/\*$/, "x")))).toEqual([]);
  });

  it("names under the edge domain address LoadBalancer Services and Ingresses, on every path", () => {
    expect(edgeTarget({}, "web.shop.lb.edgeplane.localhost:8443", "/api")).toEqual({ type: "lb", namespace: "shop", service: "web" });
    expect(edgeTarget({}, "site.shop.ingress.edgeplane.localhost", "/")).toEqual({ type: "ingress", namespace: "shop", ingress: "site" });
    expect(edgeTarget({ EDGE_DOMAIN: "edge.acme.dev" }, "web.shop.lb.edge.acme.dev", "/")).toEqual({ type: "lb", namespace: "shop", service: "web" });
    expect(edgeTarget({}, "www.site.shop.ingress.edgeplane.localhost", "/")).toEqual({ type: "ingress", namespace: "shop", ingress: "www.site" });
    // Malformed names are plain hosts (nobody can claim them: 404).
    expect(edgeTarget({}, "a.b.shop.lb.edgeplane.localhost", "/")).toEqual({ type: "host", host: "a.b.shop.lb.edgeplane.localhost" });
  });
});

describe("edge: Ingress rule matching", () => {
  it("Prefix matches whole path elements, Exact the path, ImplementationSpecific a string prefix", () => {
    expect(pathMatches("Prefix", "/foo", "/foo")).toBe(true);
    expect(pathMatches("Prefix", "/foo/", "/foo")).toBe(true);
    expect(pathMatches("Prefix", "/foo", "/foo/bar")).toBe(true);
    expect(pathMatches("Prefix", "/foo", "/foobar")).toBe(false);
    expect(pathMatches("Prefix", "/", "/anything")).toBe(true);
    expect(pathMatches("Exact", "/foo", "/foo/")).toBe(false);
    expect(pathMatches("Exact", "/foo", "/foo")).toBe(true);
    expect(pathMatches("ImplementationSpecific", "/foo", "/foobar")).toBe(true);
    expect(hostMatches("*.example.com", "a.example.com")).toBe(true);
    expect(hostMatches("*.example.com", "a.b.example.com")).toBe(false);
    expect(hostMatches("*.example.com", "example.com")).toBe(false);
  });

  it("longest path wins, Exact before Prefix, exact hosts before wildcards, then the oldest defaultBackend", () => {
    const a = ing(
      "a",
      {
        rules: [
          { host: "shop.example", http: { paths: [path("/", "Prefix", "web"), path("/api", "Prefix", "api"), path("/api", "Exact", "api-exact")] } },
          { host: "*.example", http: { paths: [path("/", "Prefix", "wild")] } },
          { http: { paths: [path("/", "Prefix", "hostless")] } },
        ],
        defaultBackend: backend("fallback"),
      },
      "2026-01-01T00:00:01Z",
    );
    const b = ing("b", { rules: [{ host: "shop.example", http: { paths: [path("/api/v2", "Prefix", "v2")] } }], defaultBackend: backend("newer") }, "2026-01-01T00:00:02Z");
    const m = (host: string | undefined, p: string) => {
      const r = matchIngress([b, a], host, p);
      return "problem" in r ? r.problem : `${r.ingress}:${r.backend.service}`;
    };
    expect(m("shop.example", "/")).toBe("a:web");
    expect(m("shop.example", "/api")).toBe("a:api-exact");
    expect(m("shop.example", "/api/x")).toBe("a:api");
    expect(m("shop.example", "/api/v2/x")).toBe("b:v2");
    expect(m("other.example", "/x")).toBe("a:wild");
    expect(m(undefined, "/x")).toBe("a:hostless");
    // Nothing matches: the oldest Ingress's defaultBackend.
    const only = ing("c", { rules: [{ host: "shop.example", http: { paths: [path("/only", "Exact", "x")] } }], defaultBackend: backend("d", "http") });
    expect(matchIngress([only], "shop.example", "/else")).toEqual({ ingress: "c", backend: { service: "d", port: { name: "http" } } });
    expect(matchIngress([ing("e", { rules: [{ host: "shop.example", http: { paths: [path("/only", "Exact", "x")] } }] })], "shop.example", "/else")).toEqual({
      problem: 'no rule matches path "/else" and there is no defaultBackend',
    });
    expect(matchIngress([ing("f", { defaultBackend: { resource: { kind: "Bucket", name: "b" } } })], "x", "/")).toEqual({ problem: "resource backends are not served by the edge" });
  });

  it("an Ingress claims each of its hosts once, shared within its namespace", () => {
    const key = "networking.k8s.io/ingresses/ns/a";
    const i = ing("a", { rules: [{ host: "b.example" }, { host: "a.example" }, { host: "b.example" }, {}] });
    expect(ingressClaims(i, key)).toEqual([hostClaim("a.example", key), hostClaim("b.example", key)]);
    expect(sharedPrefixes(["ip:10.96.0.1", hostClaim("a.example", key)])).toEqual(["host:a.example#"]);
    expect(claimScope(key)).toBe("networking.k8s.io/ingresses/ns/");
  });
});

describe("edge: ready endpoints of a Service port", () => {
  const svc: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "ns" },
    spec: { ports: [{ name: "http", port: 80 }, { name: "admin", port: 9000 }] },
  };
  const slice = (endpoints: unknown[], ports: unknown[] = [{ name: "http", port: 8080 }, { name: "admin", port: 9090 }]): KubeObject => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-abc", namespace: "ns", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    endpoints,
    ports,
  });
  it("ready endpoints with a node, by port number or name; the first port when none is named", () => {
    const s = slice([
      { addresses: ["10.0.0.1"], conditions: { ready: true }, nodeName: "n1" },
      { addresses: ["10.0.0.2"], conditions: { ready: false }, nodeName: "n1" },
      { addresses: ["10.0.0.3"], nodeName: "n2" },
      { addresses: ["10.0.0.4"], conditions: { ready: true } },
    ]);
    expect(readyEndpoints("ns", "web", svc, { number: 80 }, [s])).toEqual({
      endpoints: [
        { ip: "10.0.0.1", port: 8080, node: "n1" },
        { ip: "10.0.0.3", port: 8080, node: "n2" },
      ],
    });
    expect(readyEndpoints("ns", "web", svc, { name: "admin" }, [s])).toMatchObject({ endpoints: [{ port: 9090 }, { port: 9090 }] });
    expect(readyEndpoints("ns", "web", svc, {}, [s])).toMatchObject({ endpoints: [{ port: 8080 }, { port: 8080 }] });
  });
  it("says why there is nothing to reach", () => {
    expect(readyEndpoints("ns", "gone", undefined, { number: 80 }, [])).toEqual({ problem: 'service "ns/gone" not found' });
    expect(readyEndpoints("ns", "web", svc, { number: 81 }, [])).toEqual({ problem: 'service "ns/web" has no port 81' });
    expect(readyEndpoints("ns", "web", svc, { number: 80 }, [slice([{ addresses: ["10.0.0.2"], conditions: { ready: false }, nodeName: "n" }])])).toEqual({
      problem: 'service "ns/web" has no ready endpoints for port http',
    });
  });
  it("falls back to user-written Endpoints when the Service has no slices", () => {
    const ep: KubeObject = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "ns" },
      subsets: [{ addresses: [{ ip: "10.1.0.1", nodeName: "n1" }], ports: [{ name: "http", port: 7000 }] }],
    } as KubeObject;
    expect(readyEndpoints("ns", "web", svc, { number: 80 }, [], [ep])).toEqual({ endpoints: [{ ip: "10.1.0.1", port: 7000, node: "n1" }] });
  });
});

describe("edge: load balancer status", () => {
  it("LoadBalancer Services and Ingresses get the edge's hostnames; others lose theirs; converged writes nothing", () => {
    const o = emptyObserved("shop", 0);
    o.edgeDomain = "edge.acme.dev";
    const svc = (name: string, type: string, status: unknown = { loadBalancer: {} }): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name, resourceVersion: "1" }, spec: { type }, status });
    o.services = [
      svc("front", "LoadBalancer"),
      svc("was-lb", "ClusterIP", { loadBalancer: { ingress: [{ hostname: "was-lb.shop.lb.edge.acme.dev" }] } }),
      svc("done", "LoadBalancer", { loadBalancer: { ingress: [{ hostname: "done.shop.lb.edge.acme.dev" }] } }),
      svc("inner", "ClusterIP"),
    ];
    o.ingresses = [ing("site", { rules: [] })];
    const { actions } = lbStatus(o);
    expect(actions.map((a) => (a.type === "update" ? [a.resource, a.object.metadata.name, a.subresource, (a.object.status as { loadBalancer: unknown }).loadBalancer] : a))).toEqual([
      ["core/services", "front", "status", { ingress: [{ hostname: "front.shop.lb.edge.acme.dev" }] }],
      ["core/services", "was-lb", "status", {}],
      ["networking.k8s.io/ingresses", "site", "status", { ingress: [{ hostname: "site.shop.ingress.edge.acme.dev" }] }],
    ]);
  });
});
