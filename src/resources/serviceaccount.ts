import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { invalid, isObj, required, subdomain } from "./validation.ts";

function validateRefs(errs: FieldError[], field: string, refs: unknown): void {
  if (refs === undefined || refs === null) return;
  if (!Array.isArray(refs)) {
    errs.push(invalid(field, refs, "must be a list"));
    return;
  }
  refs.forEach((r, i) => {
    const name = isObj(r) ? r.name : undefined;
    if (typeof name !== "string" || !name) errs.push(required(`${field}[${i}].name`));
    else errs.push(...subdomain(name, `${field}[${i}].name`));
  });
}

export const serviceAccountKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  plural: "serviceaccounts",
  singular: "serviceaccount",
  namespaced: true,
  shortNames: ["sa"],
  subresources: ["token"],
  generation: false,
  categories: [],
  fields: ["secrets", "imagePullSecrets", "automountServiceAccountToken"],
  validate: (sa) => {
    const errs: FieldError[] = [];
    validateRefs(errs, "imagePullSecrets", sa.imagePullSecrets);
    if (sa.secrets !== undefined && sa.secrets !== null && !Array.isArray(sa.secrets)) errs.push(invalid("secrets", sa.secrets, "must be a list"));
    const am = sa.automountServiceAccountToken;
    if (am !== undefined && am !== null && typeof am !== "boolean") errs.push(invalid("automountServiceAccountToken", am, "must be a boolean"));
    return errs;
  },
  columns: [
    { name: "Secrets", type: "string", description: "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", cell: (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0) },
    ageColumn,
  ],
};

/** The ServiceAccount every namespace has, and pods run as unless they name another. */
export const DEFAULT_SERVICE_ACCOUNT = "default";

export function defaultServiceAccount(namespace: string): KubeObject {
  const sa: KubeObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace, uid: crypto.randomUUID() } };
  return sa;
}
