import { describe, expect, it } from "vitest";
import { configMapKind } from "../../src/resources/configmap.ts";
import { endpointsKind } from "../../src/resources/endpoints.ts";
import { namespaceKind } from "../../src/resources/namespace.ts";
import { secretKind } from "../../src/resources/secret.ts";
import { serviceKind } from "../../src/resources/service.ts";
import { serviceAccountKind } from "../../src/resources/serviceaccount.ts";
import { admit, cells, CREATED, headers, make, paths } from "./resources-helpers.ts";

describe("Namespace", () => {
  it("defaults phase and the kubernetes finalizer", () => {
    const ns = make(namespaceKind, {});
    expect(admit(namespaceKind, ns)).toEqual([]);
    expect(ns.spec).toEqual({ finalizers: ["kubernetes"] });
    expect(ns.status).toEqual({ phase: "Active" });
  });
  it("keeps an emptied finalizer list and a Terminating phase", () => {
    const ns = make(namespaceKind, { spec: { finalizers: [] }, status: { phase: "Terminating" } });
    admit(namespaceKind, ns);
    expect(ns.spec).toEqual({ finalizers: [] });
    expect(ns.status).toEqual({ phase: "Terminating" });
  });
  it("rejects bad finalizers", () => {
    expect(paths(admit(namespaceKind, make(namespaceKind, { spec: { finalizers: ["ok", "a/b/c", 3] } })))).toEqual(["spec.finalizers[1]", "spec.finalizers[2]"]);
  });
  it("prints STATUS and AGE", () => {
    expect(headers(namespaceKind)).toEqual({ default: ["Name", "Status", "Age"], wide: [] });
    const ns = make(namespaceKind, { status: { phase: "Active" } }, { creationTimestamp: CREATED });
    expect(cells(namespaceKind, ns)).toEqual({ Name: "x", Status: "Active", Age: "60m" });
  });
  it("knows its fields", () => expect(namespaceKind.fields).toEqual(["spec", "status"]));
});

describe("ConfigMap", () => {
  it("accepts valid data and counts DATA over both maps", () => {
    const cm = make(configMapKind, { data: { "a.b": "1", C_D: "2" }, binaryData: { bin: "AAE=" } });
    expect(admit(configMapKind, cm)).toEqual([]);
    expect(headers(configMapKind).default).toEqual(["Name", "Data", "Age"]);
    expect(cells(configMapKind, cm).Data).toBe(3);
  });
  it("rejects bad keys, duplicates across maps, bad base64 and oversize payloads", () => {
    const errs = admit(configMapKind, make(configMapKind, { data: { "bad key": "x", dup: "y", "..x": "z" }, binaryData: { dup: "AA==", b: "!!" } }));
    expect(paths(errs)).toEqual(["data[bad key]", "data[dup]", "data[..x]", "binaryData[b]"]);
    expect(errs[0].message).toBe(
      `Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    );
    expect(errs[1].message).toBe('Invalid value: "dup": duplicate of key present in binaryData');
    expect(errs[2].message).toBe(`Invalid value: "..x": must not start with '..'`);
    const big = admit(configMapKind, make(configMapKind, { data: { a: "x".repeat(1024 * 1024), b: "y" } }));
    expect(big).toEqual([{ field: "", reason: "FieldValueTooLong", message: "Too long: must have at most 1048576 bytes" }]);
  });
  it("forbids changes once immutable", () => {
    const old = make(configMapKind, { data: { a: "1" }, immutable: true });
    expect(admit(configMapKind, make(configMapKind, { data: { a: "1" }, immutable: true }), old)).toEqual([]);
    const errs = admit(configMapKind, make(configMapKind, { data: { a: "2" } }), old);
    expect(errs).toEqual([
      { field: "immutable", reason: "FieldValueForbidden", message: "Forbidden: field is immutable when `immutable` is set" },
      { field: "data", reason: "FieldValueForbidden", message: "Forbidden: field is immutable when `immutable` is set" },
    ]);
    // Mutable ones can change freely.
    expect(admit(configMapKind, make(configMapKind, { data: { a: "2" } }), make(configMapKind, { data: { a: "1" } }))).toEqual([]);
  });
  it("knows its fields", () => expect(configMapKind.fields).toEqual(["data", "binaryData", "immutable"]));
});

describe("Secret", () => {
  it("defaults type Opaque and merges stringData into data", () => {
    const s = make(secretKind, { data: { a: "b2xk", keep: "eA==" }, stringData: { a: "new", u: "ä" } });
    expect(admit(secretKind, s)).toEqual([]);
    expect(s.type).toBe("Opaque");
    expect(s.stringData).toBeUndefined();
    expect(s.data).toEqual({ a: "bmV3", keep: "eA==", u: "w6Q=" });
  });
  it("reports the stringData key at data[key]", () => {
    expect(paths(admit(secretKind, make(secretKind, { stringData: { "no/slash": "x" } })))).toEqual(["data[no/slash]"]);
  });
  it("rejects invalid base64 without echoing the secret", () => {
    const errs = admit(secretKind, make(secretKind, { data: { a: "abc", b: "a$==", c: "YQ==" } }));
    expect(errs).toEqual([
      { field: "data[a]", reason: "FieldValueInvalid", message: 'Invalid value: "<secret contents redacted>": illegal base64 data at input byte 0' },
      { field: "data[b]", reason: "FieldValueInvalid", message: 'Invalid value: "<secret contents redacted>": illegal base64 data at input byte 1' },
    ]);
  });
  it("checks the keys each type needs", () => {
    expect(paths(admit(secretKind, make(secretKind, { type: "kubernetes.io/tls", data: {} })))).toEqual(["data[tls.crt]", "data[tls.key]"]);
    expect(paths(admit(secretKind, make(secretKind, { type: "kubernetes.io/basic-auth" })))).toEqual(["data[username]", "data[password]"]);
    expect(paths(admit(secretKind, make(secretKind, { type: "kubernetes.io/service-account-token" })))).toEqual([
      "metadata.annotations[kubernetes.io/service-account.name]",
    ]);
    expect(paths(admit(secretKind, make(secretKind, { type: "kubernetes.io/dockerconfigjson", stringData: { ".dockerconfigjson": "nope" } })))).toEqual([
      "data[.dockerconfigjson]",
    ]);
    expect(admit(secretKind, make(secretKind, { type: "kubernetes.io/dockerconfigjson", stringData: { ".dockerconfigjson": '{"auths":{}}' } }))).toEqual([]);
    expect(admit(secretKind, make(secretKind, { type: "example.com/custom" }))).toEqual([]);
  });
  it("keeps type immutable and honours immutable: true", () => {
    const old = make(secretKind, { type: "Opaque", data: { a: "YQ==" }, immutable: true });
    expect(paths(admit(secretKind, make(secretKind, { type: "kubernetes.io/tls", data: { "tls.crt": "", "tls.key": "" }, immutable: true }), old))).toEqual([
      "type",
      "data",
    ]);
  });
  it("prints TYPE and DATA", () => {
    expect(headers(secretKind).default).toEqual(["Name", "Type", "Data", "Age"]);
    expect(cells(secretKind, make(secretKind, { type: "Opaque", data: { a: "", b: "" } }))).toMatchObject({ Type: "Opaque", Data: 2 });
  });
  it("knows its fields", () => expect(secretKind.fields).toEqual(["data", "stringData", "type", "immutable"]));
});

describe("ServiceAccount", () => {
  it("has no defaults and counts secrets", () => {
    const sa = make(serviceAccountKind, { secrets: [{ name: "a" }] });
    expect(admit(serviceAccountKind, sa)).toEqual([]);
    expect(headers(serviceAccountKind).default).toEqual(["Name", "Secrets", "Age"]);
    expect(cells(serviceAccountKind, sa).Secrets).toBe(1);
  });
  it("rejects bad image pull secrets", () => {
    expect(paths(admit(serviceAccountKind, make(serviceAccountKind, { imagePullSecrets: [{}, { name: "Bad_Name" }], automountServiceAccountToken: "yes" })))).toEqual([
      "imagePullSecrets[0].name",
      "imagePullSecrets[1].name",
      "automountServiceAccountToken",
    ]);
  });
});

describe("Service", () => {
  const svc = (spec: Record<string, unknown>, meta = {}) => make(serviceKind, { spec }, meta);

  it("defaults like kube-apiserver (no IP allocation)", () => {
    const s = svc({ selector: { app: "web" }, ports: [{ port: 80 }, { name: "b", port: 443, targetPort: "https" }] });
    s.spec = { ...(s.spec as object), ports: [{ name: "a", port: 80 }, { name: "b", port: 443, targetPort: "https" }] };
    expect(admit(serviceKind, s)).toEqual([]);
    expect(s.spec).toEqual({
      selector: { app: "web" },
      ports: [
        { name: "a", port: 80, protocol: "TCP", targetPort: 80 },
        { name: "b", port: 443, protocol: "TCP", targetPort: "https" },
      ],
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ipFamilyPolicy: "SingleStack",
      ipFamilies: ["IPv4"],
    });
    expect(s.status).toEqual({ loadBalancer: {} });
  });
  it("defaults NodePort/LoadBalancer extras and a given clusterIP", () => {
    const s = svc({ type: "LoadBalancer", clusterIP: "10.96.0.10", sessionAffinity: "ClientIP", ports: [{ port: 80 }] });
    expect(admit(serviceKind, s)).toEqual([]);
    expect(s.spec).toMatchObject({
      clusterIPs: ["10.96.0.10"],
      externalTrafficPolicy: "Cluster",
      allocateLoadBalancerNodePorts: true,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    });
  });
  it("allows headless and ExternalName services without ports", () => {
    expect(admit(serviceKind, svc({ clusterIP: "None" }))).toEqual([]);
    const ext = svc({ type: "ExternalName", externalName: "db.example.com." });
    expect(admit(serviceKind, ext)).toEqual([]);
    expect(ext.spec).toEqual({ type: "ExternalName", externalName: "db.example.com.", sessionAffinity: "None" });
  });
  it("rejects bad ports", () => {
    const errs = admit(
      serviceKind,
      svc({
        ports: [
          { name: "a", port: 0 },
          { port: 80, protocol: "HTTP" },
          { name: "a", port: 81, targetPort: 70000 },
          { name: "c", port: 81, nodePort: 30001 },
        ],
      }),
    );
    expect(paths(errs)).toEqual([
      "spec.ports[0].port",
      "spec.ports[0].targetPort", // defaulted from the bad port, as in Kubernetes
      "spec.ports[1].name",
      "spec.ports[1].protocol",
      "spec.ports[2].name",
      "spec.ports[2].targetPort",
      "spec.ports[3].nodePort",
      "spec.ports[3]",
    ]);
    expect(errs[0].message).toBe("Invalid value: 0: must be between 1 and 65535, inclusive");
    expect(errs[3].message).toBe('Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
    expect(errs[4]).toEqual({ field: "spec.ports[2].name", reason: "FieldValueDuplicate", message: 'Duplicate value: "a"' });
    expect(errs[6].message).toBe("Forbidden: may not be used when `type` is 'ClusterIP'");
  });
  it("requires ports, checks the type, node port range and IPs", () => {
    expect(paths(admit(serviceKind, svc({})))).toEqual(["spec.ports"]);
    const errs = admit(serviceKind, svc({ type: "Magic", ports: [{ port: 80 }] }));
    expect(errs[0]).toEqual({ field: "spec.type", reason: "FieldValueNotSupported", message: 'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' });
    const np = admit(serviceKind, svc({ type: "NodePort", ports: [{ port: 80, nodePort: 80 }] }));
    expect(np).toEqual([
      { field: "spec.ports[0].nodePort", reason: "FieldValueInvalid", message: "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767" },
    ]);
    expect(paths(admit(serviceKind, svc({ clusterIP: "10.0.0.300", externalIPs: ["nope"], ports: [{ port: 80 }] })))).toEqual(["spec.clusterIPs[0]", "spec.externalIPs[0]"]);
    expect(paths(admit(serviceKind, svc({ type: "NodePort", clusterIP: "None", ports: [{ port: 80 }] })))).toEqual(["spec.clusterIPs[0]"]);
    expect(paths(admit(serviceKind, svc({ type: "ExternalName" })))).toEqual(["spec.externalName"]);
    expect(paths(admit(serviceKind, svc({ externalTrafficPolicy: "Local", ports: [{ port: 80 }] })))).toEqual(["spec.externalTrafficPolicy"]);
    expect(paths(admit(serviceKind, svc({ ports: [{ port: 80 }] }, { name: "1abc" })))).toEqual(["metadata.name"]);
  });
  it("keeps the cluster IP on update", () => {
    const old = svc({ clusterIP: "10.96.0.5", ports: [{ port: 80 }] });
    admit(serviceKind, old);
    const same = svc({ ports: [{ port: 80 }] });
    expect(admit(serviceKind, same, old)).toEqual([]);
    expect((same.spec as Record<string, unknown>).clusterIPs).toEqual(["10.96.0.5"]);
    const changed = svc({ clusterIP: "10.96.0.6", ports: [{ port: 80 }] });
    expect(admit(serviceKind, changed, old)).toEqual([
      { field: "spec.clusterIPs[0]", reason: "FieldValueInvalid", message: 'Invalid value: ["10.96.0.6"]: may not change once set' },
    ]);
    // Switching to ExternalName releases it.
    expect(admit(serviceKind, svc({ type: "ExternalName", externalName: "a.b" }), old)).toEqual([]);
  });
  it("keeps allocated node ports on update", () => {
    const old = svc({ type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] });
    admit(serviceKind, old);
    const next = svc({ type: "NodePort", ports: [{ port: 80 }] });
    expect(admit(serviceKind, next, old)).toEqual([]);
    expect((next.spec as { ports: { nodePort: number }[] }).ports[0].nodePort).toBe(30080);
  });
  it("prints TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE and wide SELECTOR", () => {
    expect(headers(serviceKind)).toEqual({ default: ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], wide: ["Selector"] });
    const s = svc({ type: "NodePort", clusterIP: "10.0.0.1", selector: { app: "a", tier: "b" }, ports: [{ port: 80, nodePort: 30080 }, { name: "u", port: 53, protocol: "UDP" }] }, { creationTimestamp: CREATED });
    admit(serviceKind, s);
    expect(cells(serviceKind, s)).toEqual({
      Name: "x",
      Type: "NodePort",
      "Cluster-IP": "10.0.0.1",
      "External-IP": "<none>",
      "Port(s)": "80:30080/TCP,53/UDP",
      Age: "60m",
      Selector: "app=a,tier=b",
    });
    const lb = svc({ type: "LoadBalancer", ports: [{ port: 80 }] });
    admit(serviceKind, lb);
    expect(cells(serviceKind, lb)).toMatchObject({ "Cluster-IP": "<none>", "External-IP": "<pending>", Selector: "<none>" });
    lb.status = { loadBalancer: { ingress: [{ ip: "5.6.7.8" }, { hostname: "lb.example.com" }, { ip: "1.2.3.4" }] } };
    expect(cells(serviceKind, lb)["External-IP"]).toBe("1.2.3.4,5.6.7.8,lb.example.com");
    expect(cells(serviceKind, svc({ type: "ExternalName", externalName: "db.example.com" }))).toMatchObject({ "External-IP": "db.example.com", "Port(s)": "<none>" });
  });
});

describe("Endpoints", () => {
  const ep = (subsets: unknown) => make(endpointsKind, { subsets });
  it("defaults port protocols and validates addresses", () => {
    const e = ep([{ addresses: [{ ip: "10.1.0.5" }, { ip: "fd00::1" }], ports: [{ port: 8080 }] }]);
    expect(admit(endpointsKind, e)).toEqual([]);
    expect((e.subsets as { ports: unknown[] }[])[0].ports).toEqual([{ port: 8080, protocol: "TCP" }]);
  });
  it("rejects bad and special IPs and bad ports", () => {
    const errs = admit(
      endpointsKind,
      ep([{ addresses: [{ ip: "300.1.1.1" }, { ip: "127.0.0.1" }, {}], notReadyAddresses: [{ ip: "169.254.1.1" }], ports: [{ port: 0 }, { name: "b", port: 80, protocol: "X" }] }]),
    );
    expect(paths(errs)).toEqual([
      "subsets[0].addresses[0].ip",
      "subsets[0].addresses[1].ip",
      "subsets[0].addresses[2].ip",
      "subsets[0].notReadyAddresses[0].ip",
      "subsets[0].ports[0].name",
      "subsets[0].ports[0].port",
      "subsets[0].ports[1].protocol",
    ]);
    expect(errs[1].message).toBe('Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)');
  });
  it("prints ENDPOINTS like kubectl", () => {
    expect(headers(endpointsKind).default).toEqual(["Name", "Endpoints", "Age"]);
    expect(cells(endpointsKind, ep(undefined)).Endpoints).toBe("<none>");
    const many = ep([{ addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "fd00::1" }, { ip: "10.0.0.4" }], ports: [{ port: 80 }] }]);
    expect(cells(endpointsKind, many).Endpoints).toBe("10.0.0.1:80,10.0.0.2:80,[fd00::1]:80 + 1 more...");
    expect(cells(endpointsKind, ep([{ addresses: [{ ip: "10.0.0.1" }] }])).Endpoints).toBe("10.0.0.1");
  });
});
