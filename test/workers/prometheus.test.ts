import { describe, expect, it } from "vitest";
import { api, apiJson, createNamespace } from "./helpers.ts";

/** GET /edgeplane/v1/namespaces/{ns}/metrics: the real Worker, D1, RBAC. */

async function runningPod(ns: string, name: string, restarts: number) {
  const created = await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { nodeName: "n1", containers: [{ name: "main", image: "busybox", command: ["sleep", "3600"] }] },
  });
  expect(created.status).toBe(201);
  const status = { phase: "Running", containerStatuses: [{ name: "main", ready: true, restartCount: restarts, image: "busybox", imageID: "", state: { running: {} } }] };
  expect((await apiJson("PUT", `/api/v1/namespaces/${ns}/pods/${name}/status`, { ...created.body, status })).status).toBe(200);
}

describe("Prometheus metrics per namespace", () => {
  it("serves pod phase, readiness, restarts and PodMetrics usage in the text format", async () => {
    await createNamespace("pm1");
    await runningPod("pm1", "web", 3);
    const usage = await apiJson("POST", "/apis/metrics.k8s.io/v1beta1/namespaces/pm1/pods", {
      apiVersion: "metrics.k8s.io/v1beta1",
      kind: "PodMetrics",
      metadata: { name: "web" },
      timestamp: new Date().toISOString(),
      window: "15s",
      containers: [{ name: "main", usage: { cpu: "250m", memory: "64Mi" } }],
    });
    expect(usage.status).toBe(201);
    const res = await api("GET", "/edgeplane/v1/namespaces/pm1/metrics", undefined, { accept: "text/plain" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain("# TYPE edgeplane_pod_container_restarts_total counter\n");
    expect(text).toContain('edgeplane_pod_phase{namespace="pm1",pod="web",phase="Running"} 1\n');
    expect(text).toContain('edgeplane_pod_phase{namespace="pm1",pod="web",phase="Pending"} 0\n');
    expect(text).toContain('edgeplane_pod_container_ready{namespace="pm1",pod="web",container="main"} 1\n');
    expect(text).toContain('edgeplane_pod_container_restarts_total{namespace="pm1",pod="web",container="main"} 3\n');
    expect(text).toContain('edgeplane_pod_container_cpu_usage_cores{namespace="pm1",pod="web",container="main"} 0.25\n');
    expect(text).toContain(`edgeplane_pod_container_memory_working_set_bytes{namespace="pm1",pod="web",container="main"} ${64 * 1024 * 1024}\n`);
  });

  it("is tenant-scoped: a tenant reads its own namespace's metrics, not another's", async () => {
    await createNamespace("pm2");
    await runningPod("pm2", "other", 0);
    const t = await apiJson("POST", "/edgeplane/v1/tenants", { name: "pm-tenant", namespaces: ["pm-tenant-ns"] });
    expect(t.status).toBe(201);
    const token = t.body.token as string;
    const own = await api("GET", "/edgeplane/v1/namespaces/pm-tenant-ns/metrics", undefined, { token, accept: "text/plain" });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("# TYPE edgeplane_pod_phase gauge");
    const other = await apiJson("GET", "/edgeplane/v1/namespaces/pm2/metrics", undefined, { token });
    expect(other.status).toBe(403);
    expect(other.body.reason).toBe("Forbidden");
    expect(other.body.message).toMatch(/cannot get resource "pods".* in the namespace "pm2"/);
  });

  it("answers a bad namespace name with 400 and a missing one with 404", async () => {
    const bad = await apiJson("GET", "/edgeplane/v1/namespaces/Not_A_Name/metrics");
    expect(bad.status).toBe(400);
    const missing = await apiJson("GET", "/edgeplane/v1/namespaces/pm-missing/metrics");
    expect(missing.status).toBe(404);
    expect(missing.body.reason).toBe("NotFound");
  });
});
