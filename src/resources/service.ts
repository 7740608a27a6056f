import { ageColumn, mapString } from "./columns.ts";
import { validateLabels } from "./meta.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  dns1035Label,
  dns1123Label,
  duplicate,
  enumField,
  forbidden,
  invalid,
  IP_MESSAGE,
  isCIDR,
  isInt,
  isIP,
  isIPv6,
  isObj,
  jsonEqual,
  notSupported,
  PORT_RANGE_MESSAGE,
  required,
  subdomain,
  validateIntOrNamedPort,
  validPort,
  type Obj,
} from "./validation.ts";

export const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
/** The default --service-node-port-range of kube-apiserver. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
}

const specOf = (svc: KubeObject) => (isObj(svc.spec) ? svc.spec : {}) as Obj & { ports?: ServicePort[]; type?: string; clusterIP?: string; clusterIPs?: string[] };
const portsOf = (svc: KubeObject): ServicePort[] => (Array.isArray(specOf(svc).ports) ? (specOf(svc).ports as ServicePort[]).filter(isObj) : []);
const isHeadless = (svc: KubeObject) => specOf(svc).clusterIP === "None";
const needsNodePort = (type: unknown) => type === "NodePort" || type === "LoadBalancer";

function defaultService(svc: KubeObject): void {
  const spec = (svc.spec = isObj(svc.spec) ? svc.spec : {}) as Obj;
  spec.type ||= "ClusterIP";
  spec.sessionAffinity ||= "None";
  if (spec.sessionAffinity === "ClientIP") {
    const cfg = (spec.sessionAffinityConfig = isObj(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : {}) as Obj;
    const clientIP = (cfg.clientIP = isObj(cfg.clientIP) ? cfg.clientIP : {}) as Obj;
    clientIP.timeoutSeconds ??= 10800;
  }
  if (Array.isArray(spec.ports))
    for (const p of spec.ports as Obj[]) {
      if (!isObj(p)) continue;
      p.protocol ||= "TCP";
      if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
    }
  if (needsNodePort(spec.type)) spec.externalTrafficPolicy ||= "Cluster";
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type !== "ExternalName") {
    spec.internalTrafficPolicy ||= "Cluster";
    // IP allocation is not done here: a clusterIP stays unset unless given (or "None").
    if (typeof spec.clusterIP === "string" && spec.clusterIP && !(Array.isArray(spec.clusterIPs) && spec.clusterIPs.length))
      spec.clusterIPs = [spec.clusterIP];
    if (!spec.clusterIP && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === "string") spec.clusterIP = spec.clusterIPs[0];
    spec.ipFamilyPolicy ||= "SingleStack";
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) {
      const first = Array.isArray(spec.clusterIPs) ? spec.clusterIPs[0] : undefined;
      spec.ipFamilies = [typeof first === "string" && isIPv6(first) ? "IPv6" : "IPv4"];
    }
  }
  if (!isObj(svc.status)) svc.status = { loadBalancer: {} };
}

/**
 * On update Kubernetes keeps what it allocated when the new object leaves it empty
 * (a PUT of the original manifest keeps clusterIP and nodePorts).
 */
function carryAllocated(svc: KubeObject, old: KubeObject): void {
  const spec = specOf(svc);
  const prev = specOf(old);
  if (spec.type === "ExternalName" || prev.type === "ExternalName") return;
  if (!spec.clusterIP && prev.clusterIP) {
    spec.clusterIP = prev.clusterIP;
    if (Array.isArray(prev.clusterIPs)) spec.clusterIPs = [...prev.clusterIPs];
  }
  if (needsNodePort(spec.type) && needsNodePort(prev.type)) {
    const oldPorts = portsOf(old);
    for (const p of portsOf(svc)) {
      if (p.nodePort) continue;
      const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP") && o.nodePort);
      if (match) p.nodePort = match.nodePort;
    }
  }
}

/**
 * As kube-apiserver's dropTypeDependentFields: a type change drops what the new type cannot have,
 * when the user left it as it was (`kubectl patch` of `type` alone works, and releases node ports).
 */
function dropTypeDependentFields(svc: KubeObject, old: KubeObject): void {
  const spec = specOf(svc);
  const prev = specOf(old);
  if (spec.type === prev.type) return;
  if (spec.type === "ExternalName" && prev.type !== "ExternalName" && jsonEqual(spec.clusterIPs, prev.clusterIPs)) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(prev.type) && !needsNodePort(spec.type)) {
    const ports = portsOf(svc);
    const before = portsOf(old);
    if (ports.length === before.length && ports.every((p, i) => (p.nodePort ?? 0) === (before[i].nodePort ?? 0))) for (const p of ports) delete p.nodePort;
    delete spec.externalTrafficPolicy;
    delete spec.healthCheckNodePort;
  }
  if (prev.type === "LoadBalancer" && spec.type !== "LoadBalancer") {
    if (spec.allocateLoadBalancerNodePorts === prev.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === prev.loadBalancerClass) delete spec.loadBalancerClass;
  }
}

function validatePorts(svc: KubeObject, errs: FieldError[]): void {
  const spec = specOf(svc);
  const ports = spec.ports;
  if (ports !== undefined && ports !== null && !Array.isArray(ports)) {
    errs.push(invalid("spec.ports", ports, "must be a list"));
    return;
  }
  const list = (ports ?? []) as unknown[];
  if (list.length === 0 && !isHeadless(svc) && spec.type !== "ExternalName") errs.push(required("spec.ports"));
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePorts = new Set<string>();
  list.forEach((raw, i) => {
    const at = `spec.ports[${i}]`;
    if (!isObj(raw)) return errs.push(invalid(at, raw, "must be an object"));
    const p = raw as ServicePort;
    if (list.length > 1 && !p.name) errs.push(required(`${at}.name`));
    if (p.name) {
      if (typeof p.name !== "string") errs.push(invalid(`${at}.name`, p.name, "must be a string"));
      else {
        errs.push(...dns1123Label(p.name, `${at}.name`));
        if (names.has(p.name)) errs.push(duplicate(`${at}.name`, p.name));
        names.add(p.name);
      }
    }
    if (p.port === undefined || p.port === null) errs.push(required(`${at}.port`));
    else if (!validPort(p.port)) errs.push(invalid(`${at}.port`, p.port, PORT_RANGE_MESSAGE));
    if (typeof p.protocol !== "string" || !PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    validateIntOrNamedPort(errs, `${at}.targetPort`, p.targetPort);
    if (p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
      if (!needsNodePort(spec.type)) errs.push(forbidden(`${at}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      else if (!isInt(p.nodePort) || p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max)
        errs.push(invalid(`${at}.nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`));
      else {
        const key = `${p.nodePort}/${p.protocol}`;
        if (nodePorts.has(key)) errs.push(duplicate(`${at}.nodePort`, p.nodePort));
        nodePorts.add(key);
      }
    }
    if (validPort(p.port)) {
      const key = `${p.port}/${p.protocol}`;
      if (portKeys.has(key)) errs.push(duplicate(at, { port: p.port, protocol: p.protocol }));
      portKeys.add(key);
    }
  });
}

function validateClusterIPs(svc: KubeObject, errs: FieldError[]): void {
  const spec = specOf(svc);
  const type = spec.type;
  if (type === "ExternalName") {
    if (spec.clusterIP) errs.push(forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    const cname = typeof spec.externalName === "string" ? spec.externalName.replace(/\.$/, "") : "";
    if (!cname) errs.push(required("spec.externalName"));
    else errs.push(...subdomain(cname, "spec.externalName"));
    return;
  }
  if (spec.clusterIP !== undefined && typeof spec.clusterIP !== "string") errs.push(invalid("spec.clusterIP", spec.clusterIP, "must be a string"));
  const ips = spec.clusterIPs;
  if (ips === undefined || ips === null) return;
  if (!Array.isArray(ips)) return void errs.push(invalid("spec.clusterIPs", ips, "must be a list of strings"));
  if (ips.length > 2) errs.push(invalid("spec.clusterIPs", ips, "may only hold up to 2 values"));
  if (ips.length > 0 && spec.clusterIP && ips[0] !== spec.clusterIP) errs.push(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"));
  ips.forEach((ip, i) => {
    if (ip === "None") {
      if (i > 0 || ips.length > 1) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, "'None' must be the first and only value"));
      else if (type === "NodePort" || type === "LoadBalancer") errs.push(invalid("spec.clusterIPs[0]", ip, `may not be set to 'None' for ${type} services`));
    } else if (!isIP(ip)) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, IP_MESSAGE));
  });
}

export function validateService(svc: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = svc.metadata.name;
  if (name && /^[0-9]/.test(name) && dns1123Label(name, "metadata.name").length === 0) errs.push(...dns1035Label(name, "metadata.name"));
  if (!isObj(svc.spec)) return [required("spec")];
  const spec = specOf(svc);
  if (old) {
    carryAllocated(svc, old);
    dropTypeDependentFields(svc, old);
  }
  enumField(errs, "spec.type", spec.type, SERVICE_TYPES);
  validatePorts(svc, errs);
  validateClusterIPs(svc, errs);
  enumField(errs, "spec.sessionAffinity", spec.sessionAffinity, ["ClientIP", "None"]);
  if (spec.sessionAffinity === "ClientIP") {
    const t = isObj(spec.sessionAffinityConfig) && isObj(spec.sessionAffinityConfig.clientIP) ? spec.sessionAffinityConfig.clientIP.timeoutSeconds : undefined;
    if (t !== undefined && (!isInt(t) || t <= 0 || t > 86400))
      errs.push(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", t, "must be greater than 0 and less than 86400"));
  } else if (spec.sessionAffinity === "None" && isObj(spec.sessionAffinityConfig) && Object.keys(spec.sessionAffinityConfig).length)
    errs.push(forbidden("spec.sessionAffinityConfig", `must not be set when session affinity is None`));
  if (spec.externalTrafficPolicy !== undefined && spec.externalTrafficPolicy !== "") {
    if (!needsNodePort(spec.type))
      errs.push(invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"));
    else enumField(errs, "spec.externalTrafficPolicy", spec.externalTrafficPolicy, ["Cluster", "Local"]);
  }
  enumField(errs, "spec.internalTrafficPolicy", spec.internalTrafficPolicy, ["Cluster", "Local"]);
  enumField(errs, "spec.ipFamilyPolicy", spec.ipFamilyPolicy, ["SingleStack", "PreferDualStack", "RequireDualStack"]);
  if (Array.isArray(spec.ipFamilies)) {
    const seen = new Set<unknown>();
    spec.ipFamilies.forEach((f, i) => {
      if (f !== "IPv4" && f !== "IPv6") errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ["IPv4", "IPv6"]));
      else if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
      seen.add(f);
    });
    if (spec.ipFamilyPolicy === "SingleStack" && spec.ipFamilies.length > 1)
      errs.push(invalid("spec.ipFamilies", spec.ipFamilies, "when spec.ipFamilyPolicy is SingleStack only one ipFamily is allowed"));
  }
  if (Array.isArray(spec.externalIPs))
    spec.externalIPs.forEach((ip, i) => {
      if (!isIP(ip)) errs.push(invalid(`spec.externalIPs[${i}]`, ip, IP_MESSAGE));
    });
  if (Array.isArray(spec.loadBalancerSourceRanges))
    spec.loadBalancerSourceRanges.forEach((r, i) => {
      if (!isCIDR(String(r).trim())) errs.push(invalid(`spec.loadBalancerSourceRanges[${i}]`, r, 'must be a valid IP address range, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    });
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (old) {
    const prev = specOf(old);
    // The primary cluster IP cannot change, except when switching to or from ExternalName.
    if (spec.type !== "ExternalName" && prev.type !== "ExternalName" && !(spec.clusterIP === "None" && prev.clusterIP === "None")) {
      const now = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
      const before = Array.isArray(prev.clusterIPs) ? prev.clusterIPs : [];
      if (before.length > 0 && now.length === 0) errs.push(invalid("spec.clusterIPs[0]", now, "primary clusterIP can not be unset"));
      else if (before.length > 0 && !jsonEqual(now[0], before[0])) errs.push(invalid("spec.clusterIPs[0]", now, "may not change once set"));
    }
  }
  return errs;
}

/** Load balancer ingress points, sorted and de-duplicated, as kubectl shows them. */
export function loadBalancerIngress(status: unknown): string {
  const ingress = isObj(status) && Array.isArray(status.ingress) ? (status.ingress as Obj[]) : [];
  const set = new Set<string>();
  for (const i of ingress) {
    if (!isObj(i)) continue;
    if (i.ip) set.add(String(i.ip));
    else if (i.hostname) set.add(String(i.hostname));
  }
  return [...set].sort().join(",");
}

function externalIP(svc: KubeObject): string {
  const spec = specOf(svc);
  const external = Array.isArray(spec.externalIPs) ? (spec.externalIPs as string[]) : [];
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = loadBalancerIngress(isObj(svc.status) ? svc.status.loadBalancer : undefined);
      if (external.length) return [...(lb ? lb.split(",") : []), ...external].join(",");
      return lb || "<pending>";
    }
    case "ExternalName":
      return String(spec.externalName ?? "");
  }
  return "<unknown>";
}

export function servicePorts(svc: KubeObject): string {
  const s = portsOf(svc)
    .map((p) => (p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? ""}` : `${p.port}/${p.protocol ?? ""}`))
    .join(",");
  return s || "<none>";
}

export const serviceKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  singular: "service",
  namespaced: true,
  shortNames: ["svc"],
  subresources: ["status", "proxy"],
  generation: false,
  categories: ["all"],
  fields: ["spec", "status"],
  defaults: defaultService,
  validate: validateService,
  columns: [
    { name: "Type", type: "string", description: "type determines how the Service is exposed.", cell: (o) => String(specOf(o).type ?? "") },
    {
      name: "Cluster-IP",
      type: "string",
      description: "clusterIP is the IP address of the service.",
      cell: (o) => {
        const ips = specOf(o).clusterIPs;
        return Array.isArray(ips) && ips.length ? String(ips[0]) : "<none>";
      },
    },
    { name: "External-IP", type: "string", description: "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.", cell: externalIP },
    { name: "Port(s)", type: "string", description: "The list of ports that are exposed by this service.", cell: servicePorts },
    ageColumn,
    { name: "Selector", type: "string", priority: 1, description: "Route service traffic to pods with label keys and values matching this selector.", cell: (o) => mapString(specOf(o).selector as Record<string, string> | undefined) },
  ],
};
