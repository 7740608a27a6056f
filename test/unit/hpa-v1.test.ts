import { describe, expect, it } from "vitest";
import { hpaFromV1, hpaToV1 } from "../../src/resources/horizontalpodautoscaler-v1.ts";

const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };

describe("autoscaling v1 <-> v2", () => {
  it("maps the cpu utilization target both ways, and v2-only parts through an annotation", () => {
    const v2 = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "a", annotations: { keep: "me" } },
      spec: {
        scaleTargetRef: ref,
        minReplicas: 2,
        maxReplicas: 9,
        metrics: [
          { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "1Gi" } } },
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 55 } } },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
      },
      status: {
        currentReplicas: 3,
        desiredReplicas: 4,
        currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 70 } } }],
      },
    };
    const v1 = hpaToV1(v2);
    expect(v1.spec).toEqual({ scaleTargetRef: ref, minReplicas: 2, maxReplicas: 9, targetCPUUtilizationPercentage: 55 });
    expect(v1.status).toEqual({ currentReplicas: 3, desiredReplicas: 4, currentCPUUtilizationPercentage: 70 });
    expect(v1.metadata.annotations?.keep).toBe("me");
    const back = hpaFromV1(v1);
    expect(back.apiVersion).toBe("autoscaling/v2");
    expect(back.metadata.annotations).toEqual({ keep: "me" });
    // cpu first, then what v1 could not show, in its order
    expect(back.spec).toEqual({ ...v2.spec, metrics: [v2.spec.metrics[1], v2.spec.metrics[0]] });
  });

  it("a v1 object without a cpu target has no metrics (v2 defaulting adds cpu 80%)", () => {
    const back = hpaFromV1({ apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "b" }, spec: { scaleTargetRef: ref, maxReplicas: 2 } });
    expect(back.spec).toEqual({ scaleTargetRef: ref, maxReplicas: 2 });
  });
});
