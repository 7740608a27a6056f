import { createHash, randomBytes } from "node:crypto";
import { request as plainRequest } from "node:http";
import { request } from "node:https";
import type { Socket } from "node:net";
import { EventEmitter } from "node:events";
import { httpsAgentFor } from "./proxy-agent.ts";

/**
 * A small WebSocket client (RFC 6455) over node:https, for the agent's tunnel: it needs a
 * bearer token header and the kubeconfig's TLS settings, which Node's built-in WebSocket does not
 * take. `ws:` URLs go over plain HTTP (loopback tools such as the bench's DevTools profiler). Binary and text messages, fragmented messages, ping/pong, close. Client frames are masked.
 *
 * Events: "message" (data: Buffer, isBinary: boolean), "close" (code: number, reason: string).
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_MESSAGE = 64 * 1024 * 1024;

export interface WsConnectOptions {
  headers?: Record<string, string>;
  insecure?: boolean;
  ca?: string;
  timeoutMs?: number;
}

export class WsUpgradeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WsClient extends EventEmitter {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    super();
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("close", () => this.finish(1006, "connection lost"));
    socket.on("error", () => this.finish(1006, "connection error"));
  }

  /** Opens a WebSocket at an https:// or wss:// URL; rejects with WsUpgradeError when the server answers without 101. */
  static connect(url: string, o: WsConnectOptions = {}): Promise<WsClient> {
    const u = new URL(url.replace(/^wss:/, "https:").replace(/^ws:/, "http:"));
    const key = randomBytes(16).toString("base64");
    const tls = { rejectUnauthorized: !o.insecure, ...(o.ca ? { ca: o.ca } : {}) };
    // Through the environment's proxy (HTTPS_PROXY, NO_PROXY) when one applies: a CONNECT tunnel, then TLS.
    const secure = u.protocol === "https:";
    const transport = secure ? { agent: httpsAgentFor(u, { ...tls, keepAlive: false }), ...tls } : {};
    return new Promise((resolve, reject) => {
      const req = (secure ? request : plainRequest)(u, {
        method: "GET",
        ...transport,
        headers: {
          ...o.headers,
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-key": key,
          "sec-websocket-version": "13",
        },
      });
      req.setTimeout(o.timeoutMs ?? 15_000, () => req.destroy(new Error(`WebSocket to ${u.host}: timed out`)));
      req.on("error", reject);
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let message = text.slice(0, 300);
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? message;
          } catch {
            /* not a Status */
          }
          reject(new WsUpgradeError(res.statusCode ?? 0, `WebSocket upgrade refused: ${res.statusCode} ${message}`));
        });
      });
      req.on("upgrade", (res, socket, head) => {
        const expected = createHash("sha1").update(key + GUID).digest("base64");
        if (res.headers["sec-websocket-accept"] !== expected) {
          socket.destroy();
          reject(new Error("WebSocket upgrade: bad Sec-WebSocket-Accept"));
          return;
        }
        socket.setTimeout(0);
        const ws = new WsClient(socket);
        resolve(ws);
        if (head.length) ws.onData(head);
      });
      req.end();
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(data: Uint8Array | string): void {
    if (this.closed) return;
    const binary = typeof data !== "string";
    this.writeFrame(binary ? 0x2 : 0x1, binary ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data, "utf8"));
  }

  /** Bytes queued in the socket, not yet sent (for backpressure). */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    const r = Buffer.from(reason.slice(0, 120), "utf8");
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.writeFrame(0x8, payload);
    this.socket.end();
    this.finish(code, reason);
  }

  /** Drops the connection without a close handshake (a dead peer). */
  terminate(): void {
    this.socket.destroy();
    this.finish(1006, "terminated");
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit("close", code, reason);
  }

  private writeFrame(opcode: number, payload: Buffer): void {
    const len = payload.length;
    const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    if (len < 126) header[1] = 0x80 | len;
    else if (len < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return this.close(1009, "message too big");
        len = Number(big);
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = b.subarray(off, off + len);
      if (masked) {
        const m = b.subarray(maskOff, maskOff + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ m[i & 3]));
      }
      this.buffer = b.subarray(off + len);
      this.onFrame(fin, opcode, payload);
      if (this.closed) return;
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 0x9) return this.writeFrame(0xa, payload); // ping -> pong
    if (opcode === 0xa) return;
    if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.length > 2 ? payload.subarray(2).toString("utf8") : "";
      if (!this.closed) {
        this.writeFrame(0x8, payload.subarray(0, 2));
        this.socket.end();
      }
      return this.finish(code, reason);
    }
    if (opcode === 0x1 || opcode === 0x2) {
      this.fragmentOpcode = opcode;
      this.fragments = [];
    }
    if (opcode !== 0x0 && opcode !== 0x1 && opcode !== 0x2) return this.close(1002, "unknown opcode");
    // Copy: the payload may be a view of the receive buffer, which is reused.
    this.fragments.push(Buffer.from(payload));
    if (!fin) return;
    const data = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit("message", data, this.fragmentOpcode === 0x2);
  }
}
