import { ApiError } from "../api/errors.ts";
import type { Env } from "../env.ts";

/**
 * Secrets at rest: a Secret's `data` is stored as AES-256-GCM ciphertext (WebCrypto) in both
 * the current-state row and the revision log, under the key in SECRETS_ENCRYPTION_KEY (base64,
 * 32 bytes). The stored object carries `sealedData: { keyId, iv, ciphertext }` instead of `data`;
 * the key id is the start of the key's SHA-256, so older keys listed in
 * SECRETS_ENCRYPTION_OLD_KEYS still decrypt (rotation: re-encrypt, then drop them). The object's
 * storage key is the additional authenticated data, so a ciphertext cannot be moved to another
 * Secret. Only the hub seals (as it commits); every read path opens.
 */

export const SECRETS_RESOURCE = "core/secrets";

interface Sealed {
  keyId: string;
  iv: string;
  ciphertext: string;
}

interface Keyring {
  primary?: { id: string; key: CryptoKey };
  byId: Map<string, CryptoKey>;
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const keyrings = new Map<string, Promise<Keyring>>();

async function importKey(base64: string): Promise<{ id: string; key: CryptoKey }> {
  let raw: Uint8Array;
  try {
    raw = unb64(base64.trim());
  } catch {
    raw = new Uint8Array();
  }
  if (raw.length !== 32) throw new ApiError(500, "InternalError", "SECRETS_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  const id = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return { id, key };
}

function keyring(env: Env): Promise<Keyring> {
  const primary = env.SECRETS_ENCRYPTION_KEY ?? "";
  const old = env.SECRETS_ENCRYPTION_OLD_KEYS ?? "";
  const cacheKey = `${primary}\n${old}`;
  let ring = keyrings.get(cacheKey);
  if (!ring) {
    ring = (async () => {
      const byId = new Map<string, CryptoKey>();
      const p = primary ? await importKey(primary) : undefined;
      if (p) byId.set(p.id, p.key);
      for (const k of old.split(",").filter((s) => s.trim()))
        try {
          const o = await importKey(k);
          byId.set(o.id, o.key);
        } catch {
          console.error("SECRETS_ENCRYPTION_OLD_KEYS holds a key that is not 32 bytes of base64; ignored");
        }
      return { primary: p, byId };
    })();
    ring.catch(() => keyrings.delete(cacheKey));
    keyrings.set(cacheKey, ring);
  }
  return ring;
}

/** The id of the key new Secrets are sealed with (undefined: none configured). */
export async function primaryKeyId(env: Env): Promise<string | undefined> {
  return (await keyring(env)).primary?.id;
}

type Stored = Record<string, unknown> & { data?: unknown; sealedData?: Sealed };

const isSealed = (o: Stored) => typeof o.sealedData === "object" && o.sealedData !== null && o.data === undefined;

/** The key id a stored Secret value is sealed with (undefined: plaintext). */
export function sealedKeyId(value: string): string | undefined {
  const o = JSON.parse(value) as Stored;
  return isSealed(o) ? o.sealedData!.keyId : undefined;
}

/** `from` replaced by `to` at the same place among the fields (so stored and served field order match). */
function replaceField(o: Stored, from: string, to: string, value: unknown): Stored {
  const out: Stored = {};
  let placed = false;
  for (const [k, v] of Object.entries(o)) {
    if (k === from) {
      if (value !== undefined) out[to] = value;
      placed = true;
    } else if (k !== to) out[k] = v;
  }
  if (!placed && value !== undefined) out[to] = value;
  return out;
}

/** A Secret's JSON as stored: `data` replaced by its ciphertext. Already sealed values pass unchanged. */
export async function sealSecret(env: Env, storageKey: string, value: string): Promise<string> {
  const o = JSON.parse(value) as Stored;
  if (isSealed(o)) return value;
  const ring = await keyring(env);
  if (!ring.primary)
    throw new ApiError(503, "ServiceUnavailable", "Secrets cannot be stored: the server has no SECRETS_ENCRYPTION_KEY configured");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(o.data ?? {}));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(storageKey) }, ring.primary.key, plain),
  );
  return JSON.stringify(replaceField(o, "data", "sealedData", { keyId: ring.primary.id, iv: b64(iv), ciphertext: b64(ct) }));
}

/** A stored Secret's JSON with `data` decrypted again. Plaintext values (stored before encryption) pass unchanged. */
export async function openSecret(env: Env, storageKey: string, value: string): Promise<string> {
  const o = JSON.parse(value) as Stored;
  if (!isSealed(o)) return value;
  const { keyId, iv, ciphertext } = o.sealedData!;
  const key = (await keyring(env)).byId.get(keyId);
  if (!key) throw new ApiError(500, "InternalError", `a Secret is encrypted with key ${keyId}, which this server does not have`);
  let data: unknown;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv), additionalData: encoder.encode(storageKey) }, key, unb64(ciphertext));
    data = JSON.parse(decoder.decode(plain));
  } catch {
    throw new ApiError(500, "InternalError", `a stored Secret failed to decrypt (key ${keyId})`);
  }
  // An empty map was absent.
  const empty = !data || typeof data !== "object" || Object.keys(data).length === 0;
  return JSON.stringify(replaceField(o, "sealedData", "data", empty ? undefined : data));
}

/** Opens the Secret values among rows or events (in place); anything else is left alone. */
export async function openRows<T extends { key: string; value: string; resource?: string }>(env: Env, rows: T[], resource?: string): Promise<T[]> {
  for (const r of rows) if ((r.resource ?? resource) === SECRETS_RESOURCE) r.value = await openSecret(env, r.key, r.value);
  return rows;
}
