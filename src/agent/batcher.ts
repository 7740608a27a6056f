/**
 * Coalesces lookups into batches, as group commit does for writes: a key asked for while no batch
 * runs starts one at once; keys asked for while a batch runs wait and go together in the next one.
 * So a burst of N lookups costs a few calls of `run` (e.g. one `podman container inspect` of many
 * containers) instead of N. At most `maxBatch` keys go in one call; a key asked for twice in the
 * same batch is looked up once. `run` answers each key (undefined: not found); if it throws,
 * every key of that batch gets undefined.
 */
export class Batcher<K, V> {
  private queued = new Map<K, ((v: V | undefined) => void)[]>();
  private inFlight = false;
  /** Calls of `run` made (for tests and benchmarks). */
  calls = 0;

  constructor(
    private readonly run: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxBatch = 64,
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve) => {
      const waiting = this.queued.get(key);
      if (waiting) waiting.push(resolve);
      else this.queued.set(key, [resolve]);
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queued.size > 0) {
        const batch = [...this.queued].slice(0, this.maxBatch);
        for (const [k] of batch) this.queued.delete(k);
        this.calls++;
        let found: Map<K, V>;
        try {
          found = await this.run(batch.map(([k]) => k));
        } catch {
          found = new Map();
        }
        for (const [k, waiters] of batch) for (const w of waiters) w(found.get(k));
      }
    } finally {
      this.inFlight = false;
    }
  }
}
