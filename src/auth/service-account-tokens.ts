import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { Env } from "../env.ts";
import { podKind } from "../resources/pod.ts";
import { serviceAccountKind } from "../resources/serviceaccount.ts";
import type { KubeObject } from "../resources/types.ts";
import { ObjectStore } from "../store/object-store.ts";
import { AUTHENTICATED_GROUP, type UserInfo } from "./authn.ts";
import { boundKey, isKnownAlive, rememberAlive } from "./bound-token-cache.ts";
import { issuerOf, SIGNING_ALG, signingKey, verificationKeys } from "./service-account-keys.ts";

/**
 * Service-account tokens: JWTs in Kubernetes' bound-token form. Claims: iss, sub
 * (`system:serviceaccount:<ns>:<name>`), aud, iat, nbf, exp, jti and `kubernetes.io`
 * {namespace, serviceaccount{name, uid}, pod?{name, uid}, node?{name}}. A token is valid while
 * its ServiceAccount (and bound pod) exist with the uids it names: deleting and recreating the
 * ServiceAccount revokes every token issued for the old one.
 */

export const SA_USER_PREFIX = "system:serviceaccount:";
export const SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";

export interface BoundRef {
  name: string;
  uid: string;
}

export interface TokenSubject {
  namespace: string;
  serviceAccount: BoundRef;
  pod?: BoundRef;
  node?: string;
}

interface KubernetesClaim {
  namespace: string;
  serviceaccount: BoundRef;
  pod?: BoundRef;
  node?: { name: string };
}

export const serviceAccountUsername = (namespace: string, name: string) => `${SA_USER_PREFIX}${namespace}:${name}`;

/** The claims of a token for `subject`, valid from `nowSeconds` for `ttlSeconds` (pure). */
export function tokenClaims(
  subject: TokenSubject,
  o: { issuer: string; audiences: string[]; nowSeconds: number; ttlSeconds: number; jti: string },
): JWTPayload & { "kubernetes.io": KubernetesClaim } {
  return {
    iss: o.issuer,
    sub: serviceAccountUsername(subject.namespace, subject.serviceAccount.name),
    aud: o.audiences,
    iat: o.nowSeconds,
    nbf: o.nowSeconds,
    exp: o.nowSeconds + o.ttlSeconds,
    jti: o.jti,
    "kubernetes.io": {
      namespace: subject.namespace,
      serviceaccount: { name: subject.serviceAccount.name, uid: subject.serviceAccount.uid },
      ...(subject.pod ? { pod: { name: subject.pod.name, uid: subject.pod.uid } } : {}),
      ...(subject.node ? { node: { name: subject.node } } : {}),
    },
  };
}

const isRef = (v: unknown): v is BoundRef =>
  !!v && typeof v === "object" && typeof (v as BoundRef).name === "string" && typeof (v as BoundRef).uid === "string";

/** The subject a verified payload names, or undefined when it is not a well-formed service-account token (pure). */
export function subjectOf(payload: JWTPayload): TokenSubject | undefined {
  const k = payload["kubernetes.io"] as Partial<KubernetesClaim> | undefined;
  if (!k || typeof k.namespace !== "string" || !isRef(k.serviceaccount)) return undefined;
  if (payload.sub !== serviceAccountUsername(k.namespace, k.serviceaccount.name)) return undefined;
  if (k.pod !== undefined && !isRef(k.pod)) return undefined;
  return {
    namespace: k.namespace,
    serviceAccount: k.serviceaccount,
    ...(k.pod ? { pod: k.pod } : {}),
    ...(typeof k.node?.name === "string" ? { node: k.node.name } : {}),
  };
}

/** The user a service-account token authenticates as. */
export function serviceAccountUser(subject: TokenSubject): UserInfo {
  return {
    username: serviceAccountUsername(subject.namespace, subject.serviceAccount.name),
    uid: subject.serviceAccount.uid,
    groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${subject.namespace}`, AUTHENTICATED_GROUP],
  };
}

/** The API's own audiences: tokens for other audiences do not authenticate here. */
export const apiAudiences = (env: Env) => [issuerOf(env)];

export async function signServiceAccountToken(
  env: Env,
  subject: TokenSubject,
  o: { audiences: string[]; ttlSeconds: number; now?: number },
): Promise<{ token: string; expiresAt: number }> {
  const key = await signingKey(env);
  const nowSeconds = Math.floor((o.now ?? Date.now()) / 1000);
  const claims = tokenClaims(subject, { issuer: issuerOf(env), audiences: o.audiences, nowSeconds, ttlSeconds: o.ttlSeconds, jti: crypto.randomUUID() });
  const token = await new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
  return { token, expiresAt: (nowSeconds + o.ttlSeconds) * 1000 };
}

/** Whether a bearer token has a JWT's shape (three base64url parts, a JSON header). */
export const looksLikeJwt = (token: string) => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token);

/** Whether the objects a token is bound to still exist as the token knew them (remembered briefly, see bound-token-cache.ts). */
async function stillBound(env: Env, s: TokenSubject, now: number): Promise<boolean> {
  const key = boundKey(s.namespace, s.serviceAccount, s.pod);
  if (isKnownAlive(key, now)) return true;
  const store = new ObjectStore(env);
  const [sa, pod] = await Promise.all([
    store.tryGet(serviceAccountKind, s.namespace, s.serviceAccount.name),
    s.pod ? store.tryGet(podKind, s.namespace, s.pod.name) : Promise.resolve(undefined),
  ]);
  const alive = (o: KubeObject | undefined, ref: BoundRef) => !!o && o.metadata.uid === ref.uid && !o.metadata.deletionTimestamp;
  const ok = alive(sa, s.serviceAccount) && (!s.pod || alive(pod, s.pod));
  if (ok) rememberAlive(key, now);
  return ok;
}

/**
 * Authenticates a service-account token: signature (current or retired key, by kid), issuer,
 * one of the API's audiences, time window, and the bound objects. Undefined when invalid.
 */
export async function authenticateServiceAccountToken(env: Env, token: string, now = Date.now()): Promise<UserInfo | undefined> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
  const keys = await verificationKeys(env);
  const key = keys.find((k) => k.kid === kid);
  if (!key) return undefined;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      issuer: issuerOf(env),
      audience: apiAudiences(env),
      algorithms: [SIGNING_ALG],
      currentDate: new Date(now),
    }));
  } catch {
    return undefined;
  }
  const subject = subjectOf(payload);
  if (!subject || !(await stillBound(env, subject, now))) return undefined;
  return serviceAccountUser(subject);
}
