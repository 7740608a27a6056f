import { ageColumn, getPath } from "./columns.ts";
import { loadBalancerIngress } from "./service.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  dns1035Label,
  invalid,
  isIP,
  isObj,
  notSupported,
  PORT_RANGE_MESSAGE,
  portNameProblems,
  required,
  sub,
  subdomain,
  validPort,
  wildcardSubdomain,
  type Obj,
} from "./validation.ts";

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const BAD_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const BAD_SUFFIXES = ["/..", "/."];

/** An IngressBackend: exactly one of service (name + port name xor number) or resource. */
export function validateBackend(errs: FieldError[], field: string, backend: unknown): void {
  const b = isObj(backend) ? backend : {};
  const hasService = isObj(b.service);
  const hasResource = isObj(b.resource);
  if (hasService && hasResource) return void errs.push(invalid(field, "", "cannot set both resource and service backends"));
  if (hasService) {
    const svc = b.service as Obj;
    if (typeof svc.name !== "string" || !svc.name) errs.push(required(`${field}.service.name`));
    else errs.push(...dns1035Label(svc.name, `${field}.service.name`));
    const port = sub(svc, "port");
    const hasName = typeof port.name === "string" && port.name.length > 0;
    const hasNumber = port.number !== undefined && port.number !== null && port.number !== 0;
    if (hasName && hasNumber) errs.push(invalid(field, "", "cannot set both port name & port number"));
    else if (hasName) for (const msg of portNameProblems(port.name as string)) errs.push(invalid(`${field}.service.port.name`, port.name, msg));
    else if (hasNumber) {
      if (!validPort(port.number)) errs.push(invalid(`${field}.service.port.number`, port.number, PORT_RANGE_MESSAGE));
    } else errs.push(required(field, "port name or number is required"));
  } else if (hasResource) {
    const r = b.resource as Obj;
    if (!r.kind) errs.push(required(`${field}.resource.kind`));
    if (!r.name) errs.push(required(`${field}.resource.name`));
  } else errs.push(invalid(field, "", "resource or service backend is required"));
}

function validatePath(errs: FieldError[], at: string, p: unknown): void {
  const path = isObj(p) ? p : {};
  const text = typeof path.path === "string" ? path.path : "";
  if (path.pathType === undefined || path.pathType === null || path.pathType === "") errs.push(required(`${at}.pathType`, "pathType must be specified"));
  else if (path.pathType === "Exact" || path.pathType === "Prefix") {
    if (!text.startsWith("/")) errs.push(invalid(`${at}.path`, text, "must be an absolute path"));
    if (text) {
      for (const seq of BAD_SEQUENCES) if (text.includes(seq)) errs.push(invalid(`${at}.path`, text, `must not contain '${seq}'`));
      for (const suffix of BAD_SUFFIXES) if (text.endsWith(suffix)) errs.push(invalid(`${at}.path`, text, `cannot end with '${suffix}'`));
    }
  } else if (path.pathType === "ImplementationSpecific") {
    if (text && !text.startsWith("/")) errs.push(invalid(`${at}.path`, text, "must be an absolute path"));
  } else errs.push(notSupported(`${at}.pathType`, path.pathType, PATH_TYPES));
  validateBackend(errs, `${at}.backend`, path.backend);
}

function validateHost(errs: FieldError[], field: string, host: string): void {
  if (isIP(host)) errs.push(invalid(field, host, "must be a DNS name, not an IP address"));
  else errs.push(...wildcardSubdomain(host, field));
}

function validateIngress(ing: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(ing, "spec");
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  if (spec.defaultBackend === undefined && rules.length === 0) errs.push(invalid("spec", spec, "either `defaultBackend` or `rules` must be specified"));
  if (spec.defaultBackend !== undefined) validateBackend(errs, "spec.defaultBackend", spec.defaultBackend);
  rules.forEach((r, i) => {
    const at = `spec.rules[${i}]`;
    const rule = isObj(r) ? r : {};
    if (typeof rule.host === "string" && rule.host) validateHost(errs, `${at}.host`, rule.host);
    if (rule.http === undefined || rule.http === null) return;
    const paths = sub(rule, "http").paths;
    if (!Array.isArray(paths) || paths.length === 0) return void errs.push(required(`${at}.http.paths`));
    paths.forEach((p, j) => validatePath(errs, `${at}.http.paths[${j}]`, p));
  });
  if (Array.isArray(spec.tls))
    spec.tls.forEach((t, i) => {
      const tls = isObj(t) ? t : {};
      if (Array.isArray(tls.hosts)) tls.hosts.forEach((h, j) => validateHost(errs, `spec.tls[${i}].hosts[${j}]`, String(h)));
      if (typeof tls.secretName === "string" && tls.secretName) errs.push(...subdomain(tls.secretName, `spec.tls[${i}].secretName`));
    });
  if (typeof spec.ingressClassName === "string") errs.push(...subdomain(spec.ingressClassName, "spec.ingressClassName"));
  const lb = getPath(ing, "status.loadBalancer.ingress");
  if (Array.isArray(lb))
    lb.forEach((x, i) => {
      if (isObj(x) && x.ip !== undefined && !isIP(x.ip)) errs.push(invalid(`status.loadBalancer.ingress[${i}].ip`, x.ip, "must be a valid IP address"));
    });
  return errs;
}

/** HOSTS: up to three hosts, "*" when none, "+ N more..." beyond. */
export function ingressHosts(ing: KubeObject): string {
  const rules = (getPath(ing, "spec.rules") as Obj[] | undefined) ?? [];
  const list: string[] = [];
  let more = false;
  for (const r of Array.isArray(rules) ? rules : []) {
    if (list.length === 3) more = true;
    if (!more && isObj(r) && typeof r.host === "string" && r.host) list.push(r.host);
  }
  if (list.length === 0) return "*";
  return more ? `${list.join(",")} + ${rules.length - 3} more...` : list.join(",");
}

export const ingressKind: ResourceKind = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "Ingress",
  plural: "ingresses",
  singular: "ingress",
  namespaced: true,
  shortNames: ["ing"],
  subresources: ["status"],
  generation: true,
  categories: [],
  fields: ["spec", "status"],
  validate: validateIngress,
  columns: [
    { name: "Class", type: "string", description: "The name of the IngressClass resource that should be used for additional configuration", cell: (o) => (getPath(o, "spec.ingressClassName") as string | undefined) ?? "<none>" },
    { name: "Hosts", type: "string", description: "Hosts that incoming requests are matched against before the ingress rule", cell: ingressHosts },
    { name: "Address", type: "string", description: "Address is a list containing ingress points for the load-balancer", cell: (o) => loadBalancerIngress(getPath(o, "status.loadBalancer")) },
    { name: "Ports", type: "string", description: "Ports of TLS configurations that open", cell: (o) => (((getPath(o, "spec.tls") as unknown[] | undefined) ?? []).length ? "80, 443" : "80") },
    ageColumn,
  ],
};
