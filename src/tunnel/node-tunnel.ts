import { DurableObject } from "cloudflare:workers";
import { ApiError, unavailable, type StatusReason } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { HOP_BY_HOP } from "../edge/http-headers.ts";
import {
  decodeFrame,
  decodeJson,
  encodeAck,
  encodeFrame,
  encodeJson,
  FrameType,
  PING,
  PONG,
  type Frame,
  type HttpResponseHead,
  type StreamError,
  type StreamRequest,
} from "./frames.ts";

/**
 * One Durable Object per node ("node:<name>"): the end of that node's tunnel. The node's agent
 * holds one outbound WebSocket to it (hibernatable: an idle tunnel costs nothing, and keep-alive
 * pings are answered without waking it); API requests for the node's pods (logs, exec) open
 * streams over it. Log streams are HTTP responses fed from the tunnel; exec sessions are the
 * client's WebSocket, accepted here and relayed frame by frame (hibernatable too).
 *
 * Requests from the API Worker: POST /log and GET /session (upgrade: exec, attach, port-forward), with the StreamRequest and the
 * node's name as JSON in the `x-edgeplane-stream` header; GET /connect (upgrade) from the agent.
 * Refusals are Status JSON with their code; the Worker turns them into ApiErrors.
 */

const AGENT_TAG = "agent";
const clientTag = (stream: number) => `client:${stream}`;
/** How long the agent has to accept or refuse a stream. */
const OPEN_TIMEOUT_MS = 10_000;
/** The agent pings every 20 s; a tunnel silent for this long is taken for dead. */
const STALE_AGENT_MS = 65_000;
/** A log reader further behind than this is dropped (the agent is told to stop). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export interface StreamEnvelope {
  node: string;
  request: StreamRequest;
}

interface AgentAttachment {
  role: "agent";
  connectedAt: number;
}
interface ClientAttachment {
  role: "client";
  stream: number;
}

interface LogSink {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  queued: number;
}

/** An edge HTTP request in flight: waiting for the pod's response head, then its body. */
interface HttpSink extends LogSink {
  /** Body bytes the client consumed and the agent was not told of yet (Ack frames). */
  consumed: number;
  /** Set until the head arrived; called with undefined when the stream ends without one. */
  head?: (h: HttpResponseHead | undefined) => void;
}

/** Set on the refusals of /http that happened before the pod was reached: the edge may try another endpoint. */
export const EDGE_RETRY_HEADER = "x-edgeplane-edge-retry";
/** An edge response's consumed bytes are acknowledged to the agent in batches of this size. */
const ACK_EVERY_BYTES = 256 * 1024;
/** The largest Data frame sent to the agent (the agent sends at most as much). */
const MAX_FRAME_DATA = 256 * 1024;
/** Statuses whose responses carry no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

function statusResponse(e: ApiError): Response {
  return new Response(JSON.stringify(e.toStatus()), { status: e.code, headers: { "content-type": "application/json" } });
}

export class NodeTunnel extends DurableObject<Env> {
  /** Streams waiting for the agent's Accept or Reject. */
  private readonly opening = new Map<number, (f: Frame | undefined) => void>();
  private readonly logs = new Map<number, LogSink>();
  private readonly https = new Map<number, HttpSink>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/connect") return this.connectAgent(request);
    const envelope = JSON.parse(request.headers.get("x-edgeplane-stream") ?? "null") as StreamEnvelope | null;
    if (!envelope) return statusResponse(new ApiError(400, "BadRequest", "missing stream request"));
    if (url.pathname === "/log") return this.openLog(envelope);
    if (url.pathname === "/session") return this.openSession(request, envelope);
    if (url.pathname === "/http") return this.openHttp(request, envelope);
    return statusResponse(new ApiError(404, "NotFound", "the server could not find the requested resource"));
  }

  /** Streams open now (logs being served, exec sessions), for tests and stats. */
  async activeStreams(): Promise<{ logs: number; sessions: number; https: number; agentConnected: boolean }> {
    const sessions = this.ctx.getWebSockets().filter((ws) => (ws.deserializeAttachment() as ClientAttachment | null)?.role === "client").length;
    return { logs: this.logs.size, sessions, https: this.https.size, agentConnected: this.agent() !== undefined };
  }

  private connectAgent(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return statusResponse(new ApiError(400, "BadRequest", "the tunnel needs a WebSocket upgrade"));
    // A node has one tunnel: a new connection replaces the old one and the old one's streams end.
    for (const old of this.ctx.getWebSockets(AGENT_TAG)) this.closeQuietly(old, 4000, "replaced by a newer tunnel connection");
    this.failAll("the node's tunnel was replaced by a new connection");
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, [AGENT_TAG]);
    server.serializeAttachment({ role: "agent", connectedAt: Date.now() } satisfies AgentAttachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The node's live agent socket, if any (open, and pinged recently). */
  private agent(): WebSocket | undefined {
    const now = Date.now();
    for (const ws of this.ctx.getWebSockets(AGENT_TAG).reverse()) {
      if (ws.readyState !== 1) continue;
      const a = ws.deserializeAttachment() as AgentAttachment | null;
      const lastPing = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      if (now - Math.max(lastPing, a?.connectedAt ?? 0) > STALE_AGENT_MS) continue;
      return ws;
    }
    return undefined;
  }

  private newStreamId(): number {
    for (;;) {
      const id = crypto.getRandomValues(new Uint32Array(1))[0];
      if (id !== 0 && !this.opening.has(id) && !this.logs.has(id) && !this.https.has(id) && this.ctx.getWebSockets(clientTag(id)).length === 0) return id;
    }
  }

  /** Sends Open and waits for the agent's answer: the stream id, or the Status to answer with. */
  private async open(envelope: StreamEnvelope): Promise<{ agent: WebSocket; stream: number } | Response> {
    const agent = this.agent();
    if (!agent)
      return statusResponse(
        unavailable(`node "${envelope.node}" is not connected: its agent has no tunnel to the control plane (the node may be offline)`),
      );
    const stream = this.newStreamId();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<Frame | undefined>((resolve) => {
      this.opening.set(stream, resolve);
      timer = setTimeout(() => resolve(undefined), OPEN_TIMEOUT_MS);
    });
    try {
      agent.send(encodeJson(FrameType.Open, stream, envelope.request));
    } catch {
      this.opening.delete(stream);
      clearTimeout(timer);
      return statusResponse(unavailable(`node "${envelope.node}": its tunnel closed`));
    }
    const f = await answer;
    this.opening.delete(stream);
    clearTimeout(timer);
    if (!f) {
      this.sendQuietly(agent, encodeFrame(FrameType.Reset, stream));
      return statusResponse(new ApiError(504, "Timeout", `node "${envelope.node}" did not answer within ${OPEN_TIMEOUT_MS / 1000} s`));
    }
    if (f.type === FrameType.Reject) {
      let e: StreamError;
      try {
        e = decodeJson<StreamError>(f.payload);
      } catch {
        e = { code: 500, reason: "InternalError", message: "the agent refused the stream" };
      }
      return statusResponse(new ApiError(e.code, e.reason as StatusReason, e.message));
    }
    if (f.type !== FrameType.Accept) return statusResponse(unavailable(`node "${envelope.node}": the tunnel closed while opening the stream`));
    return { agent, stream };
  }

  private async openLog(envelope: StreamEnvelope): Promise<Response> {
    const opened = await this.open(envelope);
    if (opened instanceof Response) return opened;
    const { stream } = opened;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.logs.set(stream, { writer, queued: 0 });
    // The client went away (or the stream was ended): tell the agent and forget it.
    writer.closed.then(
      () => this.logs.delete(stream),
      () => this.resetStream(stream),
    );
    return new Response(readable, { headers: { "content-type": "text/plain", "cache-control": "no-cache, private" } });
  }

  /** exec, attach, port-forward: the client's WebSocket, relayed message by message to the agent's stream. */
  private async openSession(request: Request, envelope: StreamEnvelope): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return statusResponse(new ApiError(400, "BadRequest", "a stream session needs a WebSocket upgrade"));
    const req = envelope.request;
    if (req.kind !== "exec" && req.kind !== "attach" && req.kind !== "portforward") return statusResponse(new ApiError(400, "BadRequest", `a ${req.kind} stream is not a WebSocket session`));
    const opened = await this.open(envelope);
    if (opened instanceof Response) return opened;
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, [clientTag(opened.stream)]);
    server.serializeAttachment({ role: "client", stream: opened.stream } satisfies ClientAttachment);
    return new Response(null, { status: 101, webSocket: client, headers: { "sec-websocket-protocol": req.protocol } });
  }

  /**
   * An edge request to a pod on this node: the agent connects to the pod (a refusal carries
   * EDGE_RETRY_HEADER), the request body follows as Data frames, and the pod's response is
   * streamed back as this response.
   */
  private async openHttp(request: Request, envelope: StreamEnvelope): Promise<Response> {
    if (envelope.request.kind !== "http") return statusResponse(new ApiError(400, "BadRequest", "not an http request"));
    const opened = await this.open(envelope);
    if (opened instanceof Response) {
      const retry = new Response(opened.body, opened);
      retry.headers.set(EDGE_RETRY_HEADER, "1");
      return retry;
    }
    const { agent, stream } = opened;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const head = new Promise<HttpResponseHead | undefined>((resolve) => {
      this.https.set(stream, { writer: writable.getWriter(), queued: 0, consumed: 0, head: resolve });
    });
    void this.pumpBody(request.body, agent, stream);
    const h = await head;
    const sink = this.https.get(stream);
    if (!h) {
      this.https.delete(stream);
      return statusResponse(new ApiError(502, "ServiceUnavailable", `node "${envelope.node}": the connection to ${envelope.request.ip}:${envelope.request.port} ended without a response`));
    }
    const headers = new Headers();
    for (const [k, v] of h.headers) if (k.toLowerCase() !== "content-length" && !HOP_BY_HOP.has(k.toLowerCase())) headers.append(k, v);
    // The client went away: tell the agent and forget the stream.
    sink?.writer.closed.then(
      () => this.https.delete(stream),
      () => this.resetHttp(stream),
    );
    if (NULL_BODY.has(h.status) || envelope.request.method === "HEAD") {
      void readable.cancel().catch(() => {});
      return new Response(null, { status: h.status === 101 ? 502 : h.status, headers });
    }
    return new Response(readable, { status: h.status, statusText: h.statusText, headers });
  }

  /** The edge request's body, as Data frames, then End. */
  private async pumpBody(body: ReadableStream<Uint8Array> | null, agent: WebSocket, stream: number): Promise<void> {
    try {
      if (body)
        for await (const chunk of body)
          // Frames of at most MAX_FRAME_DATA: Cloudflare caps WebSocket messages at 1 MiB.
          for (let at = 0; at < chunk.byteLength; at += MAX_FRAME_DATA) {
            if (!this.https.has(stream)) return;
            this.sendQuietly(agent, encodeFrame(FrameType.Data, stream, chunk.subarray(at, at + MAX_FRAME_DATA)));
          }
      if (this.https.has(stream)) this.sendQuietly(agent, encodeFrame(FrameType.End, stream));
    } catch {
      this.resetHttp(stream);
    }
  }

  private resetHttp(stream: number): void {
    const sink = this.https.get(stream);
    if (!sink) return;
    this.https.delete(stream);
    sink.head?.(undefined);
    sink.writer.abort("reset").catch(() => {});
    const agent = this.agent();
    if (agent) this.sendQuietly(agent, encodeFrame(FrameType.Reset, stream));
  }

  /** A frame of an edge request in flight: the head first, then body chunks. */
  private fromAgentHttp(sink: HttpSink, f: Frame): void {
    if (f.type === FrameType.Data && sink.head) {
      let h: HttpResponseHead | undefined;
      try {
        h = decodeJson<HttpResponseHead>(f.payload);
      } catch {
        h = undefined;
      }
      const resolve = sink.head;
      sink.head = undefined;
      if (!h) return this.resetHttp(f.stream);
      return resolve(h);
    }
    if (f.type === FrameType.Data)
      return this.toSink(this.https, sink, f, () => this.resetHttp(f.stream), (bytes) => {
        // Tell the agent what the client consumed, in batches (its window is 4 MiB).
        sink.consumed += bytes;
        if (sink.consumed < ACK_EVERY_BYTES || !this.https.has(f.stream)) return;
        const agent = this.agent();
        if (agent) this.sendQuietly(agent, encodeAck(f.stream, sink.consumed));
        sink.consumed = 0;
      });
    this.https.delete(f.stream);
    sink.head?.(undefined);
    if (f.type === FrameType.End) sink.writer.close().catch(() => {});
    else sink.writer.abort("the agent ended the stream").catch(() => {});
  }

  /** Queues a Data frame's bytes for a streamed response; a reader too far behind is dropped. */
  private toSink(map: Map<number, LogSink>, sink: LogSink, f: Frame, reset: () => void, consumed?: (bytes: number) => void): void {
    if (sink.queued > MAX_QUEUED_BYTES) return reset();
    const chunk = f.payload.slice();
    sink.queued += chunk.byteLength;
    sink.writer.write(chunk).then(
      () => {
        sink.queued -= chunk.byteLength;
        consumed?.(chunk.byteLength);
      },
      () => (map.has(f.stream) ? reset() : undefined),
    );
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const role = ws.deserializeAttachment() as AgentAttachment | ClientAttachment | null;
    if (role?.role === "client") {
      const agent = this.agent();
      const data = typeof message === "string" ? new TextEncoder().encode(message) : new Uint8Array(message);
      if (!agent) return this.closeQuietly(ws, 1011, "the node's tunnel closed");
      this.sendQuietly(agent, encodeFrame(FrameType.Data, role.stream, data));
      return;
    }
    if (typeof message === "string") return; // keep-alives are answered by the auto-response
    let f: Frame;
    try {
      f = decodeFrame(message);
    } catch {
      return;
    }
    this.fromAgent(ws, f);
  }

  private fromAgent(agent: WebSocket, f: Frame): void {
    const opening = this.opening.get(f.stream);
    if (opening) {
      if (f.type === FrameType.Accept || f.type === FrameType.Reject || f.type === FrameType.Reset) opening(f);
      return;
    }
    const http = this.https.get(f.stream);
    if (http) return this.fromAgentHttp(http, f);
    const log = this.logs.get(f.stream);
    if (log) {
      if (f.type === FrameType.Data) this.toSink(this.logs, log, f, () => this.resetStream(f.stream));
      else if (f.type === FrameType.End) {
        this.logs.delete(f.stream);
        log.writer.close().catch(() => {});
      } else if (f.type === FrameType.Reset) {
        this.logs.delete(f.stream);
        log.writer.abort("the agent ended the stream").catch(() => {});
      }
      return;
    }
    const client = this.ctx.getWebSockets(clientTag(f.stream))[0];
    if (client) {
      if (f.type === FrameType.Data) this.sendQuietly(client, f.payload.slice());
      else if (f.type === FrameType.End) this.closeQuietly(client, 1000, "");
      else if (f.type === FrameType.Reset) this.closeQuietly(client, 1011, "the stream was reset by the node");
      return;
    }
    // A stream nobody here knows (ended, or from before a restart): tell the agent to drop it.
    if (f.type !== FrameType.Reset && f.type !== FrameType.End) this.sendQuietly(agent, encodeFrame(FrameType.Reset, f.stream));
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.closed(ws, code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.closed(ws, 1011, "error");
  }

  private closed(ws: WebSocket, code: number, reason: string): void {
    const role = ws.deserializeAttachment() as AgentAttachment | ClientAttachment | null;
    this.closeQuietly(ws, code, reason);
    if (role?.role === "client") {
      const agent = this.agent();
      if (agent) this.sendQuietly(agent, encodeFrame(FrameType.Reset, role.stream));
      return;
    }
    const others = this.ctx.getWebSockets(AGENT_TAG).filter((s) => s !== ws && s.readyState === 1);
    if (others.length === 0) this.failAll("the node's tunnel closed");
  }

  /** Ends every stream of this node (the tunnel is gone). */
  private failAll(why: string): void {
    for (const resolve of this.opening.values()) resolve(undefined);
    this.opening.clear();
    for (const log of this.logs.values()) log.writer.abort(why).catch(() => {});
    this.logs.clear();
    for (const http of this.https.values()) {
      http.head?.(undefined);
      http.writer.abort(why).catch(() => {});
    }
    this.https.clear();
    for (const ws of this.ctx.getWebSockets())
      if ((ws.deserializeAttachment() as ClientAttachment | null)?.role === "client") this.closeQuietly(ws, 1011, why);
  }

  private resetStream(stream: number): void {
    const log = this.logs.get(stream);
    if (!log) return;
    this.logs.delete(stream);
    log.writer.abort("reset").catch(() => {});
    const agent = this.agent();
    if (agent) this.sendQuietly(agent, encodeFrame(FrameType.Reset, stream));
  }

  private sendQuietly(ws: WebSocket, data: Uint8Array): void {
    try {
      ws.send(data);
    } catch {
      /* closed meanwhile */
    }
  }

  private closeQuietly(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      /* already closed */
    }
  }
}
