/**
 * Backoff arithmetic for the agent (pure): reconnecting to the API with jitter, and the
 * kubelet's crash-loop backoff for restarting containers.
 */

/** Exponential backoff with jitter for API reconnects: `next()` grows the delay, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 500,
    private readonly maxMs = 30_000,
    private readonly jitter = 0.5,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt: initial * 2^attempt capped at max, then up to `jitter` of it added. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 + this.jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** The kubelet's crash-loop backoff: 10 s doubling up to 5 min. */
export const CRASH_BACKOFF_INITIAL_MS = 10_000;
export const CRASH_BACKOFF_MAX_MS = 300_000;
/** A container that ran this long without exiting starts over with no backoff (the kubelet uses 2x the max). */
export const CRASH_BACKOFF_RESET_MS = 2 * CRASH_BACKOFF_MAX_MS;

/**
 * How long after its last exit a container that has already been restarted `restartCount`
 * times waits before the next start. The first restart is immediate, as the kubelet's is
 * (its backoff entry only exists after one), then 10 s, 20 s, 40 s, ... 300 s.
 */
export function crashLoopDelayMs(restartCount: number, ranForMs = 0): number {
  if (restartCount <= 0 || ranForMs >= CRASH_BACKOFF_RESET_MS) return 0;
  return Math.min(CRASH_BACKOFF_MAX_MS, CRASH_BACKOFF_INITIAL_MS * 2 ** (restartCount - 1));
}
