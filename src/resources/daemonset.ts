import { ageColumn, getPath, mapString } from "./columns.ts";
import { defaultPodTemplate, validateSelectorAndTemplate, validateWorkload, workloadWideColumns } from "./deployment.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { enumField, intOrPercentValue, invalid, isObj, required, sub, validateIntOrPercent, type Obj } from "./validation.ts";

function validateDaemonSet(ds: KubeObject, old?: KubeObject): FieldError[] {
  const errs = [...validateSelectorAndTemplate(ds), ...validateWorkload(ds, old, "DaemonSet")].filter((e) => e.field !== "spec.replicas");
  const strategy = sub(sub(ds, "spec"), "updateStrategy");
  enumField(errs, "spec.updateStrategy.type", strategy.type, ["OnDelete", "RollingUpdate"]);
  if (strategy.type === "RollingUpdate") {
    const ru = sub(strategy, "rollingUpdate");
    const at = "spec.updateStrategy.rollingUpdate";
    validateIntOrPercent(errs, `${at}.maxUnavailable`, ru.maxUnavailable, { max100: true });
    validateIntOrPercent(errs, `${at}.maxSurge`, ru.maxSurge, { max100: true });
    const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
    const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
    if (hasUnavailable && hasSurge) errs.push(invalid(`${at}.maxSurge`, ru.maxSurge, "may not be set when maxUnavailable is non-zero"));
    else if (!hasUnavailable && !hasSurge) errs.push(required(`${at}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
  }
  return errs;
}

const num = (o: unknown, path: string) => (getPath(o, path) as number | undefined) ?? 0;

export const daemonSetKind: ResourceKind = {
  group: "apps",
  version: "v1",
  kind: "DaemonSet",
  plural: "daemonsets",
  singular: "daemonset",
  namespaced: true,
  shortNames: ["ds"],
  subresources: ["status"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  defaults: (ds) => {
    defaultPodTemplate(ds);
    const spec = ds.spec as Obj;
    const strategy = (spec.updateStrategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {}) as Obj;
    strategy.type ||= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = (strategy.rollingUpdate = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {}) as Obj;
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
    }
    spec.revisionHistoryLimit ??= 10;
  },
  validate: validateDaemonSet,
  columns: [
    { name: "Desired", type: "integer", description: "The total number of nodes that should be running the daemon pod.", cell: (o) => num(o, "status.desiredNumberScheduled") },
    { name: "Current", type: "integer", description: "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", cell: (o) => num(o, "status.currentNumberScheduled") },
    { name: "Ready", type: "integer", description: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", cell: (o) => num(o, "status.numberReady") },
    { name: "Up-to-date", type: "integer", description: "The total number of nodes that are running updated daemon pod", cell: (o) => num(o, "status.updatedNumberScheduled") },
    { name: "Available", type: "integer", description: "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available", cell: (o) => num(o, "status.numberAvailable") },
    { name: "Node Selector", type: "string", description: "NodeSelector is a selector which must be true for the pod to fit on a node.", cell: (o) => mapString(getPath(o, "spec.template.spec.nodeSelector") as Record<string, string> | undefined) },
    ageColumn,
    ...workloadWideColumns(),
  ],
};
