import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import type { Env } from "../env.ts";
import type { KubeObject } from "../resources/types.ts";
import { openDb } from "../store/revision-log.ts";
import { SUPERUSER_GROUP, type UserInfo } from "./authn.ts";
import { BUILTIN_CLUSTER_ROLE_BINDINGS, BUILTIN_CLUSTER_ROLES } from "./default-roles.ts";
import {
  bindingApplies,
  describeRule,
  forbiddenMessage,
  RBAC_GROUP,
  ruleAllows,
  SUPERUSER_RULES,
  uncovered,
  type Attributes,
  type Binding,
  type PolicyRule,
  type Role,
  type RoleRef,
} from "./rbac.ts";

/**
 * The RBAC authorizer: the built-in roles plus the Role/ClusterRole/RoleBinding/ClusterRoleBinding
 * objects, read from D1 in one query per request (cluster scope plus the request's namespace).
 * system:masters is allowed everything without reading anything.
 */

const RESOURCES = ["roles", "clusterroles", "rolebindings", "clusterrolebindings"].map((p) => `${RBAC_GROUP}/${p}`);

export const isSuperuser = (user: UserInfo) => user.groups.includes(SUPERUSER_GROUP);

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export class Policy {
  private readonly roles = new Map<string, Role & { labels: Record<string, string>; aggregation?: LabelSelector[] }>();
  readonly bindings: Binding[] = [...BUILTIN_CLUSTER_ROLE_BINDINGS];

  constructor(objects: KubeObject[]) {
    for (const r of BUILTIN_CLUSTER_ROLES) this.roles.set(`ClusterRole//${r.name}`, { ...r, labels: {} });
    for (const o of objects) {
      const ns = o.metadata.namespace ?? "";
      if (o.kind === "Role" || o.kind === "ClusterRole") {
        const key = `${o.kind}/${o.kind === "Role" ? ns : ""}/${o.metadata.name}`;
        if (this.roles.has(key)) continue; // built-ins win
        const aggregation = (o.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined)?.clusterRoleSelectors;
        this.roles.set(key, {
          kind: o.kind,
          name: o.metadata.name!,
          namespace: o.kind === "Role" ? ns : "",
          rules: (o.rules as PolicyRule[] | undefined) ?? [],
          labels: o.metadata.labels ?? {},
          ...(aggregation ? { aggregation } : {}),
        });
      } else if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
        this.bindings.push({
          kind: o.kind,
          name: o.metadata.name!,
          namespace: o.kind === "RoleBinding" ? ns : "",
          subjects: (o.subjects as Binding["subjects"] | undefined) ?? [],
          roleRef: o.roleRef as RoleRef,
        });
      }
    }
  }

  /** The rules a role reference grants, or undefined when the role does not exist. */
  roleRules(ref: RoleRef, bindingNamespace: string): PolicyRule[] | undefined {
    const role = this.roles.get(`${ref.kind}/${ref.kind === "Role" ? bindingNamespace : ""}/${ref.name}`);
    if (!role) return undefined;
    if (!role.aggregation) return role.rules;
    // aggregated ClusterRoles: their own rules plus those of every ClusterRole a selector matches
    const rules = [...role.rules];
    for (const other of this.roles.values())
      if (other.kind === "ClusterRole" && other !== role && !other.aggregation && role.aggregation.some((s) => selectorMatches(s, other.labels)))
        rules.push(...other.rules);
    return rules;
  }

  /** Every rule that applies to the user in a namespace ("" = cluster-wide bindings only), with where it came from. */
  rulesFor(user: UserInfo, namespace: string): { rule: PolicyRule; via: Binding }[] {
    if (isSuperuser(user)) return SUPERUSER_RULES.map((rule) => ({ rule, via: BUILTIN_CLUSTER_ROLE_BINDINGS[0] }));
    const out: { rule: PolicyRule; via: Binding }[] = [];
    for (const b of this.bindings) {
      if (b.kind === "RoleBinding" && (!namespace || b.namespace !== namespace)) continue;
      if (!bindingApplies(b, user)) continue;
      for (const rule of this.roleRules(b.roleRef, b.namespace) ?? []) out.push({ rule, via: b });
    }
    return out;
  }

  decide(user: UserInfo, a: Attributes): { allowed: boolean; reason: string } {
    if (isSuperuser(user)) return { allowed: true, reason: "" };
    for (const { rule, via } of this.rulesFor(user, a.resourceRequest ? (a.namespace ?? "") : "")) {
      if (!ruleAllows(rule, a)) continue;
      const where = via.kind === "RoleBinding" ? `RoleBinding "${via.name}/${via.namespace}"` : `ClusterRoleBinding "${via.name}"`;
      return { allowed: true, reason: `RBAC: allowed by ${where} of ${via.roleRef.kind} "${via.roleRef.name}"` };
    }
    return { allowed: false, reason: "" };
  }

  /** Namespaces (among RoleBinding namespaces and named grants) where the user may get the Namespace object itself. */
  gettableNamespaces(user: UserInfo): Set<string> | "all" {
    if (this.decide(user, { resourceRequest: true, verb: "get", apiGroup: "", resource: "namespaces" }).allowed) return "all";
    const candidates = new Set<string>();
    for (const b of this.bindings) if (b.kind === "RoleBinding" && bindingApplies(b, user)) candidates.add(b.namespace);
    for (const { rule } of this.rulesFor(user, "")) for (const n of rule.resourceNames ?? []) candidates.add(n);
    const out = new Set<string>();
    for (const ns of candidates)
      if (this.decide(user, { resourceRequest: true, verb: "get", apiGroup: "", resource: "namespaces", namespace: ns, name: ns }).allowed) out.add(ns);
    return out;
  }
}

/** Reads the RBAC objects of the cluster scope and of `namespace` (undefined: of every namespace). */
export async function loadPolicy(env: Env, namespace: string | undefined): Promise<Policy> {
  const db = openDb(env.DB);
  const [r0, r1, r2, r3] = RESOURCES;
  const rows =
    namespace === undefined
      ? await db.all<{ value: string }>(sql`SELECT value FROM objects WHERE resource IN (${r0}, ${r1}, ${r2}, ${r3})`)
      : await db.all<{ value: string }>(
          sql`SELECT value FROM objects WHERE resource IN (${r0}, ${r1}, ${r2}, ${r3}) AND namespace IN ('', ${namespace})`,
        );
  return new Policy(rows.map((r) => JSON.parse(r.value) as KubeObject));
}

/** Allows the request or throws Kubernetes' 403. */
export async function authorize(env: Env, user: UserInfo, a: Attributes): Promise<void> {
  if (isSuperuser(user)) return;
  const policy = await loadPolicy(env, a.resourceRequest ? (a.namespace ?? "") : "");
  if (!policy.decide(user, a).allowed) throw forbiddenFor(user, a);
}

export function forbiddenFor(user: UserInfo, a: Attributes): ApiError {
  const details = a.resourceRequest ? { ...(a.name ? { name: a.name } : {}), group: a.apiGroup ?? "", kind: a.resource ?? "" } : undefined;
  return new ApiError(403, "Forbidden", forbiddenMessage(user.username, a), details);
}

const describeUser = (user: UserInfo) => `user ${JSON.stringify(user.username)} (groups=[${user.groups.map((g) => JSON.stringify(g)).join(" ")}])`;

/**
 * Escalation prevention for writes of RBAC objects: a Role/ClusterRole may only grant what the
 * writer holds (or the writer has `escalate` on it); a binding may only reference a role whose
 * rules the writer holds in that namespace (or the writer has `bind` on that role).
 */
export async function checkRbacWrite(env: Env, user: UserInfo, obj: KubeObject, loaded?: Policy): Promise<void> {
  if (isSuperuser(user)) return;
  const kind = obj.kind;
  const namespace = kind === "Role" || kind === "RoleBinding" ? (obj.metadata.namespace ?? "") : "";
  const plural = `${kind.toLowerCase()}s`;
  const name = obj.metadata.name ?? "";
  // the request's policy covers the object's namespace: the URL and the object agree (admission checks it)
  const policy = loaded ?? (await loadPolicy(env, namespace));
  const deny = (why: string) =>
    new ApiError(403, "Forbidden", `${plural}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: ${why}`, { name, group: RBAC_GROUP, kind: plural });
  let granted: PolicyRule[];
  if (kind === "Role" || kind === "ClusterRole") {
    if (policy.decide(user, { resourceRequest: true, verb: "escalate", apiGroup: RBAC_GROUP, resource: plural, namespace, name }).allowed) return;
    // an aggregated ClusterRole may gather any ClusterRole's rules: only full authority may write one
    granted = obj.aggregationRule ? SUPERUSER_RULES : ((obj.rules as PolicyRule[] | undefined) ?? []);
  } else if (kind === "RoleBinding" || kind === "ClusterRoleBinding") {
    const ref = obj.roleRef as RoleRef;
    const refPlural = ref.kind === "Role" ? "roles" : "clusterroles";
    if (policy.decide(user, { resourceRequest: true, verb: "bind", apiGroup: RBAC_GROUP, resource: refPlural, namespace, name: ref.name }).allowed) return;
    const rules = policy.roleRules(ref, namespace);
    if (!rules) throw deny(`${describeUser(user)} cannot bind ${ref.kind} ${JSON.stringify(ref.name)}: it does not exist${ref.kind === "Role" ? ` in the namespace ${JSON.stringify(namespace)}` : ""}`);
    granted = rules;
  } else return;
  const missing = uncovered(
    policy.rulesFor(user, namespace).map((r) => r.rule),
    granted,
  );
  if (missing.length > 0)
    throw deny(`${describeUser(user)} is attempting to grant RBAC permissions not currently held:\n${missing.map(describeRule).join("\n")}`);
}
