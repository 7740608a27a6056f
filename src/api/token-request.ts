import { apiAudiences, signServiceAccountToken, type TokenSubject } from "../auth/service-account-tokens.ts";
import type { Env } from "../env.ts";
import { podKind } from "../resources/pod.ts";
import { serviceAccountKind } from "../resources/serviceaccount.ts";
import type { FieldError, KubeObject } from "../resources/types.ts";
import { invalid, isInt, isObj, notSupported } from "../resources/validation.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { expectObject, readBody } from "./body.ts";
import { badRequest, invalid as invalidStatus, methodNotAllowed } from "./errors.ts";
import type { Target } from "./target.ts";

/**
 * The TokenRequest subresource (POST serviceaccounts/<name>/token, what `kubectl create token`
 * and node agents call): a signed token for the ServiceAccount, optionally bound to a Pod of the
 * same namespace that runs as it (the token then dies with the pod).
 */

export const TOKEN_REQUEST_GV = "authentication.k8s.io/v1";
export const DEFAULT_TOKEN_SECONDS = 3600;
/** Kubernetes' bounds on spec.expirationSeconds. */
export const MIN_TOKEN_SECONDS = 600;
export const MAX_TOKEN_SECONDS = 2 ** 32;

const tokenRequestSubject = { group: "authentication.k8s.io", plural: "tokenrequests", kind: "TokenRequest" };

export interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef?: { kind: string; apiVersion?: string; name: string; uid?: string };
}

/** Defaults and validation of a TokenRequest's spec (pure). */
export function tokenRequestSpec(body: Record<string, unknown>, defaultAudiences: string[]): { spec: TokenRequestSpec; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const spec = isObj(body.spec) ? body.spec : {};
  let audiences = defaultAudiences;
  if (spec.audiences !== undefined) {
    if (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== "string" || !a)) errors.push(invalid("spec.audiences", spec.audiences, "must be a list of non-empty strings"));
    else if (spec.audiences.length > 0) audiences = spec.audiences as string[];
  }
  const seconds = spec.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
  if (!isInt(seconds)) errors.push(invalid("spec.expirationSeconds", seconds, "must be an integer"));
  else if (seconds < MIN_TOKEN_SECONDS) errors.push(invalid("spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"));
  else if (seconds > MAX_TOKEN_SECONDS) errors.push(invalid("spec.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds"));
  let boundObjectRef: TokenRequestSpec["boundObjectRef"];
  if (spec.boundObjectRef !== undefined) {
    const ref = isObj(spec.boundObjectRef) ? spec.boundObjectRef : {};
    if (ref.kind !== "Pod") errors.push(notSupported("spec.boundObjectRef.kind", ref.kind ?? "", ["Pod"]));
    if (ref.apiVersion !== undefined && ref.apiVersion !== "v1") errors.push(notSupported("spec.boundObjectRef.apiVersion", ref.apiVersion, ["v1"]));
    if (typeof ref.name !== "string" || !ref.name) errors.push({ field: "spec.boundObjectRef.name", reason: "FieldValueRequired", message: "Required value" });
    if (ref.uid !== undefined && typeof ref.uid !== "string") errors.push(invalid("spec.boundObjectRef.uid", ref.uid, "must be a string"));
    boundObjectRef = { kind: String(ref.kind), apiVersion: "v1", name: String(ref.name ?? ""), ...(typeof ref.uid === "string" && ref.uid ? { uid: ref.uid } : {}) };
  }
  return { spec: { audiences, expirationSeconds: isInt(seconds) ? seconds : DEFAULT_TOKEN_SECONDS, ...(boundObjectRef ? { boundObjectRef } : {}) }, errors };
}

export async function tokenRequest(
  env: Env,
  store: ObjectStore,
  target: Target,
  req: Request,
  admit?: (obj: KubeObject) => Promise<void>,
): Promise<Response> {
  if (req.method.toUpperCase() !== "POST") throw methodNotAllowed("serviceaccounts/token only supports create (POST)");
  const { namespace, name } = target;
  const body = expectObject(await readBody(req));
  if ((body.apiVersion !== undefined && body.apiVersion !== TOKEN_REQUEST_GV) || (body.kind !== undefined && body.kind !== "TokenRequest"))
    throw badRequest(`the body must be a ${TOKEN_REQUEST_GV} TokenRequest, got ${String(body.apiVersion)} ${String(body.kind)}`);
  const { spec, errors } = tokenRequestSpec(body, apiAudiences(env));
  if (errors.length > 0) throw invalidStatus(tokenRequestSubject, name!, errors);
  const object: KubeObject = { apiVersion: TOKEN_REQUEST_GV, kind: "TokenRequest", metadata: { name, namespace }, spec };
  await admit?.(object);
  const sa = await store.get(serviceAccountKind, namespace, name!);
  const subject: TokenSubject = { namespace, serviceAccount: { name: name!, uid: sa.metadata.uid! } };
  const ref = spec.boundObjectRef;
  if (ref) {
    const pod = await store.get(podKind, namespace, ref.name);
    if (ref.uid && ref.uid !== pod.metadata.uid)
      throw badRequest(`the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    const podSpec = (pod.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
    if ((podSpec.serviceAccountName || "default") !== name)
      throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name`);
    ref.uid = pod.metadata.uid;
    subject.pod = { name: ref.name, uid: pod.metadata.uid! };
    if (podSpec.nodeName) subject.node = podSpec.nodeName;
  }
  const { token, expiresAt } = await signServiceAccountToken(env, subject, { audiences: spec.audiences, ttlSeconds: spec.expirationSeconds });
  const created = {
    ...object,
    metadata: { name, namespace, creationTimestamp: null },
    status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z") },
  };
  return new Response(JSON.stringify(created), { status: 201, headers: { "content-type": "application/json" } });
}
