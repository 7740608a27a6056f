/**
 * SPDY/3 framing (pure; no compression): what `kubectl port-forward` speaks inside its WebSocket
 * (subprotocol `SPDY/3.1+portforward.k8s.io`: SPDY frames as the bytes of binary messages, message
 * boundaries meaningless). Control frames: 1 bit set, 15-bit version (3), 16-bit type, 8-bit flags,
 * 24-bit length; data frames: 31-bit stream id, 8-bit flags, 24-bit length. Header blocks are
 * zlib-compressed with SPDY_DICTIONARY (one stream per direction; see src/agent/spdy-session.ts).
 */

export const SPDY_VERSION = 3;
export const ControlType = { SynStream: 1, SynReply: 2, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, Headers: 8, WindowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;
export const RST_CANCEL = 5;
export const RST_PROTOCOL_ERROR = 1;
/** The largest frame payload this side accepts (the 24-bit length allows 16 MiB). */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type SpdyFrame =
  | { control: true; type: number; flags: number; payload: Uint8Array }
  | { control: false; stream: number; flags: number; payload: Uint8Array };

export class SpdyError extends Error {}

/** Splits complete frames off the front of `buf`; `rest` is the incomplete tail. */
export function readFrames(buf: Uint8Array): { frames: SpdyFrame[]; rest: Uint8Array } {
  const frames: SpdyFrame[] = [];
  let at = 0;
  while (buf.byteLength - at >= 8) {
    const view = new DataView(buf.buffer, buf.byteOffset + at, 8);
    const first = view.getUint32(0, false);
    const flags = view.getUint8(4);
    const length = view.getUint32(4, false) & 0xffffff;
    if (buf.byteLength - at < 8 + length) break;
    const payload = buf.subarray(at + 8, at + 8 + length);
    if (first & 0x80000000) {
      const version = (first >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyError(`unsupported SPDY version ${version}`);
      frames.push({ control: true, type: first & 0xffff, flags, payload });
    } else frames.push({ control: false, stream: first & 0x7fffffff, flags, payload });
    at += 8 + length;
  }
  return { frames, rest: buf.subarray(at) };
}

function header(first: number, flags: number, length: number): Uint8Array {
  if (length > MAX_FRAME_PAYLOAD) throw new SpdyError(`frame too large: ${length} bytes`);
  const out = new Uint8Array(8 + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, first >>> 0, false);
  view.setUint32(4, length, false);
  view.setUint8(4, flags);
  return out;
}

export function controlFrame(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = header(0x80000000 | (SPDY_VERSION << 16) | type, flags, payload.byteLength);
  out.set(payload, 8);
  return out;
}

export function dataFrame(stream: number, flags: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = header(stream & 0x7fffffff, flags, data.byteLength);
  out.set(data, 8);
  return out;
}

const u32 = (...values: number[]) => {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, false));
  return out;
};

export const rstStreamFrame = (stream: number, status: number) => controlFrame(ControlType.RstStream, 0, u32(stream & 0x7fffffff, status));
export const goAwayFrame = (lastStream: number) => controlFrame(ControlType.GoAway, 0, u32(lastStream & 0x7fffffff, 0));

/** SYN_REPLY with an already compressed header block. */
export function synReplyFrame(stream: number, compressedHeaders: Uint8Array, flags = 0): Uint8Array {
  const payload = new Uint8Array(4 + compressedHeaders.byteLength);
  payload.set(u32(stream & 0x7fffffff));
  payload.set(compressedHeaders, 4);
  return controlFrame(ControlType.SynReply, flags, payload);
}

/** The stream id a SYN_STREAM / SYN_REPLY / RST_STREAM / WINDOW_UPDATE is about, and where a SYN_STREAM's header block starts. */
export function controlStreamId(payload: Uint8Array): number {
  if (payload.byteLength < 4) throw new SpdyError("control frame too short");
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false) & 0x7fffffff;
}
export const SYN_STREAM_HEADERS_AT = 10;

const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** An uncompressed SPDY/3 header block: count, then length-prefixed names and values (several values joined by NUL). */
export function encodeHeaderBlock(headers: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [u32(Object.keys(headers).length)];
  for (const [k, v] of Object.entries(headers)) {
    const name = enc.encode(k.toLowerCase());
    const value = enc.encode(v);
    parts.push(u32(name.byteLength), name, u32(value.byteLength), value);
  }
  return concat(parts);
}

export function decodeHeaderBlock(block: Uint8Array): Record<string, string> {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const need = (at: number, n: number) => {
    if (at + n > block.byteLength) throw new SpdyError("truncated header block");
  };
  need(0, 4);
  const count = view.getUint32(0, false);
  const out: Record<string, string> = {};
  let at = 4;
  for (let i = 0; i < count; i++) {
    need(at, 4);
    const nl = view.getUint32(at, false);
    need(at + 4, nl + 4);
    const name = dec.decode(block.subarray(at + 4, at + 4 + nl)).toLowerCase();
    at += 4 + nl;
    const vl = view.getUint32(at, false);
    need(at + 4, vl);
    out[name] = dec.decode(block.subarray(at + 4, at + 4 + vl)).split("\0")[0];
    at += 4 + vl;
  }
  return out;
}

/** The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00, section 2.6.10.1). */
export const SPDY_DICTIONARY: Uint8Array = (() => {
  const words = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
    "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
    "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date", "etag",
    "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
  ];
  const tail =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
  const parts: Uint8Array[] = [];
  for (const w of words) parts.push(u32(w.length), enc.encode(w));
  parts.push(enc.encode(tail));
  return concat(parts);
})();
