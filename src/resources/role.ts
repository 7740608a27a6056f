import { createdAtColumn, validateRules } from "./rbac-common.ts";
import type { ResourceKind } from "./types.ts";

export const roleKind: ResourceKind = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "Role",
  plural: "roles",
  singular: "role",
  namespaced: true,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["rules"],
  validate: (role) => validateRules(role, true),
  columns: [createdAtColumn],
  noAgeColumn: true,
};
