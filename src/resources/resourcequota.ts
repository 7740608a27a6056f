import { ageColumn } from "./columns.ts";
import { canonicalQuantity, parseQuantity, QUANTITY_FORMAT_MESSAGE } from "./quantity.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { canonicalizeResourceList, invalid, isObj, notSupported, qualifiedName, sub, type Obj } from "./validation.ts";

/** Resource names a quota may use without a domain prefix. */
const STANDARD_QUOTA = new Set([
  "pods",
  "services",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "services.nodeports",
  "services.loadbalancers",
  "cpu",
  "memory",
  "storage",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.storage",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
]);
const INTEGER_RESOURCES = new Set(["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"]);
export const QUOTA_SCOPES = ["BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass", "Terminating", "VolumeAttributesClass"];

const isStandardQuota = (name: string) =>
  STANDARD_QUOTA.has(name) || /^(requests\.|limits\.)?hugepages-/.test(name) || name.startsWith("count/") || name.includes("/");

/** Is this quota resource counted in whole units (pods, count/..., ...)? */
export const isIntegerResource = (name: string) => INTEGER_RESOURCES.has(name) || name.startsWith("count/");

function validateQuotaList(errs: FieldError[], field: string, list: unknown): void {
  if (list === undefined || list === null) return;
  if (!isObj(list)) return void errs.push(invalid(field, list, "must be a map of resource names to quantities"));
  for (const [name, value] of Object.entries(list)) {
    const at = `${field}[${name}]`;
    const nameErrs = qualifiedName(name, at);
    errs.push(...nameErrs);
    if (nameErrs.length === 0 && !isStandardQuota(name)) errs.push(invalid(at, name, "must be a standard resource for quota"));
    const q = parseQuantity(value);
    if (!q) {
      errs.push(invalid(at, value, QUANTITY_FORMAT_MESSAGE));
      continue;
    }
    if (q.mantissa < 0n) errs.push(invalid(at, canonicalQuantity(value), "must be greater than or equal to 0"));
    else if (isIntegerResource(name) && q.exp < 0 && q.mantissa % 10n ** BigInt(-q.exp) !== 0n) errs.push(invalid(at, canonicalQuantity(value), "must be an integer"));
  }
}

/** REQUEST and LIMIT cells: "pods: 1/10, requests.cpu: 0/2" over status.hard (spec.hard until a controller fills status). */
function quotaCells(rq: KubeObject): { request: string; limit: string } {
  const status = sub(rq, "status");
  const hard = isObj(status.hard) ? status.hard : sub(rq, "spec").hard;
  const used = isObj(status.used) ? (status.used as Obj) : {};
  const request: string[] = [];
  const limit: string[] = [];
  const names = isObj(hard) ? Object.keys(hard).sort() : [];
  for (const name of names) {
    const text = `${name}: ${canonicalQuantity(used[name]) ?? "0"}/${canonicalQuantity((hard as Obj)[name]) ?? "0"}`;
    const pieces = name.split(".");
    (pieces.length > 1 && pieces[0] === "limits" ? limit : request).push(text);
  }
  return { request: request.join(", "), limit: limit.join(", ") };
}

export const resourceQuotaKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  plural: "resourcequotas",
  singular: "resourcequota",
  namespaced: true,
  shortNames: ["quota"],
  subresources: ["status"],
  generation: false,
  categories: [],
  fields: ["spec", "status"],
  defaults: (rq) => {
    if (isObj(rq.spec)) canonicalizeResourceList(rq.spec.hard);
    if (isObj(rq.status)) {
      canonicalizeResourceList(rq.status.hard);
      canonicalizeResourceList(rq.status.used);
    }
  },
  validate: (rq) => {
    const errs: FieldError[] = [];
    const spec = sub(rq, "spec");
    validateQuotaList(errs, "spec.hard", spec.hard);
    if (spec.scopes !== undefined && spec.scopes !== null) {
      const scopes = Array.isArray(spec.scopes) ? spec.scopes : [spec.scopes];
      if (scopes.some((s) => !QUOTA_SCOPES.includes(s as string))) errs.push(invalid("spec.scopes", spec.scopes, "unsupported scope"));
      if (scopes.includes("Terminating") && scopes.includes("NotTerminating")) errs.push(invalid("spec.scopes", spec.scopes, "conflicting scopes"));
      if (scopes.includes("BestEffort") && scopes.includes("NotBestEffort")) errs.push(invalid("spec.scopes", spec.scopes, "conflicting scopes"));
    }
    if (isObj(spec.scopeSelector) && Array.isArray(spec.scopeSelector.matchExpressions))
      spec.scopeSelector.matchExpressions.forEach((e, i) => {
        const at = `spec.scopeSelector.matchExpressions[${i}]`;
        const x = isObj(e) ? e : {};
        if (!QUOTA_SCOPES.includes(x.scopeName as string)) errs.push(invalid(`${at}.scopeName`, x.scopeName, "unsupported scope"));
        const ops = ["DoesNotExist", "Exists", "In", "NotIn"];
        if (!ops.includes(x.operator as string)) errs.push(notSupported(`${at}.operator`, x.operator, ops));
      });
    const status = sub(rq, "status");
    validateQuotaList(errs, "status.hard", status.hard);
    validateQuotaList(errs, "status.used", status.used);
    return errs;
  },
  columns: [
    { name: "Request", type: "string", description: "Request represents a minimum amount of cpu/memory that a container may consume.", cell: (o) => quotaCells(o).request },
    { name: "Limit", type: "string", description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.", cell: (o) => quotaCells(o).limit },
    ageColumn,
  ],
};

