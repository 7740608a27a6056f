/**
 * The framing of a node tunnel: one WebSocket between a node's agent and its NodeTunnel
 * Durable Object carries many streams (a log follow, an exec session, ...). Each binary
 * message is one frame:
 *
 *   byte 0      frame type
 *   bytes 1..4  stream id (unsigned 32-bit, big-endian)
 *   bytes 5..   payload
 *
 * Pure: shared by the Worker, the Durable Object and the agent.
 */

export const FrameType = {
  /** control plane -> agent: open a stream; payload: StreamRequest as JSON. */
  Open: 1,
  /** agent -> control plane: the stream is served; data follows. */
  Accept: 2,
  /** agent -> control plane: the stream is refused; payload: StreamError as JSON. */
  Reject: 3,
  /** either way: stream bytes. */
  Data: 4,
  /** either way: the sender sends no more data on this stream (graceful end). */
  End: 5,
  /** either way: the stream is abandoned (client gone, error); free everything. */
  Reset: 6,
  /**
   * control plane -> agent: flow control of a stream that asks for it (edge http responses);
   * payload: the number of bytes the client consumed since the last Ack (unsigned 32-bit, big-endian).
   */
  Ack: 7,
} as const;

export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: FrameTypeCode;
  stream: number;
  payload: Uint8Array;
}

export const HEADER_BYTES = 5;
export const MAX_STREAM_ID = 0xffffffff;
const TYPES = new Set<number>(Object.values(FrameType));

export class FrameError extends Error {}

export function encodeFrame(type: FrameTypeCode, stream: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!TYPES.has(type)) throw new FrameError(`unknown frame type ${type}`);
  if (!Number.isInteger(stream) || stream < 0 || stream > MAX_STREAM_ID) throw new FrameError(`stream id out of range: ${stream}`);
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, stream, false);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Decodes one frame; the payload is a view into `data` (no copy). */
export function decodeFrame(data: ArrayBuffer | Uint8Array): Frame {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < HEADER_BYTES) throw new FrameError(`frame too short: ${bytes.byteLength} bytes`);
  const type = bytes[0];
  if (!TYPES.has(type)) throw new FrameError(`unknown frame type ${type}`);
  const stream = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
  return { type: type as FrameTypeCode, stream, payload: bytes.subarray(HEADER_BYTES) };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encodeAck = (stream: number, bytes: number) => {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, bytes, false);
  return encodeFrame(FrameType.Ack, stream, payload);
};

export function decodeAck(payload: Uint8Array): number {
  if (payload.byteLength !== 4) throw new FrameError(`ack payload must be 4 bytes, got ${payload.byteLength}`);
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false);
}

export const encodeJson = (type: FrameTypeCode, stream: number, value: unknown) => encodeFrame(type, stream, encoder.encode(JSON.stringify(value)));

export function decodeJson<T>(payload: Uint8Array): T {
  try {
    return JSON.parse(decoder.decode(payload)) as T;
  } catch {
    throw new FrameError("frame payload is not JSON");
  }
}

/** What a stream asks of the agent. */
export type StreamRequest = LogRequest | ExecRequest | HttpRequest | PortForwardRequest;

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  container: string;
}

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Only lines at or after this time (ms since the epoch); from sinceSeconds or sinceTime. */
  sinceMs?: number;
}

export interface LogRequest {
  kind: "log";
  pod: PodRef;
  options: LogOptions;
}

/** exec runs `command` in the container; attach joins its main process's stdio (command empty). */
export interface ExecRequest {
  kind: "exec" | "attach";
  pod: PodRef;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** The negotiated WebSocket subprotocol (v4.channel.k8s.io or v5.channel.k8s.io). */
  protocol: string;
}

/**
 * An HTTP request the agent makes to a pod (edge routing of Ingresses and LoadBalancer Services).
 * The agent accepts once its connection to `ip:port` is up (a refusal means "try another
 * endpoint"); then the control plane's Data frames are the request body (End: no more), and the
 * agent's first Data frame is the response head as JSON (HttpResponseHead), the rest the body.
 */
export interface HttpRequest {
  kind: "http";
  /** The pod's IP and the target (container) port. */
  ip: string;
  port: number;
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: [string, string][];
}

export interface HttpResponseHead {
  status: number;
  statusText?: string;
  headers: [string, string][];
}

/** kubectl port-forward: SPDY/3.1 bytes relayed as they come; the agent serves the protocol and dials `host`. */
export interface PortForwardRequest {
  kind: "portforward";
  pod: PodRef;
  /** The pod's IP: where its ports are reached from its node. */
  host: string;
  protocol: string;
}

/** Why the agent refused a stream: becomes the API's Status. */
export interface StreamError {
  code: number;
  reason: string;
  message: string;
}

/** The remote-command channels of the channel.k8s.io WebSocket protocols. */
export const Channel = { Stdin: 0, Stdout: 1, Stderr: 2, Error: 3, Resize: 4, Close: 255 } as const;

/** A terminal's size, as the resize channel carries it. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** Parses a resize message of the remote-command protocol: JSON {"Width":w,"Height":h}. */
export function parseTerminalSize(data: Uint8Array): TerminalSize | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width);
    const height = Number(v.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/** Keep-alive text messages: the Durable Object answers them without waking (auto-response). */
export const PING = "ping";
export const PONG = "pong";
