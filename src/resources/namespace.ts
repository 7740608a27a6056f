import { ageColumn, getPath } from "./columns.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { invalid, isObj, qualifiedName } from "./validation.ts";

export const namespaceKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  singular: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  subresources: ["status", "finalize"],
  generation: false,
  categories: [],
  fields: ["spec", "status"],
  defaults: (ns) => {
    // The "kubernetes" finalizer is added once; a namespace emptied by the lifecycle loop keeps [].
    const spec = (ns.spec = isObj(ns.spec) ? ns.spec : {}) as Record<string, unknown>;
    spec.finalizers ??= ["kubernetes"];
    const status = (ns.status = isObj(ns.status) ? ns.status : {}) as Record<string, unknown>;
    status.phase ||= "Active";
  },
  validate: (ns) => {
    const errs: FieldError[] = [];
    const finalizers = getPath(ns, "spec.finalizers");
    if (finalizers !== undefined && finalizers !== null) {
      if (!Array.isArray(finalizers)) errs.push(invalid("spec.finalizers", finalizers, "must be a list of strings"));
      else
        finalizers.forEach((f, i) => {
          if (typeof f !== "string") errs.push(invalid(`spec.finalizers[${i}]`, f, "must be a string"));
          else errs.push(...qualifiedName(f, `spec.finalizers[${i}]`));
        });
    }
    return errs;
  },
  columns: [
    { name: "Status", type: "string", description: "The status of the namespace", cell: (o) => (getPath(o, "status.phase") as string) ?? "" },
    ageColumn,
  ],
};
