import { describe, expect, it } from "vitest";
import { answer, dnsRecords, podResolvConf } from "../../src/agent/cluster-dns-records.ts";
import { buildQuery, buildResponse, parseQuery, parseResponse, RCODE, TYPE_A } from "../../src/agent/dns-message.ts";

const AAAA = 28;

describe("cluster DNS records", () => {
  const records = dnsRecords(
    [
      { metadata: { name: "web", namespace: "shop" }, spec: { clusterIP: "10.96.0.20" } },
      { metadata: { name: "db", namespace: "shop" }, spec: { clusterIP: "None" } },
      { metadata: { name: "empty", namespace: "shop" }, spec: { clusterIP: "None" } },
      { metadata: { name: "ext", namespace: "shop" }, spec: { type: "ExternalName" } },
    ],
    [
      {
        metadata: { name: "db-1", namespace: "shop", labels: { "kubernetes.io/service-name": "db" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.244.1.5"], hostname: "db-0" }, { addresses: ["10.244.1.4"] }, { addresses: ["10.244.1.6"], conditions: { ready: false } }],
      },
      { metadata: { name: "web-1", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } }, addressType: "IPv4", endpoints: [{ addresses: ["10.244.1.9"] }] },
    ],
  );

  it("a service is its cluster IP; a headless one its ready endpoints and their hostnames", () => {
    expect(answer(records, "web.shop.svc.cluster.local", TYPE_A)).toEqual({ rcode: RCODE.NOERROR, addresses: ["10.96.0.20"] });
    expect(answer(records, "WEB.shop.svc.cluster.local.", TYPE_A).addresses).toEqual(["10.96.0.20"]);
    expect(answer(records, "db.shop.svc.cluster.local", TYPE_A).addresses).toEqual(["10.244.1.4", "10.244.1.5"]);
    expect(answer(records, "db-0.db.shop.svc.cluster.local", TYPE_A).addresses).toEqual(["10.244.1.5"]);
    expect(answer(records, "empty.shop.svc.cluster.local", TYPE_A)).toEqual({ rcode: RCODE.NOERROR, addresses: [] });
  });

  it("no AAAA records (NODATA), NXDOMAIN inside cluster.local, REFUSED outside", () => {
    expect(answer(records, "web.shop.svc.cluster.local", AAAA)).toEqual({ rcode: RCODE.NOERROR, addresses: [] });
    expect(answer(records, "web.shop.svc.cluster.local.shop.svc.cluster.local", TYPE_A).rcode).toBe(RCODE.NXDOMAIN);
    expect(answer(records, "ext.shop.svc.cluster.local", TYPE_A).rcode).toBe(RCODE.NXDOMAIN);
    expect(answer(records, "example.com", TYPE_A).rcode).toBe(RCODE.REFUSED);
  });
});

describe("DNS messages", () => {
  it("reads a query and answers it with A records", () => {
    const q = parseQuery(buildQuery(0x1234, "web.shop.svc.cluster.local"))!;
    expect(q).toMatchObject({ id: 0x1234, name: "web.shop.svc.cluster.local", type: TYPE_A, class: 1 });
    const r = buildResponse(q, RCODE.NOERROR, ["10.96.0.20", "10.96.0.21"]);
    expect(r.readUInt16BE(2) & 0x8000).toBe(0x8000); // a response
    expect(r.readUInt16BE(2) & 0x0100).toBe(0x0100); // RD echoed
    expect(parseResponse(r)).toEqual({ id: 0x1234, rcode: 0, addresses: ["10.96.0.20", "10.96.0.21"] });
    expect(parseResponse(buildResponse(q, RCODE.NXDOMAIN))).toEqual({ id: 0x1234, rcode: 3, addresses: [] });
  });

  it("ignores what is not a well-formed query", () => {
    expect(parseQuery(Buffer.alloc(5))).toBeUndefined();
    const resp = buildResponse(parseQuery(buildQuery(1, "a.b"))!, 0);
    expect(parseQuery(resp)).toBeUndefined();
    expect(parseQuery(buildQuery(1, "a.b").subarray(0, 15))).toBeUndefined();
  });
});

describe("pod resolv.conf", () => {
  const pod = (spec: Record<string, unknown>) => ({ metadata: { namespace: "shop" }, spec });
  it("ClusterFirst: the node's cluster DNS and the namespace's search path", () => {
    expect(podResolvConf(pod({}), "10.244.7.1")).toBe("nameserver 10.244.7.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
    expect(podResolvConf(pod({ hostNetwork: true }), "10.244.7.1")).toBeUndefined();
    expect(podResolvConf(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), "10.244.7.1")).toMatch(/^nameserver 10.244.7.1\n/);
    expect(podResolvConf(pod({ dnsPolicy: "Default" }), "10.244.7.1")).toBeUndefined();
  });
  it("dnsConfig is merged; None takes only it", () => {
    const cfg = { nameservers: ["10.0.0.53"], searches: ["corp.example"], options: [{ name: "ndots", value: "2" }, { name: "edns0" }] };
    expect(podResolvConf(pod({ dnsConfig: cfg }), "10.244.7.1")).toBe(
      "nameserver 10.244.7.1\nnameserver 10.0.0.53\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:2 edns0\n",
    );
    expect(podResolvConf(pod({ dnsPolicy: "None", dnsConfig: cfg }), "10.244.7.1")).toBe("nameserver 10.0.0.53\nsearch corp.example\noptions ndots:2 edns0\n");
  });
});
