import { ApiError, pathNotFound, unavailable } from "../api/errors.ts";
import { tunnelStub } from "../api/streaming.ts";
import type { Env } from "../env.ts";
import type { HttpRequest } from "../tunnel/frames.ts";
import { EDGE_RETRY_HEADER, type StreamEnvelope } from "../tunnel/node-tunnel.ts";
import { hostnameOf, type EdgeTarget } from "./edge-host.ts";
import { HOP_BY_HOP } from "./http-headers.ts";
import { matchIngress, type ServiceBackend } from "./ingress-match.ts";
import { readyEndpoints, type EdgeEndpoint } from "./ready-endpoints.ts";
import { routeFor } from "./routing-table.ts";

/**
 * Serves one edge request: the route of its host (routing-table.ts), the backend its path
 * selects (Ingress rules) or the LoadBalancer Service's first port, then a ready endpoint,
 * round-robin, reached through its node's tunnel (the agent makes the connection to the pod).
 * An endpoint that cannot be reached (node offline, connection refused) is skipped for the next
 * one, up to MAX_ATTEMPTS. Unknown host or path: 404; no ready endpoint: 503; never a hang
 * (the agent answers 504 for a pod that does not respond).
 */

const MAX_ATTEMPTS = 3;
/** Request bodies up to this size are buffered, so a failed connection can be retried elsewhere; larger ones stream (one attempt). */
const RETRY_BODY_BYTES = 1024 * 1024;

function forwardedHeaders(request: Request, host: string): [string, string][] {
  const out: [string, string][] = [];
  request.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k) && !k.startsWith("cf-") && k !== "x-forwarded-for" && k !== "x-forwarded-host" && k !== "x-forwarded-proto") out.push([k, v]);
  });
  const client = request.headers.get("cf-connecting-ip");
  const before = request.headers.get("x-forwarded-for");
  const chain = [before, client].filter(Boolean).join(", ");
  if (chain) out.push(["x-forwarded-for", chain]);
  out.push(["x-forwarded-host", host]);
  out.push(["x-forwarded-proto", new URL(request.url).protocol.replace(":", "")]);
  return out;
}

export async function serveEdge(env: Env, request: Request, target: EdgeTarget, hostHeader: string): Promise<Response> {
  const url = new URL(request.url);
  const shown = hostnameOf(hostHeader);
  const route = await routeFor(env, target);
  if (!route) throw pathNotFound(`no Ingress or LoadBalancer Service serves host "${shown}"`);
  let backend: ServiceBackend;
  if (target.type === "lb") backend = { service: target.service, port: {} };
  else {
    const m = matchIngress(route.ingresses, target.type === "host" ? target.host : undefined, url.pathname);
    if ("problem" in m) throw pathNotFound(`host "${shown}": ${m.problem}`);
    backend = m.backend;
  }
  const ready = readyEndpoints(route.namespace, backend.service, route.services.get(backend.service), backend.port, route.slices, route.endpoints);
  if ("problem" in ready) throw unavailable(ready.problem);
  const eps = ready.endpoints;
  const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
  const length = Number(request.headers.get("content-length") ?? NaN);
  const buffered = hasBody && Number.isFinite(length) && length <= RETRY_BODY_BYTES ? await request.arrayBuffer() : undefined;
  const attempts = hasBody && !buffered ? 1 : Math.min(MAX_ATTEMPTS, eps.length);
  const headers = forwardedHeaders(request, shown);
  const start = route.next++;
  let last = "";
  for (let i = 0; i < attempts; i++) {
    const ep = eps[(start + i) % eps.length];
    const res = await forward(env, ep, request, url, headers, buffered ?? (hasBody ? request.body : null));
    if (!res.headers.has(EDGE_RETRY_HEADER)) return res;
    last = await res.text().then((t) => {
      try {
        return (JSON.parse(t) as { message?: string }).message ?? t;
      } catch {
        return t;
      }
    });
  }
  throw new ApiError(503, "ServiceUnavailable", `no endpoint of service "${route.namespace}/${backend.service}" could be reached (last: ${last})`);
}

function forward(env: Env, ep: EdgeEndpoint, request: Request, url: URL, headers: [string, string][], body: BodyInit | null): Promise<Response> {
  const http: HttpRequest = { kind: "http", ip: ep.ip, port: ep.port, method: request.method, path: url.pathname + url.search, headers };
  const envelope: StreamEnvelope = { node: ep.node, request: http };
  return tunnelStub(env, ep.node).fetch("https://tunnel/http", {
    method: "POST",
    headers: { "x-edgeplane-stream": JSON.stringify(envelope) },
    body,
  });
}
