import { ageColumn, getPath } from "./columns.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { enumField, invalid, sub, validateIntOrPercent, validateLabelSelector } from "./validation.ts";

const intOrString = (v: unknown) => (v === undefined || v === null ? "N/A" : String(v));

export const podDisruptionBudgetKind: ResourceKind = {
  group: "policy",
  version: "v1",
  kind: "PodDisruptionBudget",
  plural: "poddisruptionbudgets",
  singular: "poddisruptionbudget",
  namespaced: true,
  shortNames: ["pdb"],
  subresources: ["status"],
  generation: true,
  categories: [],
  fields: ["spec", "status"],
  validate: (pdb) => {
    const errs: FieldError[] = [];
    const spec = sub(pdb, "spec");
    const min = spec.minAvailable;
    const max = spec.maxUnavailable;
    if (min !== undefined && min !== null && max !== undefined && max !== null) errs.push(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
    validateIntOrPercent(errs, "spec.minAvailable", min, { max100: true });
    validateIntOrPercent(errs, "spec.maxUnavailable", max, { max100: true });
    validateLabelSelector(errs, "spec.selector", spec.selector);
    enumField(errs, "spec.unhealthyPodEvictionPolicy", spec.unhealthyPodEvictionPolicy, ["AlwaysAllow", "IfHealthyBudget"]);
    return errs;
  },
  columns: [
    { name: "Min Available", type: "string", description: "The minimum number of pods that must be available.", cell: (o) => intOrString(getPath(o, "spec.minAvailable")) },
    { name: "Max Unavailable", type: "string", description: "The maximum number of pods that may be unavailable.", cell: (o) => intOrString(getPath(o, "spec.maxUnavailable")) },
    { name: "Allowed Disruptions", type: "integer", description: "Calculated number of pods that may be disrupted at this time.", cell: (o) => (getPath(o, "status.disruptionsAllowed") as number | undefined) ?? 0 },
    ageColumn,
  ],
};
