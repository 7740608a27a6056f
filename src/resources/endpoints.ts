import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  dns1123Label,
  duplicate,
  endpointIPProblems,
  invalid,
  isObj,
  notSupported,
  PORT_RANGE_MESSAGE,
  required,
  subdomain,
  validPort,
  type Obj,
} from "./validation.ts";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];

interface Subset {
  addresses?: Obj[];
  notReadyAddresses?: Obj[];
  ports?: Obj[];
}

const subsetsOf = (ep: KubeObject): Subset[] => (Array.isArray(ep.subsets) ? (ep.subsets as Subset[]).filter(isObj) : []);

function validateAddress(errs: FieldError[], at: string, a: unknown): void {
  if (!isObj(a)) return void errs.push(invalid(at, a, "must be an object"));
  if (typeof a.ip !== "string" || !a.ip) errs.push(required(`${at}.ip`));
  else for (const msg of endpointIPProblems(a.ip)) errs.push(invalid(`${at}.ip`, a.ip, msg));
  if (a.hostname) errs.push(...dns1123Label(String(a.hostname), `${at}.hostname`));
  if (a.nodeName) errs.push(...subdomain(String(a.nodeName), `${at}.nodeName`));
}

/** "10.0.0.1:80,10.0.0.2:80 + 3 more...", as kubectl's ENDPOINTS column. */
export function formatEndpoints(ep: KubeObject): string {
  const subsets = subsetsOf(ep);
  if (subsets.length === 0) return "<none>";
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  const hostPort = (ip: string, port: unknown) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of subsets) {
    const addresses = (ss.addresses ?? []).filter(isObj);
    const ports = (ss.ports ?? []).filter(isObj);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(String(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(hostPort(String(a.ip), p.port));
      }
    }
  }
  const ret = list.join(",");
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpointsKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Endpoints",
  plural: "endpoints",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["subsets"],
  defaults: (ep) => {
    for (const ss of subsetsOf(ep)) for (const p of ss.ports ?? []) if (isObj(p)) p.protocol ||= "TCP";
  },
  validate: (ep) => {
    const errs: FieldError[] = [];
    if (ep.subsets !== undefined && ep.subsets !== null && !Array.isArray(ep.subsets)) return [invalid("subsets", ep.subsets, "must be a list")];
    ((ep.subsets ?? []) as unknown[]).forEach((raw, i) => {
      const at = `subsets[${i}]`;
      if (!isObj(raw)) return errs.push(invalid(at, raw, "must be an object"));
      const ss = raw as Subset;
      for (const list of ["addresses", "notReadyAddresses"] as const) {
        const addrs = ss[list];
        if (addrs === undefined || addrs === null) continue;
        if (!Array.isArray(addrs)) errs.push(invalid(`${at}.${list}`, addrs, "must be a list"));
        else addrs.forEach((a, j) => validateAddress(errs, `${at}.${list}[${j}]`, a));
      }
      const ports = Array.isArray(ss.ports) ? ss.ports : [];
      const names = new Set<string>();
      ports.forEach((p, j) => {
        const pat = `${at}.ports[${j}]`;
        if (!isObj(p)) return errs.push(invalid(pat, p, "must be an object"));
        if (ports.length > 1 && !p.name) errs.push(required(`${pat}.name`));
        if (p.name) {
          errs.push(...dns1123Label(String(p.name), `${pat}.name`));
          if (names.has(String(p.name))) errs.push(duplicate(`${pat}.name`, p.name));
          names.add(String(p.name));
        }
        if (!validPort(p.port)) errs.push(invalid(`${pat}.port`, p.port, PORT_RANGE_MESSAGE));
        if (typeof p.protocol !== "string" || !PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${pat}.protocol`, p.protocol, PROTOCOLS));
      });
    });
    return errs;
  },
  columns: [{ name: "Endpoints", type: "string", description: "The set of all endpoints is the union of all subsets.", cell: formatEndpoints }, ageColumn],
};
