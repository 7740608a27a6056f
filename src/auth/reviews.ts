import { expectObject, readBody } from "../api/body.ts";
import { badRequest } from "../api/errors.ts";
import type { Env } from "../env.ts";
import type { UserInfo } from "./authn.ts";
import { isSuperuser, loadPolicy } from "./authorizer.ts";
import { SUPERUSER_RULES, type Attributes, type PolicyRule } from "./rbac.ts";

/**
 * The self reviews every authenticated user may create: SelfSubjectReview (`kubectl auth whoami`),
 * SelfSubjectAccessReview (`kubectl auth can-i`) and SelfSubjectRulesReview (`kubectl auth can-i --list`).
 * They are answered, never stored.
 */

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

async function reviewBody(req: Request, apiVersion: string, kind: string): Promise<Record<string, unknown>> {
  const body = expectObject(await readBody(req));
  if ((body.apiVersion !== undefined && body.apiVersion !== apiVersion) || (body.kind !== undefined && body.kind !== kind))
    throw badRequest(`expected a ${apiVersion} ${kind}, got ${String(body.apiVersion)} ${String(body.kind)}`);
  return body;
}

const meta = (body: Record<string, unknown>) => ({ ...((body.metadata as object | undefined) ?? {}), creationTimestamp: now() });

export async function selfSubjectReview(req: Request, user: UserInfo): Promise<Record<string, unknown>> {
  const body = await reviewBody(req, "authentication.k8s.io/v1", "SelfSubjectReview");
  return {
    kind: "SelfSubjectReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: meta(body),
    status: { userInfo: { username: user.username, uid: user.uid, groups: user.groups } },
  };
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export async function selfSubjectAccessReview(env: Env, req: Request, user: UserInfo): Promise<Record<string, unknown>> {
  const body = await reviewBody(req, "authorization.k8s.io/v1", "SelfSubjectAccessReview");
  const spec = (body.spec ?? {}) as { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: { path?: string; verb?: string } };
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (!!ra === !!nra) throw badRequest("SelfSubjectAccessReview.spec: exactly one of resourceAttributes and nonResourceAttributes must be set");
  const a: Attributes = ra
    ? {
        resourceRequest: true,
        verb: ra.verb ?? "",
        apiGroup: ra.group ?? "",
        resource: ra.resource ?? "",
        ...(ra.subresource ? { subresource: ra.subresource } : {}),
        ...(ra.name ? { name: ra.name } : {}),
        ...(ra.namespace ? { namespace: ra.namespace } : {}),
      }
    : { resourceRequest: false, verb: nra!.verb ?? "", path: nra!.path ?? "" };
  let status: { allowed: boolean; reason?: string };
  if (isSuperuser(user)) status = { allowed: true, reason: "system:masters is allowed everything" };
  else {
    const policy = await loadPolicy(env, a.resourceRequest ? (a.namespace ?? "") : "");
    const d = policy.decide(user, a);
    status = d.reason ? { allowed: d.allowed, reason: d.reason } : { allowed: d.allowed };
  }
  return { kind: "SelfSubjectAccessReview", apiVersion: "authorization.k8s.io/v1", metadata: meta(body), spec, status };
}

export async function selfSubjectRulesReview(env: Env, req: Request, user: UserInfo): Promise<Record<string, unknown>> {
  const body = await reviewBody(req, "authorization.k8s.io/v1", "SelfSubjectRulesReview");
  const spec = (body.spec ?? {}) as { namespace?: string };
  const namespace = spec.namespace ?? "";
  const rules: PolicyRule[] = isSuperuser(user) ? SUPERUSER_RULES : (await loadPolicy(env, namespace)).rulesFor(user, namespace).map((r) => r.rule);
  const resourceRules = rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) }));
  const nonResourceRules = rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
  return {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: meta(body),
    spec,
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}
