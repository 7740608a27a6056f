import { ageColumn, getPath } from "./columns.ts";
import { labelValue, qualifiedName } from "./meta.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { canonicalizeResourceList, duplicate, enumField, forbidden, invalid, isCIDR, isInt, isObj, required, sub, validateResourceList, type Obj } from "./validation.ts";

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** Validation of a taint list (Node spec.taints). */
export function validateTaints(errs: FieldError[], field: string, taints: unknown): void {
  if (taints === undefined || taints === null) return;
  if (!Array.isArray(taints)) return void errs.push(invalid(field, taints, "must be a list"));
  const seen = new Set<string>();
  taints.forEach((t: unknown, i) => {
    const at = `${field}[${i}]`;
    const taint = isObj(t) ? t : {};
    if (typeof taint.key !== "string" || !taint.key) errs.push(...qualifiedName("", `${at}.key`));
    else errs.push(...qualifiedName(taint.key, `${at}.key`));
    if (taint.value !== undefined && taint.value !== "") errs.push(...labelValue(taint.value, `${at}.value`));
    if (taint.effect === undefined || taint.effect === "") errs.push(required(`${at}.effect`));
    else enumField(errs, `${at}.effect`, taint.effect, TAINT_EFFECTS);
    const key = `${String(taint.key)}\u0000${String(taint.effect)}`;
    if (seen.has(key)) errs.push({ ...duplicate(at, taint), message: `Duplicate value: ${JSON.stringify(taint)}: taints must be unique by key and effect pair` });
    seen.add(key);
  });
}

const CONDITION_STATUSES = ["True", "False", "Unknown"];
const NODE_INFO_FIELDS = ["machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"];

/** A list field of objects; calls `each` per element that is an object. */
function eachObject(errs: FieldError[], field: string, list: unknown, each: (item: Obj, at: string) => void): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) return void errs.push(invalid(field, list, "must be a list"));
  list.forEach((item: unknown, i) => (isObj(item) ? each(item, `${field}[${i}]`) : errs.push(invalid(`${field}[${i}]`, item, "must be an object"))));
}

function optionalString(errs: FieldError[], field: string, v: unknown): void {
  if (v !== undefined && typeof v !== "string") errs.push(invalid(field, v, "must be a string"));
}

/**
 * What a node reports about itself must have the shape the scheduler and kubectl read:
 * conditions with a unique type and a True/False/Unknown status, addresses with a type and
 * an address, string nodeInfo fields, a valid kubelet port. Garbage is a 422, never stored.
 */
function validateNodeStatusShape(errs: FieldError[], status: Obj): void {
  const types = new Set<string>();
  eachObject(errs, "status.conditions", status.conditions, (c, at) => {
    if (typeof c.type !== "string" || c.type === "") errs.push(required(`${at}.type`));
    else if (types.has(c.type)) errs.push(duplicate(`${at}.type`, c.type));
    else types.add(c.type);
    if (c.status === undefined) errs.push(required(`${at}.status`));
    else enumField(errs, `${at}.status`, c.status, CONDITION_STATUSES);
    for (const f of ["reason", "message", "lastHeartbeatTime", "lastTransitionTime"]) optionalString(errs, `${at}.${f}`, c[f]);
  });
  eachObject(errs, "status.addresses", status.addresses, (a, at) => {
    if (typeof a.type !== "string" || a.type === "") errs.push(required(`${at}.type`));
    if (typeof a.address !== "string") errs.push(a.address === undefined ? required(`${at}.address`) : invalid(`${at}.address`, a.address, "must be a string"));
  });
  if (status.nodeInfo !== undefined) {
    if (!isObj(status.nodeInfo)) errs.push(invalid("status.nodeInfo", status.nodeInfo, "must be an object"));
    else for (const f of NODE_INFO_FIELDS) optionalString(errs, `status.nodeInfo.${f}`, status.nodeInfo[f]);
  }
  const port = sub(sub(status, "daemonEndpoints"), "kubeletEndpoint").Port;
  if (port !== undefined && !(isInt(port) && port >= 0 && port <= 65535)) errs.push(invalid("status.daemonEndpoints.kubeletEndpoint.Port", port, "must be between 0 and 65535, inclusive"));
}

/** STATUS as kubectl shows it: Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned. */
export function nodeStatus(node: KubeObject): string {
  const conditions = (getPath(node, "status.conditions") as { type?: string; status?: string }[] | undefined) ?? [];
  const status: string[] = [];
  const ready = Array.isArray(conditions) ? conditions.filter(isObj).find((c) => c.type === "Ready") : undefined;
  if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
  else status.push("Unknown");
  if (getPath(node, "spec.unschedulable") === true) status.push("SchedulingDisabled");
  return status.join(",");
}

/** ROLES: node-role.kubernetes.io/<role> labels and the kubernetes.io/role label, sorted. */
export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return [...roles].sort().join(",") || "<none>";
}

function address(node: KubeObject, type: string): string {
  const addrs = getPath(node, "status.addresses");
  const found = Array.isArray(addrs) ? (addrs as Obj[]).find((a) => isObj(a) && a.type === type) : undefined;
  return found ? String(found.address ?? "") : "<none>";
}

const info = (node: KubeObject, f: string) => (getPath(node, `status.nodeInfo.${f}`) as string | undefined) || "<unknown>";

export const nodeKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Node",
  plural: "nodes",
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  subresources: ["status", "proxy"],
  generation: false,
  categories: [],
  fields: ["spec", "status"],
  defaults: (node) => {
    if (!isObj(node.status)) return;
    const status = node.status as Obj;
    canonicalizeResourceList(status.capacity);
    canonicalizeResourceList(status.allocatable);
    // Allocatable defaults to capacity.
    if (status.allocatable === undefined && isObj(status.capacity)) status.allocatable = { ...status.capacity };
  },
  validate: (node, old) => {
    const errs: FieldError[] = [];
    const spec = sub(node, "spec");
    const cidrs: unknown[] = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [];
    if (spec.podCIDR !== undefined && spec.podCIDR !== "" && !isCIDR(spec.podCIDR)) errs.push(invalid("spec.podCIDR", spec.podCIDR, "must be a valid CIDR"));
    cidrs.forEach((c, i) => {
      if (!isCIDR(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, "must be a valid CIDR"));
    });
    if (cidrs.length > 2) errs.push(invalid("spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"));
    if (spec.podCIDR && cidrs.length && cidrs[0] !== spec.podCIDR) errs.push(invalid("spec.podCIDRs", cidrs, "first value must match `podCIDR`"));
    validateTaints(errs, "spec.taints", spec.taints);
    const status = sub(node, "status");
    validateResourceList(errs, "status.capacity", status.capacity);
    validateResourceList(errs, "status.allocatable", status.allocatable);
    validateNodeStatusShape(errs, status);
    if (old) {
      const prev = sub(old, "spec");
      if (prev.podCIDR && spec.podCIDR !== prev.podCIDR) errs.push(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
      if (prev.providerID && spec.providerID !== prev.providerID) errs.push(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'));
    }
    return errs;
  },
  columns: [
    { name: "Status", type: "string", description: "The status of the node", cell: nodeStatus },
    { name: "Roles", type: "string", description: "The roles of the node", cell: nodeRoles },
    ageColumn,
    { name: "Version", type: "string", description: "Kubelet Version reported by the node.", cell: (n) => (getPath(n, "status.nodeInfo.kubeletVersion") as string) ?? "" },
    { name: "Internal-IP", type: "string", priority: 1, description: "List of addresses reachable to the node.", cell: (n) => address(n, "InternalIP") },
    { name: "External-IP", type: "string", priority: 1, description: "List of addresses reachable to the node.", cell: (n) => address(n, "ExternalIP") },
    { name: "OS-Image", type: "string", priority: 1, description: "OS Image reported by the node.", cell: (n) => info(n, "osImage") },
    { name: "Kernel-Version", type: "string", priority: 1, description: "Kernel Version reported by the node.", cell: (n) => info(n, "kernelVersion") },
    { name: "Container-Runtime", type: "string", priority: 1, description: "ContainerRuntime Version reported by the node.", cell: (n) => info(n, "containerRuntimeVersion") },
  ],
};
