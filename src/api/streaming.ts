import type { Env } from "../env.ts";
import type { KubeObject } from "../resources/types.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { StreamEnvelope } from "../tunnel/node-tunnel.ts";
import type { ExecRequest, LogOptions, LogRequest, PodRef, PortForwardRequest, StreamRequest } from "../tunnel/frames.ts";
import { ApiError, badRequest, methodNotAllowed, type Status, type StatusReason } from "./errors.ts";
import type { Target } from "./target.ts";

/**
 * pods/log, exec, attach and portforward: validated here against the pod, then served by the pod's node
 * through its tunnel Durable Object (src/tunnel/node-tunnel.ts), which relays to the agent.
 */

/** The WebSocket subprotocols of remote commands this server speaks, preferred first. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

interface ContainerLike {
  name: string;
}
interface PodSpecLike {
  nodeName?: string;
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  ephemeralContainers?: ContainerLike[];
}

export const tunnelName = (node: string) => `node:${node}`;
export const tunnelStub = (env: Env, node: string) => env.TUNNEL.get(env.TUNNEL.idFromName(tunnelName(node)));

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === "" || v === "false" || v === "0") return false;
  if (v === "true" || v === "1") return true;
  throw badRequest(`${name} must be a boolean, got "${v}"`);
}

function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw badRequest(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** The container a request names (or the pod's only container), checked against the pod. */
export function resolveContainer(pod: KubeObject, requested: string | null): string {
  const spec = (pod.spec ?? {}) as PodSpecLike;
  const name = pod.metadata.name ?? "";
  const apps = (spec.containers ?? []).map((c) => c.name);
  const all = [...apps, ...(spec.initContainers ?? []).map((c) => c.name), ...(spec.ephemeralContainers ?? []).map((c) => c.name)];
  const causes = all.map((c) => ({ reason: "FieldValueNotSupported", field: "container", message: `container ${c} is valid` }));
  if (!requested) {
    if (apps.length === 1) return apps[0];
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(" ")}]`, causes);
  }
  if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`, causes);
  return requested;
}

function podRef(pod: KubeObject, container: string): { node: string; ref: PodRef } {
  const node = ((pod.spec ?? {}) as PodSpecLike).nodeName;
  if (!node) throw badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  return { node, ref: { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "", container } };
}

export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions {
  const sinceSeconds = intParam(q, "sinceSeconds", 1);
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceTime) throw badRequest("at most one of sinceTime or sinceSeconds may be specified");
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (!Number.isFinite(sinceMs)) throw badRequest(`sinceTime must be an RFC 3339 time, got "${sinceTime}"`);
  }
  return {
    follow: boolParam(q, "follow"),
    previous: boolParam(q, "previous"),
    timestamps: boolParam(q, "timestamps"),
    tailLines: intParam(q, "tailLines", 0),
    limitBytes: intParam(q, "limitBytes", 1),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
  };
}

/** A refusal from the tunnel (Status JSON) becomes the one error type. */
async function tunnelError(res: Response): Promise<ApiError> {
  let s: Partial<Status> = {};
  try {
    s = (await res.json()) as Partial<Status>;
  } catch {
    /* not a Status */
  }
  return new ApiError(res.status, (s.reason || "InternalError") as StatusReason, s.message ?? `the node's tunnel answered ${res.status}`, s.details);
}

const envelopeHeader = (e: StreamEnvelope) => JSON.stringify(e);

/** GET pods/{name}/log: the container's log from its node, chunked; with follow, until the client leaves. */
export async function podLog(env: Env, store: ObjectStore, target: Target, method: string, q: URLSearchParams): Promise<Response> {
  if (method !== "GET") throw methodNotAllowed(`${method} is not supported on pods/log`);
  const options = parseLogOptions(q);
  const pod = await store.get(target.kind, target.namespace, target.name!);
  const { node, ref } = podRef(pod, resolveContainer(pod, q.get("container")));
  const request: LogRequest = { kind: "log", pod: ref, options };
  const res = await tunnelStub(env, node).fetch("https://tunnel/log", {
    method: "POST",
    headers: { "x-edgeplane-stream": envelopeHeader({ node, request }) },
  });
  if (res.status !== 200) throw await tunnelError(res);
  // identity: the local runtime would otherwise gzip text for clients that accept it, holding a follow back.
  // Relayed through a stream of this request, so a client leaving cancels the tunnel's stream.
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  res.body?.pipeTo(writable).catch(() => {});
  return new Response(readable, { headers: { "content-type": "text/plain", "cache-control": "no-cache, private, no-transform", "content-encoding": "identity" } });
}

/** The subprotocol to answer with, from a Sec-WebSocket-Protocol header. */
export function negotiateProtocol(header: string | null, served: string[] = EXEC_PROTOCOLS): string | undefined {
  const offered = (header ?? "").split(",").map((s) => s.trim());
  return served.find((p) => offered.includes(p));
}

/** kubectl 1.31+ port-forward: SPDY/3.1 frames tunneled in WebSocket binary messages. */
export const PORT_FORWARD_PROTOCOLS = ["SPDY/3.1+portforward.k8s.io"];

/**
 * The client's WebSocket for a session (exec, attach, port-forward), handed to the node's tunnel
 * Durable Object. Without an upgrade kubectl would be trying SPDY, which a Worker cannot serve:
 * say why the WebSocket attempt failed (an offline node) or that only WebSockets are served.
 */
async function openSession(
  env: Env,
  node: string,
  req: Request,
  served: string[],
  what: string,
  request: (protocol: string) => StreamRequest,
): Promise<Response> {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    if (!(await tunnelStub(env, node).activeStreams()).agentConnected)
      throw new ApiError(503, "ServiceUnavailable", `node "${node}" is not connected: its agent has no tunnel to the control plane (the node may be offline)`);
    throw badRequest(`this server serves ${what} over WebSockets only (subprotocols ${served.join(", ")}), not SPDY`);
  }
  const protocol = negotiateProtocol(req.headers.get("sec-websocket-protocol"), served);
  if (!protocol) throw badRequest(`none of the requested WebSocket subprotocols is supported; this server speaks ${served.join(", ")}`);
  const res = await tunnelStub(env, node).fetch("https://tunnel/session", {
    headers: { upgrade: "websocket", "x-edgeplane-stream": envelopeHeader({ node, request: request(protocol) }) },
  });
  if (res.status !== 101) throw await tunnelError(res);
  return res;
}

const podPhase = (pod: KubeObject) => (pod.status as { phase?: string } | undefined)?.phase;

/** pods/{name}/exec and pods/{name}/attach over a WebSocket (channel.k8s.io v4/v5), relayed by the node's tunnel. */
export async function podExec(env: Env, store: ObjectStore, target: Target, req: Request, q: URLSearchParams, kind: "exec" | "attach" = "exec"): Promise<Response> {
  const command = kind === "exec" ? q.getAll("command") : [];
  if (kind === "exec" && command.length === 0) throw badRequest("you must specify at least 1 command");
  const stdin = boolParam(q, "stdin");
  const stdout = boolParam(q, "stdout");
  const stderr = boolParam(q, "stderr");
  const tty = boolParam(q, "tty");
  if (!stdin && !stdout && !stderr) throw badRequest("you must specify at least one of stdin, stdout, stderr");
  const pod = await store.get(target.kind, target.namespace, target.name!);
  const { node, ref } = podRef(pod, resolveContainer(pod, q.get("container")));
  const phase = podPhase(pod);
  if (phase === "Succeeded" || phase === "Failed") throw badRequest(`cannot ${kind === "exec" ? "exec into" : "attach to"} a container in a completed pod; current phase is ${phase}`);
  return openSession(env, node, req, EXEC_PROTOCOLS, kind, (protocol): ExecRequest => ({ kind, pod: ref, command, stdin, stdout, stderr, tty, protocol }));
}

/** pods/{name}/portforward: kubectl's SPDY-over-WebSocket bytes, served by the pod's node (src/agent/port-forward.ts). */
export async function podPortForward(env: Env, store: ObjectStore, target: Target, req: Request): Promise<Response> {
  const pod = await store.get(target.kind, target.namespace, target.name!);
  const { node, ref } = podRef(pod, "");
  const phase = podPhase(pod);
  const host = (pod.status as { podIP?: string } | undefined)?.podIP;
  if (phase !== "Running" || !host) throw badRequest(`unable to forward port because pod is not running. Current status=${phase ?? "Unknown"}`);
  return openSession(env, node, req, PORT_FORWARD_PROTOCOLS, "port-forward", (protocol): PortForwardRequest => ({ kind: "portforward", pod: ref, host, protocol }));
}

/** GET /tunnel/nodes/{node}: the agent's WebSocket, handed to the node's tunnel Durable Object. */
export async function connectTunnel(env: Env, node: string, req: Request): Promise<Response> {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") throw badRequest("the node tunnel needs a WebSocket upgrade");
  const res = await tunnelStub(env, node).fetch("https://tunnel/connect", { headers: { upgrade: "websocket" } });
  if (res.status !== 101) throw await tunnelError(res);
  return res;
}
