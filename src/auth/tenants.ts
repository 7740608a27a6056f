import { defaultAndValidate } from "../api/admission.ts";
import { expectObject, readBody } from "../api/body.ts";
import { ApiError, badRequest, invalid } from "../api/errors.ts";
import { SYSTEM_NAMESPACES } from "../controllers/bootstrap.ts";
import type { Env } from "../env.ts";
import { namespaceKind } from "../resources/namespace.ts";
import { resourceQuotaKind } from "../resources/resourcequota.ts";
import { roleBindingKind } from "../resources/rolebinding.ts";
import type { FieldError, KubeObject } from "../resources/types.ts";
import { dns1123Label } from "../resources/validation.ts";
import { ObjectStore } from "../store/object-store.ts";
import { issueToken, revokeTenantTokens, tenantUid } from "./authn.ts";
import { RBAC_GROUP } from "./rbac.ts";

/**
 * Tenants (admin only, under /edgeplane/v1/tenants): a tenant owns a set of namespaces,
 * labelled `edgeplane.dev/tenant=<name>`, where its group is bound to the `admin` ClusterRole,
 * and gets bearer tokens for the user `tenant:<name>` in the group `edgeplane:tenant:<name>`.
 */

export const TENANT_LABEL = "edgeplane.dev/tenant";
/** New tenant namespaces enforce the baseline Pod Security Standard (the admin may relabel them). */
export const TENANT_POD_SECURITY = { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "latest" };
export const TENANT_BINDING = "edgeplane-tenant-admin";
/** The ResourceQuota `tenant create --quota` puts in each of the tenant's namespaces. */
export const TENANT_QUOTA = "edgeplane-tenant-quota";
export const tenantUser = (tenant: string) => `tenant:${tenant}`;
export const tenantGroup = (tenant: string) => `edgeplane:tenant:${tenant}`;

/** Default token lifetime: 90 days. */
const DEFAULT_TTL_SECONDS = 90 * 24 * 3600;

const subject = { group: "edgeplane.dev", plural: "tenants", kind: "Tenant" };

export async function createTenant(env: Env, req: Request): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = expectObject(await readBody(req));
  const name = body.name;
  const namespaces = body.namespaces;
  const ttl = body.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (typeof name !== "string") throw badRequest("tenant name is required");
  const errs = dns1123Label(name, "name");
  if (!Array.isArray(namespaces) || namespaces.length === 0 || !namespaces.every((n) => typeof n === "string"))
    errs.push({ field: "namespaces", message: "Required value: at least one namespace name", reason: "FieldValueRequired" });
  else
    for (const [i, ns] of (namespaces as string[]).entries()) {
      errs.push(...dns1123Label(ns, `namespaces[${i}]`));
      if (SYSTEM_NAMESPACES.includes(ns)) errs.push({ field: `namespaces[${i}]`, message: `Invalid value: "${ns}": is a system namespace`, reason: "FieldValueInvalid" });
    }
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) errs.push({ field: "ttlSeconds", message: "Invalid value: must be a non-negative integer", reason: "FieldValueInvalid" });
  const quota = tenantQuota(body.quota, errs);
  if (errs.length > 0) throw invalid(subject, String(name), errs);

  const store = new ObjectStore(env);
  // refuse before writing anything if a namespace belongs to someone else
  for (const ns of namespaces as string[]) {
    const existing = await store.tryGet(namespaceKind, "", ns);
    const owner = existing?.metadata.labels?.[TENANT_LABEL];
    if (existing && owner !== name)
      throw new ApiError(409, "Conflict", `namespace "${ns}" already exists and ${owner ? `belongs to tenant "${owner}"` : "belongs to no tenant"}`, {
        name: ns,
        kind: "namespaces",
      });
  }
  for (const ns of namespaces as string[]) {
    if (!(await store.tryGet(namespaceKind, "", ns))) {
      const obj: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { [TENANT_LABEL]: name, "kubernetes.io/metadata.name": ns, ...TENANT_POD_SECURITY } } };
      defaultAndValidate(namespaceKind, obj);
      await createIgnoringExisting(store, namespaceKind, obj);
    }
    if (!(await store.tryGet(roleBindingKind, ns, TENANT_BINDING))) {
      const rb: KubeObject = {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: "RoleBinding",
        metadata: { name: TENANT_BINDING, namespace: ns, labels: { [TENANT_LABEL]: name } },
        subjects: [{ kind: "Group", apiGroup: RBAC_GROUP, name: tenantGroup(name) }],
        roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: "admin" },
      };
      defaultAndValidate(roleBindingKind, rb);
      await createIgnoringExisting(store, roleBindingKind, rb);
    }
    if (quota) await applyTenantQuota(store, ns, name, quota);
  }
  const uid = (await tenantUid(env, name)) ?? crypto.randomUUID();
  const issued = await issueToken(env, { username: tenantUser(name), uid, groups: [tenantGroup(name)], tenant: name, ttlSeconds: ttl as number });
  return {
    status: 201,
    body: {
      kind: "Tenant",
      apiVersion: "edgeplane.dev/v1",
      name,
      namespaces,
      ...(quota ? { quota } : {}),
      user: { username: tenantUser(name), uid, groups: [tenantGroup(name)] },
      token: issued.token,
      expirationTimestamp: issued.expiresAt === null ? null : new Date(issued.expiresAt).toISOString().replace(/\.\d+Z$/, "Z"),
    },
  };
}

/** `quota` of the request (a map of resource names to quantities, as a ResourceQuota's spec.hard), validated. */
function tenantQuota(quota: unknown, errs: FieldError[]): Record<string, string> | undefined {
  if (quota === undefined || quota === null) return undefined;
  const rq: KubeObject = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: TENANT_QUOTA, namespace: "x" }, spec: { hard: quota } };
  resourceQuotaKind.defaults?.(rq);
  for (const e of resourceQuotaKind.validate?.(rq) ?? [])
    errs.push({ field: e.field.replace(/^spec\.hard/, "quota"), message: e.message, reason: e.reason ?? "FieldValueInvalid" });
  return (rq.spec as { hard: Record<string, string> }).hard;
}

/** Each of a tenant's namespaces gets (or has updated) the tenant's ResourceQuota; the tenant's `admin` role cannot change it. */
async function applyTenantQuota(store: ObjectStore, ns: string, tenant: string, hard: Record<string, string>): Promise<void> {
  const existing = await store.tryGet(resourceQuotaKind, ns, TENANT_QUOTA);
  if (existing) {
    await store.modify(resourceQuotaKind, ns, TENANT_QUOTA, (rq) => {
      rq.spec = { ...((rq.spec as object) ?? {}), hard };
      defaultAndValidate(resourceQuotaKind, rq, existing);
      return rq;
    });
    return;
  }
  const rq: KubeObject = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: TENANT_QUOTA, namespace: ns, labels: { [TENANT_LABEL]: tenant } }, spec: { hard } };
  defaultAndValidate(resourceQuotaKind, rq);
  await createIgnoringExisting(store, resourceQuotaKind, rq);
}

async function createIgnoringExisting(store: ObjectStore, kind: typeof namespaceKind, obj: KubeObject): Promise<void> {
  try {
    await store.create(kind, obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
}

export async function revokeTenant(env: Env, tenant: string): Promise<Record<string, unknown>> {
  return { kind: "TenantTokenRevocation", apiVersion: "edgeplane.dev/v1", name: tenant, revoked: await revokeTenantTokens(env, tenant) };
}
