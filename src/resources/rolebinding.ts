import { bindingColumns, defaultSubjects, validateBinding } from "./rbac-common.ts";
import type { ResourceKind } from "./types.ts";

export const roleBindingKind: ResourceKind = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "RoleBinding",
  plural: "rolebindings",
  singular: "rolebinding",
  namespaced: true,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["subjects", "roleRef"],
  defaults: defaultSubjects,
  validate: (rb, old) => validateBinding(rb, old, false),
  columns: bindingColumns,
};
