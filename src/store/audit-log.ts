import { numberSetting, type Env } from "../env.ts";

/**
 * The audit log's storage: entries are buffered per isolate and written to D1 in batches (one
 * `db.batch()` round trip for up to FLUSH_AT entries, at most FLUSH_AFTER_MS after the first one),
 * off the request's path through `waitUntil`. Rows older than AUDIT_TTL_SECONDS (default 7 days)
 * are purged in the same batch, at most once a minute per isolate.
 *
 * An entry never carries a request body, object content or token: only who, what, where and the
 * answer's code.
 */

export interface AuditEntry {
  ts: number;
  requestId: string;
  user: string;
  groups: string[];
  impersonator?: string;
  verb: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string;
  code: number;
  userAgent?: string;
}

export interface AuditQuery {
  namespace?: string;
  user?: string;
  /** Unix ms: entries at or after. */
  since?: number;
  limit: number;
}

const FLUSH_AT = 64;
const FLUSH_AFTER_MS = 250;
/** An isolate whose flushes keep failing drops the oldest entries past this (and says so in the log). */
const MAX_BUFFERED = 2048;
const PURGE_EVERY_MS = 60_000;
/** Text fields are cut to this many characters (names of rejected requests can be huge). */
const MAX_FIELD = 256;
export const DEFAULT_AUDIT_TTL_SECONDS = 7 * 24 * 3600;

const COLUMNS =
  "ts, request_id, user, groups, impersonator, verb, api_group, resource, subresource, namespace, name, path, code, user_agent";
/** One row's placeholders, and as many rows per INSERT as D1's 100 bound parameters per statement allow. */
const ROW_PLACEHOLDERS = `(${COLUMNS.split(",").map(() => "?").join(", ")})`;
const ROWS_PER_INSERT = Math.floor(100 / COLUMNS.split(",").length);

let buffer: AuditEntry[] = [];
let scheduled: Promise<void> | null = null;
let lastPurge = 0;
let dropped = 0;

const cut = (s: string | undefined) => (s === undefined || s === "" ? null : s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s);

/** Queues an entry; the flush rides on `waitUntil` so the response never waits for it. */
export function recordAudit(env: Env, waitUntil: (p: Promise<unknown>) => void, entry: AuditEntry): void {
  buffer.push(entry);
  if (buffer.length > MAX_BUFFERED) {
    dropped += buffer.length - MAX_BUFFERED;
    buffer = buffer.slice(buffer.length - MAX_BUFFERED);
  }
  if (buffer.length >= FLUSH_AT) {
    waitUntil(flushAudit(env));
    return;
  }
  if (scheduled) return;
  scheduled = new Promise<void>((r) => setTimeout(r, FLUSH_AFTER_MS)).then(() => flushAudit(env));
  waitUntil(scheduled);
}

/** Writes what this isolate buffered (and purges expired rows when due). Never throws. */
export async function flushAudit(env: Env, now = Date.now()): Promise<void> {
  scheduled = null;
  const entries = buffer;
  buffer = [];
  const purge = now - lastPurge >= PURGE_EVERY_MS;
  if (entries.length === 0 && !purge) return;
  const values = (e: AuditEntry) => [
    e.ts,
    e.requestId,
    cut(e.user) ?? "",
    JSON.stringify(e.groups.slice(0, 32).map((g) => cut(g))),
    cut(e.impersonator),
    e.verb,
    cut(e.apiGroup),
    cut(e.resource),
    cut(e.subresource),
    cut(e.namespace),
    cut(e.name),
    cut(e.path),
    e.code,
    cut(e.userAgent),
  ];
  // Several rows per INSERT (D1 binds at most 100 parameters per statement): a busy isolate's flush is a few statements, not hundreds.
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
    const chunk = entries.slice(i, i + ROWS_PER_INSERT);
    statements.push(env.DB.prepare(`INSERT INTO audit_log (${COLUMNS}) VALUES ${chunk.map(() => ROW_PLACEHOLDERS).join(", ")}`).bind(...chunk.flatMap(values)));
  }
  if (purge) {
    lastPurge = now;
    const ttlMs = numberSetting(env.AUDIT_TTL_SECONDS, DEFAULT_AUDIT_TTL_SECONDS) * 1000;
    statements.push(env.DB.prepare("DELETE FROM audit_log WHERE ts < ?").bind(now - ttlMs));
  }
  try {
    await env.DB.batch(statements);
    if (dropped > 0) {
      console.error(`audit: ${dropped} entries were dropped while the store could not be written`);
      dropped = 0;
    }
  } catch (e) {
    // Keep them for the next flush (bounded by MAX_BUFFERED); the request is long answered.
    buffer = [...entries, ...buffer];
    console.error("audit: flush failed:", e instanceof Error ? e.message : String(e));
  }
}

interface AuditRow {
  ts: number;
  request_id: string;
  user: string;
  groups: string;
  impersonator: string | null;
  verb: string;
  api_group: string | null;
  resource: string | null;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  path: string | null;
  code: number;
  user_agent: string | null;
}

/** The newest entries first, filtered; flushes this isolate's buffer first so they include its own. */
export async function queryAudit(env: Env, q: AuditQuery): Promise<AuditEntry[]> {
  await flushAudit(env);
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.since !== undefined) where.push("ts >= ?"), args.push(q.since);
  if (q.user !== undefined) where.push("user = ?"), args.push(q.user);
  if (q.namespace !== undefined) where.push("namespace = ?"), args.push(q.namespace);
  const sql = `SELECT ${COLUMNS} FROM audit_log${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, id DESC LIMIT ?`;
  const { results } = await env.DB.prepare(sql)
    .bind(...args, q.limit)
    .all<AuditRow>();
  return results.map((r) => ({
    ts: r.ts,
    requestId: r.request_id,
    user: r.user,
    groups: JSON.parse(r.groups) as string[],
    ...(r.impersonator ? { impersonator: r.impersonator } : {}),
    verb: r.verb,
    ...(r.api_group !== null ? { apiGroup: r.api_group } : {}),
    ...(r.resource !== null ? { resource: r.resource } : {}),
    ...(r.subresource !== null ? { subresource: r.subresource } : {}),
    ...(r.namespace !== null ? { namespace: r.namespace } : {}),
    ...(r.name !== null ? { name: r.name } : {}),
    ...(r.path !== null ? { path: r.path } : {}),
    code: r.code,
    ...(r.user_agent !== null ? { userAgent: r.user_agent } : {}),
  }));
}
