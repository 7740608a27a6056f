import { ageColumn, getPath } from "./columns.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { enumField, forbidden, invalid, isInt, sub } from "./validation.ts";

export const leaseKind: ResourceKind = {
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  plural: "leases",
  singular: "lease",
  namespaced: true,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["spec"],
  validate: (lease) => {
    const errs: FieldError[] = [];
    const spec = sub(lease, "spec");
    const d = spec.leaseDurationSeconds;
    if (d !== undefined && d !== null && (!isInt(d) || d <= 0)) errs.push(invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
    const t = spec.leaseTransitions;
    if (t !== undefined && t !== null && (!isInt(t) || t < 0)) errs.push(invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
    for (const f of ["acquireTime", "renewTime"]) {
      const v = spec[f];
      if (v !== undefined && v !== null && (typeof v !== "string" || Number.isNaN(Date.parse(v)))) errs.push(invalid(`spec.${f}`, v, "must be an RFC 3339 time"));
    }
    enumField(errs, "spec.strategy", spec.strategy, ["OldestEmulationVersion"]);
    if (spec.preferredHolder && !spec.holderIdentity) errs.push(forbidden("spec.preferredHolder", "may only be specified if `holderIdentity` is set"));
    return errs;
  },
  columns: [{ name: "Holder", type: "string", description: "holderIdentity contains the identity of the holder of a current lease.", cell: (o) => (getPath(o, "spec.holderIdentity") as string | undefined) ?? "" }, ageColumn],
};
