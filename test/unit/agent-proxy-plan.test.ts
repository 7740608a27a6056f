import { describe, expect, it } from "vitest";
import { Balancer, iptablesRestoreInput, proxyPlan, sliceEndpoints, splitHostPort, type ServiceLike, type SliceLike } from "../../src/agent/proxy-plan.ts";

const svc = (name: string, spec: ServiceLike["spec"], namespace = "d"): ServiceLike => ({ metadata: { name, namespace }, spec });
const slice = (service: string, endpoints: SliceLike["endpoints"], ports: SliceLike["ports"], name = `${service}-x`, namespace = "d"): SliceLike => ({
  metadata: { name, namespace, labels: { "kubernetes.io/service-name": service } },
  addressType: "IPv4",
  endpoints,
  ports,
});

describe("service proxy plan", () => {
  it("forwards each TCP port of a cluster-IP service to its ready endpoints, by port name", () => {
    const plan = proxyPlan(
      [svc("web", { type: "ClusterIP", clusterIP: "10.96.0.20", ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "dns", port: 53, protocol: "UDP" }] })],
      [
        slice("web", [{ addresses: ["10.244.1.3"], conditions: { ready: true } }, { addresses: ["10.244.1.2"] }, { addresses: ["10.244.1.9"], conditions: { ready: false } }], [{ name: "http", port: 8080, protocol: "TCP" }]),
        slice("web", [{ addresses: ["10.244.2.2"], conditions: { ready: true } }, { addresses: ["10.244.1.3"], conditions: { ready: true } }], [{ name: "http", port: 8080 }], "web-y"),
        slice("other", [{ addresses: ["10.244.3.3"] }], [{ name: "http", port: 1 }]),
      ],
    );
    expect(plan).toEqual([{ key: "d/web:http", namespace: "d", service: "web", clusterIP: "10.96.0.20", port: 80, endpoints: ["10.244.1.2:8080", "10.244.1.3:8080", "10.244.2.2:8080"] }]);
  });

  it("node ports for NodePort and LoadBalancer services; headless and ExternalName services are not proxied", () => {
    const plan = proxyPlan(
      [
        svc("np", { type: "NodePort", clusterIP: "10.96.0.21", ports: [{ port: 80, nodePort: 30080 }], sessionAffinity: "ClientIP" }),
        svc("lb", { type: "LoadBalancer", clusterIP: "10.96.0.22", ports: [{ port: 80, nodePort: 30081 }], sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
        svc("headless", { clusterIP: "None", ports: [{ port: 80 }] }),
        svc("ext", { type: "ExternalName", ports: [{ port: 80 }] }),
      ],
      [slice("np", [{ addresses: ["10.244.1.2"] }], [{ port: 8080 }])],
    );
    expect(plan.map((p) => [p.key, p.nodePort, p.affinitySeconds, p.endpoints])).toEqual([
      ["d/lb:", 30081, 60, []],
      ["d/np:", 30080, 10800, ["10.244.1.2:8080"]],
    ]);
  });

  it("falls back to serving terminating endpoints only when none is ready", () => {
    const s = [slice("w", [{ addresses: ["10.0.0.1"], conditions: { ready: false, serving: true, terminating: true } }, { addresses: ["10.0.0.2"], conditions: { ready: false, serving: false, terminating: true } }], [{ port: 80 }])];
    expect(sliceEndpoints(s, "", "TCP")).toEqual(["10.0.0.1:80"]);
    s[0].endpoints!.push({ addresses: ["10.0.0.3"], conditions: { ready: true } });
    expect(sliceEndpoints(s, "", "TCP")).toEqual(["10.0.0.3:80"]);
  });

  it("default/kubernetes goes to the API server when it has no endpoints", () => {
    const k = svc("kubernetes", { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443 }] }, "default");
    expect(proxyPlan([k], [], "127.0.0.1:8443")[0].endpoints).toEqual(["127.0.0.1:8443"]);
    expect(proxyPlan([{ ...k, metadata: { name: "kubernetes", namespace: "other" } }], [], "127.0.0.1:8443")[0].endpoints).toEqual([]);
    expect(splitHostPort("127.0.0.1:8443")).toEqual({ host: "127.0.0.1", port: 8443 });
  });
});

describe("balancer", () => {
  it("round-robins over the endpoints and skips excluded ones", () => {
    const b = new Balancer();
    const eps = ["a:1", "b:1", "c:1"];
    expect([1, 2, 3, 4, 5, 6].map(() => b.pick(eps, "client", 0))).toEqual(["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"]);
    expect(b.pick(eps, "client", 0, undefined, new Set(["a:1", "b:1"]))).toBe("c:1");
    expect(b.pick(eps, "client", 0, undefined, new Set(eps))).toBeUndefined();
    expect(b.pick([], "client", 0)).toBeUndefined();
  });

  it("ClientIP affinity keeps a client on its endpoint until the timeout passes without it", () => {
    const b = new Balancer();
    const eps = ["a:1", "b:1"];
    const first = b.pick(eps, "10.0.0.5", 0, 10)!;
    const other = b.pick(eps, "10.0.0.6", 0, 10)!;
    expect(other).not.toBe(first);
    for (let t = 1000; t <= 20_000; t += 1000) expect(b.pick(eps, "10.0.0.5", t, 10)).toBe(first); // each use extends it
    // 10 s without a connection: the client is balanced again.
    const later = [0, 1].map(() => b.pick(eps, "10.0.0.5", 40_000, 10));
    expect(later).toContain(first);
    // Its endpoint gone: it moves.
    expect(b.pick(eps.filter((e) => e !== first), "10.0.0.5", 40_001, 10)).not.toBe(first);
  });
});

describe("iptables rules", () => {
  it("one REDIRECT per service port in the node's chain, restored at once", () => {
    expect(
      iptablesRestoreInput("EP-SVC-abcde", [
        { ip: "10.96.0.20", port: 80, protocol: "tcp", toPort: 40001 },
        { ip: "10.244.7.1", port: 53, protocol: "udp", toPort: 40002 },
      ]),
    ).toBe(
      [
        "*nat",
        ":EP-SVC-abcde - [0:0]",
        "-A EP-SVC-abcde -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40001",
        "-A EP-SVC-abcde -d 10.244.7.1/32 -p udp -m udp --dport 53 -j REDIRECT --to-ports 40002",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });
});
