import { describe, expect, it } from "vitest";
import { decodeAck, decodeFrame, decodeJson, encodeAck, encodeFrame, encodeJson, FrameError, FrameType, HEADER_BYTES, MAX_STREAM_ID, parseTerminalSize } from "../../src/tunnel/frames.ts";

describe("tunnel framing", () => {
  it("lays a frame out as type, big-endian stream id, payload", () => {
    const f = encodeFrame(FrameType.Data, 0x01020304, new Uint8Array([9, 8, 7]));
    expect([...f]).toEqual([FrameType.Data, 1, 2, 3, 4, 9, 8, 7]);
  });

  it("round-trips every frame type, empty and binary payloads, the largest stream id", () => {
    for (const type of Object.values(FrameType)) {
      for (const payload of [new Uint8Array(0), new Uint8Array([0, 255, 1, 3]), new Uint8Array(70_000).fill(42)]) {
        const f = decodeFrame(encodeFrame(type, MAX_STREAM_ID, payload));
        expect(f.type).toBe(type);
        expect(f.stream).toBe(MAX_STREAM_ID);
        expect(f.payload.byteLength).toBe(payload.byteLength);
        expect(f.payload[payload.byteLength - 1]).toBe(payload[payload.byteLength - 1]);
      }
    }
  });

  it("decodes from an ArrayBuffer and from a view at an offset", () => {
    const bytes = encodeFrame(FrameType.End, 7);
    expect(decodeFrame(bytes.buffer as ArrayBuffer)).toMatchObject({ type: FrameType.End, stream: 7 });
    const padded = new Uint8Array(bytes.byteLength + 3);
    padded.set(bytes, 3);
    const f = decodeFrame(padded.subarray(3));
    expect(f).toMatchObject({ type: FrameType.End, stream: 7 });
    expect(f.payload.byteLength).toBe(0);
  });

  it("carries JSON payloads", () => {
    const f = decodeFrame(encodeJson(FrameType.Reject, 12, { code: 400, reason: "BadRequest", message: "no" }));
    expect(f.type).toBe(FrameType.Reject);
    expect(decodeJson(f.payload)).toEqual({ code: 400, reason: "BadRequest", message: "no" });
    expect(() => decodeJson(new TextEncoder().encode("{nope"))).toThrow(FrameError);
  });

  it("carries flow-control acks as a big-endian byte count", () => {
    const f = decodeFrame(encodeAck(5, 0x00040000));
    expect(f).toMatchObject({ type: FrameType.Ack, stream: 5 });
    expect([...f.payload]).toEqual([0, 4, 0, 0]);
    expect(decodeAck(f.payload)).toBe(262144);
    expect(() => decodeAck(new Uint8Array(3))).toThrow(/4 bytes/);
  });

  it("refuses short frames, unknown types and bad stream ids", () => {
    expect(() => decodeFrame(new Uint8Array(HEADER_BYTES - 1))).toThrow(/too short/);
    expect(() => decodeFrame(new Uint8Array([99, 0, 0, 0, 1]))).toThrow(/unknown frame type 99/);
    expect(() => decodeFrame(new Uint8Array([0, 0, 0, 0, 1]))).toThrow(/unknown frame type 0/);
    expect(() => encodeFrame(FrameType.Data, -1)).toThrow(/out of range/);
    expect(() => encodeFrame(FrameType.Data, MAX_STREAM_ID + 1)).toThrow(/out of range/);
    expect(() => encodeFrame(FrameType.Data, 1.5)).toThrow(/out of range/);
  });
});

describe("terminal resize messages", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("reads kubectl's {Width, Height}", () => {
    expect(parseTerminalSize(enc('{"Width":100,"Height":30}'))).toEqual({ width: 100, height: 30 });
  });
  it("refuses what is not a size", () => {
    for (const bad of ["", "null", "[]", '{"Width":-1,"Height":3}', '{"Width":1.5,"Height":3}', '{"Width":70000,"Height":3}', '{"Height":3}', "{"])
      expect(parseTerminalSize(enc(bad))).toBeUndefined();
  });
});
