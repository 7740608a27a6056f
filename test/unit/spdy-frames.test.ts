import { describe, expect, it } from "vitest";
import {
  controlFrame,
  ControlType,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  readFrames,
  rstStreamFrame,
  SPDY_DICTIONARY,
  SpdyError,
} from "../../src/tunnel/spdy-frames.ts";

describe("SPDY/3 framing", () => {
  it("lays out control and data frames as the spec says", () => {
    expect([...controlFrame(ControlType.Ping, 0, new Uint8Array([0, 0, 0, 7]))]).toEqual([0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7]);
    expect([...dataFrame(5, FLAG_FIN, new Uint8Array([9]))]).toEqual([0, 0, 0, 5, 1, 0, 0, 1, 9]);
    expect([...rstStreamFrame(3, 5)]).toEqual([0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 5]);
  });

  it("splits frames from bytes cut anywhere, keeping the incomplete tail", () => {
    const bytes = new Uint8Array([...dataFrame(1, 0, new Uint8Array([1, 2, 3])), ...controlFrame(ControlType.Ping, 0, new Uint8Array([0, 0, 0, 1]))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const a = readFrames(bytes.subarray(0, cut));
      const joined = new Uint8Array([...a.rest, ...bytes.subarray(cut)]);
      const b = readFrames(joined);
      const frames = [...a.frames, ...b.frames];
      expect(b.rest.length).toBe(0);
      expect(frames).toHaveLength(2);
      expect(frames[0]).toMatchObject({ control: false, stream: 1, flags: 0 });
      expect([...frames[0].payload]).toEqual([1, 2, 3]);
      expect(frames[1]).toMatchObject({ control: true, type: ControlType.Ping });
    }
  });

  it("refuses another SPDY version", () => {
    expect(() => readFrames(new Uint8Array([0x80, 2, 0, 6, 0, 0, 0, 0]))).toThrow(SpdyError);
  });

  it("round-trips header blocks (names lowercased, first of several values)", () => {
    const block = encodeHeaderBlock({ streamType: "data", port: "8080", requestID: "0" });
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: "data", port: "8080", requestid: "0" });
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow(SpdyError);
  });

  it("has the 1423-byte SPDY/3 dictionary", () => {
    expect(SPDY_DICTIONARY.byteLength).toBe(1423);
    expect(new TextDecoder().decode(SPDY_DICTIONARY.subarray(4, 11))).toBe("options");
    expect(new TextDecoder().decode(SPDY_DICTIONARY.subarray(-6))).toBe("enq=0.");
  });
});
