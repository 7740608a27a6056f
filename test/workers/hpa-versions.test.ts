import { describe, expect, it } from "vitest";
import { api, apiJson, createNamespace, readEvents } from "./helpers.ts";

/** autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers are one stored object. */

const v1 = (name: string, cpu: number) => ({
  apiVersion: "autoscaling/v1",
  kind: "HorizontalPodAutoscaler",
  metadata: { name },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: cpu },
});

describe("HorizontalPodAutoscaler versions", () => {
  it("serves a v1 object as v2 and back, keeping what v1 cannot show", async () => {
    await createNamespace("hpa-v");
    const created = await apiJson("POST", "/apis/autoscaling/v1/namespaces/hpa-v/horizontalpodautoscalers", v1("a", 60));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apiVersion: "autoscaling/v1", spec: { targetCPUUtilizationPercentage: 60, maxReplicas: 5 } });
    expect(created.body.spec.metrics).toBeUndefined();
    const asV2 = (await apiJson("GET", "/apis/autoscaling/v2/namespaces/hpa-v/horizontalpodautoscalers/a")).body;
    expect(asV2.apiVersion).toBe("autoscaling/v2");
    expect(asV2.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);

    // A memory metric added through v2 survives a v1 patch of the cpu target.
    const memory = { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } };
    // (A patch, not a PUT: the autoscaler controller may write status meanwhile.)
    const withMemory = await apiJson("PATCH", "/apis/autoscaling/v2/namespaces/hpa-v/horizontalpodautoscalers/a", { spec: { metrics: [...asV2.spec.metrics, memory] } }, { contentType: "application/merge-patch+json" });
    expect(withMemory.status).toBe(200);
    const patched = await apiJson("PATCH", "/apis/autoscaling/v1/namespaces/hpa-v/horizontalpodautoscalers/a", { spec: { targetCPUUtilizationPercentage: 70 } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.body.spec).toEqual({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 70 });
    const after = (await apiJson("GET", "/apis/autoscaling/v2/namespaces/hpa-v/horizontalpodautoscalers/a")).body;
    expect(after.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }, memory]);
    expect(after.metadata.annotations?.["autoscaling.edgeplane.dev/v2-spec"]).toBeUndefined();

    const list = (await apiJson("GET", "/apis/autoscaling/v1/namespaces/hpa-v/horizontalpodautoscalers")).body;
    expect(list.kind).toBe("HorizontalPodAutoscalerList");
    expect(list.items.map((i: { apiVersion: string }) => i.apiVersion)).toEqual(["autoscaling/v1"]);
  });

  it("watches in the version asked for, and lists v2 as the preferred version", async () => {
    await createNamespace("hpa-w");
    const res = await api("GET", "/apis/autoscaling/v1/namespaces/hpa-w/horizontalpodautoscalers?watch=1&resourceVersion=0");
    const eventsP = readEvents(res, 1);
    await new Promise((r) => setTimeout(r, 100));
    await apiJson("POST", "/apis/autoscaling/v2/namespaces/hpa-w/horizontalpodautoscalers", {
      metadata: { name: "b" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 3 },
    });
    const [event] = await eventsP;
    // v2's default metric (cpu 80%) is v1's target.
    expect(event).toMatchObject({ type: "ADDED", object: { apiVersion: "autoscaling/v1", spec: { targetCPUUtilizationPercentage: 80 } } });
    const group = (await apiJson("GET", "/apis/autoscaling")).body;
    expect(group.versions.map((v: { version: string }) => v.version)).toEqual(["v2", "v1"]);
    expect(group.preferredVersion.version).toBe("v2");
  });
});
