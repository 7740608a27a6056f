import { describe, expect, it } from "vitest";
import { endpointSliceKind } from "../../src/resources/endpointslice.ts";
import { kindForPath } from "../../src/resources/index.ts";
import { admit, cells, headers, make, paths } from "./resources-helpers.ts";

describe("EndpointSlice", () => {
  const slice = (body: Record<string, unknown>) => make(endpointSliceKind, body);

  it("is served at discovery.k8s.io/v1 endpointslices, defaults port protocols", () => {
    expect(kindForPath("discovery.k8s.io", "v1", "endpointslices")).toBe(endpointSliceKind);
    const s = slice({ addressType: "IPv4", endpoints: [{ addresses: ["10.244.0.2"], conditions: { ready: true } }], ports: [{ name: "http", port: 8080 }] });
    expect(admit(endpointSliceKind, s)).toEqual([]);
    expect(s.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
  });

  it("rejects a missing or unknown addressType, bad addresses, duplicate port names and a changed addressType", () => {
    expect(paths(admit(endpointSliceKind, slice({ endpoints: [] })))).toEqual(["addressType"]);
    const errs = admit(
      endpointSliceKind,
      slice({
        addressType: "IPv4",
        endpoints: [{ addresses: ["fd00::1"] }, { addresses: [] }, { addresses: ["127.0.0.1"], conditions: { ready: "yes" } }],
        ports: [{ name: "a", port: 70000 }, { name: "a", port: 80, protocol: "HTTP" }],
      }),
    );
    expect(paths(errs)).toEqual([
      "endpoints[0].addresses[0]",
      "endpoints[1].addresses",
      "endpoints[2].addresses[0]",
      "endpoints[2].conditions.ready",
      "ports[0].port",
      "ports[1].name",
      "ports[1].protocol",
    ]);
    expect(errs[2].message).toBe('Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)');
    expect(paths(admit(endpointSliceKind, slice({ addressType: "Bogus" })))).toEqual(["addressType"]);
    const old = slice({ addressType: "IPv4", endpoints: [] });
    expect(admit(endpointSliceKind, slice({ addressType: "IPv6", endpoints: [] }), old)[0].message).toBe('Invalid value: "IPv6": field is immutable');
  });

  it("prints NAME ADDRESSTYPE PORTS ENDPOINTS AGE like kubectl", () => {
    expect(headers(endpointSliceKind).default).toEqual(["Name", "AddressType", "Ports", "Endpoints", "Age"]);
    expect(cells(endpointSliceKind, slice({ addressType: "IPv4", endpoints: [] }))).toMatchObject({ AddressType: "IPv4", Ports: "<unset>", Endpoints: "<unset>" });
    const full = slice({
      addressType: "IPv4",
      ports: [{ port: 80 }, { name: "x" }, {}, { port: 9 }],
      endpoints: [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"] }, { addresses: ["10.0.0.3"] }, { addresses: ["10.0.0.4"] }, { addresses: ["10.0.0.5"] }],
    });
    expect(cells(endpointSliceKind, full)).toMatchObject({ Ports: "80,x,* + 1 more...", Endpoints: "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..." });
  });
});
