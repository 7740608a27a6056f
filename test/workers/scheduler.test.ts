import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { runScheduler } from "../../src/scheduler/loop.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/** The scheduler in the cluster hub over real D1 and Durable Objects, driven through the API. */

const cluster = () => env.HUB.get(env.HUB.idFromName("cluster"));
const created: { nodes: string[]; pods: string[] } = { nodes: [], pods: [] };

async function node(name: string, opts: { cpu?: string; labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean; ready?: string } = {}) {
  const r = await apiJson("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...opts.labels } },
    spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...(opts.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: opts.cpu ?? "2", memory: "4Gi", pods: "110" }, conditions: [{ type: "Ready", status: opts.ready ?? "True" }] },
  });
  expect(r.status).toBe(201);
  created.nodes.push(name);
}

async function pod(ns: string, name: string, spec: Record<string, unknown> = {}, cpu?: string) {
  const r = await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c", image: "i", resources: cpu ? { requests: { cpu } } : {} }], ...spec },
  });
  expect(r.status).toBe(201);
  created.pods.push(`${ns}/${name}`);
  return r.body;
}

const getPod = async (ns: string, name: string) => (await apiJson("GET", `/api/v1/namespaces/${ns}/pods/${name}`)).body;
const scheduledCondition = (p: any) => (p.status?.conditions ?? []).find((c: { type: string }) => c.type === "PodScheduled");

/** Waits (running the cluster hub's alarm when set) until `check` holds; fails with `what` after 10 s. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await runDurableObjectAlarm(cluster());
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nodeOf = (ns: string, name: string) => until(`${ns}/${name} bound`, async () => (await getPod(ns, name)).spec.nodeName as string | undefined);
const unschedulableMessage = (ns: string, name: string, message?: string) =>
  until(`${ns}/${name} unschedulable${message ? `: ${message}` : ""}`, async () => {
    const c = scheduledCondition(await getPod(ns, name));
    return c?.status === "False" && (message === undefined || c.message === message) ? c : undefined;
  });

async function events(ns: string, pod: string) {
  return (await apiJson("GET", `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3D${pod}`)).body.items as any[];
}

afterEach(async () => {
  for (const p of created.pods.splice(0)) {
    const [ns, name] = p.split("/");
    await apiJson("DELETE", `/api/v1/namespaces/${ns}/pods/${name}?gracePeriodSeconds=0`);
  }
  for (const n of created.nodes.splice(0)) await apiJson("DELETE", `/api/v1/nodes/${n}`);
});

describe("scheduler (cluster hub)", () => {
  it("binds pods created unbound by bin packing, never overcommits, and explains the one that does not fit", async () => {
    await createNamespace("sched-a");
    await node("cp", { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] });
    await node("n1");
    await node("n2");
    for (const name of ["p1", "p2", "p3", "p4", "p5"]) await pod("sched-a", name, {}, "1");
    expect(await nodeOf("sched-a", "p1")).toBe("n1");
    expect(await nodeOf("sched-a", "p2")).toBe("n1");
    expect(await nodeOf("sched-a", "p3")).toBe("n2");
    expect(await nodeOf("sched-a", "p4")).toBe("n2");
    const message = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.";
    const c = await unschedulableMessage("sched-a", "p5", message);
    expect(c).toMatchObject({ type: "PodScheduled", status: "False", reason: "Unschedulable", message });
    const p5 = await getPod("sched-a", "p5");
    expect(p5.spec.nodeName).toBeUndefined();
    expect(p5.status.phase).toBe("Pending");
    const failed = await events("sched-a", "p5");
    expect(failed.map((e) => [e.type, e.reason, e.message, e.source.component])).toEqual([["Warning", "FailedScheduling", message, "default-scheduler"]]);
    const scheduled = await events("sched-a", "p1");
    expect(scheduled.map((e) => [e.type, e.reason, e.message])).toEqual([["Normal", "Scheduled", "Successfully assigned sched-a/p1 to n1"]]);
    expect(scheduledCondition(await getPod("sched-a", "p1")).status).toBe("True");

    // A bound pod goes away: the waiting one is retried and fits where it was.
    expect((await apiJson("DELETE", "/api/v1/namespaces/sched-a/pods/p1?gracePeriodSeconds=0")).status).toBe(200);
    expect(await nodeOf("sched-a", "p5")).toBe("n1");
    expect(scheduledCondition(await getPod("sched-a", "p5"))).toMatchObject({ status: "True" });
  });

  it("retries unschedulable pods when nodes change: a new cordoned node, then uncordoned", async () => {
    await createNamespace("sched-b");
    await node("b1");
    await node("b-down", { ready: "False", labels: { disk: "ssd" } });
    await pod("sched-b", "wants-ssd", { nodeSelector: { disk: "ssd" } });
    await unschedulableMessage(
      "sched-b",
      "wants-ssd",
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
    );
    await node("b-ssd", { labels: { disk: "ssd" }, unschedulable: true });
    await unschedulableMessage(
      "sched-b",
      "wants-ssd",
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    );
    const uncordon = await apiJson("PATCH", "/api/v1/nodes/b-ssd", { spec: { unschedulable: false } }, { contentType: "application/merge-patch+json" });
    expect(uncordon.status).toBe(200);
    expect(await nodeOf("sched-b", "wants-ssd")).toBe("b-ssd");
    // Two messages over time: two FailedScheduling events, one per message, then Scheduled.
    expect((await events("sched-b", "wants-ssd")).map((e) => e.reason).sort()).toEqual(["FailedScheduling", "FailedScheduling", "Scheduled"]);
  });

  it("leaves pods of other schedulers alone, and keeps no work pending when nothing waits", async () => {
    await createNamespace("sched-c");
    await node("c1");
    await pod("sched-c", "mine");
    await pod("sched-c", "theirs", { schedulerName: "other-scheduler" });
    expect(await nodeOf("sched-c", "mine")).toBe("c1");
    const state = await until("the scheduler to go idle", () =>
      runInDurableObject(cluster(), async (_hub, s) => {
        const keys = await s.storage.list({ prefix: "scheduler:" });
        return keys.size === 0 ? keys : undefined;
      }),
    );
    expect([...state.keys()]).toEqual([]);
    const theirs = await getPod("sched-c", "theirs");
    expect(theirs.spec.nodeName).toBeUndefined();
    expect(scheduledCondition(theirs)).toBeUndefined();
    expect(await runScheduler(env)).toMatchObject({ pending: 0, bound: 0, unschedulable: 0, conflicts: 0, writes: 0 });
  });

  it("stands by while another holder has kube-scheduler's lease, and works the backlog off once it is deleted", async () => {
    await createNamespace("sched-l");
    await node("l1");
    const held = await apiJson("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "kube-scheduler" },
      spec: { holderIdentity: "ops-pause", leaseDurationSeconds: 600, renewTime: new Date().toISOString().replace("Z", "000Z") },
    });
    expect(held.status).toBe(201);
    try {
      await pod("sched-l", "waits");
      for (let i = 0; i < 5; i++) {
        await runDurableObjectAlarm(cluster());
        await new Promise((r) => setTimeout(r, 20));
      }
      const waiting = await getPod("sched-l", "waits");
      expect(waiting.spec.nodeName).toBeUndefined();
      expect(scheduledCondition(waiting)).toBeUndefined(); // standing by writes nothing
    } finally {
      expect((await apiJson("DELETE", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler")).status).toBe(200);
    }
    expect(await nodeOf("sched-l", "waits")).toBe("l1");
  });

  it("places at most SCHEDULER_MAX_PODS_PER_ROUND pods a round, the queue's head first, and leaves the rest for the next", async () => {
    await createNamespace("sched-r");
    await node("r1", { cpu: "8" });
    // Another holder's lease keeps the hub's own rounds standing by; this round runs at a time after it expires.
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "kube-scheduler" }, spec: { holderIdentity: "ops", leaseDurationSeconds: 600, renewTime: new Date().toISOString().replace("Z", "000Z") } };
    expect((await apiJson("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", lease)).status).toBe(201);
    try {
      await pod("sched-r", "p1-old");
      await pod("sched-r", "p2-newer");
      await pod("sched-r", "urgent", { priority: 1000 });
      const first = await runScheduler({ ...env, SCHEDULER_MAX_PODS_PER_ROUND: "2" }, Date.now() + 601_000);
      expect(first).toMatchObject({ pending: 3, bound: 2, conflicts: 0, deferred: 1 });
      // Highest priority first, then the oldest (creation times are in seconds: then by name).
      const nodes = await Promise.all(["urgent", "p1-old", "p2-newer"].map(async (n) => (await getPod("sched-r", n)).spec.nodeName ?? null));
      expect(nodes).toEqual(["r1", "r1", null]);
    } finally {
      expect((await apiJson("DELETE", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler")).status).toBe(200);
    }
    expect(await nodeOf("sched-r", "p2-newer")).toBe("r1");
  });

  it("binds a pod once even when two scheduler rounds race", async () => {
    await createNamespace("sched-d");
    await node("d1");
    await node("d2");
    await pod("sched-d", "only", { schedulingGates: [{ name: "hold" }] });
    // Gated pods wait; lifting the gate makes it pending. Two rounds race for it.
    const lifted = await apiJson("PATCH", "/api/v1/namespaces/sched-d/pods/only", { spec: { schedulingGates: null } }, { contentType: "application/merge-patch+json" });
    expect(lifted.status).toBe(200);
    // (The hub's own alarm, woken by the patch, may be a third contender.)
    const [a, b] = await Promise.all([runScheduler(env), runScheduler(env)]);
    expect(a.bound + b.bound).toBeLessThanOrEqual(1);
    expect(["d1", "d2"]).toContain(await nodeOf("sched-d", "only"));
    const p = await getPod("sched-d", "only");
    expect(p.status.conditions.filter((c: { type: string }) => c.type === "PodScheduled")).toHaveLength(1);
    expect((await events("sched-d", "only")).map((e) => [e.reason, e.count])).toEqual([["Scheduled", 1]]);
  });
});

describe("priority and preemption", () => {
  it("resolves priorityClassName, preempts a lower-priority pod, and binds the preemptor once it is gone", async () => {
    await createNamespace("sched-prio");
    const pc = await apiJson("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "urgent" }, value: 1000 });
    expect(pc.status).toBe(201);
    expect(pc.body.preemptionPolicy).toBe("PreemptLowerPriority");
    const missing = await apiJson("POST", "/api/v1/namespaces/sched-prio/pods", {
      metadata: { name: "nope" },
      spec: { priorityClassName: "no-such", containers: [{ name: "c", image: "i" }] },
    });
    expect(missing.status).toBe(403);
    expect(missing.body.message).toBe('pods "nope" is forbidden: no PriorityClass with name no-such was found');

    await node("prio-1", { cpu: "1" });
    await pod("sched-prio", "filler", {}, "1");
    expect(await nodeOf("sched-prio", "filler")).toBe("prio-1");
    const vip = await pod("sched-prio", "vip", { priorityClassName: "urgent" }, "1");
    expect(vip.spec.priority).toBe(1000);
    // The filler is deleted gracefully (its node's agent would stop it); the preemptor waits, nominated.
    const nominated = await until("vip nominated", async () => (await getPod("sched-prio", "vip")).status?.nominatedNodeName);
    expect(nominated).toBe("prio-1");
    const filler = await getPod("sched-prio", "filler");
    expect(filler.metadata.deletionTimestamp).toBeTruthy();
    const preempted = await events("sched-prio", "filler");
    expect(preempted.map((e) => [e.reason, e.message])).toContainEqual(["Preempted", `Preempted by pod ${vip.metadata.uid} on node prio-1`]);
    // The agent confirms the deletion: the room is free and the preemptor is bound there.
    expect((await apiJson("DELETE", "/api/v1/namespaces/sched-prio/pods/filler?gracePeriodSeconds=0")).status).toBe(200);
    expect(await nodeOf("sched-prio", "vip")).toBe("prio-1");
    await apiJson("DELETE", "/apis/scheduling.k8s.io/v1/priorityclasses/urgent");
  });
});

describe("scheduling fields at the API", () => {
  const create = (spec: Record<string, unknown>) =>
    apiJson("POST", "/api/v1/namespaces/sched-v/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "bad" }, spec: { containers: [{ name: "c", image: "i" }], ...spec } });
  const causes = (r: { body: any }) => r.body.details.causes.map((c: { field: string; message: string }) => [c.field, c.message]);

  it("rejects malformed tolerations, affinity and spread constraints with 422 and causes", async () => {
    await createNamespace("sched-v");
    const tolerations = await create({
      tolerations: [
        { key: "", operator: "Equal", value: "x" },
        { key: "k", operator: "Exists", value: "v" },
        { key: "k", operator: "Like" },
        { key: "k", effect: "NoSchedule", tolerationSeconds: 30 },
        { key: "k", effect: "Sometimes" },
      ],
    });
    expect(tolerations.status).toBe(422);
    expect(causes(tolerations)).toEqual([
      ["spec.tolerations[0].operator", 'Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
      ["spec.tolerations[1].operator", 'Invalid value: {"key":"k","operator":"Exists","value":"v"}: value must be empty when `operator` is \'Exists\''],
      ["spec.tolerations[2].operator", 'Unsupported value: "Like": supported values: "Equal", "Exists"'],
      ["spec.tolerations[3].effect", "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"],
      ["spec.tolerations[4].effect", 'Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
    ]);

    const affinity = await create({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "Near", values: ["ssd"] }] }] },
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: { matchFields: [{ key: "metadata.uid", operator: "In", values: ["x"] }] } }],
        },
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchExpressions: [{ key: "app", operator: "In" }] } }] },
      },
    });
    expect(affinity.status).toBe(422);
    expect(causes(affinity)).toEqual([
      [
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
        'Unsupported value: "Near": supported values: "DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"',
      ],
      ["spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "Invalid value: 0: must be in the range 1-100"],
      ["spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchFields[0].key", 'Unsupported value: "metadata.uid": supported values: "metadata.name"'],
      ["spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", "Required value: can not be empty"],
      [
        "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values",
        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
    ]);

    const spread = await create({ topologySpreadConstraints: [{ maxSkew: 0, topologyKey: "zone", whenUnsatisfiable: "Maybe" }] });
    expect(spread.status).toBe(422);
    expect(causes(spread)).toEqual([
      ["spec.topologySpreadConstraints[0].maxSkew", "Invalid value: 0: must be greater than zero"],
      ["spec.topologySpreadConstraints[0].whenUnsatisfiable", 'Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"'],
    ]);

    // Workload templates are checked the same way.
    const deploy = await apiJson("POST", "/apis/apps/v1/namespaces/sched-v/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "i" }], tolerations: [{ operator: "Equal" }] } },
      },
    });
    expect(deploy.status).toBe(422);
    expect(causes(deploy).map((c: string[]) => c[0])).toEqual(["spec.template.spec.tolerations[0].operator"]);

    const good = await create({
      tolerations: [{ operator: "Exists" }, { key: "k", operator: "Equal", value: "v", effect: "NoExecute", tolerationSeconds: 60 }],
      affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "topology.kubernetes.io/zone", labelSelector: {} } }] } },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", minDomains: 2 }],
    });
    expect(good.status).toBe(201);
    created.pods.push("sched-v/bad");
  });
});
