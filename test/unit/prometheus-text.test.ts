import { describe, expect, it } from "vitest";
import { namespaceMetricsText } from "../../src/api/prometheus.ts";

describe("Prometheus text for a namespace", () => {
  it("has every family's HELP and TYPE even with no pods", () => {
    const text = namespaceMetricsText("ns", [], []);
    expect(text.match(/^# TYPE /gm)).toHaveLength(5);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("escapes label values and skips usage that is not a quantity", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: 'we"ird\\pod' }, status: { phase: "Failed", containerStatuses: [{ name: "c", restartCount: 1 }] } };
    const metrics = { apiVersion: "metrics.k8s.io/v1beta1", kind: "PodMetrics", metadata: { name: "m" }, containers: [{ name: "c", usage: { cpu: "bogus", memory: "1Ki" } }] };
    const text = namespaceMetricsText("ns", [pod], [metrics]);
    expect(text).toContain('edgeplane_pod_phase{namespace="ns",pod="we\\"ird\\\\pod",phase="Failed"} 1\n');
    expect(text).toContain('edgeplane_pod_container_ready{namespace="ns",pod="we\\"ird\\\\pod",container="c"} 0\n');
    expect(text).not.toContain("edgeplane_pod_container_cpu_usage_cores{");
    expect(text).toContain('edgeplane_pod_container_memory_working_set_bytes{namespace="ns",pod="m",container="c"} 1024\n');
  });
});
