import { performance } from "node:perf_hooks";

/** Percentiles, a bounded worker pool, and the per-phase summary every bench reports. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean,
  };
}

export interface PoolResult<T> {
  results: T[];
  /** Operations attempted (may be fewer than asked when the time budget ran out). */
  attempted: number;
  elapsedMs: number;
  stoppedByDeadline: boolean;
}

/**
 * Runs fn(0..count-1) with at most `concurrency` in flight; stops starting new operations
 * once `budgetMs` has passed (the ones in flight finish). Both bounds always hold.
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  budgetMs: number,
  fn: (i: number) => Promise<T>,
): Promise<PoolResult<T>> {
  const results: T[] = [];
  let next = 0;
  let stoppedByDeadline = false;
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const worker = async () => {
    for (;;) {
      if (next >= count) return;
      if (performance.now() > deadline) {
        stoppedByDeadline = true;
        return;
      }
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results: results.filter((r) => r !== undefined), attempted: next, elapsedMs: performance.now() - t0, stoppedByDeadline };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const round = (n: number, digits = 1): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

/** Polls `fn` until it returns a value; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(300);
  }
  throw new Error(`timed out waiting for ${what}`);
}
