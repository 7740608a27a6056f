import { formatQuantity, parseQuantity } from "../resources/quantity.ts";
import type { KubeObject } from "../resources/types.ts";

/**
 * ResourceQuota arithmetic, as Kubernetes' quota evaluators count: what one object charges
 * (pods: requests/limits of cpu and memory and the pod count while it runs; services,
 * configmaps, secrets, PVCs; `count/<resource>.<group>` for any object), whether a quota
 * covers an object (scopes), and the admission decision with Kubernetes' messages.
 * Pure: amounts are exact bigints in nano-units, so "100m" + "0.9" is exactly "1".
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** Resource name -> amount in nano-units (1 = 1e-9 of the unit). */
export type Usage = Record<string, bigint>;

const NANO = 1_000_000_000n;

/** A quantity in nano-units (rounded up, as Kubernetes rounds below nano precision); undefined if invalid. */
export function toNano(quantity: unknown): bigint | undefined {
  const q = parseQuantity(quantity);
  if (!q) return undefined;
  const e = q.exp + 9;
  if (e >= 0) return q.mantissa * 10n ** BigInt(e);
  const d = 10n ** BigInt(-e);
  const r = q.mantissa / d;
  return q.mantissa % d !== 0n && q.mantissa > 0n ? r + 1n : r;
}

const BINARY = /(^|\.)(memory|storage|ephemeral-storage)$|hugepages-/;

/** The canonical quantity string of an amount (memory-like resources in binary units, as Kubernetes prints them). */
export function formatAmount(name: string, nano: bigint): string {
  return formatQuantity({ mantissa: nano, exp: -9, format: BINARY.test(name) ? "BinarySI" : "DecimalSI" });
}

export const ONE = NANO;

export function addUsage(into: Usage, more: Usage, sign: 1n | -1n = 1n): Usage {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0n) + sign * v;
  return into;
}

/** The storage resource ("core/pods", "apps/deployments") as a quota object-count name. */
export function countName(resource: string): string {
  const slash = resource.indexOf("/");
  const group = resource.slice(0, slash);
  const plural = resource.slice(slash + 1);
  return group === "core" ? `count/${plural}` : `count/${plural}.${group}`;
}

/** The storage resource a quota name counts, if it is an object count ("count/deployments.apps" -> "apps/deployments"). */
export function resourceOfName(name: string): string | undefined {
  const legacy: Record<string, string> = {
    pods: "core/pods",
    services: "core/services",
    "services.nodeports": "core/services",
    "services.loadbalancers": "core/services",
    secrets: "core/secrets",
    configmaps: "core/configmaps",
    persistentvolumeclaims: "core/persistentvolumeclaims",
    replicationcontrollers: "core/replicationcontrollers",
    resourcequotas: "core/resourcequotas",
    "requests.storage": "core/persistentvolumeclaims",
  };
  if (name in legacy) return legacy[name];
  if (/\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/.test(name)) return "core/persistentvolumeclaims";
  if (name.startsWith("count/")) {
    const rest = name.slice("count/".length);
    const dot = rest.indexOf(".");
    return dot < 0 ? `core/${rest}` : `${rest.slice(dot + 1)}/${rest.slice(0, dot)}`;
  }
  if (/^(requests\.|limits\.)?(cpu|memory|ephemeral-storage)$/.test(name) || /hugepages-/.test(name)) return "core/pods";
  return undefined;
}

/** Pod requests and limits: containers summed, at least the largest init container, plus overhead. */
export function podComputeUsage(spec: Obj): { requests: Usage; limits: Usage } {
  const of = (c: Obj, which: "requests" | "limits"): Usage => {
    const res = isObj(c.resources) ? c.resources : {};
    const out: Usage = {};
    const l = isObj(res[which]) ? (res[which] as Obj) : {};
    for (const [k, v] of Object.entries(l)) {
      const n = toNano(v);
      if (n !== undefined) out[k] = n;
    }
    // A request defaults to the limit (Kubernetes' API defaulting).
    if (which === "requests" && isObj(res.limits))
      for (const [k, v] of Object.entries(res.limits)) if (!(k in out)) {
        const n = toNano(v);
        if (n !== undefined) out[k] = n;
      }
    return out;
  };
  const result = { requests: {} as Usage, limits: {} as Usage };
  for (const which of ["requests", "limits"] as const) {
    const total: Usage = {};
    for (const c of list(spec.containers)) addUsage(total, of(c, which));
    const sidecars: Usage = {};
    const initPeak: Usage = {};
    const maxInto = (into: Usage, u: Usage) => {
      for (const [k, v] of Object.entries(u)) if (v > (into[k] ?? 0n)) into[k] = v;
    };
    for (const c of list(spec.initContainers)) {
      const r = of(c, which);
      if (c.restartPolicy === "Always") {
        addUsage(sidecars, r);
        maxInto(initPeak, sidecars);
      } else maxInto(initPeak, addUsage({ ...sidecars }, r));
    }
    addUsage(total, sidecars);
    maxInto(total, initPeak);
    if (isObj(spec.overhead)) for (const [k, v] of Object.entries(spec.overhead)) total[k] = (total[k] ?? 0n) + (toNano(v) ?? 0n);
    result[which] = total;
  }
  return result;
}

const COMPUTE = ["cpu", "memory", "ephemeral-storage"];

/** Whether a pod still holds quota: terminal pods (Succeeded/Failed) release it, as Kubernetes' QuotaV1Pod. */
export function podHoldsQuota(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

/** What one object charges against quota, every name it contributes to. */
export function objectUsage(resource: string, obj: KubeObject): Usage {
  const usage: Usage = { [countName(resource)]: ONE };
  const spec = isObj(obj.spec) ? obj.spec : {};
  switch (resource) {
    case "core/pods": {
      if (!podHoldsQuota(obj)) break;
      usage.pods = ONE;
      const { requests, limits } = podComputeUsage(spec);
      for (const [k, v] of Object.entries(requests)) {
        usage[`requests.${k}`] = v;
        if (COMPUTE.includes(k) || k.startsWith("hugepages-")) usage[k] = v;
      }
      for (const [k, v] of Object.entries(limits)) usage[`limits.${k}`] = v;
      break;
    }
    case "core/services": {
      usage.services = ONE;
      const type = spec.type ?? "ClusterIP";
      if (type === "LoadBalancer") usage["services.loadbalancers"] = ONE;
      if (type === "NodePort" || type === "LoadBalancer") usage["services.nodeports"] = BigInt(list(spec.ports).length) * ONE;
      break;
    }
    case "core/persistentvolumeclaims": {
      usage.persistentvolumeclaims = ONE;
      const req = isObj(spec.resources) && isObj(spec.resources.requests) ? spec.resources.requests.storage : undefined;
      const n = toNano(req);
      if (n !== undefined) usage["requests.storage"] = n;
      // Per StorageClass: <class>.storageclass.storage.k8s.io/requests.storage and .../persistentvolumeclaims.
      const sc = typeof spec.storageClassName === "string" && spec.storageClassName ? spec.storageClassName : undefined;
      if (sc) {
        usage[`${sc}.storageclass.storage.k8s.io/persistentvolumeclaims`] = ONE;
        if (n !== undefined) usage[`${sc}.storageclass.storage.k8s.io/requests.storage`] = n;
      }
      break;
    }
    case "core/secrets":
    case "core/configmaps":
    case "core/replicationcontrollers":
    case "core/resourcequotas":
      usage[resource.slice("core/".length)] = ONE;
      break;
  }
  return usage;
}

/** The facts about a pod that quota scopes look at; null for other objects (scoped quotas cover only pods). */
export interface ScopeFacts {
  terminating: boolean;
  bestEffort: boolean;
  priorityClass: string;
}

export function scopeFacts(resource: string, obj: KubeObject): ScopeFacts | null {
  if (resource !== "core/pods") return null;
  const spec = isObj(obj.spec) ? obj.spec : {};
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  const bestEffort = containers.every((c) => {
    const r = isObj(c.resources) ? c.resources : {};
    const has = (l: unknown) => isObj(l) && COMPUTE.slice(0, 2).some((k) => k in l);
    return !has(r.requests) && !has(r.limits);
  });
  return {
    terminating: typeof spec.activeDeadlineSeconds === "number",
    bestEffort,
    priorityClass: typeof spec.priorityClassName === "string" ? spec.priorityClassName : "",
  };
}

interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

function scopeRequirements(quota: KubeObject): ScopeRequirement[] {
  const spec = isObj(quota.spec) ? quota.spec : {};
  const out: ScopeRequirement[] = [];
  for (const s of Array.isArray(spec.scopes) ? spec.scopes : []) out.push({ scopeName: String(s), operator: "Exists" });
  const sel = isObj(spec.scopeSelector) ? spec.scopeSelector : {};
  for (const e of list(sel.matchExpressions))
    out.push({ scopeName: String(e.scopeName), operator: String(e.operator), values: Array.isArray(e.values) ? e.values.map(String) : undefined });
  return out;
}

/** Whether a quota covers an object with these facts (Kubernetes: every scope must match; scoped quotas only cover pods). */
export function quotaCovers(quota: KubeObject, facts: ScopeFacts | null): boolean {
  const reqs = scopeRequirements(quota);
  if (reqs.length === 0) return true;
  if (!facts) return false;
  return reqs.every((r) => {
    switch (r.scopeName) {
      case "Terminating":
        return facts.terminating;
      case "NotTerminating":
        return !facts.terminating;
      case "BestEffort":
        return facts.bestEffort;
      case "NotBestEffort":
        return !facts.bestEffort;
      case "PriorityClass": {
        const has = facts.priorityClass !== "";
        if (r.operator === "Exists") return has;
        if (r.operator === "DoesNotExist") return !has;
        const inValues = (r.values ?? []).includes(facts.priorityClass);
        return r.operator === "In" ? inValues : r.operator === "NotIn" ? !inValues : false;
      }
      default:
        return false; // CrossNamespacePodAffinity, VolumeAttributesClass: not tracked here
    }
  });
}

/** spec.hard as amounts. */
export function hardOf(quota: KubeObject): Usage {
  const hard = isObj(quota.spec) && isObj(quota.spec.hard) ? quota.spec.hard : {};
  const out: Usage = {};
  for (const [k, v] of Object.entries(hard)) {
    const n = toNano(v);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** "k=v,k2=v2", names sorted, as Kubernetes' quota prettyPrint. */
export function prettyPrint(u: Usage, names: string[]): string {
  return [...names].sort().map((k) => `${k}=${formatAmount(k, u[k] ?? 0n)}`).join(",");
}

/** The formatted status list (every name of hard). */
export function formatList(u: Usage, names: string[]): Record<string, string> {
  return Object.fromEntries([...names].sort().map((k) => [k, formatAmount(k, u[k] ?? 0n)]));
}

/** Names whose per-container presence quota requires when it limits them (Kubernetes' validationSet). */
const MUST_SPECIFY = ["cpu", "limits.cpu", "limits.memory", "memory", "requests.cpu", "requests.memory"];

/**
 * Kubernetes' pod evaluator Constraints: a quota limiting cpu or memory needs every container to
 * state that request/limit. Returns "must specify ..." or undefined.
 */
export function missingComputeSpecs(pod: KubeObject, hardNames: string[]): string | undefined {
  const required = MUST_SPECIFY.filter((n) => hardNames.includes(n));
  if (required.length === 0) return undefined;
  const spec = isObj(pod.spec) ? pod.spec : {};
  const missing = new Map<string, Set<string>>();
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const r = isObj(c.resources) ? c.resources : {};
    const req = isObj(r.requests) ? r.requests : {};
    const lim = isObj(r.limits) ? r.limits : {};
    const have = new Set<string>();
    for (const k of ["cpu", "memory"]) {
      if (k in req) have.add(k).add(`requests.${k}`);
      if (k in lim) have.add(`limits.${k}`);
    }
    for (const n of required)
      if (!have.has(n)) {
        if (!missing.has(n)) missing.set(n, new Set());
        missing.get(n)!.add(String(c.name ?? ""));
      }
  }
  if (missing.size === 0) return undefined;
  return `must specify ${[...missing.keys()].sort().map((n) => `${n} for: ${[...missing.get(n)!].sort().join(",")}`).join("; ")}`;
}

/**
 * The admission decision against one quota: `delta` is what the write adds (only positive
 * increases count), `used` what the quota's objects hold now. Returns Kubernetes' message
 * (without the `<resource> "<name>" is forbidden: ` prefix) or undefined when it fits.
 */
export function exceeds(quotaName: string, hard: Usage, used: Usage, delta: Usage): string | undefined {
  const requested = Object.keys(delta).filter((k) => k in hard && delta[k] > 0n);
  const exceeded = requested.filter((k) => (used[k] ?? 0n) + delta[k] > hard[k]);
  if (exceeded.length === 0) return undefined;
  return `exceeded quota: ${quotaName}, requested: ${prettyPrint(delta, exceeded)}, used: ${prettyPrint(used, exceeded)}, limited: ${prettyPrint(hard, exceeded)}`;
}

/** new - old, only what grew (an update is checked for its increase only). */
export function increase(next: Usage, prev: Usage | undefined): Usage {
  const out: Usage = {};
  for (const [k, v] of Object.entries(next)) {
    const d = v - (prev?.[k] ?? 0n);
    if (d > 0n) out[k] = d;
  }
  return out;
}

/** The message prefix of an admission denial: `pods "x" is forbidden: `. */
export function forbiddenPrefix(resource: string, name: string): string {
  const slash = resource.indexOf("/");
  const group = resource.slice(0, slash);
  const plural = resource.slice(slash + 1);
  return `${group === "core" ? plural : `${plural}.${group}`} "${name}" is forbidden: `;
}
