import { createdAtColumn, reservedName, validateRules } from "./rbac-common.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { invalid, isObj, validateLabelSelector } from "./validation.ts";

export const clusterRoleKind: ResourceKind = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "ClusterRole",
  plural: "clusterroles",
  singular: "clusterrole",
  namespaced: false,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["rules", "aggregationRule"],
  validate: (role) => {
    const errs: FieldError[] = [...reservedName(role, "ClusterRole"), ...validateRules(role, false)];
    const agg = role.aggregationRule;
    if (agg !== undefined && agg !== null) {
      const selectors = isObj(agg) ? agg.clusterRoleSelectors : undefined;
      if (!Array.isArray(selectors)) errs.push(invalid("aggregationRule.clusterRoleSelectors", selectors, "must be a list of label selectors"));
      else selectors.forEach((s, i) => validateLabelSelector(errs, `aggregationRule.clusterRoleSelectors[${i}]`, s));
    }
    return errs;
  },
  columns: [createdAtColumn],
  noAgeColumn: true,
};
