import { describe, expect, it } from "vitest";
import { hpaKind } from "../../src/resources/horizontalpodautoscaler.ts";
import { configMapKind } from "../../src/resources/configmap.ts";
import { cronJobKind } from "../../src/resources/cronjob.ts";
import { daemonSetKind } from "../../src/resources/daemonset.ts";
import { deploymentKind } from "../../src/resources/deployment.ts";
import { endpointsKind } from "../../src/resources/endpoints.ts";
import { eventKind } from "../../src/resources/event.ts";
import { eventsV1Kind } from "../../src/resources/events-v1.ts";
import { jobKind } from "../../src/resources/job.ts";
import { limitRangeKind } from "../../src/resources/limitrange.ts";
import { namespaceKind } from "../../src/resources/namespace.ts";
import { nodeKind } from "../../src/resources/node.ts";
import { persistentVolumeKind } from "../../src/resources/persistentvolume.ts";
import { persistentVolumeClaimKind } from "../../src/resources/persistentvolumeclaim.ts";
import { podKind } from "../../src/resources/pod.ts";
import { replicaSetKind } from "../../src/resources/replicaset.ts";
import { resourceQuotaKind } from "../../src/resources/resourcequota.ts";
import { secretKind } from "../../src/resources/secret.ts";
import { serviceKind } from "../../src/resources/service.ts";
import { serviceAccountKind } from "../../src/resources/serviceaccount.ts";
import { statefulSetKind } from "../../src/resources/statefulset.ts";
import { ingressKind } from "../../src/resources/ingress.ts";
import { ingressClassKind } from "../../src/resources/ingressclass.ts";
import { leaseKind } from "../../src/resources/lease.ts";
import { podDisruptionBudgetKind } from "../../src/resources/poddisruptionbudget.ts";
import { admit, cells, CREATED, headers, make, paths } from "./resources-helpers.ts";

const backend = { service: { name: "web", port: { number: 80 } } };

describe("Ingress", () => {
  const ing = (spec: Record<string, unknown>) => make(ingressKind, { spec });
  it("accepts rules with typed paths and a default backend", () => {
    expect(
      admit(
        ingressKind,
        ing({
          ingressClassName: "nginx",
          defaultBackend: { service: { name: "fallback", port: { name: "http" } } },
          rules: [{ host: "*.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend }, { pathType: "ImplementationSpecific", backend }] } }],
          tls: [{ hosts: ["a.example.com"], secretName: "tls" }],
        }),
      ),
    ).toEqual([]);
  });
  it("requires rules or a default backend, and pathType", () => {
    expect(paths(admit(ingressKind, ing({})))).toEqual(["spec"]);
    const errs = admit(ingressKind, ing({ rules: [{ http: { paths: [{ path: "/", backend }] } }] }));
    expect(errs).toEqual([{ field: "spec.rules[0].http.paths[0].pathType", reason: "FieldValueRequired", message: "Required value: pathType must be specified" }]);
  });
  it("rejects bad paths, hosts and backends", () => {
    const errs = admit(
      ingressKind,
      ing({
        rules: [
          { host: "10.0.0.1", http: { paths: [{ path: "api", pathType: "Exact", backend }, { path: "/a//b", pathType: "Prefix", backend }, { path: "/", pathType: "Regex", backend }] } },
          { host: "Bad_Host", http: { paths: [] } },
          { http: { paths: [{ path: "/", pathType: "Prefix", backend: {} }, { path: "/", pathType: "Prefix", backend: { service: { name: "1svc", port: {} } } }, { path: "/", pathType: "Prefix", backend: { service: { name: "s", port: { number: 70000, name: "x" } } } }] } },
        ],
      }),
    );
    expect(paths(errs)).toEqual([
      "spec.rules[0].host",
      "spec.rules[0].http.paths[0].path",
      "spec.rules[0].http.paths[1].path",
      "spec.rules[0].http.paths[2].pathType",
      "spec.rules[1].host",
      "spec.rules[1].http.paths",
      "spec.rules[2].http.paths[0].backend",
      "spec.rules[2].http.paths[1].backend.service.name",
      "spec.rules[2].http.paths[1].backend",
      "spec.rules[2].http.paths[2].backend",
    ]);
    expect(errs[1].message).toBe('Invalid value: "api": must be an absolute path');
    expect(errs[2].message).toBe(`Invalid value: "/a//b": must not contain '//'`);
    expect(errs[6].message).toBe('Invalid value: "": resource or service backend is required');
    expect(errs[9].message).toBe('Invalid value: "": cannot set both port name & port number');
  });
  it("prints CLASS, HOSTS, ADDRESS, PORTS, AGE", () => {
    expect(headers(ingressKind).default).toEqual(["Name", "Class", "Hosts", "Address", "Ports", "Age"]);
    const i = ing({ rules: [{ host: "a.com" }, { host: "b.com" }, {}, { host: "c.com" }, { host: "d.com" }], tls: [{}] });
    i.status = { loadBalancer: { ingress: [{ ip: "10.0.0.9" }, { hostname: "lb.example" }] } };
    expect(cells(ingressKind, i)).toMatchObject({ Class: "<none>", Hosts: "a.com,b.com,c.com + 2 more...", Address: "10.0.0.9,lb.example", Ports: "80, 443" });
    expect(cells(ingressKind, ing({ ingressClassName: "nginx", defaultBackend: backend }))).toMatchObject({ Class: "nginx", Hosts: "*", Address: "", Ports: "80" });
  });
});

describe("IngressClass", () => {
  const ic = (spec: Record<string, unknown>) => make(ingressClassKind, { spec });
  it("defaults the parameters scope", () => {
    const c = ic({ controller: "example.com/ingress", parameters: { apiGroup: "k8s.example.com", kind: "Params", name: "p" } });
    expect(admit(ingressClassKind, c)).toEqual([]);
    expect((c.spec as { parameters: unknown }).parameters).toEqual({ apiGroup: "k8s.example.com", kind: "Params", name: "p", scope: "Cluster" });
    expect(headers(ingressClassKind).default).toEqual(["Name", "Controller", "Parameters", "Age"]);
    expect(cells(ingressClassKind, c)).toMatchObject({ Controller: "example.com/ingress", Parameters: "Params.k8s.example.com/p" });
    expect(cells(ingressClassKind, ic({ controller: "a.b/c" })).Parameters).toBe("<none>");
  });
  it("requires a domain-prefixed controller that never changes", () => {
    expect(paths(admit(ingressClassKind, ic({})))).toEqual(["spec.controller"]);
    expect(admit(ingressClassKind, ic({ controller: "nginx" }))[0].message).toBe('Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")');
    expect(paths(admit(ingressClassKind, ic({ controller: "a.io/x", parameters: { kind: "K", scope: "Namespace" } })))).toEqual(["spec.parameters.name", "spec.parameters.namespace"]);
    expect(paths(admit(ingressClassKind, ic({ controller: "a.io/y" }), ic({ controller: "a.io/x" })))).toEqual(["spec.controller"]);
  });
});

describe("Lease", () => {
  it("validates durations and holders", () => {
    const l = make(leaseKind, { spec: { holderIdentity: "node-1", leaseDurationSeconds: 40, renewTime: "2024-01-01T00:00:00.000000Z" } });
    expect(admit(leaseKind, l)).toEqual([]);
    expect(paths(admit(leaseKind, make(leaseKind, { spec: { leaseDurationSeconds: 0, leaseTransitions: -1, preferredHolder: "b" } })))).toEqual([
      "spec.leaseDurationSeconds",
      "spec.leaseTransitions",
      "spec.preferredHolder",
    ]);
    expect(leaseKind.fields).toEqual(["spec"]);
  });
  it("prints HOLDER and AGE", () => {
    expect(headers(leaseKind).default).toEqual(["Name", "Holder", "Age"]);
    expect(cells(leaseKind, make(leaseKind, { spec: { holderIdentity: "node-1" } }, { creationTimestamp: CREATED }))).toEqual({ Name: "x", Holder: "node-1", Age: "60m" });
    expect(cells(leaseKind, make(leaseKind, {})).Holder).toBe("");
  });
});

describe("HorizontalPodAutoscaler", () => {
  const hpa = (spec: Record<string, unknown>) => make(hpaKind, { spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5, ...spec } });
  it("defaults minReplicas and a CPU metric", () => {
    const h = hpa({});
    expect(admit(hpaKind, h)).toEqual([]);
    expect(h.spec).toMatchObject({ minReplicas: 1, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }] });
    expect((h.spec as Record<string, unknown>).behavior).toBeUndefined();
  });
  it("fills a given behavior", () => {
    const h = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } });
    admit(hpaKind, h);
    expect((h.spec as Record<string, unknown>).behavior).toEqual({
      scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: "Max",
        policies: [
          { type: "Pods", value: 4, periodSeconds: 15 },
          { type: "Percent", value: 100, periodSeconds: 15 },
        ],
      },
    });
  });
  it("rejects bad targets, bounds and metrics", () => {
    const errs = admit(hpaKind, make(hpaKind, { spec: { minReplicas: 3, maxReplicas: 2 } }));
    expect(paths(errs)).toEqual(["spec.scaleTargetRef.kind", "spec.scaleTargetRef.name", "spec.maxReplicas"]);
    expect(errs[2].message).toBe("Invalid value: 2: must be greater than or equal to `minReplicas`");
    expect(paths(admit(hpaKind, hpa({ minReplicas: 0, maxReplicas: 0 })))).toEqual(["spec.minReplicas", "spec.maxReplicas"]);
    const metrics = admit(
      hpaKind,
      hpa({
        metrics: [
          { type: "Memory" },
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization" } } },
          { type: "Pods", pods: { metric: {}, target: { type: "AverageValue", averageValue: "-1" } } },
          { type: "Resource" },
          {},
        ],
      }),
    );
    expect(paths(metrics)).toEqual([
      "spec.metrics[0].type",
      "spec.metrics[1].resource.target.averageUtilization",
      "spec.metrics[2].pods.metric.name",
      "spec.metrics[2].pods.target.averageValue",
      "spec.metrics[3].resource",
      "spec.metrics[4].type",
    ]);
    expect(metrics[0].message).toBe('Unsupported value: "Memory": supported values: "Object", "Pods", "Resource", "External", "ContainerResource"');
    expect(paths(admit(hpaKind, hpa({ behavior: { scaleUp: { selectPolicy: "Most", stabilizationWindowSeconds: 4000, policies: [{ type: "Pods", value: 0, periodSeconds: 2000 }] } } })))).toEqual([
      "spec.behavior.scaleUp.selectPolicy",
      "spec.behavior.scaleUp.stabilizationWindowSeconds",
      "spec.behavior.scaleUp.policies[0].value",
      "spec.behavior.scaleUp.policies[0].periodSeconds",
    ]);
  });
  it("prints REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS, AGE", () => {
    expect(headers(hpaKind).default).toEqual(["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]);
    const h = hpa({});
    admit(hpaKind, h);
    expect(cells(hpaKind, h)).toMatchObject({ Reference: "Deployment/web", Targets: "cpu: <unknown>/80%", MinPods: "1", MaxPods: 5, Replicas: 0 });
    h.spec = {
      ...(h.spec as object),
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
        { type: "Pods", pods: { metric: { name: "rps" }, target: { type: "AverageValue", averageValue: "1000" } } },
        { type: "External", external: { metric: { name: "q" }, target: { type: "AverageValue", averageValue: "30" } } },
      ],
    };
    h.status = { currentReplicas: 2, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 42 } } }, { type: "Pods", pods: { current: { averageValue: "500m" } } }] };
    expect(cells(hpaKind, h)).toMatchObject({ Targets: "cpu: 42%/50%, 500m/1k + 1 more...", Replicas: 2 });
  });
});

describe("PodDisruptionBudget", () => {
  const pdb = (spec: Record<string, unknown>) => make(podDisruptionBudgetKind, { spec: { selector: { matchLabels: { app: "web" } }, ...spec } });
  it("accepts one of minAvailable / maxUnavailable", () => {
    expect(admit(podDisruptionBudgetKind, pdb({ minAvailable: 2 }))).toEqual([]);
    expect(admit(podDisruptionBudgetKind, pdb({ maxUnavailable: "25%" }))).toEqual([]);
  });
  it("rejects both, bad values and policies", () => {
    const errs = admit(podDisruptionBudgetKind, pdb({ minAvailable: 1, maxUnavailable: "150%", unhealthyPodEvictionPolicy: "Never" }));
    expect(paths(errs)).toEqual(["spec", "spec.maxUnavailable", "spec.unhealthyPodEvictionPolicy"]);
    expect(errs[0].message).toMatch(/: minAvailable and maxUnavailable cannot be both set$/);
    expect(errs[1].message).toBe('Invalid value: "150%": must not be greater than 100%');
    expect(paths(admit(podDisruptionBudgetKind, pdb({ minAvailable: -1 })))).toEqual(["spec.minAvailable"]);
    expect(paths(admit(podDisruptionBudgetKind, pdb({ minAvailable: "half" })))).toEqual(["spec.minAvailable"]);
  });
  it("prints MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS, AGE", () => {
    expect(headers(podDisruptionBudgetKind).default).toEqual(["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]);
    const p = pdb({ minAvailable: "50%" });
    p.status = { disruptionsAllowed: 1 };
    expect(cells(podDisruptionBudgetKind, p)).toMatchObject({ "Min Available": "50%", "Max Unavailable": "N/A", "Allowed Disruptions": 1 });
  });
});

/** The built-in kinds these definitions cover. */
const KINDS = [
  namespaceKind, podKind, configMapKind, secretKind, serviceKind, endpointsKind, nodeKind, eventKind, serviceAccountKind,
  persistentVolumeKind, persistentVolumeClaimKind, resourceQuotaKind, limitRangeKind, deploymentKind, replicaSetKind,
  statefulSetKind, daemonSetKind, jobKind, cronJobKind, ingressKind, ingressClassKind, leaseKind, hpaKind, eventsV1Kind,
  podDisruptionBudgetKind,
];

describe("every built-in kind", () => {
  it("declares its known top-level fields", () => {
    for (const k of KINDS) expect(k.fields, k.kind).toBeDefined();
  });
  it("has printer columns and does not repeat NAME or AGE by accident", () => {
    for (const k of KINDS) {
      const cols = (k.columns ?? []).map((c) => c.name);
      expect(cols.length, k.kind).toBeGreaterThan(0);
      expect(new Set(cols).size, k.kind).toBe(cols.length);
    }
  });
});
