import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The revision log, kine-style: one append-only row per committed change.
 * The row id is the cluster-wide revision and every object's resourceVersion.
 * `value` always holds the object as of that revision (for DELETED: its last state).
 */
export const revisions = sqliteTable(
  "revisions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    key: text("key").notNull(),
    resource: text("resource").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    type: text("type", { enum: ["ADDED", "MODIFIED", "DELETED"] }).notNull(),
    value: text("value").notNull(),
    prevRevision: integer("prev_revision"),
  },
  (t) => [
    index("revisions_namespace_id").on(t.namespace, t.id),
    index("revisions_resource_id").on(t.resource, t.id),
    index("revisions_key_id").on(t.key, t.id),
  ],
);

/**
 * Current state: one row per live object, written in the same batch as its revision.
 * `rev` is the revision that produced the row; CAS compares it, so it is the object's
 * resourceVersion. Compaction may drop old revisions but never touches this table.
 */
export const objects = sqliteTable(
  "objects",
  {
    key: text("key").primaryKey(),
    resource: text("resource").notNull(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    rev: integer("rev").notNull(),
    value: text("value").notNull(),
    /** Unix ms after which the object is gone (Events' TTL); null = never. */
    expiresAt: integer("expires_at"),
  },
  (t) => [
    index("objects_resource_namespace_name").on(t.resource, t.namespace, t.name),
    index("objects_namespace").on(t.namespace),
  ],
);

/** Small key/value facts about the store itself, e.g. the compacted revision. */
export const storeMeta = sqliteTable("store_meta", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});

/**
 * Bearer tokens, stored as SHA-256 hex; the plain token is shown once and never kept.
 * A token is valid until `expires_at` (unix ms; null = never) unless `revoked_at` is set.
 */
export const tokens = sqliteTable(
  "tokens",
  {
    hash: text("hash").primaryKey(),
    user: text("user").notNull(),
    /** The user's stable id (kept across that user's tokens). */
    uid: text("uid"),
    groups: text("groups").notNull().default("[]"),
    /** The tenant the token was issued for, if any. */
    tenant: text("tenant"),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("tokens_tenant").on(t.tenant)],
);

/**
 * Addresses handed out to objects, one row each, unique: a Service's cluster IPs ("ip:10.96.0.10")
 * and node ports ("nodeport:30080"). Written in the same D1 batch as the object (see
 * revision-log.ts), guarded so an id held by another owner makes the object's write fail: two
 * Services can never hold the same one, however their creates interleave.
 */
export const allocations = sqliteTable(
  "allocations",
  {
    id: text("id").primaryKey(),
    /** The `objects.key` of the holder. */
    owner: text("owner").notNull(),
  },
  (t) => [index("allocations_owner").on(t.owner)],
);

/**
 * The audit log (src/store/audit-log.ts): who did what, one row per audited request. Never holds
 * request bodies, object contents or tokens. Rows older than AUDIT_TTL_SECONDS are purged.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Unix ms when the request arrived. */
    ts: integer("ts").notNull(),
    requestId: text("request_id").notNull(),
    user: text("user").notNull(),
    /** JSON array of the user's groups. */
    groups: text("groups").notNull().default("[]"),
    /** Who authenticated, when the request ran as an impersonated user. */
    impersonator: text("impersonator"),
    verb: text("verb").notNull(),
    apiGroup: text("api_group"),
    resource: text("resource"),
    subresource: text("subresource"),
    namespace: text("namespace"),
    name: text("name"),
    /** Non-resource requests (e.g. /edgeplane/v1/tenants): the path. */
    path: text("path"),
    code: integer("code").notNull(),
    userAgent: text("user_agent"),
  },
  (t) => [index("audit_log_ts").on(t.ts), index("audit_log_user_ts").on(t.user, t.ts), index("audit_log_namespace_ts").on(t.namespace, t.ts)],
);
