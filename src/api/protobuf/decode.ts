import { badRequest } from "../errors.ts";
import { MESSAGES } from "./schemas.generated.ts";
import { base64, malformed, Reader, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT } from "./wire.ts";

/**
 * Schema-driven decoding of Kubernetes protobuf messages into the JSON value Go's
 * encoding/json would produce for the same Go object. Two passes: `decodeMessage`
 * collects the fields present on the wire (merging repeated occurrences of a
 * message field the way protobuf does), then `toJson` builds the JSON object in
 * schema order, applying pointer/omitempty/inline rules from the schema flags.
 */

/** Messages nested deeper than this are refused. */
export const MAX_DEPTH = 64;
/** At most this many messages per request (bounds memory: a 3 MiB body of empty messages). */
export const MAX_MESSAGES = 200_000;

type ScalarCode = "s" | "i" | "l" | "b" | "y" | "d" | "f";

interface ValueType {
  scalar?: ScalarCode;
  message?: string;
}

interface FieldSpec extends ValueType {
  number: number;
  name: string;
  index: number;
  repeated: boolean;
  map: boolean;
  /** "?" present -> always written; "!" always written (zero when absent); "^" inlined; "" omitempty */
  flag: "" | "?" | "!" | "^";
}

interface MessageSpec {
  key: string;
  fields: FieldSpec[];
  byNumber: Map<number, FieldSpec>;
}

/** Schemas not in the generated table: the runtime.Unknown envelope. */
const EXTRA: Record<string, string> = {
  "runtime.Unknown": "1 typeMeta @runtime.TypeMeta!|2 raw y|3 contentEncoding s|4 contentType s",
  "runtime.TypeMeta": "1 apiVersion s|2 kind s",
};

const specs = new Map<string, MessageSpec>();

function parseType(t: string): ValueType {
  if (t.startsWith("@")) return { message: t.slice(1) };
  if (!/^[silbydf]$/.test(t)) throw new Error(`bad schema type ${t}`);
  return { scalar: t as ScalarCode };
}

export function messageSpec(key: string): MessageSpec {
  const cached = specs.get(key);
  if (cached) return cached;
  const text = EXTRA[key] ?? MESSAGES[key];
  if (text === undefined) throw new Error(`no protobuf schema for ${key}`);
  const fields: FieldSpec[] = text.split("|").map((part, index) => {
    const [num, name, rawType] = part.split(" ");
    let type = rawType;
    let flag: FieldSpec["flag"] = "";
    const last = type[type.length - 1];
    if (last === "?" || last === "!" || last === "^") {
      flag = last;
      type = type.slice(0, -1);
    }
    const repeated = type.startsWith("*");
    const map = type.startsWith("{");
    const inner = repeated ? type.slice(1) : map ? type.slice(1, -1) : type;
    return { number: Number(num), name, index, repeated, map, flag, ...parseType(inner) };
  });
  const spec = { key, fields, byNumber: new Map(fields.map((f) => [f.number, f])) };
  specs.set(key, spec);
  return spec;
}

/** A decoded message before conversion to JSON: field index -> value. */
export interface Partial {
  spec: MessageSpec;
  values: unknown[];
}

type Scalar = string | number | bigint | boolean | Uint8Array;

interface Budget {
  messages: number;
}

const WIRE_OF: Record<ScalarCode, number> = { s: WIRE_BYTES, y: WIRE_BYTES, i: WIRE_VARINT, l: WIRE_VARINT, b: WIRE_VARINT, d: WIRE_FIXED64, f: WIRE_FIXED32 };

function readScalar(r: Reader, code: ScalarCode): Scalar {
  switch (code) {
    case "s":
      return r.string();
    case "y":
      return r.bytes();
    case "i":
      return r.int32();
    case "l":
      return r.int64();
    case "b":
      return r.bool();
    case "d":
      return r.double();
    case "f":
      return r.float();
  }
}

function newPartial(key: string, budget: Budget): Partial {
  if (++budget.messages > MAX_MESSAGES) throw badRequest(`the protobuf request body holds more than ${MAX_MESSAGES} messages`);
  return { spec: messageSpec(key), values: [] };
}

const wrongWire = (spec: MessageSpec, f: FieldSpec, wire: number) =>
  malformed(`field ${f.name} (${f.number}) of ${spec.key} has wire type ${wire}`);

/** Reads the fields in r[pos, end) into p (merging into what p already holds). */
export function decodeMessage(r: Reader, p: Partial, depth: number, budget: Budget): void {
  if (depth > MAX_DEPTH) throw badRequest(`the protobuf request body is nested deeper than ${MAX_DEPTH} levels`);
  const { spec, values } = p;
  while (!r.done) {
    const [num, wire] = r.tag();
    const f = spec.byNumber.get(num);
    if (!f) {
      r.skip(wire);
      continue;
    }
    if (f.map) {
      if (wire !== WIRE_BYTES) throw wrongWire(spec, f, wire);
      const [s, e] = r.delimited();
      const entry = new Reader(r.buf, s, e);
      let key = "";
      let value: Scalar | Partial | undefined;
      while (!entry.done) {
        const [n, w] = entry.tag();
        if (n === 1 && w === WIRE_BYTES) key = entry.string();
        else if (n === 2 && f.scalar && w === WIRE_OF[f.scalar]) value = readScalar(entry, f.scalar);
        else if (n === 2 && f.message && w === WIRE_BYTES) {
          const [vs, ve] = entry.delimited();
          const sub = value && typeof value === "object" && "spec" in value ? value : newPartial(f.message, budget);
          decodeMessage(new Reader(r.buf, vs, ve), sub, depth + 1, budget);
          value = sub;
        } else if (n === 1 || n === 2) throw malformed(`an entry of map ${f.name} of ${spec.key} has wire type ${w}`);
        else entry.skip(w);
      }
      const m = (values[f.index] as Map<string, unknown> | undefined) ?? new Map<string, unknown>();
      m.set(key, value ?? (f.message ? newPartial(f.message, budget) : zeroScalar(f.scalar!)));
      values[f.index] = m;
      continue;
    }
    if (f.message) {
      if (wire !== WIRE_BYTES) throw wrongWire(spec, f, wire);
      const [s, e] = r.delimited();
      let target: Partial;
      if (f.repeated) {
        target = newPartial(f.message, budget);
        const list = (values[f.index] as Partial[] | undefined) ?? [];
        list.push(target);
        values[f.index] = list;
      } else {
        target = (values[f.index] as Partial | undefined) ?? newPartial(f.message, budget);
        values[f.index] = target;
      }
      decodeMessage(new Reader(r.buf, s, e), target, depth + 1, budget);
      continue;
    }
    const code = f.scalar!;
    const want = WIRE_OF[code];
    if (wire === want) {
      const v = readScalar(r, code);
      if (f.repeated) {
        const list = (values[f.index] as Scalar[] | undefined) ?? [];
        list.push(v);
        values[f.index] = list;
      } else values[f.index] = v;
    } else if (f.repeated && wire === WIRE_BYTES && want !== WIRE_BYTES) {
      // packed repeated numbers
      const [s, e] = r.delimited();
      const packed = new Reader(r.buf, s, e);
      const list = (values[f.index] as Scalar[] | undefined) ?? [];
      values[f.index] = list;
      while (!packed.done) list.push(readScalar(packed, code));
    } else throw wrongWire(spec, f, wire);
  }
}

function zeroScalar(code: ScalarCode): Scalar {
  switch (code) {
    case "s":
      return "";
    case "y":
      return new Uint8Array();
    case "l":
      return 0n;
    case "b":
      return false;
    default:
      return 0;
  }
}

function isZeroScalar(v: Scalar): boolean {
  if (v instanceof Uint8Array) return v.length === 0;
  return v === "" || v === 0 || v === 0n || v === false;
}

function scalarJson(v: Scalar): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Uint8Array) return base64(v);
  if (typeof v === "number" && !Number.isFinite(v)) throw badRequest("the protobuf request body holds a number that JSON cannot represent");
  return v;
}

/** True when nothing in p differs from the zero value (for omitzero fields). */
function isZero(p: Partial): boolean {
  for (const f of p.spec.fields) {
    const v = p.values[f.index];
    if (v === undefined) continue;
    if (f.map) {
      if ((v as Map<string, unknown>).size) return false;
    } else if (f.repeated) {
      if ((v as unknown[]).length) return false;
    } else if (f.message) {
      if (!isZero(v as Partial)) return false;
    } else if (!isZeroScalar(v as Scalar)) return false;
  }
  return true;
}

/** The raw field values of a builtin message, by field name. */
function fieldsOf(p: Partial): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of p.spec.fields) if (p.values[f.index] !== undefined) out[f.name] = p.values[f.index];
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Go's time.Format with RFC3339 ("2006-01-02T15:04:05Z") or with microseconds, in UTC. */
function formatTime(seconds: bigint, nanos: number, micro: boolean): string | null {
  if (seconds === 0n && nanos === 0) return null; // Go's zero time.Time is written as null
  const ms = Number(seconds) * 1000;
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime()) || year < 0 || year > 9999 || nanos < 0 || nanos > 999_999_999)
    throw badRequest("the protobuf request body holds a timestamp out of range");
  const base = `${pad(year, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return micro ? `${base}.${pad(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

/** Go's time.Duration.String(). */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  const sign = neg ? "-" : "";
  const frac = (v: bigint, digits: number) => {
    const scale = 10n ** BigInt(digits);
    const f = (v % scale).toString().padStart(digits, "0").replace(/0+$/, "");
    return `${v / scale}${f ? `.${f}` : ""}`;
  };
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${frac(u, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${frac(u, 6)}ms`;
  const secs = u / 1_000_000_000n;
  let out = `${frac((secs % 60n) * 1_000_000_000n + (u % 1_000_000_000n), 9)}s`;
  const mins = secs / 60n;
  if (mins > 0n) {
    out = `${mins % 60n}m${out}`;
    const hours = mins / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return sign + out;
}

function parseEmbeddedJson(raw: unknown, what: string): unknown {
  if (!(raw instanceof Uint8Array)) return null;
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw badRequest(`the protobuf request body holds a ${what} that is not JSON`);
  }
}

/** Messages whose JSON form is not an object of their fields. */
const BUILTINS: Record<string, (v: Record<string, unknown>) => unknown> = {
  "meta.v1.Time": (v) => formatTime((v.seconds as bigint) ?? 0n, (v.nanos as number) ?? 0, false),
  "meta.v1.MicroTime": (v) => formatTime((v.seconds as bigint) ?? 0n, (v.nanos as number) ?? 0, true),
  "meta.v1.Duration": (v) => formatDuration((v.duration as bigint) ?? 0n),
  "meta.v1.FieldsV1": (v) => parseEmbeddedJson(v.Raw, "managed fields entry"),
  "runtime.RawExtension": (v) => parseEmbeddedJson(v.raw, "embedded object"),
  "resource.Quantity": (v) => (v.string as string | undefined) || "0",
  "intstr.IntOrString": (v) => ((v.type as bigint | undefined) === 1n ? ((v.strVal as string) ?? "") : ((v.intVal as number) ?? 0)),
};

/** The JSON value of a decoded message. */
export function toJson(p: Partial, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw badRequest(`the protobuf request body is nested deeper than ${MAX_DEPTH} levels`);
  const builtin = BUILTINS[p.spec.key];
  if (builtin) return builtin(fieldsOf(p));
  const out: Record<string, unknown> = {};
  for (const f of p.spec.fields) {
    const v = p.values[f.index];
    if (v === undefined) {
      if (f.flag !== "!") continue;
      if (f.message) out[f.name] = toJson({ spec: messageSpec(f.message), values: [] }, depth + 1);
      else if (f.scalar !== "y") out[f.name] = scalarJson(zeroScalar(f.scalar!));
      continue;
    }
    if (f.map) {
      const m = v as Map<string, Scalar | Partial>;
      if (!m.size) continue;
      out[f.name] = Object.fromEntries(
        [...m].map(([k, x]) => [k, f.message ? toJson(x as Partial, depth + 1) : scalarJson(x as Scalar)]),
      );
    } else if (f.repeated) {
      const list = v as (Scalar | Partial)[];
      if (!list.length) continue;
      out[f.name] = f.message ? list.map((x) => toJson(x as Partial, depth + 1)) : list.map((x) => scalarJson(x as Scalar));
    } else if (f.message) {
      const sub = v as Partial;
      if (f.flag === "^") {
        const inner = toJson(sub, depth + 1);
        if (inner && typeof inner === "object") Object.assign(out, inner);
      } else if (f.flag === "" && isZero(sub)) {
        // omitzero
      } else out[f.name] = toJson(sub, depth + 1);
    } else {
      const s = v as Scalar;
      if (f.flag === "" && isZeroScalar(s)) continue;
      out[f.name] = scalarJson(s);
    }
  }
  return out;
}

/** Decodes bytes as the message `key` into its JSON value. */
export function decodeToJson(key: string, bytes: Uint8Array, budget: Budget = { messages: 0 }): unknown {
  const p = newPartial(key, budget);
  decodeMessage(new Reader(bytes), p, 0, budget);
  return toJson(p);
}

/** The decoded value of field `number` of p (undefined when absent). */
export function fieldOf(p: Partial, number: number): unknown {
  const f = p.spec.byNumber.get(number);
  return f ? p.values[f.index] : undefined;
}

export function decodePartial(key: string, bytes: Uint8Array, budget: Budget = { messages: 0 }): Partial {
  const p = newPartial(key, budget);
  decodeMessage(new Reader(bytes), p, 0, budget);
  return p;
}
