import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { fullBucket, take, type Bucket, type Take } from "./token-bucket.ts";

/**
 * One Durable Object per rate-limited identity ("user:<name>"): the one place its request token
 * bucket and its open watches are counted, whichever isolates its requests land in. Isolates take
 * tokens in small grants (src/auth/rate-limit.ts), so most requests never call it. State is kept
 * in memory only: an evicted limiter starts again with a full bucket and no watches counted
 * (watches then fall back to being bounded by their leases, which expire with their timeouts).
 */
export class IdentityLimiter extends DurableObject<Env> {
  private bucket?: Bucket;
  /** Open watches: lease id -> unix ms when the lease runs out (a watch's longest timeout). */
  private readonly watches = new Map<string, number>();

  async take(want: number, rate: number, size: number, now = Date.now()): Promise<Take> {
    const { bucket, result } = take(this.bucket ?? fullBucket(size, now), want, rate, size, now);
    this.bucket = bucket;
    return result;
  }

  /** A lease for one more watch, unless `max` are open; undefined when refused. */
  async openWatch(max: number, leaseMs: number, now = Date.now()): Promise<string | undefined> {
    for (const [id, until] of this.watches) if (until <= now) this.watches.delete(id);
    if (this.watches.size >= max) return undefined;
    const id = crypto.randomUUID();
    this.watches.set(id, now + leaseMs);
    return id;
  }

  async closeWatch(id: string): Promise<void> {
    this.watches.delete(id);
  }

  async openWatches(): Promise<number> {
    return this.watches.size;
  }
}
