import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { checkImmutable, enumField, forbidden, invalid, isInt, required } from "./validation.ts";

/**
 * scheduling.k8s.io/v1 PriorityClass: a name for a pod priority. Pods name one in
 * spec.priorityClassName; admission copies its value (and preemptionPolicy) into the pod.
 * The two system classes exist without being stored, as in Kubernetes.
 */

/** The largest value a user-defined class may have; larger ones are for system classes. */
export const HIGHEST_USER_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  "system-node-critical": 2_000_001_000,
  "system-cluster-critical": 2_000_000_000,
};

export const priorityClassKind: ResourceKind = {
  group: "scheduling.k8s.io",
  version: "v1",
  kind: "PriorityClass",
  plural: "priorityclasses",
  singular: "priorityclass",
  namespaced: false,
  shortNames: ["pc"],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["value", "globalDefault", "description", "preemptionPolicy"],
  defaults: (pc) => {
    pc.preemptionPolicy ??= "PreemptLowerPriority";
  },
  validate: (pc, old) => {
    const errs: FieldError[] = [];
    const name = pc.metadata.name ?? "";
    if (!old && name.startsWith("system-") && !(name in SYSTEM_PRIORITY_CLASSES))
      errs.push(forbidden("metadata.name", "priority class names with 'system-' prefix are reserved"));
    if (pc.value === undefined) errs.push(required("value"));
    else if (!isInt(pc.value) || pc.value < -2_147_483_648 || pc.value > 2_147_483_647) errs.push(invalid("value", pc.value, "must be a 32-bit integer"));
    else if (pc.value > HIGHEST_USER_PRIORITY) errs.push(forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`));
    if (pc.globalDefault !== undefined && typeof pc.globalDefault !== "boolean") errs.push(invalid("globalDefault", pc.globalDefault, "must be a boolean"));
    enumField(errs, "preemptionPolicy", pc.preemptionPolicy, ["PreemptLowerPriority", "Never"]);
    if (old) {
      checkImmutable(errs, "value", pc.value, old.value);
      checkImmutable(errs, "preemptionPolicy", pc.preemptionPolicy, old.preemptionPolicy);
    }
    return errs;
  },
  columns: [
    { name: "Value", type: "integer", description: "The value of this priority class.", cell: (o: KubeObject) => (o.value as number) ?? 0 },
    { name: "Global-Default", type: "boolean", description: "Whether this is the default priority class.", cell: (o: KubeObject) => o.globalDefault === true },
    ageColumn,
    { name: "PreemptionPolicy", type: "string", description: "Policy for preempting lower-priority pods.", cell: (o: KubeObject) => (o.preemptionPolicy as string) ?? "" },
  ],
};
