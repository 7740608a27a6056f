import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors.ts";
import { decodeProtobufObject } from "../../src/api/protobuf.ts";
import { decodeMessage, formatDuration, MAX_DEPTH, messageSpec, toJson, type Partial } from "../../src/api/protobuf/decode.ts";
import { MESSAGES, ROOTS } from "../../src/api/protobuf/schemas.generated.ts";
import { base64, Reader } from "../../src/api/protobuf/wire.ts";

/* A tiny encoder for building test messages. */
type Bytes = number[];
const enc = new TextEncoder();
function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const vint = (field: number, n: number | bigint) => [...tag(field, 0), ...varint(n)];
const bytesField = (field: number, b: Bytes | Uint8Array) => [...tag(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytesField(field, enc.encode(s));
const msg = (field: number, ...parts: Bytes[]) => bytesField(field, parts.flat());
const entry = (field: number, key: string, value: Bytes) => msg(field, str(1, key), value);
function body(apiVersion: string, kind: string, ...raw: Bytes[]): Uint8Array {
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...msg(2, ...raw)]);
}
const meta = (name: string, ...more: Bytes[]) => msg(1, str(1, name), ...more);

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error("expected an ApiError");
}

describe("schema table", () => {
  it("parses, and every message it refers to is in it", () => {
    for (const root of Object.values(ROOTS)) expect(MESSAGES[root]).toBeDefined();
    for (const key of Object.keys(MESSAGES)) {
      const spec = messageSpec(key);
      expect(new Set(spec.fields.map((f) => f.number)).size).toBe(spec.fields.length);
      for (const f of spec.fields) {
        expect(f.number).toBeGreaterThan(0);
        if (f.message) expect(MESSAGES[f.message], `${key}.${f.name} -> ${f.message}`).toBeDefined();
        else expect(f.scalar).toMatch(/^[silbydf]$/);
      }
    }
  });
});

describe("wire reader", () => {
  it("reads varints up to 64 bits, negative int32 and int64", () => {
    const r = new Reader(Uint8Array.from([...varint(300), ...varint(-1), ...varint(-(2n ** 63n)), ...varint(2n ** 40n)]));
    expect(r.uvarint()).toBe(300);
    expect(r.int32()).toBe(-1);
    expect(r.int64()).toBe(-(2n ** 63n));
    expect(r.int64()).toBe(2n ** 40n);
    expect(r.done).toBe(true);
  });

  it("refuses varints longer than 10 bytes and truncated ones", () => {
    expect(apiError(() => new Reader(Uint8Array.from(Array(11).fill(0x80))).varint64()).code).toBe(400);
    expect(apiError(() => new Reader(Uint8Array.from([0x80, 0x80])).varint64()).message).toMatch(/varint runs past the end/);
  });

  it("refuses lengths past the end of the message", () => {
    const r = new Reader(Uint8Array.from([0x0a, 0x05, 0x61]));
    r.tag();
    expect(apiError(() => r.bytes()).message).toMatch(/runs past the end/);
  });

  it("writes base64 like encoding/json", () => {
    for (const s of ["", "a", "ab", "abc", "abcd", "hello world!"]) expect(base64(enc.encode(s))).toBe(btoa(s));
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(base64(all)).toBe(btoa(String.fromCharCode(...all)));
  });
});

describe("decodeProtobufObject", () => {
  it("refuses a body without the k8s\\0 prefix", () => {
    expect(apiError(() => decodeProtobufObject(enc.encode("{}"))).code).toBe(400);
    expect(apiError(() => decodeProtobufObject(new Uint8Array())).code).toBe(400);
  });

  it("answers 415 for kinds it has no schema for", () => {
    const e = apiError(() => decodeProtobufObject(body("certificates.k8s.io/v1", "CertificateSigningRequest", meta("x"))));
    expect(e.code).toBe(415);
    expect(e.reason).toBe("UnsupportedMediaType");
    expect(e.message).toMatch(/CertificateSigningRequest \(certificates\.k8s\.io\/v1\).*application\/json/);
  });

  it("answers 400 when apiVersion or kind is missing, 415 for encoded payloads", () => {
    expect(apiError(() => decodeProtobufObject(body("v1", "", meta("x")))).code).toBe(400);
    const gz = Uint8Array.from([...body("v1", "ConfigMap", meta("x")), ...str(3, "gzip")]);
    expect(apiError(() => decodeProtobufObject(gz)).code).toBe(415);
  });

  it("skips unknown fields of every wire type", () => {
    const raw = [
      ...meta("cm", vint(99, 5)),
      ...vint(50, 1),
      ...tag(51, 1), ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...tag(52, 5), ...[1, 2, 3, 4],
      ...str(53, "ignored"),
      ...entry(2, "k", str(2, "v")),
    ];
    expect(decodeProtobufObject(body("v1", "ConfigMap", raw))).toStrictEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm" },
      data: { k: "v" },
    });
  });

  it("refuses group wire types and wire types that do not match the schema", () => {
    expect(apiError(() => decodeProtobufObject(body("v1", "ConfigMap", [...tag(50, 3)]))).code).toBe(400);
    expect(apiError(() => decodeProtobufObject(body("v1", "ConfigMap", vint(1, 3)))).message).toMatch(/metadata \(1\) of core\.v1\.ConfigMap has wire type 0/);
  });

  it("keeps pointer fields that are zero and leaves out omitempty zero values", () => {
    const spec = msg(2, vint(1, 0), vint(5, 0), vint(7, 0), msg(3, msg(2, msg(2, str(2, "nginx")))));
    const out = decodeProtobufObject(body("apps/v1", "Deployment", meta("d"), spec)) as Record<string, any>;
    expect(out.spec.replicas).toBe(0);
    expect("minReadySeconds" in out.spec).toBe(false);
    expect("paused" in out.spec).toBe(false);
    // Container.name has no omitempty: written as "" like encoding/json; resources is a struct: {}
    expect(out.spec.template.spec.containers).toStrictEqual([{ name: "", image: "nginx", resources: {} }]);
    expect(out.spec.strategy).toStrictEqual({});
    expect(out.status).toStrictEqual({});
  });

  it("decodes negative numbers sent as 10-byte varints", () => {
    const out = decodeProtobufObject(body("apps/v1", "Deployment", meta("d"), msg(2, vint(1, -1)))) as Record<string, any>;
    expect(out.spec.replicas).toBe(-1);
  });

  it("inlines embedded structs (Volume.volumeSource, Probe.handler) and keeps empty pointer structs", () => {
    const container = msg(
      2,
      str(1, "c"),
      msg(10, msg(1, msg(2, str(1, "/healthz"), msg(2, vint(1, 1), str(3, "http")))), vint(4, 5)),
      msg(11, msg(1, msg(2, msg(2, vint(2, 8080)))), vint(6, 3)),
    );
    const podSpec = msg(2, msg(1, str(1, "scratch"), msg(2, msg(2))), container);
    const out = decodeProtobufObject(body("v1", "Pod", meta("p"), podSpec)) as Record<string, any>;
    expect(out.spec.volumes).toStrictEqual([{ name: "scratch", emptyDir: {} }]);
    expect(out.spec.containers[0].livenessProbe).toStrictEqual({ httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 });
    expect(out.spec.containers[0].readinessProbe).toStrictEqual({ httpGet: { port: 8080 }, failureThreshold: 3 });
  });

  it("decodes quantities, env, ports, volume mounts and resources", () => {
    const container = msg(
      2,
      str(1, "app"),
      str(2, "img"),
      str(3, "sh"),
      str(3, "-c"),
      msg(6, str(1, "http"), vint(3, 8080), str(4, "TCP")),
      msg(7, str(1, "A"), str(2, "1")),
      msg(7, str(1, "B"), msg(3, msg(3, msg(1, str(1, "cm")), str(2, "key")))),
      msg(8, entry(1, "cpu", msg(2, str(1, "500m"))), entry(2, "memory", msg(2, str(1, "64Mi")))),
      msg(9, str(1, "data"), vint(2, 1), str(3, "/data")),
    );
    const out = decodeProtobufObject(body("v1", "Pod", meta("p"), msg(2, container))) as Record<string, any>;
    expect(out.spec.containers[0]).toStrictEqual({
      name: "app",
      image: "img",
      command: ["sh", "-c"],
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      env: [
        { name: "A", value: "1" },
        { name: "B", valueFrom: { configMapKeyRef: { name: "cm", key: "key" } } },
      ],
      resources: { limits: { cpu: "500m" }, requests: { memory: "64Mi" } },
      volumeMounts: [{ name: "data", readOnly: true, mountPath: "/data" }],
    });
  });

  it("writes times as RFC 3339 (seconds) and micro times with microseconds", () => {
    const m = meta("l", msg(8, vint(1, 1700000000), vint(2, 123456789)), msg(9, vint(1, 1700000001)));
    const spec = msg(2, str(1, "holder"), vint(2, 15), msg(4, vint(1, 1700000002), vint(2, 123456789)), vint(5, 0));
    const out = decodeProtobufObject(body("coordination.k8s.io/v1", "Lease", m, spec)) as Record<string, any>;
    expect(out.metadata).toStrictEqual({
      name: "l",
      creationTimestamp: "2023-11-14T22:13:20Z",
      deletionTimestamp: "2023-11-14T22:13:21Z",
    });
    expect(out.spec).toStrictEqual({ holderIdentity: "holder", leaseDurationSeconds: 15, renewTime: "2023-11-14T22:13:22.123456Z", leaseTransitions: 0 });
  });

  it("formats durations like Go", () => {
    expect(formatDuration(0n)).toBe("0s");
    expect(formatDuration(1500n)).toBe("1.5µs");
    expect(formatDuration(300_000_000n)).toBe("300ms");
    expect(formatDuration(1_500_000_000n)).toBe("1.5s");
    expect(formatDuration(3_600_000_000_000n)).toBe("1h0m0s");
    expect(formatDuration(-(90n * 1_000_000_000n))).toBe("-1m30s");
  });

  it("reads repeated numbers packed and unpacked", () => {
    const rule = (values: Bytes) => msg(1, str(1, "FailJob"), msg(2, str(2, "In"), values));
    const packed = bytesField(3, [...varint(1), ...varint(2), ...varint(-3)]);
    const unpacked = [...vint(3, 4), ...vint(3, 5)];
    const spec = msg(2, msg(11, rule(packed), rule(unpacked)));
    const out = decodeProtobufObject(body("batch/v1", "Job", meta("j"), spec)) as Record<string, any>;
    expect(out.spec.podFailurePolicy.rules).toStrictEqual([
      { action: "FailJob", onExitCodes: { operator: "In", values: [1, 2, -3] } },
      { action: "FailJob", onExitCodes: { operator: "In", values: [4, 5] } },
    ]);
  });

  it("merges a message field sent twice and keeps the last value of a repeated map key", () => {
    const raw = [...meta("a"), ...msg(1, entry(11, "x", str(2, "1"))), ...entry(2, "k", str(2, "old")), ...entry(2, "k", str(2, "new"))];
    expect(decodeProtobufObject(body("v1", "ConfigMap", raw))).toStrictEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", labels: { x: "1" } },
      data: { k: "new" },
    });
  });

  it("turns map keys such as __proto__ into plain own properties", () => {
    const out = decodeProtobufObject(body("v1", "ConfigMap", meta("a"), entry(2, "__proto__", str(2, "polluted")))) as Record<string, any>;
    expect(Object.getPrototypeOf(out.data)).toBe(Object.prototype);
    expect(Object.keys(out.data)).toStrictEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("encodes bytes values as base64 (Secret.data)", () => {
    const out = decodeProtobufObject(body("v1", "Secret", meta("s"), entry(2, "bin", bytesField(2, [0, 255, 1])), str(3, "Opaque")));
    expect(out).toStrictEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { bin: "AP8B" }, type: "Opaque" });
  });

  it("decodes DeleteOptions under any group version, and Eviction", () => {
    const opts = [...vint(1, 0), ...msg(2, str(1, "uid-1")), ...str(4, "Foreground"), ...str(5, "All")];
    const want = { gracePeriodSeconds: 0, preconditions: { uid: "uid-1" }, propagationPolicy: "Foreground", dryRun: ["All"] };
    for (const apiVersion of ["v1", "apps/v1", "meta.k8s.io/v1"])
      expect(decodeProtobufObject(body(apiVersion, "DeleteOptions", opts))).toStrictEqual({ apiVersion, kind: "DeleteOptions", ...want });
    expect(decodeProtobufObject(body("policy/v1", "Eviction", meta("p", str(3, "ns")), msg(2, vint(1, 7))))).toStrictEqual({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p", namespace: "ns" },
      deleteOptions: { gracePeriodSeconds: 7 },
    });
  });

  it("refuses nesting deeper than the limit", () => {
    // No served schema recurses, so start the decoder close to the limit.
    const p: Partial = { spec: messageSpec("apps.v1.Deployment"), values: [] };
    const deep = Uint8Array.from(msg(2, msg(3, msg(2, msg(2, msg(6, str(1, "x")))))));
    const e = apiError(() => decodeMessage(new Reader(deep), p, MAX_DEPTH - 3, { messages: 0 }));
    expect(e.message).toMatch(/nested deeper than 64/);
    const ok: Partial = { spec: messageSpec("apps.v1.Deployment"), values: [] };
    decodeMessage(new Reader(deep), ok, 0, { messages: 0 });
    expect((toJson(ok) as any).spec.template.spec.containers[0].ports).toStrictEqual([{ name: "x", containerPort: 0 }]);
  });

  it("bounds the number of messages in one body", () => {
    const port = msg(1);
    const ports: number[] = [];
    for (let i = 0; i < 200_001; i++) ports.push(...port);
    const e = apiError(() => decodeProtobufObject(body("v1", "Service", meta("s"), msg(2, ports))));
    expect(e.code).toBe(400);
    expect(e.message).toMatch(/more than 200000 messages/);
  });

  it("decodes a large ConfigMap quickly", () => {
    const value = "x".repeat(1024);
    const entries: number[] = [];
    for (let i = 0; i < 1000; i++) entries.push(...entry(2, `k${i}`, str(2, value)));
    const start = Date.now();
    const out = decodeProtobufObject(body("v1", "ConfigMap", meta("big"), entries)) as Record<string, any>;
    expect(Object.keys(out.data)).toHaveLength(1000);
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
