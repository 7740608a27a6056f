import { sql, type SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { claimScope, sharedPrefixes } from "./host-claims.ts";

/**
 * SQL over the revision log and the current-state table. Everything here is a
 * single statement or one `db.batch()` (a transaction in D1): D1 has no
 * interactive transactions, so compare-and-swap is a conditional insert.
 */

const dialect = new SQLiteAsyncDialect();

/**
 * Statements are built with drizzle's `sql` templates (typed parameters, no string
 * concatenation) and run on D1 directly, because drizzle's D1 batch cannot run raw
 * statements (it expects prepared builder queries).
 */
export class Db {
  /** `usage`, when given, accumulates what D1 reports for every statement run through this Db. */
  constructor(
    readonly d1: D1Database,
    readonly usage?: D1Usage,
  ) {}

  prepare(query: SQL): D1PreparedStatement {
    const q = dialect.sqlToQuery(query);
    return this.d1.prepare(q.sql).bind(...q.params);
  }

  async all<T>(query: SQL): Promise<T[]> {
    const r = await this.prepare(query).all<T>();
    this.count(r.meta);
    return r.results;
  }

  async run(query: SQL): Promise<D1Result> {
    const r = await this.prepare(query).run();
    this.count(r.meta);
    return r;
  }

  /** One D1 batch: a single transaction; returns each statement's rows. */
  async batch(queries: SQL[]): Promise<unknown[][]> {
    return (await this.batchResults(queries)).map((r) => r.results ?? []);
  }

  /** One D1 batch, with each statement's meta (rows read/written). */
  async batchResults(queries: SQL[]): Promise<D1Result[]> {
    const results = await this.d1.batch(queries.map((q) => this.prepare(q)));
    for (const r of results) this.count(r.meta);
    return results;
  }

  private count(meta: D1Meta | undefined): void {
    if (!this.usage) return;
    this.usage.queries++;
    this.usage.rowsRead += meta?.rows_read ?? 0;
    this.usage.rowsWritten += meta?.rows_written ?? 0;
  }
}

/** D1 work as D1 bills it (`meta.rows_read` / `meta.rows_written`, index rows included). */
export interface D1Usage {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
}

export const newUsage = (): D1Usage => ({ queries: 0, rowsRead: 0, rowsWritten: 0 });

export function addUsage(into: D1Usage, more: D1Usage): void {
  into.queries += more.queries;
  into.rowsRead += more.rowsRead;
  into.rowsWritten += more.rowsWritten;
}

export const openDb = (d1: D1Database, usage?: D1Usage): Db => new Db(d1, usage);

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

/** One change to commit. `expectedRev` null means "the key must not exist" (create). */
export interface Write {
  type: EventType;
  key: string;
  resource: string;
  namespace: string;
  name: string;
  /** The object as JSON, without metadata.resourceVersion (the revision is assigned at commit). */
  value: string;
  expectedRev: number | null;
  expiresAt?: number | null;
  /** The replaced state (not stored; only for live watch delivery with selectors). */
  prevValue?: string;
  /**
   * The allocations (`allocations.id`) the object holds once this write commits (a Service's cluster IPs
   * and node ports; [] for a deletion). The write fails if another object holds one; see writeStatements.
   */
  claims?: string[];
}

/**
 * `d1`: what this write's statements cost in D1 (its share of the group-committed batch);
 * `denied`: the hub refused the write at admission (ResourceQuota, LimitRange), with Kubernetes' 403 message;
 * `value`: what was stored, when the hub's admission changed the write (LimitRange defaults).
 */
export type WriteResult = ({ ok: true; rev: number; value?: string } | { ok: false; denied?: string }) & { d1?: D1Usage };

/** A committed change, as the watch machinery sees it. */
export interface LogEvent {
  rev: number;
  type: EventType;
  key: string;
  resource: string;
  namespace: string;
  name: string;
  value: string;
  /** Known for live events of MODIFIED writes; absent when replayed from the log. */
  prevValue?: string;
}

export interface Row {
  key: string;
  namespace: string;
  name: string;
  rev: number;
  value: string;
}

export const objectKey = (resource: string, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

/**
 * The two statements of one write. The revision row is inserted only if the object's
 * current rev is what the writer read; the current-state row follows only if that
 * insert happened (`changes()` still reports the previous statement), so a lost
 * race changes nothing and the other writes of the same batch still commit.
 */
function writeStatements(w: Write): SQL[] {
  const claims = w.claims && w.claims.length > 0 && w.type !== "DELETED" ? JSON.stringify(w.claims) : undefined;
  // A claim held by another object fails the write like a lost compare-and-swap.
  const shared = claims ? sharedPrefixes(w.claims!) : [];
  const claimsFree = claims
    ? sql`AND NOT EXISTS (SELECT 1 FROM allocations WHERE id IN (SELECT value FROM json_each(${claims})) AND owner != ${w.key})`
    : sql``;
  // Shared claims (an Ingress's hosts): no row under the claim's prefix may belong outside the writer's scope.
  const sharedFree =
    shared.length > 0
      ? sql`AND NOT EXISTS (SELECT 1 FROM json_each(${JSON.stringify(shared)}) j JOIN allocations a ON a.id >= j.value AND a.id < j.value || char(65535)
          WHERE substr(a.owner, 1, ${claimScope(w.key).length}) != ${claimScope(w.key)})`
      : sql``;
  const insertRevision = sql`
    INSERT INTO revisions (key, resource, namespace, name, type, value, prev_revision)
    SELECT ${w.key}, ${w.resource}, ${w.namespace}, ${w.name}, ${w.type}, ${w.value}, ${w.expectedRev}
    WHERE (SELECT rev FROM objects WHERE key = ${w.key}) IS ${w.expectedRev} ${claimsFree} ${sharedFree}
    RETURNING id`;
  const applyCurrent =
    w.type === "DELETED"
      ? sql`DELETE FROM objects WHERE key = ${w.key} AND changes() = 1`
      : sql`
    INSERT INTO objects (key, resource, namespace, name, rev, value, expires_at)
    SELECT ${w.key}, ${w.resource}, ${w.namespace}, ${w.name}, last_insert_rowid(), ${w.value}, ${w.expiresAt ?? null}
    WHERE changes() = 1
    ON CONFLICT(key) DO UPDATE SET rev = excluded.rev, value = excluded.value, expires_at = excluded.expires_at`;
  if (w.claims === undefined) return [insertRevision, applyCurrent];
  if (w.type === "DELETED") return [insertRevision, applyCurrent, sql`DELETE FROM allocations WHERE owner = ${w.key} AND NOT EXISTS (SELECT 1 FROM objects WHERE key = ${w.key})`];
  // The owner's allocations become exactly its claims, if (and only if) the object now is what this write wrote.
  const list = JSON.stringify(w.claims);
  const holdsThisWrite = sql`(SELECT value FROM objects WHERE key = ${w.key}) IS ${w.value}`;
  return [
    insertRevision,
    applyCurrent,
    sql`DELETE FROM allocations WHERE owner = ${w.key} AND id NOT IN (SELECT value FROM json_each(${list})) AND ${holdsThisWrite}`,
    sql`INSERT INTO allocations (id, owner) SELECT j.value, ${w.key} FROM json_each(${list}) j WHERE ${holdsThisWrite}
    ON CONFLICT(id) DO NOTHING`,
  ];
}

/** Commits many independent writes in one batch (group commit); each succeeds or fails on its own CAS. */
export async function commitWrites(db: Db, writes: Write[]): Promise<WriteResult[]> {
  if (writes.length === 0) return [];
  const statements = writes.map(writeStatements);
  const results = await db.batchResults(statements.flat());
  let at = 0;
  return statements.map((stmts) => {
    const mine = results.slice(at, at + stmts.length);
    at += stmts.length;
    const inserted = (mine[0].results ?? []) as { id: number }[];
    const d1: D1Usage = { queries: mine.length, rowsRead: 0, rowsWritten: 0 };
    for (const r of mine) {
      d1.rowsRead += r.meta?.rows_read ?? 0;
      d1.rowsWritten += r.meta?.rows_written ?? 0;
    }
    return inserted.length === 1 ? { ok: true, rev: inserted[0].id, d1 } : { ok: false, d1 };
  });
}

/** The newest revision ever assigned (survives compaction, unlike max(id)). */
export const currentRevisionQuery = sql`SELECT seq FROM sqlite_sequence WHERE name = 'revisions'`;
const compactedRevisionQuery = sql`SELECT value FROM store_meta WHERE key = 'compacted'`;

export const firstNumber = (rows: unknown, field: string): number => {
  const r = (rows as Record<string, number>[])[0];
  return r ? Number(r[field]) : 0;
};

export async function currentRevision(db: Db): Promise<number> {
  return firstNumber(await db.all(currentRevisionQuery), "seq");
}

export async function compactedRevision(db: Db): Promise<number> {
  return firstNumber(await db.all(compactedRevisionQuery), "value");
}

const notExpired = (now: number) => sql`(expires_at IS NULL OR expires_at > ${now})`;

export async function getRow(db: Db, key: string, now = Date.now()): Promise<Row | undefined> {
  const rows = await db.all<Row>(
    sql`SELECT key, namespace, name, rev, value FROM objects WHERE key = ${key} AND ${notExpired(now)}`,
  );
  return rows[0];
}

export interface PageQuery {
  resource: string;
  /** undefined: every namespace. */
  namespace?: string;
  /** Resume after this (namespace, name). */
  after?: [string, string];
  limit: number;
  /** Read the state as of this revision (a continue token's snapshot); undefined: now. */
  atRevision?: number;
}

export interface Page {
  rows: Row[];
  /** The revision this page is consistent with. */
  revision: number;
  compacted: number;
}

/** One page of a list, ordered by (namespace, name), consistent with a single revision. */
export async function listPage(db: Db, q: PageQuery, now = Date.now()): Promise<Page> {
  const nsFilter = q.namespace === undefined ? sql`` : sql`AND namespace = ${q.namespace}`;
  const after = q.after ? sql`AND (namespace, name) > (${q.after[0]}, ${q.after[1]})` : sql``;
  let rowsQuery: SQL;
  if (q.atRevision === undefined) {
    rowsQuery = sql`SELECT key, namespace, name, rev, value FROM objects
      WHERE resource = ${q.resource} ${nsFilter} ${after} AND ${notExpired(now)}
      ORDER BY namespace, name LIMIT ${q.limit}`;
  } else {
    const r = q.atRevision;
    // Objects untouched since r, plus the state as of r of those changed or deleted after it.
    rowsQuery = sql`SELECT key, namespace, name, rev, value FROM (
        SELECT key, namespace, name, rev, value FROM objects
          WHERE resource = ${q.resource} ${nsFilter} ${after} AND rev <= ${r} AND ${notExpired(now)}
        UNION ALL
        SELECT rv.key, rv.namespace, rv.name, rv.id AS rev, rv.value FROM revisions rv
          WHERE rv.key IN (SELECT DISTINCT key FROM revisions
                             WHERE resource = ${q.resource} ${nsFilter} ${after} AND id > ${r})
            AND rv.id = (SELECT max(id) FROM revisions r2 WHERE r2.key = rv.key AND r2.id <= ${r})
            AND rv.type != 'DELETED')
      ORDER BY namespace, name LIMIT ${q.limit}`;
  }
  const [rows, seq, compacted] = await db.batch([rowsQuery, currentRevisionQuery, compactedRevisionQuery]);
  return {
    rows: rows as Row[],
    revision: q.atRevision ?? firstNumber(seq, "seq"),
    compacted: firstNumber(compacted, "value"),
  };
}

/** Committed changes after `after`, oldest first, in one namespace or everywhere (and the newest revision). */
export async function eventsSince(
  db: Db,
  after: number,
  opts: { namespace?: string; resources?: string[]; limit?: number } = {},
): Promise<{ events: LogEvent[]; compacted: number; revision: number }> {
  const nsFilter = opts.namespace === undefined ? sql`` : sql`AND namespace = ${opts.namespace}`;
  // Through the (resource, id) index: rows of other resources are not even read.
  const resourceFilter = opts.resources === undefined ? sql`` : sql`AND resource IN (${sql.join(opts.resources.map((r) => sql`${r}`), sql`, `)})`;
  const [events, compacted, seq] = await db.batch([
    sql`SELECT id AS rev, type, key, resource, namespace, name, value FROM revisions
      WHERE id > ${after} ${nsFilter} ${resourceFilter} ORDER BY id LIMIT ${opts.limit ?? 1000}`,
    compactedRevisionQuery,
    currentRevisionQuery,
  ]);
  return { events: events as LogEvent[], compacted: firstNumber(compacted, "value"), revision: firstNumber(seq, "seq") };
}

/**
 * etcd-style compaction at `upTo`: drops every revision below it that a newer one
 * (at most `upTo`) of the same key supersedes, and deletions. What stays is each key's
 * state as of `upTo`, so list snapshots at or after it still read, and every revision
 * from `upTo` on, so watches from there resume. Older reads answer 410 Gone.
 */
export async function compact(db: Db, upTo: number, chunk = 2000): Promise<number> {
  let removed = 0;
  await db.run(sql`INSERT INTO store_meta (key, value) VALUES ('compacted', ${upTo})
    ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)`);
  for (;;) {
    const res = await db.run(sql`DELETE FROM revisions WHERE id IN (
      SELECT r.id FROM revisions r WHERE r.id < ${upTo} AND (r.type = 'DELETED' OR EXISTS (
        SELECT 1 FROM revisions n WHERE n.key = r.key AND n.id > r.id AND n.id <= ${upTo}))
      ORDER BY r.id LIMIT ${chunk})`);
    const changes = res.meta?.changes ?? 0;
    removed += changes;
    if (changes < chunk) return removed;
  }
}

/** Keys of objects whose TTL has passed (Events), oldest first. */
export async function expiredRows(db: Db, now: number, limit = 500): Promise<Row[]> {
  return db.all<Row>(sql`SELECT key, namespace, name, rev, value FROM objects
    WHERE expires_at IS NOT NULL AND expires_at <= ${now} LIMIT ${limit}`);
}
