import type { FieldError, ResourceKind } from "./types.ts";
import { isValidQuantity } from "./quantity.ts";

/**
 * metrics.k8s.io PodMetrics and NodeMetrics, stored like any object: node agents (or
 * tests) write them, `kubectl top` and the HorizontalPodAutoscaler read them.
 */

function validateUsage(usage: unknown, field: string): FieldError[] {
  if (!usage || typeof usage !== "object") return [{ field, reason: "FieldValueRequired", message: "Required value" }];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(usage as Record<string, unknown>)) {
    if (typeof v !== "string" || !isValidQuantity(v))
      errs.push({ field: `${field}.${k}`, reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(v)}: must be a quantity` });
  }
  return errs;
}

export const podMetricsKind: ResourceKind = {
  group: "metrics.k8s.io",
  version: "v1beta1",
  kind: "PodMetrics",
  plural: "pods",
  singular: "",
  namespaced: true,
  fields: ["timestamp", "window", "containers"],
  validate: (m) => {
    const containers = m.containers;
    if (!Array.isArray(containers)) return [{ field: "containers", reason: "FieldValueRequired", message: "Required value" }];
    return containers.flatMap((c: { name?: unknown; usage?: unknown }, i) => [
      ...(typeof c?.name === "string" && c.name ? [] : [{ field: `containers[${i}].name`, reason: "FieldValueRequired" as const, message: "Required value" }]),
      ...validateUsage(c?.usage, `containers[${i}].usage`),
    ]);
  },
};

export const nodeMetricsKind: ResourceKind = {
  group: "metrics.k8s.io",
  version: "v1beta1",
  kind: "NodeMetrics",
  plural: "nodes",
  singular: "",
  namespaced: false,
  fields: ["timestamp", "window", "usage"],
  validate: (m) => validateUsage(m.usage, "usage"),
};
