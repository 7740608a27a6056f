import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apiJson, createNamespace } from "./helpers.ts";

const pod = (name: string, resources?: Record<string, Record<string, string>>, containers = 1) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    containers: Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: "busybox", ...(resources ? { resources } : {}) })),
  },
});

const quota = (name: string, hard: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name },
  spec: { hard, ...extra },
});

async function runControllers(namespace: string) {
  const stub = env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));
  // The alarm may already have run; run it (again) so the quota controller has acted.
  await runDurableObjectAlarm(stub);
}

async function setAlarmAndRun(namespace: string) {
  const stub = env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));
  await stub.wake();
  await runDurableObjectAlarm(stub);
}

describe("ResourceQuota admission", () => {
  it("refuses a create over the quota with Kubernetes' 403 message", async () => {
    await createNamespace("rq-basic");
    expect((await apiJson("POST", "/api/v1/namespaces/rq-basic/resourcequotas", quota("compute", { "requests.cpu": "2", "requests.memory": "1Gi" }))).status).toBe(201);
    const ok = await apiJson("POST", "/api/v1/namespaces/rq-basic/pods", pod("a", { requests: { cpu: "1", memory: "512Mi" } }));
    expect(ok.status).toBe(201);
    const over = await apiJson("POST", "/api/v1/namespaces/rq-basic/pods", pod("b", { requests: { cpu: "2", memory: "256Mi" } }));
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      code: 403,
      message: 'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=1, limited: requests.cpu=2',
    });
    // What fits still fits: 1 + 1 = 2.
    expect((await apiJson("POST", "/api/v1/namespaces/rq-basic/pods", pod("c", { requests: { cpu: "1", memory: "512Mi" } }))).status).toBe(201);
    const mem = await apiJson("POST", "/api/v1/namespaces/rq-basic/pods", pod("d", { requests: { cpu: "0", memory: "1Mi" } }));
    expect(mem.body.message).toBe('pods "d" is forbidden: exceeded quota: compute, requested: requests.memory=1Mi, used: requests.memory=1Gi, limited: requests.memory=1Gi');
  });

  it("requires requests/limits a quota limits, per container", async () => {
    await createNamespace("rq-specify");
    await apiJson("POST", "/api/v1/namespaces/rq-specify/resourcequotas", quota("compute", { "limits.cpu": "4", "requests.memory": "1Gi" }));
    const r = await apiJson("POST", "/api/v1/namespaces/rq-specify/pods", pod("p", { requests: { cpu: "100m" } }, 2));
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('pods "p" is forbidden: failed quota: compute: must specify limits.cpu for: c0,c1; requests.memory for: c0,c1');
  });

  it("never overshoots under concurrent creates: 20 parallel pods against pods=5", async () => {
    await createNamespace("rq-race");
    await apiJson("POST", "/api/v1/namespaces/rq-race/resourcequotas", quota("pods", { pods: "5" }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => apiJson("POST", "/api/v1/namespaces/rq-race/pods", pod(`p${i}`))));
    const codes = results.map((r) => r.status).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(5);
    expect(codes.filter((c) => c === 403)).toHaveLength(15);
    const denied = results.find((r) => r.status === 403)!;
    expect(denied.body.message).toMatch(/^pods "p\d+" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=5, limited: pods=5$/);
    expect((await apiJson("GET", "/api/v1/namespaces/rq-race/pods")).body.items).toHaveLength(5);
  });

  it("releases usage when a pod is deleted or finishes; counts other kinds; keeps status current", async () => {
    await createNamespace("rq-release");
    await apiJson(
      "POST",
      "/api/v1/namespaces/rq-release/resourcequotas",
      quota("objects", { pods: "1", configmaps: "1", secrets: "1", services: "1", "count/deployments.apps": "0" }),
    );
    expect((await apiJson("POST", "/api/v1/namespaces/rq-release/pods", pod("a"))).status).toBe(201);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-release/pods", pod("b"))).status).toBe(403);
    expect((await apiJson("DELETE", "/api/v1/namespaces/rq-release/pods/a")).status).toBe(200);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-release/pods", pod("b"))).status).toBe(201);
    // A pod that finished holds no quota any more.
    const b = (await apiJson("GET", "/api/v1/namespaces/rq-release/pods/b")).body;
    b.status = { phase: "Succeeded" };
    expect((await apiJson("PUT", "/api/v1/namespaces/rq-release/pods/b/status", b)).status).toBe(200);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-release/pods", pod("c"))).status).toBe(201);

    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one" }, data: { a: "b" } };
    expect((await apiJson("POST", "/api/v1/namespaces/rq-release/configmaps", cm)).status).toBe(201);
    const cm2 = await apiJson("POST", "/api/v1/namespaces/rq-release/configmaps", { ...cm, metadata: { name: "two" } });
    expect(cm2.body.message).toBe('configmaps "two" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');
    const dep = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } } },
    };
    const d = await apiJson("POST", "/apis/apps/v1/namespaces/rq-release/deployments", dep);
    expect(d.body.message).toBe('deployments.apps "d" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0');

    await setAlarmAndRun("rq-release");
    const rq = (await apiJson("GET", "/api/v1/namespaces/rq-release/resourcequotas/objects")).body;
    expect(rq.status).toEqual({
      hard: { configmaps: "1", "count/deployments.apps": "0", pods: "1", secrets: "1", services: "1" },
      used: { configmaps: "1", "count/deployments.apps": "0", pods: "1", secrets: "0", services: "0" },
    });
    // Deleting the config map: status follows.
    await apiJson("DELETE", "/api/v1/namespaces/rq-release/configmaps/one");
    await runControllers("rq-release");
    expect((await apiJson("GET", "/api/v1/namespaces/rq-release/resourcequotas/objects")).body.status.used.configmaps).toBe("0");
  });

  it("applies scopes: a BestEffort quota does not count pods with requests", async () => {
    await createNamespace("rq-scope");
    await apiJson("POST", "/api/v1/namespaces/rq-scope/resourcequotas", quota("besteffort", { pods: "1" }, { scopes: ["BestEffort"] }));
    expect((await apiJson("POST", "/api/v1/namespaces/rq-scope/pods", pod("a"))).status).toBe(201);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-scope/pods", pod("b"))).status).toBe(403);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-scope/pods", pod("c", { requests: { cpu: "1" } }))).status).toBe(201);
  });
});

describe("LimitRange admission", () => {
  const limitRange = {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: { name: "limits" },
    spec: {
      limits: [
        { type: "Container", default: { cpu: "500m", memory: "256Mi" }, defaultRequest: { cpu: "100m", memory: "128Mi" }, max: { cpu: "1" }, maxLimitRequestRatio: { memory: "2" } },
        { type: "Pod", max: { memory: "1Gi" } },
      ],
    },
  };

  it("defaults requests and limits, and then quota counts them", async () => {
    await createNamespace("lr-defaults");
    expect((await apiJson("POST", "/api/v1/namespaces/lr-defaults/limitranges", limitRange)).status).toBe(201);
    await apiJson("POST", "/api/v1/namespaces/lr-defaults/resourcequotas", quota("compute", { "requests.cpu": "150m", "limits.memory": "1Gi" }));
    const r = await apiJson("POST", "/api/v1/namespaces/lr-defaults/pods", pod("a"));
    expect(r.status).toBe(201);
    expect(r.body.spec.containers[0].resources).toEqual({ limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m", memory: "128Mi" } });
    expect(r.body.metadata.annotations["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu, memory request for container c0; cpu, memory limit for container c0");
    const stored = (await apiJson("GET", "/api/v1/namespaces/lr-defaults/pods/a")).body;
    expect(stored.spec.containers[0].resources.requests).toEqual({ cpu: "100m", memory: "128Mi" });
    expect(stored.metadata.resourceVersion).toBe(r.body.metadata.resourceVersion);
    const second = await apiJson("POST", "/api/v1/namespaces/lr-defaults/pods", pod("b"));
    expect(second.body.message).toBe('pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=100m, used: requests.cpu=100m, limited: requests.cpu=150m');
  });

  it("enforces max and maxLimitRequestRatio with Kubernetes' messages", async () => {
    await createNamespace("lr-max");
    await apiJson("POST", "/api/v1/namespaces/lr-max/limitranges", limitRange);
    const big = await apiJson("POST", "/api/v1/namespaces/lr-max/pods", pod("big", { limits: { cpu: "2" } }));
    expect(big.status).toBe(403);
    expect(big.body.message).toBe('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    const ratio = await apiJson("POST", "/api/v1/namespaces/lr-max/pods", pod("ratio", { requests: { memory: "100Mi" }, limits: { memory: "300Mi" } }));
    expect(ratio.body.message).toBe('pods "ratio" is forbidden: memory max limit to request ratio per Container is 2, but provided ratio is 3.000000');
    const podMax = await apiJson("POST", "/api/v1/namespaces/lr-max/pods", pod("many", undefined, 5));
    expect(podMax.body.message).toBe('pods "many" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1280Mi');
    await apiJson("POST", "/api/v1/namespaces/lr-max/limitranges", {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "claims" },
      spec: { limits: [{ type: "PersistentVolumeClaim", max: { storage: "2Gi" } }] },
    });
    const claim = (name: string, storage: string) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
    });
    const bigClaim = await apiJson("POST", "/api/v1/namespaces/lr-max/persistentvolumeclaims", claim("big", "5Gi"));
    expect(bigClaim.status).toBe(403);
    expect(bigClaim.body.message).toBe('persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi');
    expect((await apiJson("POST", "/api/v1/namespaces/lr-max/persistentvolumeclaims", claim("small", "1Gi"))).status).toBe(201);
  });
});

describe("tenant create --quota", () => {
  it("puts the tenant's ResourceQuota in each of its namespaces; the tenant is held to it and cannot change it", async () => {
    const r = await apiJson("POST", "/edgeplane/v1/tenants", { name: "quotaco", namespaces: ["quotaco-a", "quotaco-b"], quota: { pods: "1", cpu: "2" } });
    expect(r.status).toBe(201);
    expect(r.body.quota).toEqual({ pods: "1", cpu: "2" });
    for (const ns of ["quotaco-a", "quotaco-b"]) {
      const rq = await apiJson("GET", `/api/v1/namespaces/${ns}/resourcequotas/edgeplane-tenant-quota`);
      expect(rq.body.spec.hard).toEqual({ pods: "1", cpu: "2" });
      expect(rq.body.metadata.labels).toEqual({ "edgeplane.dev/tenant": "quotaco" });
    }
    const token = r.body.token as string;
    const p = (name: string) => pod(name, { requests: { cpu: "500m" } });
    expect((await apiJson("POST", "/api/v1/namespaces/quotaco-a/pods", p("one"), { token })).status).toBe(201);
    const second = await apiJson("POST", "/api/v1/namespaces/quotaco-a/pods", p("two"), { token });
    expect(second.body.message).toBe('pods "two" is forbidden: exceeded quota: edgeplane-tenant-quota, requested: pods=1, used: pods=1, limited: pods=1');
    const edit = await apiJson("DELETE", "/api/v1/namespaces/quotaco-a/resourcequotas/edgeplane-tenant-quota", undefined, { token });
    expect(edit.status).toBe(403);
    // Running it again updates the limit.
    expect((await apiJson("POST", "/edgeplane/v1/tenants", { name: "quotaco", namespaces: ["quotaco-a"], quota: { pods: "2", cpu: "2" } })).status).toBe(201);
    expect((await apiJson("POST", "/api/v1/namespaces/quotaco-a/pods", p("two"), { token })).status).toBe(201);
    // A malformed quota is refused before anything is written.
    const bad = await apiJson("POST", "/edgeplane/v1/tenants", { name: "badquota", namespaces: ["badquota-a"], quota: { pods: "lots" } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain("quota[pods]");
    expect((await apiJson("GET", "/api/v1/namespaces/badquota-a")).status).toBe(404);
  });
});

describe("dry-run creates", () => {
  it("go through quota and LimitRange admission without being stored or charged", async () => {
    await createNamespace("rq-dry");
    await apiJson("POST", "/api/v1/namespaces/rq-dry/resourcequotas", quota("pods", { pods: "1" }));
    await apiJson("POST", "/api/v1/namespaces/rq-dry/limitranges", {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "defaults" },
      spec: { limits: [{ type: "Container", defaultRequest: { cpu: "50m" } }] },
    });
    const dry = await apiJson("POST", "/api/v1/namespaces/rq-dry/pods?dryRun=All", pod("a"));
    expect(dry.status).toBe(201);
    expect(dry.body.spec.containers[0].resources).toEqual({ requests: { cpu: "50m" } });
    expect(dry.body.metadata.resourceVersion).toBeUndefined();
    expect((await apiJson("GET", "/api/v1/namespaces/rq-dry/pods/a")).status).toBe(404);
    expect((await apiJson("POST", "/api/v1/namespaces/rq-dry/pods", pod("a"))).status).toBe(201);
    const over = await apiJson("POST", "/api/v1/namespaces/rq-dry/pods?dryRun=All", pod("b"));
    expect(over.status).toBe(403);
    expect(over.body.message).toBe('pods "b" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1');
  });
});
