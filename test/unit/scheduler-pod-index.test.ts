import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/resources/types.ts";
import { addPod } from "../../src/scheduler/node-info.ts";
import { PodIndex } from "../../src/scheduler/pod-index.ts";
import { podInfo } from "../../src/scheduler/pod-info.ts";
import { buildCluster } from "../../src/scheduler/schedule.ts";
import type { ClusterState } from "../../src/scheduler/types.ts";
import { bound, node, pod } from "./scheduler-helpers.ts";

/** What a round's cluster says, comparable: per node its accounting and pods, and the affinity pods. */
const summary = (c: ClusterState) => ({
  nodes: c.nodes.map((n) => ({
    name: n.name,
    requested: n.requested,
    nonZero: n.nonZeroRequested,
    pods: n.pods.map((p) => p.name).sort(),
    ports: n.usedPorts.map((p) => p.hostPort).sort(),
  })),
  affinity: c.affinityPods.map((a) => `${a.pod.name}@${a.node.name}`).sort(),
});

const key = (p: KubeObject) => `core/pods/${p.metadata.namespace}/${p.metadata.name}`;

describe("PodIndex (the scheduler's pods, change by change)", () => {
  const nodes = [node("a"), node("b")];
  const web = pod("web", { requests: { cpu: "500m", memory: "1Gi" }, containers: [{ name: "c", image: "i", ports: [{ containerPort: 80, hostPort: 8080 }], resources: { requests: { cpu: "500m" } } }] });
  const db = pod("db", { requests: { cpu: "1", memory: "2Gi" } });
  const spread = pod("spread", {
    requests: { cpu: "100m" },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "x" } }, topologyKey: "kubernetes.io/hostname" }] } },
  });
  const waiting = pod("waiting", { requests: { cpu: "2" } });
  const gated = pod("gated", { schedulingGates: [{ name: "g" }] });
  const other = pod("other", { schedulerName: "someone-else" });

  it("accounts bound pods per node as buildCluster does, and keeps the pending ones", () => {
    const index = new PodIndex();
    const pods = [bound(web, "a"), bound(db, "b"), bound(spread, "a"), waiting, gated, other];
    index.reset(new Map(pods.map((p) => [key(p), p])));
    expect(summary(index.cluster(nodes))).toEqual(summary(buildCluster(nodes, pods.filter((p) => (p.spec as { nodeName?: string }).nodeName))));
    expect([...index.pending.values()].map((p) => p.metadata.name)).toEqual(["waiting"]);
    expect(index.selectsNamespaces).toBe(false);
  });

  it("follows bindings, finished pods, deletions and moves, summing again only the nodes they touch", () => {
    const index = new PodIndex();
    const start = [bound(web, "a"), bound(db, "b"), waiting];
    index.reset(new Map(start.map((p) => [key(p), p])));
    const round1 = index.cluster(nodes);
    // The round's copies take placements without changing the index.
    addPod(round1.byName.get("a")!, podInfo(bound(waiting, "a")));
    expect(index.cluster(nodes).byName.get("a")!.pods.map((p) => p.name)).toEqual(["web"]);

    const placed = bound(waiting, "b");
    index.changed(key(waiting), waiting, placed); // the binding committed
    const done = bound(web, "a", "Succeeded");
    index.changed(key(web), bound(web, "a"), undefined); // finished: the mirror keeps it no more
    const withAffinity = bound(spread, "b");
    index.changed(key(spread), undefined, withAffinity);
    const now = [placed, bound(db, "b"), withAffinity];
    expect(index.pending.size).toBe(0);
    expect(summary(index.cluster(nodes))).toEqual(summary(buildCluster(nodes, [...now, done])));
    expect(summary(index.cluster(nodes)).affinity).toEqual(["spread@b"]);

    index.changed(key(db), bound(db, "b"), undefined); // deleted
    expect(summary(index.cluster(nodes))).toEqual(summary(buildCluster(nodes, [placed, withAffinity])));
    // A node that is gone drops out; its pods come back with it.
    expect(index.cluster([node("a")]).nodes.map((n) => n.name)).toEqual(["a"]);
    expect(summary(index.cluster(nodes))).toEqual(summary(buildCluster(nodes, [placed, withAffinity])));
  });

  it("sums a node again when its object changes (allocatable, taints)", () => {
    const index = new PodIndex();
    const p = bound(db, "a");
    index.reset(new Map([[key(p), p]]));
    expect(index.cluster([node("a")]).nodes[0].allocatable.cpu).toBe(4000);
    const bigger = [node("a", { cpu: "8" })];
    const c = index.cluster(bigger);
    expect(c.nodes[0].allocatable.cpu).toBe(8000);
    expect(c.nodes[0].requested.cpu).toBe(1000);
  });

  it("knows when some pod's affinity selects namespaces, until that pod is gone", () => {
    const index = new PodIndex();
    const selecting = pod("sel", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {}, namespaceSelector: { matchLabels: { team: "x" } }, topologyKey: "kubernetes.io/hostname" }] } } });
    index.reset(new Map());
    index.changed(key(selecting), undefined, selecting);
    expect(index.selectsNamespaces).toBe(true);
    index.changed(key(selecting), selecting, undefined);
    expect(index.selectsNamespaces).toBe(false);
  });
});
