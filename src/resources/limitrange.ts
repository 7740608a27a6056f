import { canonicalQuantity, compareQuantities } from "./quantity.ts";
import type { FieldError, ResourceKind } from "./types.ts";
import { canonicalizeResourceList, duplicate, forbidden, invalid, isObj, qualifiedName, required, validateResourceList, type Obj } from "./validation.ts";

export const LIMIT_TYPES = ["Pod", "Container", "PersistentVolumeClaim"];
const LISTS = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] as const;

/** Container items: default limit from max; default request from default limit, then from min. */
function defaultItem(item: Obj): void {
  for (const l of LISTS) canonicalizeResourceList(item[l]);
  if (item.type !== "Container") return;
  const max = isObj(item.max) ? item.max : {};
  const min = isObj(item.min) ? item.min : {};
  const dflt: Obj = isObj(item.default) ? item.default : {};
  const request: Obj = isObj(item.defaultRequest) ? item.defaultRequest : {};
  for (const [k, v] of Object.entries(max)) if (!(k in dflt)) dflt[k] = v;
  for (const [k, v] of Object.entries(dflt)) if (!(k in request)) request[k] = v;
  for (const [k, v] of Object.entries(min)) if (!(k in request)) request[k] = v;
  if (Object.keys(dflt).length) item.default = dflt;
  if (Object.keys(request).length) item.defaultRequest = request;
}

function validateItem(errs: FieldError[], at: string, item: Obj, seenTypes: Set<unknown>): void {
  const type = item.type;
  if (typeof type !== "string" || !type) errs.push(required(`${at}.type`));
  else {
    const nameErrs = qualifiedName(type, `${at}.type`);
    errs.push(...nameErrs);
    if (nameErrs.length === 0 && !type.includes("/") && !LIMIT_TYPES.includes(type)) errs.push(invalid(`${at}.type`, type, "must be a standard limit type or fully qualified"));
  }
  if (seenTypes.has(type)) errs.push(duplicate(`${at}.type`, type));
  seenTypes.add(type);
  const lists: Record<string, Obj> = {};
  for (const l of LISTS) {
    validateResourceList(errs, `${at}.${l}`, item[l]);
    lists[l] = isObj(item[l]) ? item[l] : {};
  }
  if (type === "Pod") {
    if (Object.keys(lists.default).length) errs.push(forbidden(`${at}.default`, "may not be specified when `type` is 'Pod'"));
    if (Object.keys(lists.defaultRequest).length) errs.push(forbidden(`${at}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
  }
  if (type === "PersistentVolumeClaim" && !("storage" in lists.min) && !("storage" in lists.max))
    errs.push(required(`${at}.limits`, "either minimum or maximum storage value is required, but neither was provided"));
  const keys = new Set(LISTS.flatMap((l) => Object.keys(lists[l])));
  const q = (v: unknown) => canonicalQuantity(v) ?? String(v);
  const gt = (a: unknown, b: unknown) => compareQuantities(a, b) > 0;
  for (const k of keys) {
    const { min, max, default: dflt, defaultRequest: req, maxLimitRequestRatio: ratio } = Object.fromEntries(LISTS.map((l) => [l, lists[l][k]]));
    const has = (v: unknown) => v !== undefined;
    if (has(min) && has(max) && gt(min, max)) errs.push(invalid(`${at}.min[${k}]`, q(min), `min value ${q(min)} is greater than max value ${q(max)}`));
    if (has(req) && has(min) && gt(min, req)) errs.push(invalid(`${at}.defaultRequest[${k}]`, q(req), `min value ${q(min)} is greater than default request value ${q(req)}`));
    if (has(req) && has(max) && gt(req, max)) errs.push(invalid(`${at}.defaultRequest[${k}]`, q(req), `default request value ${q(req)} is greater than max value ${q(max)}`));
    if (has(req) && has(dflt) && gt(req, dflt)) errs.push(invalid(`${at}.defaultRequest[${k}]`, q(req), `default request value ${q(req)} is greater than default limit value ${q(dflt)}`));
    if (has(dflt) && has(min) && gt(min, dflt)) errs.push(invalid(`${at}.default[${k}]`, q(min), `min value ${q(min)} is greater than default value ${q(dflt)}`));
    if (has(dflt) && has(max) && gt(dflt, max)) errs.push(invalid(`${at}.default[${k}]`, q(max), `default value ${q(dflt)} is greater than max value ${q(max)}`));
    if (has(ratio) && compareQuantities(ratio, "1") < 0) errs.push(invalid(`${at}.maxLimitRequestRatio[${k}]`, q(ratio), `ratio ${q(ratio)} is less than 1`));
  }
}

export const limitRangeKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "LimitRange",
  plural: "limitranges",
  singular: "limitrange",
  namespaced: true,
  shortNames: ["limits"],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["spec"],
  defaults: (lr) => {
    const limits = isObj(lr.spec) ? lr.spec.limits : undefined;
    if (Array.isArray(limits)) for (const item of limits) if (isObj(item)) defaultItem(item);
  },
  validate: (lr) => {
    const errs: FieldError[] = [];
    const limits = isObj(lr.spec) ? lr.spec.limits : undefined;
    if (limits === undefined || limits === null) return errs;
    if (!Array.isArray(limits)) return [invalid("spec.limits", limits, "must be a list")];
    const seen = new Set<unknown>();
    limits.forEach((item, i) => {
      if (!isObj(item)) errs.push(invalid(`spec.limits[${i}]`, item, "must be an object"));
      else validateItem(errs, `spec.limits[${i}]`, item, seen);
    });
    return errs;
  },
  // Kubernetes has no printer for LimitRange: the default table is NAME and CREATED AT.
  columns: [{ name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", cell: (o) => o.metadata.creationTimestamp ?? "" }],
  noAgeColumn: true,
};
