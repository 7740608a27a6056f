import { canonicalQuantity } from "../resources/quantity.ts";
import type { KubeObject } from "../resources/types.ts";
import { addUsage, formatAmount, toNano, type Usage } from "./usage.ts";

/**
 * Kubernetes' LimitRanger admission for pods: Container items default each container's limits
 * (`default`) and requests (`defaultRequest`), then min, max and maxLimitRequestRatio are
 * enforced per container (type Container) and on the pod's sums (type Pod), with
 * kube-apiserver's messages. Pure.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

interface Item {
  type: string;
  min: Obj;
  max: Obj;
  default: Obj;
  defaultRequest: Obj;
  maxLimitRequestRatio: Obj;
}

function items(limitRanges: KubeObject[], type: string): Item[] {
  const out: Item[] = [];
  for (const lr of limitRanges)
    for (const it of list(isObj(lr.spec) ? lr.spec.limits : undefined))
      if (it.type === type)
        out.push({
          type,
          min: isObj(it.min) ? it.min : {},
          max: isObj(it.max) ? it.max : {},
          default: isObj(it.default) ? it.default : {},
          defaultRequest: isObj(it.defaultRequest) ? it.defaultRequest : {},
          maxLimitRequestRatio: isObj(it.maxLimitRequestRatio) ? it.maxLimitRequestRatio : {},
        });
  return out;
}

const containersOf = (pod: KubeObject): Obj[] => {
  const spec = isObj(pod.spec) ? pod.spec : {};
  return [...list(spec.initContainers), ...list(spec.containers)];
};

/**
 * Applies the Container defaults to a pod being created (in place): a missing limit from
 * `default`, a missing request from `defaultRequest`. Records what it set in the
 * `kubernetes.io/limit-ranger` annotation, as Kubernetes does. Returns whether anything changed.
 */
export function applyLimitRangeDefaults(pod: KubeObject, limitRanges: KubeObject[]): boolean {
  const defaults = items(limitRanges, "Container");
  if (defaults.length === 0) return false;
  const notes: string[] = [];
  const spec = isObj(pod.spec) ? pod.spec : {};
  const all = [...list(spec.initContainers).map((c) => ({ c, init: true })), ...list(spec.containers).map((c) => ({ c, init: false }))];
  for (const { c, init } of all) {
    const res = (c.resources = isObj(c.resources) ? c.resources : {}) as Obj;
    const setReq: string[] = [];
    const setLim: string[] = [];
    // Kubernetes' API defaulting comes first: a request the container leaves out equals its limit.
    if (isObj(res.limits)) {
      const requests = (res.requests = isObj(res.requests) ? res.requests : {}) as Obj;
      for (const [k, v] of Object.entries(res.limits)) if (!(k in requests)) requests[k] = v;
    }
    for (const it of defaults) {
      for (const [k, v] of Object.entries(it.default)) {
        const limits = (res.limits = isObj(res.limits) ? res.limits : {}) as Obj;
        if (!(k in limits)) {
          limits[k] = canonicalQuantity(v) ?? v;
          setLim.push(k);
        }
      }
      for (const [k, v] of Object.entries(it.defaultRequest)) {
        const requests = (res.requests = isObj(res.requests) ? res.requests : {}) as Obj;
        if (!(k in requests)) {
          requests[k] = canonicalQuantity(v) ?? v;
          setReq.push(k);
        }
      }
    }
    for (const k of ["limits", "requests"]) if (isObj(res[k]) && Object.keys(res[k] as Obj).length === 0) delete res[k];
    if (setReq.length) notes.push(`${setReq.join(", ")} request for ${init ? "init container" : "container"} ${String(c.name ?? "")}`);
    if (setLim.length) notes.push(`${setLim.join(", ")} limit for ${init ? "init container" : "container"} ${String(c.name ?? "")}`);
  }
  if (notes.length === 0) return false;
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), "kubernetes.io/limit-ranger": `LimitRanger plugin set: ${notes.join("; ")}` };
  return true;
}

const q = (v: unknown) => canonicalQuantity(v) ?? String(v);

/** Go's %f: six decimals. */
const goFloat = (n: number) => n.toFixed(6);

function minConstraint(type: string, name: string, enforced: unknown, requests: Obj, limits: Obj): string | undefined {
  const e = toNano(enforced) ?? 0n;
  if (!(name in requests)) return `minimum ${name} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if ((toNano(requests[name]) ?? 0n) < e) return `minimum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(requests[name])}`;
  if (name in limits && (toNano(limits[name]) ?? 0n) < e) return `minimum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(limits[name])}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: unknown, requests: Obj, limits: Obj): string | undefined {
  const e = toNano(enforced) ?? 0n;
  if (!(name in limits)) return `maximum ${name} usage per ${type} is ${q(enforced)}.  No limit is specified`;
  if ((toNano(limits[name]) ?? 0n) > e) return `maximum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(limits[name])}`;
  if (name in requests && (toNano(requests[name]) ?? 0n) > e) return `maximum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(requests[name])}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: unknown, requests: Obj, limits: Obj): string | undefined {
  const req = toNano(requests[name]) ?? 0n;
  const lim = toNano(limits[name]) ?? 0n;
  if (!(name in requests) || req === 0n) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no request is specified or request is 0`;
  if (!(name in limits) || lim === 0n) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no limit is specified or limit is 0`;
  const e = toNano(enforced) ?? 0n;
  // lim/req > e/1e9  <=>  lim * 1e9 > e * req (exact)
  if (lim * 1_000_000_000n > e * req) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but provided ratio is ${goFloat(Number(lim) / Number(req))}`;
  return undefined;
}

/**
 * PersistentVolumeClaim items: min and max of what the claim requests (`spec.resources.requests`),
 * as Kubernetes' PersistentVolumeClaimValidateLimitFunc (a claim's limits are not user input there).
 */
export function claimLimitViolations(claim: KubeObject, limitRanges: KubeObject[]): string | undefined {
  const errs: string[] = [];
  const spec = isObj(claim.spec) ? claim.spec : {};
  const requests = isObj(spec.resources) && isObj(spec.resources.requests) ? spec.resources.requests : {};
  for (const it of items(limitRanges, "PersistentVolumeClaim")) {
    for (const k of Object.keys(it.min).sort()) {
      const e = minConstraint(it.type, k, it.min[k], requests, {});
      if (e) errs.push(e);
    }
    for (const k of Object.keys(it.max).sort()) {
      const enforced = it.max[k];
      if (!(k in requests)) errs.push(`maximum ${k} usage per ${it.type} is ${q(enforced)}.  No request is specified`);
      else if ((toNano(requests[k]) ?? 0n) > (toNano(enforced) ?? 0n)) errs.push(`maximum ${k} usage per ${it.type} is ${q(enforced)}, but request is ${q(requests[k])}`);
    }
  }
  if (errs.length === 0) return undefined;
  return errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`;
}

function check(errs: string[], it: Item, requests: Obj, limits: Obj): void {
  const keys = (o: Obj) => Object.keys(o).sort();
  for (const k of keys(it.min)) {
    const e = minConstraint(it.type, k, it.min[k], requests, limits);
    if (e) errs.push(e);
  }
  for (const k of keys(it.max)) {
    const e = maxConstraint(it.type, k, it.max[k], requests, limits);
    if (e) errs.push(e);
  }
  for (const k of keys(it.maxLimitRequestRatio)) {
    const e = ratioConstraint(it.type, k, it.maxLimitRequestRatio[k], requests, limits);
    if (e) errs.push(e);
  }
}

const asObj = (u: Usage): Obj => Object.fromEntries(Object.entries(u).map(([k, v]) => [k, formatAmount(k, v)]));

function sumOf(pod: KubeObject, which: "requests" | "limits"): Obj {
  const spec = isObj(pod.spec) ? pod.spec : {};
  const of = (c: Obj): Usage => {
    const res = isObj(c.resources) && isObj(c.resources[which]) ? (c.resources[which] as Obj) : {};
    const out: Usage = {};
    for (const [k, v] of Object.entries(res)) {
      const n = toNano(v);
      if (n !== undefined) out[k] = n;
    }
    return out;
  };
  const total: Usage = {};
  for (const c of list(spec.containers)) addUsage(total, of(c));
  for (const c of list(spec.initContainers)) for (const [k, v] of Object.entries(of(c))) if (v > (total[k] ?? 0n)) total[k] = v;
  return asObj(total);
}

/**
 * The min/max/ratio checks for a pod (after defaults). Returns kube-apiserver's message
 * (one error as is; several as "[a, b]", as Go's error aggregate prints), or undefined.
 */
export function limitRangeViolations(pod: KubeObject, limitRanges: KubeObject[]): string | undefined {
  const errs: string[] = [];
  for (const it of items(limitRanges, "Container"))
    for (const c of containersOf(pod)) {
      const res = isObj(c.resources) ? c.resources : {};
      check(errs, it, isObj(res.requests) ? res.requests : {}, isObj(res.limits) ? res.limits : {});
    }
  const podItems = items(limitRanges, "Pod");
  if (podItems.length > 0) {
    const requests = sumOf(pod, "requests");
    const limits = sumOf(pod, "limits");
    for (const it of podItems) check(errs, it, requests, limits);
  }
  if (errs.length === 0) return undefined;
  return errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`;
}
