import type { Env } from "../env.ts";
import { sql } from "drizzle-orm";
import { openDb } from "../store/revision-log.ts";

/** Who is calling: bearer tokens, checked by their SHA-256 against the admin secret and the tokens table. */

export interface UserInfo {
  username: string;
  groups: string[];
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time comparison of two hex digests. */
function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function authenticate(env: Env, authorization: string | null): Promise<UserInfo | undefined> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!m) return undefined;
  const hash = await sha256Hex(m[1]);
  if (env.ADMIN_TOKEN_SHA256 && sameDigest(hash, env.ADMIN_TOKEN_SHA256.toLowerCase()))
    return { username: "edgeplane-admin", groups: ["system:masters", "system:authenticated"] };
  const rows = await openDb(env.DB).all<{ user: string; groups: string; expires_at: number | null }>(
    sql`SELECT user, groups, expires_at FROM tokens WHERE hash = ${hash}`,
  );
  const row = rows[0];
  if (!row || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
  return { username: row.user, groups: [...(JSON.parse(row.groups) as string[]), "system:authenticated"] };
}
