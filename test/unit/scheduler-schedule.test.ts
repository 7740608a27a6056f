import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/resources/types.ts";
import { failureMessage } from "../../src/scheduler/failure-message.ts";
import { feasibleNodesToFind, schedule } from "../../src/scheduler/schedule.ts";
import type { Decision } from "../../src/scheduler/types.ts";
import { bound, node, pod } from "./scheduler-helpers.ts";

const placements = (ds: Decision[]) => Object.fromEntries(ds.map((d) => [d.pod.metadata.name, d.nodeName ?? ("message" in d ? d.message : "")]));

describe("schedule", () => {
  it("places a batch without overcommitting: bin packing by default, spreading with LeastAllocated", () => {
    const nodes = [node("a", { cpu: "2" }), node("b", { cpu: "2" })];
    const pods = ["p1", "p2", "p3", "p4", "p5"].map((n) => pod(n, { requests: { cpu: "1" } }));
    expect(placements(schedule(pods, nodes, []))).toEqual({
      p1: "a",
      p2: "a",
      p3: "b",
      p4: "b",
      p5: "0/2 nodes are available: 2 Insufficient cpu.",
    });
    expect(placements(schedule(pods.slice(0, 4), nodes, [], { scoringStrategy: "LeastAllocated" }))).toEqual({ p1: "a", p2: "b", p3: "a", p4: "b" });
  });

  it("bin packing prefers the node already in use", () => {
    const nodes = [node("a", { cpu: "4" }), node("b", { cpu: "4" })];
    expect(placements(schedule([pod("p", { requests: { cpu: "1" } })], nodes, [bound(pod("x", { requests: { cpu: "1" } }), "b")]))).toEqual({ p: "b" });
  });

  it("higher priority pods are placed first", () => {
    const nodes = [node("a", { cpu: "1" })];
    const low = pod("low", { requests: { cpu: "1" } });
    const high = pod("high", { requests: { cpu: "1" }, priority: 1000 });
    const ds = schedule([low, high], nodes, []);
    expect(ds.map((d) => [d.pod.metadata.name, d.nodeName ?? "-"])).toEqual([
      ["high", "a"],
      ["low", "-"],
    ]);
  });

  it("aggregates the reasons of every node into kube-scheduler's message", () => {
    const nodes = [
      node("cp", { labels: { "node-role.kubernetes.io/control-plane": "" }, taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] }),
      node("w1", { cpu: "1" }),
      node("w2", { cpu: "1" }),
    ];
    const [d] = schedule([pod("big", { requests: { cpu: "2" } })], nodes, []);
    expect(d).toEqual({
      pod: expect.anything(),
      message: "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.",
      reasons: { "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }": 1, "Insufficient cpu": 2 },
    });
    expect(failureMessage(0, {})).toBe("no nodes available to schedule pods");
    expect(schedule([pod("p")], [], [])[0]).toMatchObject({ message: "no nodes available to schedule pods" });
  });

  it("a cordoned or NotReady node gets no pods; the others still do", () => {
    const nodes = [node("cordoned", { unschedulable: true }), node("down", { ready: "False" }), node("ok")];
    expect(placements(schedule([pod("p")], nodes, []))).toEqual({ p: "ok" });
    expect(placements(schedule([pod("p")], nodes.slice(0, 2), []))).toEqual({
      p: "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    });
  });

  it("anti-affinity replicas in one batch land on distinct hosts; the extra one is unschedulable", () => {
    const nodes = [node("a"), node("b")];
    const replica = (n: string) =>
      pod(n, { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "r" } }, topologyKey: "kubernetes.io/hostname" }] } } }, { labels: { app: "r" } });
    expect(placements(schedule([replica("r1"), replica("r2"), replica("r3")], nodes, []))).toEqual({
      r1: "a",
      r2: "b",
      r3: "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
    });
  });

  it("a pod whose affinity target is placed later in the same batch is retried", () => {
    const zone = "topology.kubernetes.io/zone";
    const nodes = [node("a1", { labels: { [zone]: "a" } }), node("b1", { labels: { [zone]: "b" }, cpu: "8" })];
    // "web" sorts first (higher priority) but needs "db", which only fits on b1.
    const web = pod("web", { priority: 10, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: zone }] } } });
    const db = pod("db", { requests: { cpu: "6" } }, { labels: { app: "db" } });
    expect(placements(schedule([web, db], nodes, []))).toEqual({ web: "b1", db: "b1" });
  });

  it("topology spread (DoNotSchedule) spreads a batch over zones", () => {
    const zone = "topology.kubernetes.io/zone";
    const nodes = [node("a1", { labels: { [zone]: "a" } }), node("a2", { labels: { [zone]: "a" } }), node("b1", { labels: { [zone]: "b" } })];
    const web = (n: string) =>
      pod(n, { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "web" } } }] }, { labels: { app: "web" } });
    const ds = schedule(["w1", "w2", "w3", "w4"].map(web), nodes, []);
    const zoneOf = (n?: string) => (n === "b1" ? "b" : "a");
    expect(ds.map((d) => zoneOf(d.nodeName))).toEqual(["a", "b", "a", "b"]);
  });

  it("host ports: two pods wanting the same port in one batch go to different nodes", () => {
    const withPort = (n: string) => pod(n, { containers: [{ name: "c", image: "i", ports: [{ containerPort: 80, hostPort: 80, protocol: "TCP" }] }] });
    expect(placements(schedule([withPort("h1"), withPort("h2"), withPort("h3")], [node("a"), node("b")], []))).toEqual({
      h1: "a",
      h2: "b",
      h3: "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
    });
  });

  it("scores only a share of large clusters, as kube-scheduler does", () => {
    expect(feasibleNodesToFind(50, 0)).toBe(50);
    expect(feasibleNodesToFind(1000, 0)).toBe(420);
    expect(feasibleNodesToFind(5000, 0)).toBe(500);
    expect(feasibleNodesToFind(1000, 100)).toBe(1000);
    expect(feasibleNodesToFind(150, 10)).toBe(100);
  });

  it("places 2,000 pods on 500 nodes without exceeding any node's cpu", () => {
    const nodes: KubeObject[] = Array.from({ length: 500 }, (_, i) => node(`n${String(i).padStart(3, "0")}`, { cpu: "2" }));
    const pods = Array.from({ length: 2000 }, (_, i) => pod(`p${i}`, { requests: { cpu: "500m" } }));
    const ds = schedule(pods, nodes, []);
    const perNode = new Map<string, number>();
    for (const d of ds) if (d.nodeName) perNode.set(d.nodeName, (perNode.get(d.nodeName) ?? 0) + 1);
    expect(ds.filter((d) => !d.nodeName)).toHaveLength(0);
    expect(Math.max(...perNode.values())).toBe(4);
    expect(perNode.size).toBe(500);
  });
});
