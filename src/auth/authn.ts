import type { Env } from "../env.ts";
import { sql } from "drizzle-orm";
import { openDb } from "../store/revision-log.ts";
import { authenticateServiceAccountToken, looksLikeJwt } from "./service-account-tokens.ts";

/**
 * Who is calling: bearer tokens, checked by their SHA-256 against the admin secret and the
 * tokens table, or service-account JWTs (service-account-tokens.ts). Plain tokens are never stored or logged; only their digests are.
 */

export interface UserInfo {
  username: string;
  uid: string;
  groups: string[];
}

export const ADMIN_USERNAME = "edgeplane:admin";
export const SUPERUSER_GROUP = "system:masters";
export const AUTHENTICATED_GROUP = "system:authenticated";

/** Two hex digits of each byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let hex = "";
  for (const b of digest) hex += HEX[b];
  return hex;
}

/**
 * Digests of the bearer tokens this isolate saw lately: a node renews its lease every 10 s with
 * the same token, and a digest costs a WebCrypto round trip (node:crypto's is slower still here).
 * Held in memory only, as the request that carried the token was; never stored or logged.
 */
const tokenDigests = new Map<string, string>();
const MAX_TOKEN_DIGESTS = 1024;

async function tokenDigest(token: string): Promise<string> {
  const known = tokenDigests.get(token);
  if (known) return known;
  const hash = await sha256Hex(token);
  if (tokenDigests.size >= MAX_TOKEN_DIGESTS) tokenDigests.clear();
  tokenDigests.set(token, hash);
  return hash;
}

/** Constant-time comparison of two hex digests. */
function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const withAuthenticated = (groups: string[]) => (groups.includes(AUTHENTICATED_GROUP) ? groups : [...groups, AUTHENTICATED_GROUP]);

export async function authenticate(env: Env, authorization: string | null, now = Date.now()): Promise<UserInfo | undefined> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!m) return undefined;
  if (looksLikeJwt(m[1])) return authenticateServiceAccountToken(env, m[1], now);
  const hash = await tokenDigest(m[1]);
  if (env.ADMIN_TOKEN_SHA256 && sameDigest(hash, env.ADMIN_TOKEN_SHA256.toLowerCase()))
    return { username: ADMIN_USERNAME, uid: ADMIN_USERNAME, groups: [SUPERUSER_GROUP, AUTHENTICATED_GROUP] };
  const cached = knownTokens.get(hash);
  if (cached && cached.until > now) return cached.user;
  const rows = await openDb(env.DB).all<{ user: string; uid: string | null; groups: string; expires_at: number | null; revoked_at: number | null }>(
    sql`SELECT user, uid, groups, expires_at, revoked_at FROM tokens WHERE hash = ${hash}`,
  );
  const row = rows[0];
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return undefined;
  const user = { username: row.user, uid: row.uid ?? row.user, groups: withAuthenticated(JSON.parse(row.groups) as string[]) };
  if (knownTokens.size >= MAX_KNOWN_TOKENS) knownTokens.clear();
  knownTokens.set(hash, { user, until: Math.min(now + TOKEN_CACHE_MS, row.expires_at ?? Infinity) });
  return user;
}

/**
 * Valid tokens this isolate looked up, by digest, for a few seconds (as Kubernetes caches
 * token reviews): a busy client costs no D1 read per request. A revocation takes effect
 * here at once and in other isolates within TOKEN_CACHE_MS.
 */
const knownTokens = new Map<string, { user: UserInfo; until: number }>();
const TOKEN_CACHE_MS = 10_000;
const MAX_KNOWN_TOKENS = 10_000;

/** A new random bearer token (256 bits, base64url). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "ep_" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export interface IssuedToken {
  token: string;
  expiresAt: number | null;
}

/** Issues a token for a user; only its digest is stored. `ttlSeconds` 0 or undefined: no expiry. */
export async function issueToken(
  env: Env,
  o: { username: string; uid: string; groups: string[]; tenant?: string; ttlSeconds?: number },
  now = Date.now(),
): Promise<IssuedToken> {
  const token = newToken();
  const expiresAt = o.ttlSeconds ? now + o.ttlSeconds * 1000 : null;
  await openDb(env.DB).run(
    sql`INSERT INTO tokens (hash, user, uid, groups, tenant, expires_at, revoked_at, created_at)
        VALUES (${await sha256Hex(token)}, ${o.username}, ${o.uid}, ${JSON.stringify(o.groups)}, ${o.tenant ?? null}, ${expiresAt}, NULL, ${now})`,
  );
  return { token, expiresAt };
}

/** Revokes every live token of a tenant; returns how many. */
export async function revokeTenantTokens(env: Env, tenant: string, now = Date.now()): Promise<number> {
  const r = await openDb(env.DB).run(sql`UPDATE tokens SET revoked_at = ${now} WHERE tenant = ${tenant} AND revoked_at IS NULL`);
  knownTokens.clear();
  return r.meta.changes ?? 0;
}

/** The stable uid of a tenant's user: kept from its first token, so new tokens keep the identity. */
export async function tenantUid(env: Env, tenant: string): Promise<string | undefined> {
  const rows = await openDb(env.DB).all<{ uid: string | null }>(sql`SELECT uid FROM tokens WHERE tenant = ${tenant} ORDER BY created_at LIMIT 1`);
  return rows[0]?.uid ?? undefined;
}
