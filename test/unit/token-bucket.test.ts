import { describe, expect, it } from "vitest";
import { fullBucket, take } from "../../src/auth/token-bucket.ts";
import { grantSize } from "../../src/auth/rate-limit.ts";

describe("token bucket", () => {
  it("grants up to the tokens held, then says when the next one is back", () => {
    let b = fullBucket(5, 0);
    const first = take(b, 3, 2, 5, 0);
    expect(first.result).toEqual({ granted: 3, retryAfterMs: 0 });
    b = first.bucket;
    const second = take(b, 3, 2, 5, 0);
    expect(second.result.granted).toBe(2);
    const empty = take(second.bucket, 1, 2, 5, 0);
    expect(empty.result).toEqual({ granted: 0, retryAfterMs: 500 });
    // Refilled at 2/s: after 1.25 s, 2.5 tokens -> 2 granted.
    expect(take(empty.bucket, 10, 2, 5, 1250).result.granted).toBe(2);
  });

  it("never holds more than its size", () => {
    const b = take(fullBucket(3, 0), 1, 100, 3, 0).bucket;
    expect(take(b, 10, 100, 3, 60_000).result.granted).toBe(3);
  });

  it("takes grants of a tenth of a second's rate, at most a twentieth of the burst, at least one", () => {
    expect(grantSize({ qps: 100, burst: 1000, maxWatches: 1 })).toBe(10);
    expect(grantSize({ qps: 1000, burst: 100, maxWatches: 1 })).toBe(5);
    expect(grantSize({ qps: 1, burst: 5, maxWatches: 1 })).toBe(1);
  });
});
