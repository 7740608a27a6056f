import { describe, expect, it } from "vitest";
import { candidates, intToIp, ipToInt, nodePortRange, parseServiceCIDR, serviceClaims } from "../../src/store/service-allocation.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const svc = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec });

describe("service allocation (pure parts)", () => {
  it("parses a service CIDR into the allocatable range, .1 reserved", () => {
    const r = parseServiceCIDR("10.96.0.0/16");
    expect(r).toEqual({ cidr: "10.96.0.0/16", first: ipToInt("10.96.0.1"), last: ipToInt("10.96.255.254"), reserved: [ipToInt("10.96.0.1")] });
    expect(parseServiceCIDR("10.100.7.9/24").cidr).toBe("10.100.7.0/24");
    expect(intToIp(ipToInt("192.168.255.3"))).toBe("192.168.255.3");
    expect(() => parseServiceCIDR("fd00::/108")).toThrow(/IPv4 CIDR/);
    expect(() => parseServiceCIDR("10.0.0.0/31")).toThrow(/IPv4 CIDR/);
  });

  it("claims a Service's cluster IPs and node ports, nothing for ExternalName or headless", () => {
    expect(serviceClaims(svc({ type: "NodePort", clusterIPs: ["10.96.3.4"], ports: [{ port: 80, nodePort: 30080 }, { port: 81, nodePort: 30080, protocol: "UDP" }, { port: 82 }] }))).toEqual([
      "ip:10.96.3.4",
      "nodeport:30080",
    ]);
    expect(serviceClaims(svc({ clusterIP: "None", clusterIPs: ["None"], ports: [] }))).toEqual([]);
    expect(serviceClaims(svc({ type: "ExternalName", externalName: "x.example" }))).toEqual([]);
  });

  it("draws distinct candidates inside the range, never reserved or excluded values", () => {
    const r = parseServiceCIDR("10.0.0.0/29"); // .1 reserved, .2-.6 allocatable
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const got = candidates(r, new Set([ipToInt("10.0.0.3")]), 32, random).map(intToIp).sort();
    expect(got).toEqual(["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    const ports = candidates(nodePortRange(), new Set(), 32, random);
    expect(new Set(ports).size).toBe(32);
    for (const p of ports) expect(p >= 30000 && p <= 32767).toBe(true);
    expect(candidates(parseServiceCIDR("10.0.0.0/30"), new Set([ipToInt("10.0.0.2")]), 8, random)).toEqual([]);
  });
});
