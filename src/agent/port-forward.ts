import { connect, type Socket } from "node:net";
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import {
  controlFrame,
  controlStreamId,
  ControlType,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  goAwayFrame,
  readFrames,
  RST_PROTOCOL_ERROR,
  rstStreamFrame,
  SPDY_DICTIONARY,
  SpdyError,
  SYN_STREAM_HEADERS_AT,
  synReplyFrame,
  type SpdyFrame,
} from "../tunnel/spdy-frames.ts";

/**
 * The node's side of `kubectl port-forward` (portforward.k8s.io over SPDY/3.1, tunneled in the
 * client's WebSocket and relayed as raw bytes by the control plane). kubectl opens two streams per
 * local connection, with headers streamType=error|data, port and requestID; once both are there the
 * agent connects to the pod's IP at that port and copies bytes both ways. A port that refuses
 * gets its reason on the error stream (as the kubelet words it); the session and the node's tunnel
 * stay up. When the connection ends both streams are half-closed (FIN), which is what kubectl waits for.
 */

/** One zlib stream (inflate or deflate) run block by block, each block sync-flushed. */
class HeaderZlib {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private failed?: Error;

  constructor(private readonly z: Inflate | Deflate) {
    z.on("data", (c: Buffer) => this.out.push(c));
    z.on("error", (e: Error) => (this.failed = e));
  }

  run(input: Uint8Array): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failed) return reject(this.failed);
          this.out = [];
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => (this.failed ? reject(this.failed) : resolve(Buffer.concat(this.out))));
        }),
    );
    this.chain = next.catch(() => {});
    return next;
  }

  close(): void {
    this.z.destroy();
  }
}

interface Pair {
  port: number;
  error?: number;
  data?: number;
  socket?: Socket;
  /** Client bytes that came before the connection was up. */
  pending: Buffer[];
  clientDone: boolean;
  finished: boolean;
}

export interface PortForwardTarget {
  /** Where the pod's ports are reached from this node. */
  host: string;
  podName: string;
  podUid: string;
  /** Sends bytes to the client; resolves when there is room for more. */
  send: (bytes: Uint8Array) => Promise<void>;
  log: (line: string) => void;
  /** The session ended on its own (GOAWAY from the client, a protocol error). */
  onClosed?: () => void;
}

const MAX_DATA = 64 * 1024;

export class PortForwardSession {
  private buffered: Uint8Array = new Uint8Array(0);
  private readonly inflate = new HeaderZlib(createInflate({ dictionary: SPDY_DICTIONARY }));
  private readonly deflate = new HeaderZlib(createDeflate({ dictionary: SPDY_DICTIONARY }));
  private readonly pairs = new Map<string, Pair>();
  /** Client stream id -> its pair and role. */
  private readonly streams = new Map<number, { pair: Pair; role: "error" | "data" }>();
  /** Frames are handled one at a time, in order (header blocks decompress asynchronously). */
  private queue: Promise<void> = Promise.resolve();
  private lastStream = 0;
  closed = false;

  constructor(private readonly t: PortForwardTarget) {}

  /** Bytes from the client (any split). */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    const joined = new Uint8Array(this.buffered.byteLength + bytes.byteLength);
    joined.set(this.buffered);
    joined.set(bytes, this.buffered.byteLength);
    let frames: SpdyFrame[];
    try {
      const r = readFrames(joined);
      frames = r.frames;
      this.buffered = r.rest.slice();
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const f of frames) this.queue = this.queue.then(() => this.handle(f)).catch((e) => this.fail(e));
  }

  /** The client is gone, or the stream was reset: close every connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pairs.values()) p.socket?.destroy();
    this.pairs.clear();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.t.onClosed?.();
  }

  private fail(e: unknown): void {
    if (this.closed) return;
    this.t.log(`port-forward to ${this.t.podName}: ${e instanceof Error ? e.message : String(e)}`);
    void this.t.send(goAwayFrame(this.lastStream)).catch(() => {});
    this.close();
  }

  private async handle(f: SpdyFrame): Promise<void> {
    if (this.closed) return;
    if (!f.control) return this.onData(f.stream, f.flags, f.payload);
    switch (f.type) {
      case ControlType.SynStream:
        return this.onSynStream(f.flags, f.payload);
      case ControlType.RstStream:
        return this.onReset(controlStreamId(f.payload));
      case ControlType.Ping:
        return this.t.send(controlFrame(ControlType.Ping, 0, f.payload.slice()));
      case ControlType.GoAway:
        return this.close();
      default:
        return; // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (no flow control here)
    }
  }

  private async onSynStream(flags: number, payload: Uint8Array): Promise<void> {
    const id = controlStreamId(payload);
    if (payload.byteLength < SYN_STREAM_HEADERS_AT) throw new SpdyError("SYN_STREAM too short");
    const headers = decodeHeaderBlock(await this.inflate.run(payload.subarray(SYN_STREAM_HEADERS_AT)));
    this.lastStream = Math.max(this.lastStream, id);
    await this.t.send(synReplyFrame(id, await this.deflate.run(encodeHeaderBlock({}))));
    const role = headers.streamtype;
    const port = Number(headers.port);
    if ((role !== "error" && role !== "data") || !Number.isInteger(port) || port < 1 || port > 65535) {
      await this.t.send(rstStreamFrame(id, RST_PROTOCOL_ERROR));
      return;
    }
    const key = `${headers.requestid ?? ""}/${port}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = { port, pending: [], clientDone: false, finished: false };
      this.pairs.set(key, pair);
    }
    pair[role] = id;
    this.streams.set(id, { pair, role });
    if (role === "data" && flags & FLAG_FIN) pair.clientDone = true;
    if (pair.error !== undefined && pair.data !== undefined) this.dial(key, pair);
  }

  private onData(stream: number, flags: number, payload: Uint8Array): void {
    const s = this.streams.get(stream);
    if (!s || s.role !== "data") return; // the error stream carries nothing from the client
    const { pair } = s;
    if (payload.byteLength > 0) {
      if (pair.socket && !pair.socket.connecting) pair.socket.write(payload);
      else pair.pending.push(Buffer.from(payload));
    }
    if (flags & FLAG_FIN) {
      pair.clientDone = true;
      if (pair.socket && !pair.socket.connecting) pair.socket.end();
    }
  }

  private onReset(stream: number): void {
    const s = this.streams.get(stream);
    if (!s) return;
    s.pair.socket?.destroy();
    this.finish(s.pair);
  }

  private dial(key: string, pair: Pair): void {
    const socket = connect({ host: this.t.host, port: pair.port });
    pair.socket = socket;
    socket.once("connect", () => {
      for (const b of pair.pending) socket.write(b);
      pair.pending = [];
      if (pair.clientDone) socket.end();
    });
    socket.on("data", (chunk: Buffer) => {
      socket.pause();
      void this.sendData(pair, chunk).finally(() => socket.resume());
    });
    socket.once("end", () => {
      this.queue = this.queue.then(() => (pair.data !== undefined && !this.closed ? this.t.send(dataFrame(pair.data, FLAG_FIN)) : undefined));
    });
    socket.once("error", (e: Error) => {
      if (pair.finished) return;
      const message = `error forwarding port ${pair.port} to pod ${this.t.podName}, uid ${this.t.podUid}: ${e.message}`;
      this.queue = this.queue.then(() => (pair.error !== undefined && !this.closed ? this.t.send(dataFrame(pair.error, 0, new TextEncoder().encode(message))) : undefined));
    });
    socket.once("close", () => {
      this.queue = this.queue.then(async () => {
        if (this.closed || pair.finished) return;
        if (pair.data !== undefined && !socket.readableEnded) await this.t.send(dataFrame(pair.data, FLAG_FIN));
        if (pair.error !== undefined) await this.t.send(dataFrame(pair.error, FLAG_FIN));
        this.finish(pair);
        this.pairs.delete(key);
      });
    });
  }

  private async sendData(pair: Pair, chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.byteLength && !this.closed; at += MAX_DATA) await this.t.send(dataFrame(pair.data!, 0, chunk.subarray(at, at + MAX_DATA)));
  }

  private finish(pair: Pair): void {
    pair.finished = true;
    if (pair.error !== undefined) this.streams.delete(pair.error);
    if (pair.data !== undefined) this.streams.delete(pair.data);
  }
}
