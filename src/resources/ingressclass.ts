import { ageColumn, getPath } from "./columns.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { checkImmutable, enumField, forbidden, invalid, isObj, required, sub, subdomain, tooLong, type Obj } from "./validation.ts";

const MAX_CONTROLLER = 250;

/** "example.com/ingress-nginx": a DNS subdomain, "/", and a path. */
export function domainPrefixedPathErrors(field: string, value: unknown): FieldError[] {
  if (typeof value !== "string" || value.length === 0) return [required(field)];
  const slash = value.indexOf("/");
  if (slash === -1) return [invalid(field, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const host = value.slice(0, slash);
  const path = value.slice(slash + 1);
  const errs = subdomain(host, field);
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(path))
    errs.push(invalid(field, path, "Invalid path: must contain only alphanumeric characters, '-', '_', '.', '~', '%', '!', '$', '&', ''', '(', ')', '*', '+', ',', ';', '=', ':'"));
  return errs;
}

export const ingressClassKind: ResourceKind = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "IngressClass",
  plural: "ingressclasses",
  singular: "ingressclass",
  namespaced: false,
  shortNames: [],
  subresources: [],
  generation: true,
  categories: [],
  fields: ["spec"],
  defaults: (ic) => {
    const params = isObj(ic.spec) ? ic.spec.parameters : undefined;
    if (isObj(params)) params.scope ||= "Cluster";
  },
  validate: (ic, old) => {
    const errs: FieldError[] = [];
    const spec = sub(ic, "spec");
    const controller = spec.controller;
    if (typeof controller === "string" && controller.length > MAX_CONTROLLER) errs.push(tooLong("spec.controller", MAX_CONTROLLER));
    errs.push(...domainPrefixedPathErrors("spec.controller", controller));
    if (isObj(spec.parameters)) {
      const p = spec.parameters as Obj;
      if (!p.kind) errs.push(required("spec.parameters.kind"));
      if (!p.name) errs.push(required("spec.parameters.name"));
      enumField(errs, "spec.parameters.scope", p.scope, ["Cluster", "Namespace"]);
      if (p.scope === "Namespace" && !p.namespace) errs.push(required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'"));
      if (p.scope === "Cluster" && p.namespace) errs.push(forbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'"));
    }
    if (old) checkImmutable(errs, "spec.controller", spec.controller, getPath(old, "spec.controller"));
    return errs;
  },
  columns: [
    { name: "Controller", type: "string", description: "Controller that is responsible for handling this class", cell: (o) => (getPath(o, "spec.controller") as string) ?? "" },
    {
      name: "Parameters",
      type: "string",
      description: "A reference to a resource with additional parameters",
      cell: (o) => {
        const p = getPath(o, "spec.parameters");
        if (!isObj(p)) return "<none>";
        return `${p.kind ?? ""}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name ?? ""}`;
      },
    },
    ageColumn,
  ],
};
