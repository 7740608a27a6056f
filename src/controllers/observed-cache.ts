import { sql } from "drizzle-orm";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import type { Db, LogEvent } from "../store/revision-log.ts";

/** One current-state row of a kind the controllers observe. */
export interface CachedRow {
  resource: string;
  name: string;
  rev: number;
  value: string;
  /** The parsed object, made once per revision (frozen: see objectOf). */
  object?: KubeObject;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/**
 * The row's object, parsed once per revision rather than once per controller pass (a busy
 * namespace of thousands of pods is observed many times a second). It is frozen, so no
 * reconciler can alter what the next pass sees: one that wants to change an object copies it.
 */
export function objectOf(row: CachedRow): KubeObject {
  if (!row.object) {
    row.object = deepFreeze(materialize(row.value, row.rev));
    row.value = ""; // the text is not needed again: a busy namespace's cache holds each object once
  }
  return row.object;
}

/**
 * What the namespace's controllers observe, kept in the namespace hub's memory. The hub is the
 * only writer of its namespace, so the events of its own commits keep this current: a
 * controller pass reads no D1 at all once the cache is built (from one query, after a
 * start or after `invalidate`). Each row's object is parsed once, frozen (objectOf).
 */
export class ObservedCache {
  private rows?: Map<string, CachedRow>;
  /** Events that arrive while the first read runs, applied on top of it. */
  private pending?: LogEvent[];
  private building?: Promise<Map<string, CachedRow>>;
  /** Bumped by invalidate: a build that started before it is used once, not kept. */
  private generation = 0;

  constructor(private readonly resources: readonly string[]) {}

  /** Objects held (0 until the first read). */
  get size(): number {
    return this.rows?.size ?? 0;
  }

  /** The hub calls this with every batch it committed. */
  apply(events: LogEvent[]): void {
    const relevant = events.filter((e) => this.resources.includes(e.resource));
    if (relevant.length === 0) return;
    if (this.pending) this.pending.push(...relevant);
    else if (this.rows) for (const e of relevant) this.applyOne(this.rows, e);
  }

  /** Forget everything: the next read goes to D1 (a conflict showed the cache may be stale). */
  invalidate(): void {
    this.rows = undefined;
    this.generation++;
  }

  /** The observed rows of the namespace, ordered by resource then name (as one query would). */
  async read(db: Db, namespace: string): Promise<CachedRow[]> {
    // Concurrent readers share one build.
    const rows = this.rows ?? (await (this.building ??= this.build(db, namespace)));
    return [...rows.values()].sort((a, b) => (a.resource === b.resource ? cmp(a.name, b.name) : cmp(a.resource, b.resource)));
  }

  private async build(db: Db, namespace: string): Promise<Map<string, CachedRow>> {
    const pending: LogEvent[] = [];
    const generation = this.generation;
    this.pending = pending;
    try {
      const fresh = new Map<string, CachedRow>();
      for (const r of await readObserved(db, namespace, this.resources)) fresh.set(`${r.resource}/${r.name}`, r);
      for (const e of pending) this.applyOne(fresh, e);
      if (generation === this.generation) this.rows = fresh;
      return fresh;
    } finally {
      this.pending = undefined;
      this.building = undefined;
    }
  }

  /** Revisions are global and increasing: an event older than what is held changes nothing. */
  private applyOne(rows: Map<string, CachedRow>, e: LogEvent): void {
    const id = `${e.resource}/${e.name}`;
    const held = rows.get(id);
    if (held && held.rev >= e.rev) return;
    if (e.type === "DELETED") rows.delete(id);
    else rows.set(id, { resource: e.resource, name: e.name, rev: e.rev, value: e.value });
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One query for a namespace's observed kinds (what the cache starts from, and what a host without one reads). */
export function readObserved(db: Db, namespace: string, resources: readonly string[]): Promise<CachedRow[]> {
  return db.all<CachedRow>(sql`SELECT resource, name, rev, value FROM objects
    WHERE namespace = ${namespace} AND resource IN (${sql.join(resources.map((r) => sql`${r}`), sql`, `)})
    ORDER BY resource, name`);
}
