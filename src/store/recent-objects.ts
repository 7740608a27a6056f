/**
 * Objects as this isolate last read or wrote them (key -> revision and stored JSON), so that a
 * write which names the revision it replaces can start from here instead of reading D1 first
 * (as kube-apiserver's GuaranteedUpdate starts from its watch cache). Never trusted on its own:
 * the commit's compare-and-swap on that revision fails if another writer got there first, and a
 * write that would change nothing is checked against D1 before it is answered.
 *
 * A revision is immutable (one log row), so an entry is either exact or old, never wrong.
 * Least recently used entries go first once the JSON held passes `maxBytes`.
 */
export class RecentObjects {
  private readonly entries = new Map<string, { rev: number; value: string }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): { rev: number; value: string } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e); // most recently used last
    return e;
  }

  /** Remembers `key` at `rev` unless a later revision is already known. */
  put(key: string, rev: number, value: string): void {
    const had = this.entries.get(key);
    if (had && had.rev > rev) return;
    if (had) this.forget(key);
    if (value.length > this.maxBytes / 16) return; // a few huge objects must not push out everything else
    this.entries.set(key, { rev, value });
    this.bytes += value.length;
    for (const [k] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(k);
    }
  }

  forget(key: string): void {
    const had = this.entries.get(key);
    if (!had) return;
    this.entries.delete(key);
    this.bytes -= had.value.length;
  }

  get size(): number {
    return this.entries.size;
  }
}
