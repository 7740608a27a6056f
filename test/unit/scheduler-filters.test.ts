import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/resources/types.ts";
import { buildCluster } from "../../src/scheduler/schedule.ts";
import { FILTERS } from "../../src/scheduler/plugins.ts";
import { podInfo } from "../../src/scheduler/pod-info.ts";
import { podRequests } from "../../src/scheduler/pod-requests.ts";
import { bound, node, pod } from "./scheduler-helpers.ts";

/** Runs one filter plugin for a pod over every node; returns node -> reasons ("ok" when it fits). */
function run(filter: string, p: KubeObject, nodes: KubeObject[], placed: KubeObject[] = [], namespaces: KubeObject[] = []) {
  const cluster = buildCluster(nodes, placed, namespaces);
  const f = FILTERS.find((x) => x.name === filter)!.prepare(podInfo(p), cluster);
  return Object.fromEntries(cluster.nodes.map((n) => [n.name, f(n)?.join("; ") ?? "ok"]));
}

describe("scheduler filters", () => {
  it("NodeName", () => {
    expect(run("NodeName", pod("p", { nodeName: "b" }), [node("a"), node("b")])).toEqual({ a: "node(s) didn't match the requested node name", b: "ok" });
  });

  it("NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint", () => {
    const nodes = [node("a", { unschedulable: true }), node("b")];
    expect(run("NodeUnschedulable", pod("p"), nodes)).toEqual({ a: "node(s) were unschedulable", b: "ok" });
    const tolerant = pod("t", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] });
    expect(run("NodeUnschedulable", tolerant, nodes)).toEqual({ a: "ok", b: "ok" });
  });

  it("NodeAffinity: nodeSelector and every matchExpressions operator, matchFields metadata.name", () => {
    const nodes = [node("a", { labels: { disk: "ssd", gen: "3" } }), node("b", { labels: { disk: "hdd", gen: "5" } }), node("c")];
    const miss = "node(s) didn't match Pod's node affinity/selector";
    expect(run("NodeAffinity", pod("p", { nodeSelector: { disk: "ssd" } }), nodes)).toEqual({ a: "ok", b: miss, c: miss });
    const affinity = (exprs: unknown[], fields: unknown[] = []) =>
      pod("p", { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs, matchFields: fields }] } } } });
    expect(run("NodeAffinity", affinity([{ key: "disk", operator: "In", values: ["hdd", "nvme"] }]), nodes)).toEqual({ a: miss, b: "ok", c: miss });
    expect(run("NodeAffinity", affinity([{ key: "disk", operator: "NotIn", values: ["hdd"] }]), nodes)).toEqual({ a: "ok", b: miss, c: "ok" });
    expect(run("NodeAffinity", affinity([{ key: "disk", operator: "Exists" }]), nodes)).toEqual({ a: "ok", b: "ok", c: miss });
    expect(run("NodeAffinity", affinity([{ key: "disk", operator: "DoesNotExist" }]), nodes)).toEqual({ a: miss, b: miss, c: "ok" });
    expect(run("NodeAffinity", affinity([{ key: "gen", operator: "Gt", values: ["4"] }]), nodes)).toEqual({ a: miss, b: "ok", c: miss });
    expect(run("NodeAffinity", affinity([{ key: "gen", operator: "Lt", values: ["4"] }]), nodes)).toEqual({ a: "ok", b: miss, c: miss });
    expect(run("NodeAffinity", affinity([], [{ key: "metadata.name", operator: "In", values: ["c"] }]), nodes)).toEqual({ a: miss, b: miss, c: "ok" });
    // Terms are ORed; an empty term matches nothing.
    const two = pod("p", { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{}, { matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["a"] }] }] } } } });
    expect(run("NodeAffinity", two, nodes)).toEqual({ a: miss, b: "ok", c: "ok" });
  });

  it("TaintToleration: NoSchedule and NoExecute must be tolerated, PreferNoSchedule never filters; NotReady nodes are tainted", () => {
    const nodes = [
      node("cp", { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] }),
      node("gpu", { taints: [{ key: "gpu", value: "true", effect: "NoExecute" }] }),
      node("soft", { taints: [{ key: "spot", value: "yes", effect: "PreferNoSchedule" }] }),
      node("down", { ready: "False" }),
      node("lost", { ready: "Unknown" }),
    ];
    expect(run("TaintToleration", pod("p"), nodes)).toEqual({
      cp: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
      gpu: "node(s) had untolerated taint {gpu: true}",
      soft: "ok",
      down: "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
      lost: "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
    });
    const tolerant = pod("t", {
      tolerations: [
        { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
        { key: "gpu", operator: "Equal", value: "true" },
      ],
    });
    expect(run("TaintToleration", tolerant, nodes.slice(0, 3))).toEqual({ cp: "ok", gpu: "ok", soft: "ok" });
    expect(run("TaintToleration", pod("w", { tolerations: [{ key: "gpu", value: "false", effect: "NoExecute" }] }), [nodes[1]])).toEqual({
      gpu: "node(s) had untolerated taint {gpu: true}",
    });
    expect(run("TaintToleration", pod("all", { tolerations: [{ operator: "Exists" }] }), nodes)).toEqual({ cp: "ok", gpu: "ok", soft: "ok", down: "ok", lost: "ok" });
  });

  it("NodeResourcesFit: requests against allocatable minus bound, non-terminated pods", () => {
    const nodes = [node("a", { cpu: "2", memory: "4Gi", pods: 2 }), node("b", { cpu: "1", memory: "1Gi" })];
    const placed = [
      bound(pod("x", { requests: { cpu: "1500m", memory: "1Gi" } }), "a"),
      bound(pod("done", { requests: { cpu: "2" } }), "b", "Succeeded"),
      bound(pod("elsewhere", { requests: { cpu: "2" } }), "gone-node"),
    ];
    expect(run("NodeResourcesFit", pod("p", { requests: { cpu: "600m", memory: "2Gi" } }), nodes, placed)).toEqual({
      a: "Insufficient cpu",
      b: "Insufficient memory",
    });
    expect(run("NodeResourcesFit", pod("p", { requests: { cpu: "500m", "ephemeral-storage": "200Gi" } }), nodes, placed)).toEqual({
      a: "Insufficient ephemeral-storage",
      b: "Insufficient ephemeral-storage",
    });
    expect(run("NodeResourcesFit", pod("p"), nodes, [...placed, bound(pod("y"), "a")])).toEqual({ a: "Too many pods", b: "ok" });
    expect(run("NodeResourcesFit", pod("p", { requests: { cpu: "3", memory: "9Gi" } }), nodes)).toEqual({ a: "Insufficient cpu; Insufficient memory", b: "Insufficient cpu; Insufficient memory" });
    expect(run("NodeResourcesFit", pod("p", { requests: { "nvidia.com/gpu": "1" } }), [node("g", { extra: { "nvidia.com/gpu": "1" } }), node("n")])).toEqual({ g: "ok", n: "Insufficient nvidia.com/gpu" });
    // A node that reports no allocatable takes no pods.
    expect(run("NodeResourcesFit", pod("p"), [{ apiVersion: "v1", kind: "Node", metadata: { name: "bare" } }])).toEqual({ bare: "Too many pods" });
  });

  it("pod requests: containers summed, init containers by the max rule, sidecars, limits as requests, overhead", () => {
    const c = (cpu: string, memory?: string, extra: Record<string, unknown> = {}) => ({ name: "c", image: "i", resources: { requests: { cpu, ...(memory ? { memory } : {}) } }, ...extra });
    expect(podRequests({ containers: [c("100m", "64Mi"), c("200m")], initContainers: [c("250m"), c("50m", "1Gi")] })).toEqual({ cpu: 300, memory: 1024 ** 3 });
    expect(podRequests({ containers: [c("100m")], initContainers: [c("500m")] })).toEqual({ cpu: 500 });
    // A sidecar runs alongside later init containers and the app containers.
    expect(podRequests({ containers: [c("100m")], initContainers: [c("200m", undefined, { restartPolicy: "Always" }), c("400m")] })).toEqual({ cpu: 600 });
    expect(podRequests({ containers: [{ name: "c", image: "i", resources: { limits: { cpu: "1", memory: "1Gi" } } }], overhead: { cpu: "10m" } })).toEqual({ cpu: 1010, memory: 1024 ** 3 });
  });

  it("NodePorts: host ports clash per protocol and address", () => {
    const withPort = (name: string, port: Record<string, unknown>) => pod(name, { containers: [{ name: "c", image: "i", ports: [{ containerPort: 80, ...port }] }] });
    const nodes = [node("a"), node("b"), node("c")];
    const placed = [bound(withPort("x", { hostPort: 8080, protocol: "TCP" }), "a"), bound(withPort("y", { hostPort: 8080, protocol: "UDP", hostIP: "10.0.0.1" }), "b")];
    const busy = "node(s) didn't have free ports for the requested pod ports";
    expect(run("NodePorts", withPort("p", { hostPort: 8080, protocol: "TCP" }), nodes, placed)).toEqual({ a: busy, b: "ok", c: "ok" });
    expect(run("NodePorts", withPort("p", { hostPort: 8080, protocol: "UDP" }), nodes, placed)).toEqual({ a: "ok", b: busy, c: "ok" });
    expect(run("NodePorts", withPort("p", { hostPort: 8080, protocol: "UDP", hostIP: "10.0.0.2" }), nodes, placed)).toEqual({ a: "ok", b: "ok", c: "ok" });
    expect(run("NodePorts", withPort("p", {}), nodes, placed)).toEqual({ a: "ok", b: "ok", c: "ok" });
  });

  it("InterPodAffinity: required affinity and anti-affinity by hostname and zone, and placed pods' anti-affinity", () => {
    const nodes = [
      node("a1", { labels: { "topology.kubernetes.io/zone": "a" } }),
      node("a2", { labels: { "topology.kubernetes.io/zone": "a" } }),
      node("b1", { labels: { "topology.kubernetes.io/zone": "b" } }),
      node("nozone"),
    ];
    const db = bound(pod("db", {}, { labels: { app: "db" } }), "a1");
    const term = (key: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({ labelSelector: { matchLabels: labels }, topologyKey: key, ...extra });
    const near = pod("web", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("topology.kubernetes.io/zone", { app: "db" })] } } });
    const aff = "node(s) didn't match pod affinity rules";
    expect(run("InterPodAffinity", near, nodes, [db])).toEqual({ a1: "ok", a2: "ok", b1: aff, nozone: aff });
    // Another namespace's pods are not selected unless the term names it.
    const other = { ...db, metadata: { ...db.metadata, namespace: "other" } };
    expect(run("InterPodAffinity", near, nodes, [other])).toEqual({ a1: aff, a2: aff, b1: aff, nozone: aff });
    const listed = pod("web", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("kubernetes.io/hostname", { app: "db" }, { namespaces: ["other"] })] } } });
    expect(run("InterPodAffinity", listed, nodes, [other])).toEqual({ a1: "ok", a2: aff, b1: aff, nozone: aff });
    const bySelector = pod("web", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("kubernetes.io/hostname", { app: "db" }, { namespaceSelector: { matchLabels: { team: "data" } } })] } } });
    const ns = [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "other", labels: { team: "data" } } }];
    expect(run("InterPodAffinity", bySelector, nodes, [other], ns)).toEqual({ a1: "ok", a2: aff, b1: aff, nozone: aff });
    // The first pod of a group that selects itself may go anywhere with the key.
    const first = pod("w0", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("topology.kubernetes.io/zone", { app: "web" })] } } }, { labels: { app: "web" } });
    expect(run("InterPodAffinity", first, nodes, [db])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: aff });

    const apart = pod("r", { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("kubernetes.io/hostname", { app: "db" })] } } });
    const anti = "node(s) didn't match pod anti-affinity rules";
    expect(run("InterPodAffinity", apart, nodes, [db])).toEqual({ a1: anti, a2: "ok", b1: "ok", nozone: "ok" });
    const zoneApart = pod("r", { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("topology.kubernetes.io/zone", { app: "db" })] } } });
    expect(run("InterPodAffinity", zoneApart, nodes, [db])).toEqual({ a1: anti, a2: anti, b1: "ok", nozone: "ok" });

    const loner = bound(pod("loner", { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("topology.kubernetes.io/zone", { app: "noisy" })] } } }), "b1");
    expect(run("InterPodAffinity", pod("n", {}, { labels: { app: "noisy" } }), nodes, [loner])).toEqual({
      a1: "ok",
      a2: "ok",
      b1: "node(s) didn't satisfy existing pods anti-affinity rules",
      nozone: "ok",
    });
    expect(run("InterPodAffinity", pod("q", {}, { labels: { app: "quiet" } }), nodes, [loner])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: "ok" });
  });

  it("PodTopologySpread (DoNotSchedule): maxSkew over domains, missing keys, minDomains, node affinity honoured", () => {
    const zone = "topology.kubernetes.io/zone";
    const nodes = [node("a1", { labels: { [zone]: "a" } }), node("a2", { labels: { [zone]: "a" } }), node("b1", { labels: { [zone]: "b" } }), node("nozone")];
    const spread = (extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
      pod("p", { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "web" } }, ...extra }], ...spec }, { labels: { app: "web" } });
    const web = (name: string, on: string, meta: Record<string, unknown> = {}) => bound(pod(name, {}, { labels: { app: "web" }, ...meta }), on);
    const skew = "node(s) didn't match pod topology spread constraints";
    const missing = "node(s) didn't match pod topology spread constraints (missing required label)";
    expect(run("PodTopologySpread", spread(), nodes, [web("w1", "a1")])).toEqual({ a1: skew, a2: skew, b1: "ok", nozone: missing });
    expect(run("PodTopologySpread", spread(), nodes, [web("w1", "a1"), web("w2", "b1")])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: missing });
    // Terminating pods and other namespaces' pods are not counted.
    expect(run("PodTopologySpread", spread(), nodes, [web("w1", "a1", { deletionTimestamp: "2024-01-01T00:00:00Z" }), web("w2", "a2", { namespace: "x" })])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: missing });
    // minDomains 3 with only 2 domains: the global minimum counts as 0.
    expect(run("PodTopologySpread", spread({ minDomains: 3 }), nodes, [web("w1", "a1"), web("w2", "b1")])).toEqual({ a1: skew, a2: skew, b1: skew, nozone: missing });
    // With node affinity to zone a only, zone b is not a domain: a is the minimum.
    const onlyA = { nodeSelector: { [zone]: "a" } };
    expect(run("PodTopologySpread", spread({}, onlyA), nodes, [web("w1", "a1"), web("w2", "a2")])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: missing });
    expect(run("PodTopologySpread", spread({ nodeAffinityPolicy: "Ignore" }, onlyA), nodes, [web("w1", "a1"), web("w2", "a2")])).toEqual({ a1: skew, a2: skew, b1: "ok", nozone: missing });
    // ScheduleAnyway constraints never filter.
    expect(run("PodTopologySpread", spread({ whenUnsatisfiable: "ScheduleAnyway" }), nodes, [web("w1", "a1")])).toEqual({ a1: "ok", a2: "ok", b1: "ok", nozone: "ok" });
  });
});
