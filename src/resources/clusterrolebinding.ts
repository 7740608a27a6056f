import { bindingColumns, defaultSubjects, reservedName, validateBinding } from "./rbac-common.ts";
import type { ResourceKind } from "./types.ts";

export const clusterRoleBindingKind: ResourceKind = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "ClusterRoleBinding",
  plural: "clusterrolebindings",
  singular: "clusterrolebinding",
  namespaced: false,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["subjects", "roleRef"],
  defaults: defaultSubjects,
  validate: (crb, old) => [...reservedName(crb, "ClusterRoleBinding"), ...validateBinding(crb, old, true)],
  columns: bindingColumns,
};
