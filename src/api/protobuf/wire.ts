import { badRequest } from "../errors.ts";

/**
 * The protobuf wire format, reading side only: tags, varints, length-delimited
 * fields and fixed 32/64-bit values. Every read is bounds-checked; malformed input
 * ends in a 400 BadRequest ApiError, never in an exception of another kind.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export const malformed = (why: string) => badRequest(`the protobuf request body is malformed: ${why}`);

const TWO_32 = 4294967296;

export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as [low 32 bits, high 32 bits], both unsigned. At most 10 bytes. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed("a varint runs past the end of its message");
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw malformed("a varint is longer than 10 bytes");
  }

  /** A varint that must fit in a non-negative safe integer (tags and lengths). */
  uvarint(): number {
    const [lo, hi] = this.varint64();
    if (hi >= 0x200000) throw malformed("a length or tag is out of range");
    return hi * TWO_32 + lo;
  }

  int32(): number {
    return this.varint64()[0] | 0;
  }

  int64(): bigint {
    const [lo, hi] = this.varint64();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** The bounds [start, end) of a length-delimited field's contents; moves past it. */
  delimited(): [number, number] {
    const len = this.uvarint();
    if (len > this.end - this.pos) throw malformed("a length-delimited field runs past the end of its message");
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  bytes(): Uint8Array {
    const [s, e] = this.delimited();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  private fixed(n: number): DataView {
    if (this.end - this.pos < n) throw malformed("a fixed-size field runs past the end of its message");
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }

  double(): number {
    return this.fixed(8).getFloat64(0, true);
  }

  float(): number {
    return this.fixed(4).getFloat32(0, true);
  }

  /** The next field's number and wire type. */
  tag(): [number, number] {
    const t = this.uvarint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) throw malformed("field number 0");
    if (field > 536870911) throw malformed("field number out of range");
    return [field, wire];
  }

  /** Skips a field's value of the given wire type. Groups (3, 4) and unknown wire types are refused. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.fixed(8);
        return;
      case WIRE_BYTES:
        this.delimited();
        return;
      case WIRE_FIXED32:
        this.fixed(4);
        return;
      default:
        throw malformed(`unsupported wire type ${wire}`);
    }
  }
}

/** Go strings may hold any bytes; like encoding/json, invalid UTF-8 becomes U+FFFD. */
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding, as encoding/json writes []byte. */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = "";
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    chunk += B64[n >> 18] + B64[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    chunk += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + "=";
  }
  parts.push(chunk);
  return parts.join("");
}
