import { BUILTIN_CLUSTER_ROLE_BINDING_NAMES, BUILTIN_CLUSTER_ROLE_NAMES } from "../auth/default-roles.ts";
import { RBAC_GROUP } from "../auth/rbac.ts";
import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, TableColumn } from "./types.ts";
import { invalid, isObj, jsonEqual, notSupported, required } from "./validation.ts";

/** Validation and table columns shared by the four rbac.authorization.k8s.io/v1 kinds. */

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function stringList(errs: FieldError[], field: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!isStringList(v)) {
    errs.push(invalid(field, v, "must be a list of strings"));
    return [];
  }
  return v;
}

/** PolicyRules as Kubernetes' ValidatePolicyRule: verbs, api groups + resources, or non-resource URLs. */
export function validateRules(obj: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const rules = obj.rules;
  if (rules === undefined || rules === null) return errs;
  if (!Array.isArray(rules)) return [invalid("rules", rules, "must be a list")];
  rules.forEach((r, i) => {
    const f = `rules[${i}]`;
    if (!isObj(r)) return errs.push(invalid(f, r, "must be an object"));
    const verbs = stringList(errs, `${f}.verbs`, r.verbs);
    const groups = stringList(errs, `${f}.apiGroups`, r.apiGroups);
    const resources = stringList(errs, `${f}.resources`, r.resources);
    stringList(errs, `${f}.resourceNames`, r.resourceNames);
    const urls = stringList(errs, `${f}.nonResourceURLs`, r.nonResourceURLs);
    if (verbs.length === 0) errs.push(required(`${f}.verbs`, "verbs must contain at least one value"));
    if (urls.length > 0) {
      if (namespaced) errs.push(invalid(`${f}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"));
      if (groups.length > 0 || resources.length > 0)
        errs.push(invalid(`${f}.nonResourceURLs`, urls, "rules cannot apply to both regular resources and non-resource URLs"));
      return;
    }
    if (groups.length === 0) errs.push(required(`${f}.apiGroups`, "resource rules must supply at least one api group"));
    if (resources.length === 0) errs.push(required(`${f}.resources`, "resource rules must supply at least one resource"));
  });
  return errs;
}

/** roleRef (immutable) and subjects, as Kubernetes' ValidateRoleBindingSubject / roleRef checks. */
export function validateBinding(obj: KubeObject, old: KubeObject | undefined, clusterScoped: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = obj.roleRef;
  if (!isObj(ref)) errs.push(required("roleRef"));
  else {
    if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
    const kinds = clusterScoped ? ["ClusterRole"] : ["Role", "ClusterRole"];
    if (!kinds.includes(ref.kind as string)) errs.push(notSupported("roleRef.kind", ref.kind ?? "", kinds));
    if (typeof ref.name !== "string" || !ref.name) errs.push(required("roleRef.name"));
    else if (ref.name.includes("/") || ref.name.includes("%")) errs.push(invalid("roleRef.name", ref.name, "may not contain '/' or '%'"));
  }
  if (old && !jsonEqual(ref, old.roleRef)) errs.push(invalid("roleRef", ref, "cannot change roleRef"));
  const subjects = obj.subjects;
  if (subjects !== undefined && subjects !== null) {
    if (!Array.isArray(subjects)) errs.push(invalid("subjects", subjects, "must be a list"));
    else
      subjects.forEach((s, i) => {
        const f = `subjects[${i}]`;
        if (!isObj(s)) return errs.push(invalid(f, s, "must be an object"));
        if (typeof s.name !== "string" || !s.name) errs.push(required(`${f}.name`));
        switch (s.kind) {
          case "ServiceAccount":
            if (s.apiGroup) errs.push(notSupported(`${f}.apiGroup`, s.apiGroup, [""]));
            if (clusterScoped && !s.namespace) errs.push(required(`${f}.namespace`));
            break;
          case "User":
          case "Group":
            if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${f}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
            break;
          default:
            errs.push(notSupported(`${f}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]));
        }
      });
  }
  return errs;
}

/** Binding defaults: a User/Group subject without apiGroup gets rbac.authorization.k8s.io, as kubectl and the API server do. */
export function defaultSubjects(obj: KubeObject): void {
  if (!Array.isArray(obj.subjects)) return;
  for (const s of obj.subjects) if (isObj(s) && (s.kind === "User" || s.kind === "Group") && s.apiGroup === undefined) s.apiGroup = RBAC_GROUP;
}

export function reservedName(obj: KubeObject, kind: "ClusterRole" | "ClusterRoleBinding"): FieldError[] {
  const names = kind === "ClusterRole" ? BUILTIN_CLUSTER_ROLE_NAMES : BUILTIN_CLUSTER_ROLE_BINDING_NAMES;
  const name = obj.metadata.name;
  return name && names.has(name) ? [invalid("metadata.name", name, `is reserved for a built-in ${kind}`)] : [];
}

export const createdAtColumn: TableColumn = {
  name: "Created At",
  type: "date",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  cell: (o) => o.metadata.creationTimestamp ?? null,
};

function subjectsOf(o: KubeObject, kind: string): string {
  const subs = Array.isArray(o.subjects) ? (o.subjects as { kind?: string; name?: string; namespace?: string }[]) : [];
  return subs
    .filter((s) => s.kind === kind)
    .map((s) => (kind === "ServiceAccount" ? `${s.namespace ?? o.metadata.namespace ?? ""}/${s.name}` : (s.name ?? "")))
    .join(", ");
}

export const bindingColumns: TableColumn[] = [
  {
    name: "Role",
    type: "string",
    description: "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
    cell: (o) => {
      const r = o.roleRef as { kind?: string; name?: string } | undefined;
      return r ? `${r.kind}/${r.name}` : "";
    },
  },
  ageColumn,
  { name: "Users", type: "string", priority: 1, description: "Users in the binding.", cell: (o) => subjectsOf(o, "User") },
  { name: "Groups", type: "string", priority: 1, description: "Groups in the binding.", cell: (o) => subjectsOf(o, "Group") },
  { name: "ServiceAccounts", type: "string", priority: 1, description: "ServiceAccounts in the binding.", cell: (o) => subjectsOf(o, "ServiceAccount") },
];
