import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  checkImmutable,
  dns1123Label,
  duplicate,
  endpointIPProblems,
  invalid,
  isIPv4,
  isIPv6,
  isObj,
  notSupported,
  required,
  subdomain,
  type Obj,
} from "./validation.ts";

/** discovery.k8s.io/v1 EndpointSlice: a slice of a Service's endpoints (what kube-proxy reads). */

export const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 100;
const MAX_ADDRESSES = 100;

const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** kubectl's list cell: at most 3 values, then "+ N more...", "<unset>" when empty. */
function moreString(list: string[], count: number, max = 3): string {
  if (count > max) return `${list.slice(0, max).join(",")} + ${count - max} more...`;
  return list.length ? list.join(",") : "<unset>";
}

export function formatSlicePorts(slice: KubeObject): string {
  const ports = listOf(slice.ports).filter(isObj);
  return moreString(
    ports.map((p) => (typeof p.port === "number" ? String(p.port) : typeof p.name === "string" ? p.name : "*")),
    ports.length,
  );
}

export function formatSliceEndpoints(slice: KubeObject): string {
  const addresses = listOf(slice.endpoints)
    .filter(isObj)
    .flatMap((e) => listOf(e.addresses).map(String));
  return moreString(addresses, addresses.length);
}

function validateAddress(errs: FieldError[], at: string, addressType: unknown, a: unknown): void {
  if (typeof a !== "string") return void errs.push(invalid(at, a, "must be a string"));
  if (addressType === "FQDN") return void errs.push(...subdomain(a, at));
  if (addressType === "IPv4" && !isIPv4(a)) return void errs.push(invalid(at, a, "must be a valid IPv4 address"));
  if (addressType === "IPv6" && !isIPv6(a)) return void errs.push(invalid(at, a, "must be a valid IPv6 address"));
  for (const msg of endpointIPProblems(a)) errs.push(invalid(at, a, msg));
}

export function validateEndpointSlice(slice: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const type = slice.addressType;
  if (type === undefined || type === null || type === "") errs.push(required("addressType"));
  else if (!ADDRESS_TYPES.includes(String(type))) errs.push(notSupported("addressType", type, ADDRESS_TYPES));
  if (old) checkImmutable(errs, "addressType", type, old.addressType);
  for (const field of ["endpoints", "ports"] as const)
    if (slice[field] !== undefined && slice[field] !== null && !Array.isArray(slice[field])) errs.push(invalid(field, slice[field], "must be a list"));
  const endpoints = listOf(slice.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) errs.push(invalid("endpoints", `${endpoints.length} items`, `must have at most ${MAX_ENDPOINTS} items`));
  endpoints.forEach((raw, i) => {
    const at = `endpoints[${i}]`;
    if (!isObj(raw)) return errs.push(invalid(at, raw, "must be an object"));
    const addrs = raw.addresses;
    if (!Array.isArray(addrs) || addrs.length === 0) errs.push(required(`${at}.addresses`, "must contain at least 1 address"));
    else if (addrs.length > MAX_ADDRESSES) errs.push(invalid(`${at}.addresses`, `${addrs.length} items`, `must have at most ${MAX_ADDRESSES} items`));
    else addrs.forEach((a, j) => validateAddress(errs, `${at}.addresses[${j}]`, type, a));
    if (raw.hostname) errs.push(...dns1123Label(String(raw.hostname), `${at}.hostname`));
    if (raw.nodeName) errs.push(...subdomain(String(raw.nodeName), `${at}.nodeName`));
    if (raw.conditions !== undefined && !isObj(raw.conditions)) errs.push(invalid(`${at}.conditions`, raw.conditions, "must be an object"));
    else
      for (const c of ["ready", "serving", "terminating"])
        if (isObj(raw.conditions) && raw.conditions[c] !== undefined && typeof raw.conditions[c] !== "boolean")
          errs.push(invalid(`${at}.conditions.${c}`, raw.conditions[c], "must be a boolean"));
  });
  const ports = listOf(slice.ports);
  if (ports.length > MAX_PORTS) errs.push(invalid("ports", `${ports.length} items`, `must have at most ${MAX_PORTS} items`));
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const at = `ports[${i}]`;
    if (!isObj(raw)) return errs.push(invalid(at, raw, "must be an object"));
    const p = raw as Obj;
    const name = typeof p.name === "string" ? p.name : "";
    if (name) errs.push(...dns1123Label(name, `${at}.name`));
    if (names.has(name)) errs.push(duplicate(`${at}.name`, name));
    names.add(name);
    if (p.port !== undefined && p.port !== null && !(Number.isInteger(p.port) && (p.port as number) >= 0 && (p.port as number) <= 65535))
      errs.push(invalid(`${at}.port`, p.port, "must be between 0 and 65535, inclusive"));
    if (typeof p.protocol !== "string" || !PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
  });
  return errs;
}

export const endpointSliceKind: ResourceKind = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  plural: "endpointslices",
  singular: "endpointslice",
  namespaced: true,
  subresources: [],
  generation: false,
  categories: [],
  fields: ["addressType", "endpoints", "ports"],
  defaults: (slice) => {
    for (const p of listOf(slice.ports)) if (isObj(p)) p.protocol ||= "TCP";
  },
  validate: validateEndpointSlice,
  columns: [
    { name: "AddressType", type: "string", description: "addressType specifies the type of address carried by this EndpointSlice.", cell: (o) => String(o.addressType ?? "") },
    { name: "Ports", type: "string", description: "ports specifies the list of network ports exposed by each endpoint in this slice.", cell: formatSlicePorts },
    { name: "Endpoints", type: "string", description: "endpoints is a list of unique endpoints in this slice.", cell: formatSliceEndpoints },
    ageColumn,
  ],
};
