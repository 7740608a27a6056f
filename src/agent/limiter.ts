/**
 * At most `limit` tasks at a time; the rest wait in arrival order. A burst of 100 container starts
 * on a 2-core node then runs a few at a time instead of 100 processes fighting over the cores (and
 * podman's locks): each finishes sooner, and the first pods are Running early.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most tasks that ran at once (for tests). */
  peak = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter (active stays), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Tasks waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }
}
