import type { ApiConfig } from "./api-client.ts";
import { Backoff } from "./backoff.ts";
import { sleep } from "./pod-source.ts";
import { WsClient } from "./ws-client.ts";
import {
  decodeAck,
  decodeFrame,
  decodeJson,
  encodeFrame,
  encodeJson,
  FrameType,
  PING,
  type StreamError,
  type StreamRequest,
} from "../tunnel/frames.ts";

/**
 * The agent's end of its node's tunnel: one outbound WebSocket (HTTPS, bearer token) to
 * /tunnel/nodes/<node>, reconnected with exponential backoff and jitter, kept alive with pings
 * the control plane answers without waking its Durable Object. Streams the control plane opens
 * (logs, exec) go to `handler`; the agent accepts streams from nowhere else.
 */

export interface TunnelStream {
  readonly id: number;
  /** Aborted when the control plane resets the stream or the tunnel drops. */
  readonly signal: AbortSignal;
  accept(): void;
  reject(e: StreamError): void;
  /** Sends data; resolves once the tunnel has room for more (backpressure). */
  write(data: Uint8Array): Promise<void>;
  end(): void;
  reset(): void;
  /** Data from the control plane (exec stdin, resize, ...). */
  onData?: (data: Buffer) => void;
  /** Set by streams with a request body (http): the control plane's End closes the body instead of the stream. */
  onEnd?: () => void;
  /** Set by streams with flow control (http): bytes the control plane's client consumed. */
  onAck?: (bytes: number) => void;
}

export type StreamHandler = (req: StreamRequest, stream: TunnelStream) => void;

export interface TunnelOptions {
  api: ApiConfig;
  node: string;
  handler: StreamHandler;
  log: (line: string) => void;
  pingMs?: number;
}

const HIGH_WATER = 1024 * 1024;
const MAX_FRAME_DATA = 256 * 1024;

class Stream implements TunnelStream {
  private readonly abort = new AbortController();
  onData?: (data: Buffer) => void;
  onEnd?: () => void;
  onAck?: (bytes: number) => void;
  done = false;

  constructor(
    readonly id: number,
    private readonly ws: WsClient,
    private readonly forget: (id: number) => void,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  accept(): void {
    this.ws.send(encodeFrame(FrameType.Accept, this.id));
  }

  reject(e: StreamError): void {
    this.ws.send(encodeJson(FrameType.Reject, this.id, e));
    this.finish();
  }

  async write(data: Uint8Array): Promise<void> {
    // In frames of at most MAX_FRAME_DATA: Cloudflare caps WebSocket messages (1 MiB), and small
    // frames let the Durable Object relay a large write as it arrives.
    for (let at = 0; at < data.byteLength || at === 0; at += MAX_FRAME_DATA) {
      if (this.done) return;
      this.ws.send(encodeFrame(FrameType.Data, this.id, data.subarray(at, at + MAX_FRAME_DATA)));
      while (this.ws.isOpen && this.ws.bufferedAmount > HIGH_WATER && !this.signal.aborted) await sleep(10);
      if (data.byteLength === 0) return;
    }
  }

  end(): void {
    if (this.done) return;
    this.ws.send(encodeFrame(FrameType.End, this.id));
    this.finish();
  }

  reset(): void {
    if (this.done) return;
    this.ws.send(encodeFrame(FrameType.Reset, this.id));
    this.aborted();
  }

  /** The other side is gone. */
  aborted(): void {
    this.finish();
    this.abort.abort();
  }

  private finish(): void {
    this.done = true;
    this.forget(this.id);
  }
}

export class TunnelClient {
  private readonly stopper = new AbortController();
  private readonly streams = new Map<number, Stream>();
  private ws?: WsClient;
  private loop?: Promise<void>;
  /** Connections made (for tests). */
  connections = 0;

  constructor(private readonly o: TunnelOptions) {}

  get connected(): boolean {
    return this.ws?.isOpen ?? false;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.ws?.close(1000, "agent stopping");
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    const backoff = new Backoff(500, 30_000);
    const url = new URL(`/tunnel/nodes/${encodeURIComponent(this.o.node)}`, this.o.api.server).toString();
    while (!signal.aborted) {
      let ws: WsClient;
      try {
        ws = await WsClient.connect(url, {
          headers: { authorization: `Bearer ${this.o.api.token}`, "user-agent": "edgeplane-agent/0.1" },
          insecure: this.o.api.insecure,
          ca: this.o.api.ca,
        });
      } catch (e) {
        const wait = backoff.next();
        this.o.log(`node ${this.o.node}: tunnel: ${e instanceof Error ? e.message : String(e)}; retrying in ${wait} ms`);
        await sleep(wait, signal);
        continue;
      }
      if (signal.aborted) {
        ws.close(1000, "agent stopping");
        break;
      }
      this.ws = ws;
      this.connections++;
      if (backoff.attempts > 0) this.o.log(`node ${this.o.node}: tunnel connected`);
      backoff.reset();
      await this.serve(ws, signal);
      for (const s of [...this.streams.values()]) s.aborted();
      if (!signal.aborted) {
        const wait = backoff.next();
        this.o.log(`node ${this.o.node}: tunnel closed; reconnecting in ${wait} ms`);
        await sleep(wait, signal);
      }
    }
  }

  /** Serves one connection until it closes (or stops answering pings). */
  private serve(ws: WsClient, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const pingMs = this.o.pingMs ?? 20_000;
      let lastHeard = Date.now();
      const timer = setInterval(() => {
        if (Date.now() - lastHeard > pingMs + 10_000) ws.terminate();
        else ws.send(PING);
      }, pingMs);
      const onStop = () => ws.close(1000, "agent stopping");
      signal.addEventListener("abort", onStop, { once: true });
      ws.on("message", (data: Buffer, binary: boolean) => {
        lastHeard = Date.now();
        if (binary) this.onFrame(ws, data);
      });
      ws.once("close", () => {
        clearInterval(timer);
        signal.removeEventListener("abort", onStop);
        resolve();
      });
    });
  }

  private onFrame(ws: WsClient, data: Buffer): void {
    let f;
    try {
      f = decodeFrame(data);
    } catch (e) {
      this.o.log(`node ${this.o.node}: tunnel: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (f.type === FrameType.Open) {
      const stream = new Stream(f.stream, ws, (id) => this.streams.delete(id));
      this.streams.set(f.stream, stream);
      let req: StreamRequest;
      try {
        req = decodeJson<StreamRequest>(f.payload);
      } catch {
        stream.reject({ code: 400, reason: "BadRequest", message: "malformed stream request" });
        return;
      }
      try {
        this.o.handler(req, stream);
      } catch (e) {
        stream.reject({ code: 500, reason: "InternalError", message: e instanceof Error ? e.message : String(e) });
      }
      return;
    }
    const stream = this.streams.get(f.stream);
    if (!stream) return;
    if (f.type === FrameType.Data) stream.onData?.(Buffer.from(f.payload));
    else if (f.type === FrameType.End && stream.onEnd) stream.onEnd();
    else if (f.type === FrameType.Ack) {
      try {
        stream.onAck?.(decodeAck(f.payload));
      } catch {
        /* a malformed ack: ignored */
      }
    }
    else if (f.type === FrameType.Reset || f.type === FrameType.End) stream.aborted();
  }
}
