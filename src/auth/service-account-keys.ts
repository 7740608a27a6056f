import { calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, type CryptoKey, type JWK } from "jose";
import { unavailable } from "../api/errors.ts";
import type { Env } from "../env.ts";

/**
 * The keys service-account tokens are signed with (ES256, P-256). The signing key is
 * SERVICE_ACCOUNT_SIGNING_KEY (PKCS#8, base64 DER or PEM): `npm start` makes one in
 * `.edgeplane/service-account-key` (0600); hosted, a Worker secret. Retired keys in
 * SERVICE_ACCOUNT_OLD_KEYS (comma-separated, same format) still verify tokens and are published,
 * until the tokens they signed have expired. Keys are imported once per isolate.
 */

export const SIGNING_ALG = "ES256";
/** Kubernetes' usual issuer and default API audience. */
export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

const imported = new Map<string, Promise<SigningKey>>();

const toPem = (text: string) =>
  text.includes("-----BEGIN")
    ? text
    : `-----BEGIN PRIVATE KEY-----\n${text.replace(/\s+/g, "").replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----`;

function importKey(text: string): Promise<SigningKey> {
  let key = imported.get(text);
  if (!key) {
    key = (async () => {
      const privateKey = await importPKCS8(toPem(text.trim()), SIGNING_ALG, { extractable: true });
      const { kty, crv, x, y } = await exportJWK(privateKey);
      const kid = await calculateJwkThumbprint({ kty, crv, x, y });
      const publicJwk: JWK = { kty, crv, x, y, kid, alg: SIGNING_ALG, use: "sig" };
      return { kid, privateKey, publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey, publicJwk };
    })();
    key.catch(() => imported.delete(text));
    imported.set(text, key);
  }
  return key;
}

/** The current signing key; 503 when the server has none. */
export async function signingKey(env: Env): Promise<SigningKey> {
  if (!env.SERVICE_ACCOUNT_SIGNING_KEY) throw unavailable("service account tokens are not available: the server has no SERVICE_ACCOUNT_SIGNING_KEY configured");
  return importKey(env.SERVICE_ACCOUNT_SIGNING_KEY);
}

/** Every key that verifies tokens: the current one first, then the retired ones. */
export async function verificationKeys(env: Env): Promise<SigningKey[]> {
  const texts = [env.SERVICE_ACCOUNT_SIGNING_KEY ?? "", ...(env.SERVICE_ACCOUNT_OLD_KEYS ?? "").split(",")].map((t) => t.trim()).filter(Boolean);
  return Promise.all(texts.map(importKey));
}

export const issuerOf = (env: Env) => env.SERVICE_ACCOUNT_ISSUER || DEFAULT_ISSUER;

/** GET /openid/v1/jwks: the public keys, as a JSON Web Key Set. */
export async function jwks(env: Env): Promise<{ keys: JWK[] }> {
  return { keys: (await verificationKeys(env)).map((k) => k.publicJwk) };
}

/** GET /.well-known/openid-configuration: OIDC discovery, as kube-apiserver serves it. */
export function openIdConfiguration(env: Env, origin: string): Record<string, unknown> {
  return {
    issuer: issuerOf(env),
    jwks_uri: `${origin}/openid/v1/jwks`,
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [SIGNING_ALG],
  };
}
