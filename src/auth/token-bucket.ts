/**
 * A token bucket, pure: `size` tokens at most, refilled at `rate` per second. `take` hands out up
 * to `want` whole tokens; when none is left it says how long until the next one.
 */

export interface Bucket {
  tokens: number;
  /** Unix ms of the last refill. */
  at: number;
}

export interface Take {
  granted: number;
  /** When nothing was granted: ms until one token is back. */
  retryAfterMs: number;
}

export const fullBucket = (size: number, now: number): Bucket => ({ tokens: size, at: now });

export function refill(b: Bucket, rate: number, size: number, now: number): Bucket {
  if (now <= b.at) return b;
  return { tokens: Math.min(size, b.tokens + ((now - b.at) * rate) / 1000), at: now };
}

export function take(b: Bucket, want: number, rate: number, size: number, now: number): { bucket: Bucket; result: Take } {
  const filled = refill(b, rate, size, now);
  const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(filled.tokens)));
  const bucket = { tokens: filled.tokens - granted, at: filled.at };
  const retryAfterMs = granted > 0 ? 0 : Math.ceil(((1 - bucket.tokens) * 1000) / rate);
  return { bucket, result: { granted, retryAfterMs } };
}
