import { quantityToMilli, quantityToNumber } from "../resources/quantity.ts";
import type { Resources } from "./types.ts";

/**
 * What a pod asks of a node, as Kubernetes computes it: the sum over containers,
 * but at least the largest init container (init containers run one at a time, before
 * the others), sidecars (restartable init containers) counted with everything started
 * after them, plus spec.overhead. A container's request defaults to its limit.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** cpu in millicores (rounded up); other resources as whole units (rounded up). */
export function resourceAmount(name: string, quantity: unknown): number {
  const v = name === "cpu" ? quantityToMilli(quantity) : Math.ceil(quantityToNumber(quantity));
  return Number.isFinite(v) && v > 0 ? v : 0;
}

export function resourceList(list: unknown): Resources {
  const out: Resources = {};
  if (!isObj(list)) return out;
  for (const [k, v] of Object.entries(list)) {
    const n = resourceAmount(k, v);
    if (n > 0) out[k] = n;
  }
  return out;
}

function containerRequests(c: Obj): Resources {
  const res = isObj(c.resources) ? c.resources : {};
  return { ...resourceList(res.limits), ...resourceList(res.requests) };
}

const add = (into: Resources, r: Resources) => {
  for (const [k, v] of Object.entries(r)) into[k] = (into[k] ?? 0) + v;
};
const max = (into: Resources, r: Resources) => {
  for (const [k, v] of Object.entries(r)) into[k] = Math.max(into[k] ?? 0, v);
};
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

export function podRequests(spec: Obj): Resources {
  const total: Resources = {};
  for (const c of list(spec.containers)) add(total, containerRequests(c));
  const sidecars: Resources = {};
  const initPeak: Resources = {};
  for (const c of list(spec.initContainers)) {
    const r = containerRequests(c);
    if (c.restartPolicy === "Always") {
      add(sidecars, r);
      max(initPeak, sidecars);
    } else {
      const during = { ...sidecars };
      add(during, r);
      max(initPeak, during);
    }
  }
  add(total, sidecars);
  max(total, initPeak);
  add(total, resourceList(spec.overhead));
  return total;
}

/** Kubernetes scores pods without a cpu or memory request as if they asked for 100m and 200Mi. */
export const DEFAULT_MILLI_CPU = 100;
export const DEFAULT_MEMORY = 200 * 1024 * 1024;

export function nonZeroRequests(spec: Obj): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  const each = (cs: Obj[]) => cs.map((c) => {
    const r = containerRequests(c);
    return { cpu: r.cpu || DEFAULT_MILLI_CPU, memory: r.memory || DEFAULT_MEMORY };
  });
  for (const r of each(list(spec.containers))) {
    cpu += r.cpu;
    memory += r.memory;
  }
  for (const r of each(list(spec.initContainers))) {
    cpu = Math.max(cpu, r.cpu);
    memory = Math.max(memory, r.memory);
  }
  return { cpu, memory };
}
