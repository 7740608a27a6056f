import { describe, expect, it } from "vitest";
import { maxSurge, maxUnavailable, reconcile } from "../../src/controllers/deployment.ts";
import { canonicalJson, computeTemplateHash, SAFE_ALPHABET } from "../../src/controllers/pod-utils.ts";
import { reconcile as reconcileReplicaSets } from "../../src/controllers/replicaset.ts";
import type { Action, Observed, Resource } from "../../src/controllers/types.ts";
import type { KubeObject } from "../../src/resources/types.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

const template = (image: string, extra: Record<string, string> = {}) => ({
  metadata: { labels: { app: "web" }, ...(Object.keys(extra).length ? { annotations: extra } : {}) },
  spec: { containers: [{ name: "c", image }] },
});

interface DOpts {
  replicas?: number;
  image?: string;
  strategy?: Record<string, unknown>;
  paused?: boolean;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  minReadySeconds?: number;
  annotations?: Record<string, string>;
}

function deploymentSpec(o: DOpts = {}) {
  return {
    replicas: o.replicas ?? 3,
    selector: { matchLabels: { app: "web" } },
    template: template(o.image ?? "nginx:1"),
    strategy: o.strategy ?? { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
    revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
    progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
    ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
    ...(o.paused ? { paused: true } : {}),
  };
}

const hashOf = (image: string, extra: Record<string, string> = {}, collisionCount?: number) => computeTemplateHash(template(image, extra), collisionCount);

// ---------------------------------------------------------------------------
// A small in-memory host: applies actions like the controller host does.

class World {
  now = NOW;
  rv = 100;
  seq = 0;
  /** Counts every change to the stored objects. */
  changes = 0;
  objects = new Map<string, KubeObject>();
  events: string[] = [];
  /** Pod deletions are graceful: pods stay terminating until finishTerminating(). */
  gracefulPods = false;

  key(resource: Resource, name: string) {
    return `${resource}/${name}`;
  }

  list(resource: Resource): KubeObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/`)).map(([, v]) => v);
  }

  get(resource: Resource, name: string): KubeObject {
    const o = this.objects.get(this.key(resource, name));
    if (!o) throw new Error(`no ${resource}/${name}`);
    return o;
  }

  rs(name: string) {
    return this.get("apps/replicasets", name);
  }

  get d() {
    return this.get("apps/deployments", "web");
  }

  observe(): Observed {
    return structuredClone({
      ...emptyObserved("ns", this.now),
      pods: this.list("core/pods"),
      replicaSets: this.list("apps/replicasets"),
      deployments: this.list("apps/deployments"),
    });
  }

  create(resource: Resource, object: KubeObject): KubeObject {
    const obj = structuredClone(object);
    const m = obj.metadata;
    if (!m.name) m.name = `${m.generateName}${(++this.seq).toString(36).padStart(5, "0")}`;
    delete m.generateName;
    const k = this.key(resource, m.name);
    if (this.objects.has(k)) throw new Error(`already exists: ${k}`);
    m.uid = `uid-${m.name}`;
    m.resourceVersion = String(++this.rv);
    m.creationTimestamp = iso(this.now);
    if (resource !== "core/pods") m.generation = 1;
    this.objects.set(k, obj);
    return obj;
  }

  apply(actions: Action[]): void {
    for (const a of actions) {
      if (a.type !== "event") this.changes++;
      if (a.type === "event") this.events.push(`${a.involved.metadata.name} ${a.reason}: ${a.message}`);
      else if (a.type === "create") this.create(a.resource, a.object);
      else if (a.type === "update") {
        const k = this.key(a.resource, a.object.metadata.name!);
        const old = this.objects.get(k);
        if (!old || old.metadata.resourceVersion !== a.object.metadata.resourceVersion) throw new Error(`conflict updating ${k}`);
        const next: KubeObject = structuredClone(a.subresource === "status" ? { ...old, status: a.object.status } : { ...a.object, status: old.status });
        if (a.subresource !== "status" && canonicalJson(old.spec) !== canonicalJson(next.spec)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
        next.metadata.resourceVersion = String(++this.rv);
        this.objects.set(k, next);
      } else {
        const k = this.key(a.resource, a.name);
        const old = this.objects.get(k);
        if (!old || (a.uid && old.metadata.uid !== a.uid) || (a.resourceVersion && old.metadata.resourceVersion !== a.resourceVersion))
          throw new Error(`precondition failed deleting ${k}`);
        if (a.resource === "core/pods" && this.gracefulPods) {
          old.metadata.deletionTimestamp = iso(this.now);
          old.metadata.resourceVersion = String(++this.rv);
        } else this.objects.delete(k);
      }
    }
  }

  /** Lets the ReplicaSet reconciler run until it has nothing to do. */
  settleReplicaSets(): void {
    for (let i = 0; i < 20; i++) {
      const { actions } = reconcileReplicaSets(this.observe());
      if (actions.length === 0) return;
      this.apply(actions);
    }
    throw new Error("ReplicaSets did not settle");
  }

  /** The kubelet: every live pod becomes Running and Ready now. */
  podsBecomeReady(filter: (p: KubeObject) => boolean = () => true): void {
    for (const p of this.list("core/pods")) {
      if (p.metadata.deletionTimestamp || (p.status as { phase?: string } | undefined)?.phase === "Running" || !filter(p)) continue;
      p.spec = { ...(p.spec as object), nodeName: "node-1" };
      p.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(this.now) }] };
      p.metadata.resourceVersion = String(++this.rv);
      this.changes++;
    }
  }

  finishTerminating(): void {
    for (const p of this.list("core/pods"))
      if (p.metadata.deletionTimestamp) {
        this.objects.delete(this.key("core/pods", p.metadata.name!));
        this.changes++;
      }
  }

  setSpec(patch: Partial<ReturnType<typeof deploymentSpec>>, annotations?: Record<string, string>): void {
    const d = this.d;
    d.spec = { ...(d.spec as object), ...patch };
    if (annotations) d.metadata.annotations = { ...(d.metadata.annotations ?? {}), ...annotations };
    d.metadata.generation = (d.metadata.generation ?? 1) + 1;
    d.metadata.resourceVersion = String(++this.rv);
  }

  deploymentPass(): Action[] {
    const { actions } = reconcile(this.observe());
    this.apply(actions);
    return actions;
  }

  /** Runs everything (deployment, ReplicaSets, pods becoming ready) until nothing changes. */
  converge(): void {
    for (let i = 0; i < 50; i++) {
      const before = this.changes;
      this.deploymentPass();
      this.settleReplicaSets();
      this.podsBecomeReady();
      this.settleReplicaSets();
      this.finishTerminating();
      this.now += 1000;
      if (this.changes === before) return;
    }
    throw new Error("did not converge");
  }
}

function worldWith(o: DOpts = {}): World {
  const w = new World();
  w.create("apps/deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "ns", ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: deploymentSpec(o),
  });
  return w;
}

/** What `kubectl rollout status` concludes from a Deployment (kubectl's documented checks). */
function rolloutStatus(d: KubeObject): string {
  const s = (d.status ?? {}) as Record<string, number | undefined> & { conditions?: { type: string; reason: string }[] };
  const want = (d.spec as { replicas: number }).replicas;
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return "waiting for spec update to be observed";
  if (s.conditions?.find((c) => c.type === "Progressing")?.reason === "ProgressDeadlineExceeded") return "exceeded its progress deadline";
  if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0} out of ${want} new replicas have been updated`;
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas are pending termination`;
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) return `${s.availableReplicas ?? 0} of ${s.updatedReplicas} updated replicas are available`;
  return "successfully rolled out";
}

/** A compact but complete rendering of a pass's actions, for multi-step scenarios. */
function describeActions(actions: Action[]): string[] {
  return actions.map((a) => {
    if (a.type === "event") return `event ${a.reason}: ${a.message}`;
    if (a.type === "delete") return `delete ${a.resource} ${a.name}`;
    const o = a.object;
    if (a.resource === "apps/replicasets") {
      const ann = o.metadata.annotations ?? {};
      return `${a.type} rs ${o.metadata.name} replicas=${(o.spec as { replicas: number }).replicas} rev=${ann["deployment.kubernetes.io/revision"]} desired=${ann["deployment.kubernetes.io/desired-replicas"]} max=${ann["deployment.kubernetes.io/max-replicas"]}`;
    }
    if (a.type === "update" && a.subresource === "status") {
      const s = o.status as Record<string, number> & { conditions?: { type: string; status: string; reason: string }[] };
      const conds = (s.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason}`).join(",");
      return `status gen=${s.observedGeneration ?? 0} replicas=${s.replicas ?? 0} updated=${s.updatedReplicas ?? 0} ready=${s.readyReplicas ?? 0} available=${s.availableReplicas ?? 0} unavailable=${s.unavailableReplicas ?? 0} ${conds}`;
    }
    return `${a.type} ${a.resource} ${o.metadata.name} revision=${o.metadata.annotations?.["deployment.kubernetes.io/revision"]}`;
  });
}

const dRef = (d: KubeObject) => ({ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true });

// ---------------------------------------------------------------------------

describe("deployment helpers", () => {
  it("resolves maxSurge up and maxUnavailable down, 0/0 meaning unavailable 1", () => {
    const d = (replicas: number, rollingUpdate: Record<string, unknown>, type = "RollingUpdate") =>
      ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" }, spec: { replicas, strategy: { type, rollingUpdate } } }) as KubeObject;
    expect([maxSurge(d(3, {})), maxUnavailable(d(3, {}))]).toEqual([1, 0]);
    expect([maxSurge(d(10, { maxSurge: "25%", maxUnavailable: "25%" })), maxUnavailable(d(10, { maxSurge: "25%", maxUnavailable: "25%" }))]).toEqual([3, 2]);
    expect([maxSurge(d(4, { maxSurge: 2, maxUnavailable: 0 })), maxUnavailable(d(4, { maxSurge: 2, maxUnavailable: 0 }))]).toEqual([2, 0]);
    expect(maxUnavailable(d(1, { maxSurge: "10%", maxUnavailable: "10%" }))).toBe(0); // surge rounds up to 1
    expect(maxUnavailable(d(3, { maxSurge: "0%", maxUnavailable: "10%" }))).toBe(1); // both resolve to 0
    expect(maxUnavailable(d(2, { maxSurge: 0, maxUnavailable: 5 }))).toBe(2); // capped at replicas
    expect(maxUnavailable(d(0, { maxUnavailable: 5 }))).toBe(0);
    expect([maxSurge(d(3, {}, "Recreate")), maxUnavailable(d(3, {}, "Recreate"))]).toEqual([0, 0]);
  });

  it("hashes templates stably in the safe alphabet, ignoring key order, empties and the hash label", () => {
    const h = hashOf("nginx:1");
    expect(h).toMatch(new RegExp(`^[${SAFE_ALPHABET}]{1,10}$`));
    expect(computeTemplateHash({ spec: { containers: [{ image: "nginx:1", name: "c" }] }, metadata: { labels: { app: "web" }, annotations: {} } })).toBe(h);
    expect(computeTemplateHash({ ...template("nginx:1"), metadata: { labels: { app: "web", "pod-template-hash": "zzz" }, creationTimestamp: null } })).toBe(h);
    expect(hashOf("nginx:2")).not.toBe(h);
    expect(hashOf("nginx:1", { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" })).not.toBe(h);
    expect(hashOf("nginx:1", {}, 1)).not.toBe(h);
    expect(hashOf("nginx:1", {}, 1)).not.toBe(hashOf("nginx:1", {}, 2));
  });
});

describe("Deployment reconciler", () => {
  it("first rollout: creates the ReplicaSet, reports progress, sets the revision, completes", () => {
    const w = worldWith({ replicas: 3 });
    const d = w.d;
    const h = hashOf("nginx:1");
    const t0 = iso(w.now);

    const r1 = reconcile(w.observe());
    expect(r1).toEqual({
      actions: [
        {
          type: "create",
          resource: "apps/replicasets",
          object: {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            metadata: {
              name: `web-${h}`,
              namespace: "ns",
              labels: { app: "web", "pod-template-hash": h },
              ownerReferences: [dRef(d)],
              annotations: { "deployment.kubernetes.io/revision": "1", "deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "4" },
            },
            spec: {
              replicas: 3,
              selector: { matchLabels: { app: "web", "pod-template-hash": h } },
              template: { metadata: { labels: { app: "web", "pod-template-hash": h } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
            },
          },
        },
        {
          type: "update",
          resource: "apps/deployments",
          subresource: "status",
          object: {
            ...d,
            status: {
              observedGeneration: 1,
              unavailableReplicas: 3,
              conditions: [
                { type: "Progressing", status: "True", lastUpdateTime: t0, lastTransitionTime: t0, reason: "NewReplicaSetCreated", message: `Created new replica set "web-${h}"` },
                { type: "Available", status: "False", lastUpdateTime: t0, lastTransitionTime: t0, reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." },
              ],
            },
          },
        },
        { type: "event", involved: d, eventType: "Normal", reason: "ScalingReplicaSet", message: `Scaled up replica set web-${h} from 0 to 3` },
      ],
      requeueAfterMs: 601_000,
    });
    w.apply(r1.actions);
    expect(rolloutStatus(w.d)).toBe("0 out of 3 new replicas have been updated");

    // The ReplicaSet reconciler creates the pods; the deployment sees progress.
    w.settleReplicaSets();
    w.now += 5000;
    const t1 = iso(w.now);
    const r2 = reconcile(w.observe());
    expect(r2.actions).toEqual([
      {
        type: "update",
        resource: "apps/deployments",
        subresource: "status",
        object: {
          ...w.d,
          status: {
            observedGeneration: 1,
            replicas: 3,
            updatedReplicas: 3,
            unavailableReplicas: 3,
            conditions: [
              { type: "Available", status: "False", lastUpdateTime: t0, lastTransitionTime: t0, reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." },
              { type: "Progressing", status: "True", lastUpdateTime: t1, lastTransitionTime: t0, reason: "ReplicaSetUpdated", message: `ReplicaSet "web-${h}" is progressing.` },
            ],
          },
        },
      },
    ]);
    w.apply(r2.actions);
    expect(rolloutStatus(w.d)).toBe("0 of 3 updated replicas are available");

    // Status settled: now the revision annotation is written (one Deployment update per pass).
    const r3 = reconcile(w.observe());
    expect(r3.actions).toEqual([
      { type: "update", resource: "apps/deployments", object: { ...w.d, metadata: { ...w.d.metadata, annotations: { "deployment.kubernetes.io/revision": "1" } } } },
    ]);
    w.apply(r3.actions);

    // Converged while pods are not ready: nothing to do, wake for the progress deadline.
    expect(reconcile(w.observe())).toEqual({ actions: [], requeueAfterMs: 600_000 + 1000 });

    w.podsBecomeReady();
    w.settleReplicaSets();
    w.now += 2000;
    const t2 = iso(w.now);
    const r4 = reconcile(w.observe());
    expect((r4.actions[0] as { object: KubeObject }).object.status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        { type: "Available", status: "True", lastUpdateTime: t2, lastTransitionTime: t2, reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." },
        { type: "Progressing", status: "True", lastUpdateTime: t2, lastTransitionTime: t0, reason: "NewReplicaSetAvailable", message: `ReplicaSet "web-${h}" has successfully progressed.` },
      ],
    });
    expect(r4.actions).toHaveLength(1);
    w.apply(r4.actions);
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect(reconcile(w.observe())).toEqual({ actions: [] });
    expect(w.events).toEqual([`web ScalingReplicaSet: Scaled up replica set web-${h} from 0 to 3`, `web-${h} SuccessfulCreate: Created 3 pods: web-${h}-*`]);
  });

  it("rolling update, step by step, within maxSurge and maxUnavailable", () => {
    const w = worldWith({ replicas: 4, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } });
    w.converge();
    const h1 = hashOf("nginx:1");
    const h2 = hashOf("nginx:2");
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");

    w.setSpec({ template: template("nginx:2") });
    const passes: string[][] = [];
    const check = () => {
      const pods = w.list("core/pods").filter((p) => !p.metadata.deletionTimestamp);
      const ready = pods.filter((p) => (p.status as { phase?: string } | undefined)?.phase === "Running");
      expect(pods.length).toBeLessThanOrEqual(5); // replicas + maxSurge
      expect(ready.length).toBeGreaterThanOrEqual(3); // replicas - maxUnavailable
    };
    for (let i = 0; i < 12; i++) {
      const actions = w.deploymentPass();
      if (actions.length === 0) break;
      passes.push(describeActions(actions));
      w.settleReplicaSets();
      check();
      w.now += 1000;
      w.podsBecomeReady();
      w.settleReplicaSets();
      check();
    }
    expect(passes).toEqual([
      [
        `create rs web-${h2} replicas=1 rev=2 desired=4 max=5`,
        `update rs web-${h1} replicas=3 rev=1 desired=4 max=5`,
        "status gen=2 replicas=4 updated=0 ready=4 available=4 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetCreated",
        `event ScalingReplicaSet: Scaled up replica set web-${h2} from 0 to 1`,
        `event ScalingReplicaSet: Scaled down replica set web-${h1} from 4 to 3`,
      ],
      [
        `update rs web-${h2} replicas=2 rev=2 desired=4 max=5`,
        "status gen=2 replicas=4 updated=1 ready=4 available=4 unavailable=1 Available=True/MinimumReplicasAvailable,Progressing=True/ReplicaSetUpdated",
        `event ScalingReplicaSet: Scaled up replica set web-${h2} from 1 to 2`,
      ],
      // 5 available, 3 must stay: the old ReplicaSet can give up 2 at once.
      [
        `update rs web-${h1} replicas=1 rev=1 desired=4 max=5`,
        "status gen=2 replicas=5 updated=2 ready=5 available=5 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/ReplicaSetUpdated",
        `event ScalingReplicaSet: Scaled down replica set web-${h1} from 3 to 1`,
      ],
      // 3 pods of at most 5: the new ReplicaSet can take 2 more.
      [
        `update rs web-${h2} replicas=4 rev=2 desired=4 max=5`,
        "status gen=2 replicas=3 updated=2 ready=3 available=3 unavailable=2 Available=True/MinimumReplicasAvailable,Progressing=True/ReplicaSetUpdated",
        `event ScalingReplicaSet: Scaled up replica set web-${h2} from 2 to 4`,
      ],
      [
        `update rs web-${h1} replicas=0 rev=1 desired=4 max=5`,
        "status gen=2 replicas=5 updated=4 ready=5 available=5 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/ReplicaSetUpdated",
        `event ScalingReplicaSet: Scaled down replica set web-${h1} from 1 to 0`,
      ],
      ["status gen=2 replicas=4 updated=4 ready=4 available=4 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetAvailable"],
      ["update apps/deployments web revision=2"],
    ]);
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect(w.list("core/pods").map((p) => p.metadata.labels!["pod-template-hash"])).toEqual([h2, h2, h2, h2]);
  });

  it("`kubectl rollout restart` (a template annotation) rolls out a new ReplicaSet", () => {
    const w = worldWith({ replicas: 2 });
    w.converge();
    const restarted = { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:05:00Z" };
    w.setSpec({ template: template("nginx:1", restarted) });
    const h = hashOf("nginx:1", restarted);
    expect(describeActions(reconcile(w.observe()).actions).slice(0, 1)).toEqual([`create rs web-${h} replicas=1 rev=2 desired=2 max=3`]);
    w.converge();
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect((w.rs(`web-${h}`).spec as { template: { metadata: { annotations: unknown } } }).template.metadata.annotations).toEqual(restarted);
    expect(w.d.metadata.annotations).toEqual({ "deployment.kubernetes.io/revision": "2" });
  });

  it("Recreate: scales the old ReplicaSet to zero, waits for its pods to go, then creates the new one", () => {
    const w = worldWith({ replicas: 3, strategy: { type: "Recreate" } });
    w.gracefulPods = true;
    w.converge();
    const h1 = hashOf("nginx:1");
    const h2 = hashOf("nginx:2");
    w.setSpec({ template: template("nginx:2") });

    expect(describeActions(w.deploymentPass())).toEqual([
      `update rs web-${h1} replicas=0 rev=1 desired=3 max=3`,
      "status gen=2 replicas=3 updated=0 ready=3 available=3 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetAvailable",
      `event ScalingReplicaSet: Scaled down replica set web-${h1} from 3 to 0`,
    ]);
    w.settleReplicaSets(); // old pods are now terminating
    expect(w.list("core/pods").every((p) => p.metadata.deletionTimestamp)).toBe(true);
    w.now += 1000;
    // Old ReplicaSet reports 0 replicas but its pods are still terminating: no new ReplicaSet yet.
    expect(describeActions(w.deploymentPass())).toEqual([
      // (a condition that changes moves to the end, as in Kubernetes)
      "status gen=2 replicas=0 updated=0 ready=0 available=0 unavailable=0 Progressing=True/NewReplicaSetAvailable,Available=False/MinimumReplicasUnavailable",
    ]);
    expect(w.deploymentPass()).toEqual([]);
    w.finishTerminating();
    expect(describeActions(w.deploymentPass())).toEqual([
      `create rs web-${h2} replicas=3 rev=2 desired=3 max=3`,
      "status gen=2 replicas=0 updated=0 ready=0 available=0 unavailable=3 Available=False/MinimumReplicasUnavailable,Progressing=True/NewReplicaSetCreated",
      `event ScalingReplicaSet: Scaled up replica set web-${h2} from 0 to 3`,
    ]);
    w.converge();
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect((w.d.status as { availableReplicas: number }).availableReplicas).toBe(3);
  });

  it("pause: no rollout, Progressing=Unknown/DeploymentPaused, scaling still applies; resume rolls out", () => {
    const w = worldWith({ replicas: 2 });
    w.converge();
    const h1 = hashOf("nginx:1");
    const h2 = hashOf("nginx:2");
    const before = w.d.status as { conditions: unknown[] };

    w.setSpec({ paused: true });
    const r = reconcile(w.observe());
    const t = iso(w.now);
    expect(r).toEqual({
      actions: [
        {
          type: "update",
          resource: "apps/deployments",
          subresource: "status",
          object: {
            ...w.d,
            status: {
              ...before,
              observedGeneration: 2,
              conditions: [before.conditions[0], { type: "Progressing", status: "Unknown", lastUpdateTime: t, lastTransitionTime: t, reason: "DeploymentPaused", message: "Deployment is paused" }],
            },
          },
        },
      ],
    });
    w.apply(r.actions);
    expect(reconcile(w.observe())).toEqual({ actions: [] });

    // A template change while paused does nothing but observe the generation.
    w.setSpec({ template: template("nginx:2") });
    expect(describeActions(w.deploymentPass())).toEqual([
      "status gen=3 replicas=2 updated=0 ready=2 available=2 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=Unknown/DeploymentPaused",
    ]);
    // Scaling while paused scales the active ReplicaSet.
    w.setSpec({ replicas: 4 });
    expect(describeActions(w.deploymentPass())).toEqual([
      `update rs web-${h1} replicas=4 rev=1 desired=4 max=5`,
      // 2 of 4 available with maxUnavailable 1: Available turns False (and moves to the end)
      "status gen=4 replicas=2 updated=0 ready=2 available=2 unavailable=2 Progressing=Unknown/DeploymentPaused,Available=False/MinimumReplicasUnavailable",
      `event ScalingReplicaSet: Scaled up replica set web-${h1} from 2 to 4`,
    ]);
    w.converge();
    expect(w.list("apps/replicasets").map((rs) => rs.metadata.name)).toEqual([`web-${h1}`]);

    // Resume.
    w.setSpec({ paused: false });
    expect(describeActions(w.deploymentPass())).toEqual([
      `create rs web-${h2} replicas=1 rev=2 desired=4 max=5`,
      `update rs web-${h1} replicas=3 rev=1 desired=4 max=5`,
      "status gen=5 replicas=4 updated=0 ready=4 available=4 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetCreated",
      `event ScalingReplicaSet: Scaled up replica set web-${h2} from 0 to 1`,
      `event ScalingReplicaSet: Scaled down replica set web-${h1} from 4 to 3`,
    ]);
    w.converge();
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect((w.rs(`web-${h2}`).spec as { replicas: number }).replicas).toBe(4);
  });

  it("rollback (template back to an old ReplicaSet's): reuses it and bumps its revision", () => {
    const w = worldWith({ replicas: 2, annotations: { "kubernetes.io/change-cause": "v1", "kubectl.kubernetes.io/last-applied-configuration": "{}" } });
    w.converge();
    const h1 = hashOf("nginx:1");
    const h2 = hashOf("nginx:2");
    w.setSpec({ template: template("nginx:2") }, { "kubernetes.io/change-cause": "v2" });
    w.converge();
    expect(w.rs(`web-${h1}`).metadata.annotations).toEqual({
      "kubernetes.io/change-cause": "v1",
      "deployment.kubernetes.io/revision": "1",
      "deployment.kubernetes.io/desired-replicas": "2",
      "deployment.kubernetes.io/max-replicas": "3",
    });
    expect(w.rs(`web-${h2}`).metadata.annotations!["kubernetes.io/change-cause"]).toBe("v2");

    // kubectl rollout undo: template (and change-cause) of revision 1 back onto the Deployment.
    w.setSpec({ template: template("nginx:1") }, { "kubernetes.io/change-cause": "v1" });
    const old = w.rs(`web-${h1}`);
    const r = reconcile(w.observe());
    expect(r.actions[0]).toEqual({
      type: "update",
      resource: "apps/replicasets",
      object: {
        ...old,
        metadata: {
          ...old.metadata,
          annotations: {
            "kubernetes.io/change-cause": "v1",
            "deployment.kubernetes.io/revision": "3",
            "deployment.kubernetes.io/revision-history": "1",
            "deployment.kubernetes.io/desired-replicas": "2",
            "deployment.kubernetes.io/max-replicas": "3",
          },
        },
        spec: { ...(old.spec as object), replicas: 1 },
      },
    });
    expect(describeActions(r.actions).slice(1)).toEqual([
      // unavailable: spec replicas (1 + 2) minus available (2)
      "status gen=3 replicas=2 updated=0 ready=2 available=2 unavailable=1 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetAvailable",
      `event ScalingReplicaSet: Scaled up replica set web-${h1} from 0 to 1`,
    ]);
    expect(r.actions.some((a) => a.type === "create")).toBe(false);
    w.apply(r.actions);
    w.converge();
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect(w.d.metadata.annotations!["deployment.kubernetes.io/revision"]).toBe("3");
    expect((w.rs(`web-${h1}`).spec as { replicas: number }).replicas).toBe(2);
    expect((w.rs(`web-${h2}`).spec as { replicas: number }).replicas).toBe(0);
    expect(w.list("apps/replicasets")).toHaveLength(2);
  });

  it("revisionHistoryLimit: deletes the oldest scaled-down old ReplicaSets beyond the limit", () => {
    const w = worldWith({ replicas: 1, revisionHistoryLimit: 1 });
    w.converge();
    for (const image of ["nginx:2", "nginx:3"]) {
      w.setSpec({ template: template(image) });
      // Stop before cleanup happens: only run until the rollout is complete.
      w.converge();
    }
    // With limit 1, after each completed rollout only one old ReplicaSet remains.
    expect(w.list("apps/replicasets").map((rs) => [rs.metadata.annotations!["deployment.kubernetes.io/revision"], (rs.spec as { replicas: number }).replicas])).toEqual([
      ["2", 0],
      ["3", 1],
    ]);

    // Exact delete action, with preconditions, from a hand-made observation.
    const obs = w.observe();
    const d = obs.deployments[0];
    (d.spec as { revisionHistoryLimit: number }).revisionHistoryLimit = 0;
    d.metadata.generation! += 1;
    (d.status as { observedGeneration: number }).observedGeneration = d.metadata.generation!;
    const old = obs.replicaSets.find((rs) => rs.metadata.annotations!["deployment.kubernetes.io/revision"] === "2")!;
    expect(reconcile(obs).actions).toEqual([
      { type: "delete", resource: "apps/replicasets", name: old.metadata.name, uid: old.metadata.uid, resourceVersion: old.metadata.resourceVersion, propagationPolicy: "Background" },
    ]);
    // An old ReplicaSet that still has replicas, or whose status lags its spec, is kept.
    const deletes = () => reconcile(obs).actions.filter((a) => a.type === "delete");
    (old.status as { replicas: number }).replicas = 1;
    expect(deletes()).toEqual([]);
    (old.status as { replicas: number }).replicas = 0;
    old.metadata.generation = 9;
    expect(deletes()).toEqual([]);
  });

  it("progress deadline: Progressing=False/ProgressDeadlineExceeded once no progress is seen in time", () => {
    const w = worldWith({ replicas: 2, progressDeadlineSeconds: 60 });
    w.deploymentPass();
    w.settleReplicaSets();
    w.deploymentPass(); // pods exist: ReplicaSetUpdated
    w.deploymentPass(); // revision annotation
    const lastProgress = Date.parse((w.d.status as { conditions: { type: string; lastUpdateTime: string }[] }).conditions.find((c) => c.type === "Progressing")!.lastUpdateTime);

    // Pods never become ready.
    w.now = lastProgress + 30_000;
    expect(reconcile(w.observe())).toEqual({ actions: [], requeueAfterMs: 31_000 });
    w.now = lastProgress + 60_000; // not strictly past the deadline yet
    expect(reconcile(w.observe())).toEqual({ actions: [], requeueAfterMs: 1000 });
    w.now = lastProgress + 61_000;
    const h = hashOf("nginx:1");
    const r = reconcile(w.observe());
    const status = w.d.status as { conditions: Record<string, string>[] };
    expect(r).toEqual({
      actions: [
        {
          type: "update",
          resource: "apps/deployments",
          subresource: "status",
          object: {
            ...w.d,
            status: {
              ...status,
              conditions: [
                status.conditions[0],
                { type: "Progressing", status: "False", lastUpdateTime: iso(w.now), lastTransitionTime: iso(w.now), reason: "ProgressDeadlineExceeded", message: `ReplicaSet "web-${h}" has timed out progressing.` },
              ],
            },
          },
        },
      ],
    });
    w.apply(r.actions);
    expect(rolloutStatus(w.d)).toBe("exceeded its progress deadline");
    expect(reconcile(w.observe())).toEqual({ actions: [] });

    // Progress afterwards flips it back to True.
    w.podsBecomeReady();
    w.settleReplicaSets();
    expect(describeActions(reconcile(w.observe()).actions)).toEqual([
      "status gen=1 replicas=2 updated=2 ready=2 available=2 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetAvailable",
    ]);
  });

  it("minReadySeconds: copied to the ReplicaSet; wakes when pods become available", () => {
    const w = worldWith({ replicas: 1, minReadySeconds: 30 });
    const created = w.deploymentPass()[0] as { object: KubeObject };
    expect((created.object.spec as { minReadySeconds: number }).minReadySeconds).toBe(30);
    w.settleReplicaSets();
    w.podsBecomeReady();
    w.settleReplicaSets();
    w.deploymentPass();
    w.deploymentPass();
    w.now += 10_000;
    expect(reconcile(w.observe())).toEqual({ actions: [], requeueAfterMs: 20_001 });
    w.now += 20_001;
    w.settleReplicaSets();
    expect(describeActions(reconcile(w.observe()).actions)).toEqual([
      "status gen=1 replicas=1 updated=1 ready=1 available=1 unavailable=0 Available=True/MinimumReplicasAvailable,Progressing=True/NewReplicaSetAvailable",
    ]);

    // Changing minReadySeconds updates the existing ReplicaSet.
    w.converge();
    w.setSpec({ minReadySeconds: 0 });
    const [update] = reconcile(w.observe()).actions as { object: KubeObject }[];
    expect(update.object.spec).toEqual({ ...(w.list("apps/replicasets")[0].spec as object), minReadySeconds: undefined });
    expect(Object.hasOwn(update.object.spec as object, "minReadySeconds")).toBe(false);
  });

  it("proportional scaling mid-rollout", () => {
    const w = worldWith({ replicas: 4, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } });
    w.converge();
    const h1 = hashOf("nginx:1");
    const h2 = hashOf("nginx:2");
    w.setSpec({ template: template("nginx:2") });
    w.deploymentPass(); // new 1, old 3
    w.settleReplicaSets();
    w.deploymentPass(); // new 2 (pods not ready: rollout stalls with old 3)
    w.settleReplicaSets();
    expect([(w.rs(`web-${h1}`).spec as { replicas: number }).replicas, (w.rs(`web-${h2}`).spec as { replicas: number }).replicas]).toEqual([3, 2]);

    // Scale 4 -> 8: allowed total 8 + 1 (maxSurge) = 9, i.e. 4 more, shared by each one's size
    // for the previous max of 5: old 3*9/5 = 5.4 -> 5 (+2), new 2*9/5 = 3.6 -> 4 (+2).
    // (Updates are emitted in name order, events in scaling order: larger first.)
    const [first, second] = [`web-${h1}`, `web-${h2}`].sort();
    const size = { [`web-${h1}`]: 5, [`web-${h2}`]: 4 };
    const rev = { [`web-${h1}`]: 1, [`web-${h2}`]: 2 };
    w.setSpec({ replicas: 8 });
    expect(describeActions(w.deploymentPass()).filter((s) => !s.startsWith("status"))).toEqual([
      `update rs ${first} replicas=${size[first]} rev=${rev[first]} desired=8 max=9`,
      `update rs ${second} replicas=${size[second]} rev=${rev[second]} desired=8 max=9`,
      `event ScalingReplicaSet: Scaled up replica set web-${h1} from 3 to 5`,
      `event ScalingReplicaSet: Scaled up replica set web-${h2} from 2 to 4`,
    ]);
    // Scale 8 -> 2: allowed 2 + 1 = 3, i.e. 6 fewer: old 5*3/9 = 1.67 -> 2 (-3), new 4*3/9 = 1.33 -> 1 (-3).
    w.settleReplicaSets();
    w.setSpec({ replicas: 2 });
    const size2 = { [`web-${h1}`]: 2, [`web-${h2}`]: 1 };
    expect(describeActions(w.deploymentPass()).filter((s) => !s.startsWith("status"))).toEqual([
      `update rs ${first} replicas=${size2[first]} rev=${rev[first]} desired=2 max=3`,
      `update rs ${second} replicas=${size2[second]} rev=${rev[second]} desired=2 max=3`,
      `event ScalingReplicaSet: Scaled down replica set web-${h1} from 5 to 2`,
      `event ScalingReplicaSet: Scaled down replica set web-${h2} from 4 to 1`,
    ]);
    w.converge();
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
    expect((w.rs(`web-${h2}`).spec as { replicas: number }).replicas).toBe(2);
  });

  it("adopts a matching orphan ReplicaSet with the same template and releases one that stopped matching", () => {
    const w = worldWith({ replicas: 1 });
    const h = hashOf("nginx:1");
    const orphan = w.create("apps/replicasets", {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `web-${h}`, labels: { app: "web", "pod-template-hash": h } },
      spec: { replicas: 1, selector: { matchLabels: { app: "web", "pod-template-hash": h } }, template: { ...template("nginx:1"), metadata: { labels: { app: "web", "pod-template-hash": h } } } },
    });
    const stray = w.create("apps/replicasets", {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "stray", labels: { app: "other" }, ownerReferences: [dRef(w.d)] },
      spec: { replicas: 0, selector: { matchLabels: { app: "other" } }, template: { metadata: { labels: { app: "other" } } } },
    });
    const actions = reconcile(w.observe()).actions;
    const { ownerReferences: _, ...strayMeta } = stray.metadata;
    expect(actions.slice(0, 2)).toEqual([
      { type: "update", resource: "apps/replicasets", object: { ...stray, metadata: strayMeta } },
      {
        type: "update",
        resource: "apps/replicasets",
        object: {
          ...orphan,
          metadata: {
            ...orphan.metadata,
            ownerReferences: [dRef(w.d)],
            // Already the right size: replica annotations come with the next scaling.
            annotations: { "deployment.kubernetes.io/revision": "1" },
          },
        },
      },
    ]);
    expect(actions.some((a) => a.type === "create")).toBe(false);
    w.apply(actions);
    w.converge();
    expect(w.list("apps/replicasets").map((rs) => rs.metadata.name)).toEqual([`web-${h}`, "stray"]);
    expect(rolloutStatus(w.d)).toBe("successfully rolled out");
  });

  it("hash collision: bumps collisionCount, then creates under the next hash", () => {
    const w = worldWith({ replicas: 1 });
    const h = hashOf("nginx:1");
    w.create("apps/replicasets", {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `web-${h}`, labels: { app: "db" } },
      spec: { replicas: 0, selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } } } },
    });
    const r1 = reconcile(w.observe());
    expect(r1).toEqual({ actions: [{ type: "update", resource: "apps/deployments", subresource: "status", object: { ...w.d, status: { collisionCount: 1 } } }] });
    w.apply(r1.actions);
    const h2 = hashOf("nginx:1", {}, 1);
    expect(describeActions(reconcile(w.observe()).actions)[0]).toBe(`create rs web-${h2} replicas=1 rev=1 desired=1 max=2`);
  });

  it("a Deployment being deleted only gets its status updated", () => {
    const w = worldWith({ replicas: 2 });
    w.converge();
    w.d.metadata.deletionTimestamp = iso(w.now);
    w.setSpec({ template: template("nginx:2"), replicas: 5 });
    expect(describeActions(reconcile(w.observe()).actions)).toEqual([
      // No scaling, no new ReplicaSet; availability judged against the new size.
      "status gen=2 replicas=2 updated=0 ready=2 available=2 unavailable=0 Progressing=True/NewReplicaSetAvailable,Available=False/MinimumReplicasUnavailable",
    ]);
  });

  it("is idempotent and deterministic when converged", () => {
    const w = worldWith({ replicas: 3 });
    w.converge();
    const obs = w.observe();
    expect(reconcile(obs)).toEqual({ actions: [] });
    expect(reconcile(obs)).toEqual(reconcile(structuredClone(obs)));
    expect(reconcileReplicaSets(obs)).toEqual({ actions: [] });
  });
});
