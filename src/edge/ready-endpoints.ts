import type { KubeObject } from "../resources/types.ts";
import { isObj, type Obj } from "../resources/validation.ts";
import { SERVICE_NAME_LABEL } from "../controllers/endpoints.ts";
import type { ServiceBackend } from "./ingress-match.ts";

/**
 * The ready endpoints of one Service port (pure): from its EndpointSlices (the endpoints
 * controller's, or the user's with the `kubernetes.io/service-name` label), else from its core/v1
 * Endpoints (a Service without a selector). Only endpoints with a node can be reached: the edge
 * goes through that node's tunnel.
 */

export interface EdgeEndpoint {
  ip: string;
  port: number;
  node: string;
}

export type EndpointsResult = { endpoints: EdgeEndpoint[] } | { problem: string };

interface ServicePort {
  name?: string;
  port?: number;
}

/** `port` {}: the Service's first port. */
export function readyEndpoints(
  namespace: string,
  serviceName: string,
  service: KubeObject | undefined,
  port: ServiceBackend["port"],
  slices: KubeObject[],
  endpoints: KubeObject[] = [],
): EndpointsResult {
  const id = `${namespace}/${serviceName}`;
  if (!service) return { problem: `service "${id}" not found` };
  const name = serviceName;
  const spec = (isObj(service.spec) ? service.spec : {}) as Obj;
  if (spec.type === "ExternalName") return { problem: `service "${id}" is of type ExternalName, which the edge does not proxy` };
  const ports = Array.isArray(spec.ports) ? (spec.ports as ServicePort[]).filter(isObj) : [];
  const svcPort = port.name !== undefined ? ports.find((p) => p.name === port.name) : port.number !== undefined ? ports.find((p) => p.port === port.number) : ports[0];
  if (!svcPort) return { problem: `service "${id}" has no port ${port.name ?? port.number}` };
  const portName = svcPort.name ?? "";
  const out: EdgeEndpoint[] = [];
  const mine = slices.filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name);
  for (const slice of mine) {
    if ((slice as Obj).addressType === "IPv6") continue;
    const target = ((slice as Obj).ports as { name?: string; port?: number }[] | undefined)?.find((p) => (p.name ?? "") === portName)?.port;
    if (typeof target !== "number") continue;
    for (const e of ((slice as Obj).endpoints as Obj[] | undefined) ?? []) {
      const conditions = isObj(e.conditions) ? e.conditions : {};
      if (conditions.ready === false) continue;
      const ip = Array.isArray(e.addresses) ? e.addresses[0] : undefined;
      if (typeof ip === "string" && typeof e.nodeName === "string" && e.nodeName) out.push({ ip, port: target, node: e.nodeName });
    }
  }
  if (mine.length === 0)
    for (const ep of endpoints.filter((e) => e.metadata.name === name))
      for (const subset of ((ep as Obj).subsets as Obj[] | undefined) ?? []) {
        const target = (subset.ports as { name?: string; port?: number }[] | undefined)?.find((p) => (p.name ?? "") === portName)?.port;
        if (typeof target !== "number") continue;
        for (const a of (subset.addresses as Obj[] | undefined) ?? [])
          if (typeof a.ip === "string" && typeof a.nodeName === "string" && a.nodeName) out.push({ ip: a.ip, port: target, node: a.nodeName });
      }
  if (out.length === 0) return { problem: `service "${id}" has no ready endpoints for port ${portName || svcPort.port}` };
  return { endpoints: out };
}
