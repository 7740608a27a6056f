import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/resources/types.ts";
import { SCORERS } from "../../src/scheduler/plugins.ts";
import { podInfo } from "../../src/scheduler/pod-info.ts";
import { buildCluster } from "../../src/scheduler/schedule.ts";
import { DEFAULT_CONFIG, type SchedulerConfig } from "../../src/scheduler/types.ts";
import { bound, node, pod } from "./scheduler-helpers.ts";

/** One score plugin's normalized scores (node -> 0..100) for a pod. */
function scores(plugin: string, p: KubeObject, nodes: KubeObject[], placed: KubeObject[] = [], config: Partial<SchedulerConfig> = {}) {
  const cluster = buildCluster(nodes, placed);
  const s = SCORERS.find((x) => x.name === plugin)!.score(podInfo(p), cluster.nodes, cluster, { ...DEFAULT_CONFIG, ...config });
  return Object.fromEntries(cluster.nodes.map((n, i) => [n.name, s[i]]));
}

describe("scheduler scores", () => {
  const nodes = [node("a", { cpu: "4", memory: "8Gi" }), node("b", { cpu: "4", memory: "8Gi" })];
  const placed = [bound(pod("x", { requests: { cpu: "2", memory: "4Gi" } }), "a")];
  const p = pod("p", { requests: { cpu: "1", memory: "2Gi" } });

  it("NodeResourcesFit: MostAllocated packs, LeastAllocated spreads; unset requests count as 100m/200Mi", () => {
    // a after placing: 3/4 cpu, 6/8Gi -> 75; b: 1/4, 2/8 -> 25.
    expect(scores("NodeResourcesFit", p, nodes, placed)).toEqual({ a: 75, b: 25 });
    expect(scores("NodeResourcesFit", p, nodes, placed, { scoringStrategy: "LeastAllocated" })).toEqual({ a: 25, b: 75 });
    // No requests: 100m of 4 cpu = 2 (floored 2.5), 200Mi of 8Gi = 2 (2.44) -> 2.
    expect(scores("NodeResourcesFit", pod("e"), [node("n")])).toEqual({ n: 2 });
    expect(scores("NodeResourcesFit", p, nodes, placed, { resourceWeights: { cpu: 3, memory: 1 }, scoringStrategy: "LeastAllocated" })).toEqual({ a: 25, b: 75 });
  });

  it("NodeAffinity: preferred terms' weights, scaled to the best node", () => {
    const labelled = [node("a", { labels: { disk: "ssd", zone: "z1" } }), node("b", { labels: { disk: "ssd" } }), node("c")];
    const prefer = pod("p", {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 60, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] } },
            { weight: 20, preference: { matchExpressions: [{ key: "zone", operator: "Exists" }] } },
          ],
        },
      },
    });
    expect(scores("NodeAffinity", prefer, labelled)).toEqual({ a: 100, b: 75, c: 0 });
    expect(scores("NodeAffinity", pod("q"), labelled)).toEqual({ a: 0, b: 0, c: 0 });
  });

  it("TaintToleration: fewer untolerated PreferNoSchedule taints score higher", () => {
    const tainted = [
      node("a", { taints: [{ key: "x", effect: "PreferNoSchedule" }, { key: "y", effect: "PreferNoSchedule" }] }),
      node("b", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }),
      node("c"),
    ];
    expect(scores("TaintToleration", pod("p"), tainted)).toEqual({ a: 0, b: 50, c: 100 });
    expect(scores("TaintToleration", pod("t", { tolerations: [{ key: "x", operator: "Exists" }] }), tainted)).toEqual({ a: 0, b: 100, c: 100 });
  });

  it("InterPodAffinity: preferred affinity attracts, preferred anti-affinity repels, per topology domain", () => {
    const zone = "topology.kubernetes.io/zone";
    const zoned = [node("a1", { labels: { [zone]: "a" } }), node("a2", { labels: { [zone]: "a" } }), node("b1", { labels: { [zone]: "b" } })];
    const cache = bound(pod("cache", {}, { labels: { app: "cache" } }), "a1");
    const term = (key: string) => ({ labelSelector: { matchLabels: { app: "cache" } }, topologyKey: key });
    const near = pod("p", { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term(zone) }] } } });
    expect(scores("InterPodAffinity", near, zoned, [cache])).toEqual({ a1: 100, a2: 100, b1: 0 });
    const apart = pod("p", { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term("kubernetes.io/hostname") }] } } });
    expect(scores("InterPodAffinity", apart, zoned, [cache])).toEqual({ a1: 0, a2: 100, b1: 100 });
    // A placed pod's preferred anti-affinity repels the newcomer from its domain.
    const shy = bound(pod("shy", { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: { labelSelector: { matchLabels: { app: "loud" } }, topologyKey: zone } }] } } }), "b1");
    expect(scores("InterPodAffinity", pod("l", {}, { labels: { app: "loud" } }), zoned, [shy])).toEqual({ a1: 100, a2: 100, b1: 0 });
  });

  it("PodTopologySpread (ScheduleAnyway): emptier domains score higher; nodes without the key get 0", () => {
    const zone = "topology.kubernetes.io/zone";
    const zoned = [node("a1", { labels: { [zone]: "a" } }), node("b1", { labels: { [zone]: "b" } }), node("c1", { labels: { [zone]: "c" } }), node("none")];
    const web = (name: string, on: string) => bound(pod(name, {}, { labels: { app: "web" } }), on);
    const p2 = pod("p", { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: zone, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] }, { labels: { app: "web" } });
    // counts a:2 b:1 c:0; weight log(3 + 2) = 1.609: raw a 3, b 2, c 0 -> 100*(3+0-raw)/3.
    expect(scores("PodTopologySpread", p2, zoned, [web("w1", "a1"), web("w2", "a1"), web("w3", "b1")])).toEqual({ a1: 0, b1: 33, c1: 100, none: 0 });
    expect(scores("PodTopologySpread", pod("q"), zoned)).toEqual({ a1: 0, b1: 0, c1: 0, none: 0 });
  });
});
