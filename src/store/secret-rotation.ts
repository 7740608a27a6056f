import { sql } from "drizzle-orm";
import { unavailable } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { hubName } from "./hub.ts";
import { openDb, type Write } from "./revision-log.ts";
import { primaryKeyId, sealedKeyId, SECRETS_RESOURCE } from "./secret-box.ts";

/**
 * Key rotation by re-encryption: every Secret not sealed with the current key is written again
 * through its namespace's hub (compare-and-swap on its revision), which opens it with the older
 * key and seals it with the current one, in the current state and a new revision alike. A
 * Secret changed meanwhile lost nothing: that change was sealed with the current key anyway.
 * The revisions sealed with an old key go with compaction; drop the old key after that.
 */

const CHUNK = 40;

export interface ReencryptResult {
  kind: "SecretReencryption";
  apiVersion: "edgeplane.dev/v1";
  keyId: string;
  secrets: number;
  reencrypted: number;
}

export async function reencryptSecrets(env: Env): Promise<ReencryptResult> {
  const keyId = await primaryKeyId(env);
  if (!keyId) throw unavailable("no SECRETS_ENCRYPTION_KEY is configured");
  const rows = await openDb(env.DB).all<{ key: string; namespace: string; name: string; rev: number; value: string }>(
    sql`SELECT key, namespace, name, rev, value FROM objects WHERE resource = ${SECRETS_RESOURCE}`,
  );
  const stale = rows.filter((r) => sealedKeyId(r.value) !== keyId);
  const byNamespace = new Map<string, Write[]>();
  for (const r of stale) {
    const writes = byNamespace.get(r.namespace) ?? [];
    writes.push({ type: "MODIFIED", key: r.key, resource: SECRETS_RESOURCE, namespace: r.namespace, name: r.name, value: r.value, expectedRev: r.rev, expiresAt: null });
    byNamespace.set(r.namespace, writes);
  }
  let reencrypted = 0;
  for (const [namespace, writes] of byNamespace) {
    const hub = env.HUB.get(env.HUB.idFromName(hubName(namespace)));
    for (let i = 0; i < writes.length; i += CHUNK) {
      const results = await hub.commit(hubName(namespace), writes.slice(i, i + CHUNK));
      reencrypted += results.filter((r) => r.ok).length;
    }
  }
  return { kind: "SecretReencryption", apiVersion: "edgeplane.dev/v1", keyId, secrets: rows.length, reencrypted };
}
