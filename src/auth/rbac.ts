import { badRequest } from "../api/errors.ts";
import type { UserInfo } from "./authn.ts";

/**
 * RBAC, pure: policy rules, subjects, role references, request attributes, rule matching,
 * the coverage check behind escalation prevention, and Kubernetes' denial messages.
 * Loading the objects from the store is src/auth/authorizer.ts.
 */

export const RBAC_GROUP = "rbac.authorization.k8s.io";

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string; // User | Group | ServiceAccount
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string; // Role | ClusterRole
  name: string;
}

export interface Binding {
  kind: "RoleBinding" | "ClusterRoleBinding";
  name: string;
  /** "" for ClusterRoleBindings. */
  namespace: string;
  subjects: Subject[];
  roleRef: RoleRef;
}

export interface Role {
  kind: "Role" | "ClusterRole";
  name: string;
  namespace: string;
  rules: PolicyRule[];
}

/** What a request asks to do, as kube-apiserver's RequestInfo + authorizer.Attributes. */
export interface Attributes {
  verb: string;
  resourceRequest: boolean;
  /** Resource requests. */
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  /** Non-resource requests: the URL path. */
  path?: string;
}

export const ALL = "*";

function has(list: string[] | undefined, value: string): boolean {
  return !!list && (list.includes(ALL) || list.includes(value));
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    // "*/status" matches any resource's status subresource
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function pathMatches(patterns: string[] | undefined, path: string): boolean {
  for (const p of patterns ?? []) {
    if (p === ALL || p === path) return true;
    if (p.endsWith("*") && path.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows a request. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return pathMatches(rule.nonResourceURLs, a.path ?? "");
  if (!has(rule.apiGroups, a.apiGroup ?? "")) return false;
  if (!resourceMatches(rule, a.resource ?? "", a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return !!a.name && names.includes(a.name);
}

/** Whether a binding's subjects include the user (ServiceAccount subjects match their token users). */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.username;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount":
      return user.username === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

export const bindingApplies = (b: Binding, user: UserInfo) => b.subjects.some((s) => subjectMatches(s, user, b.namespace));

/** A rule set that allows everything, as system:masters has. */
export const SUPERUSER_RULES: PolicyRule[] = [
  { verbs: [ALL], apiGroups: [ALL], resources: [ALL] },
  { verbs: [ALL], nonResourceURLs: [ALL] },
];

/**
 * Whether `owner` rules cover every permission `servant` rules grant (escalation prevention,
 * as Kubernetes' validation.Covers): each servant rule is split into single
 * verb/group/resource/name permissions, and a servant "*" is only covered by an owner "*".
 * Returns the permissions not covered (empty: covered).
 */
export function uncovered(owner: PolicyRule[], servant: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of servant) {
    for (const verb of rule.verbs) {
      if (rule.nonResourceURLs?.length) {
        for (const url of rule.nonResourceURLs)
          if (!owner.some((o) => has(o.verbs, verb) && pathCovers(o.nonResourceURLs, url))) missing.push({ verbs: [verb], nonResourceURLs: [url] });
        continue;
      }
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? []) {
          const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
          for (const name of names) {
            const ok = owner.some(
              (o) =>
                has(o.verbs, verb) &&
                has(o.apiGroups, group) &&
                resourceCovers(o.resources, resource) &&
                (!o.resourceNames?.length || (name !== undefined && o.resourceNames.includes(name))),
            );
            if (!ok) missing.push({ verbs: [verb], apiGroups: [group], resources: [resource], ...(name !== undefined ? { resourceNames: [name] } : {}) });
          }
        }
    }
  }
  return missing;
}

function resourceCovers(ownerResources: string[] | undefined, resource: string): boolean {
  for (const r of ownerResources ?? []) {
    if (r === ALL || r === resource) return true;
    const slash = resource.indexOf("/");
    if (slash > 0 && r === `*${resource.slice(slash)}`) return true;
  }
  return false;
}

function pathCovers(ownerPaths: string[] | undefined, path: string): boolean {
  for (const p of ownerPaths ?? []) {
    if (p === ALL || p === path) return true;
    if (p.endsWith("*") && path.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/** A permission in Kubernetes' compact text form, for escalation messages. */
export function describeRule(r: PolicyRule): string {
  if (r.nonResourceURLs?.length) return `{NonResourceURLs:[${r.nonResourceURLs.join(" ")}], Verbs:[${r.verbs.join(" ")}]}`;
  const names = r.resourceNames?.length ? ` ResourceNames:[${r.resourceNames.join(" ")}]` : "";
  return `{APIGroups:[${(r.apiGroups ?? []).map((g) => JSON.stringify(g)).join(" ")}], Resources:[${(r.resources ?? [])
    .map((x) => JSON.stringify(x))
    .join(" ")}],${names} Verbs:[${r.verbs.map((v) => JSON.stringify(v)).join(" ")}]}`;
}

/** The reason part of a denial, as kube-apiserver's forbiddenMessage. */
export function forbiddenReason(username: string, a: Attributes): string {
  if (!a.resourceRequest) return `User ${JSON.stringify(username)} cannot ${a.verb} path ${JSON.stringify(a.path ?? "")}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? "");
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : "at the cluster scope";
  return `User ${JSON.stringify(username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup ?? "")} ${where}`;
}

/** The whole Status message: `pods "x" is forbidden: User ...` (or `forbidden: User ...` for paths). */
export function forbiddenMessage(username: string, a: Attributes): string {
  const reason = forbiddenReason(username, a);
  if (!a.resourceRequest) return `forbidden: ${reason}`;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  return a.name ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${reason}` : `${qualified} is forbidden: ${reason}`;
}

/**
 * kube-apiserver's RequestInfo for a URL: resource requests under /api/v1 and
 * /apis/<group>/<version>, everything else a non-resource request.
 */
export function requestAttributes(method: string, url: URL): Attributes {
  const m = method.toUpperCase();
  const path = url.pathname;
  let parts: string[];
  try {
    parts = path.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
  } catch {
    throw badRequest("the request path is not valid percent-encoded UTF-8");
  }
  // A namespace's Prometheus metrics (src/api/prometheus.ts) are its pods' data: `get` on pods there.
  if (parts.length === 5 && parts[0] === "edgeplane" && parts[1] === "v1" && parts[2] === "namespaces" && parts[4] === "metrics")
    return { resourceRequest: true, verb: m === "GET" || m === "HEAD" ? "get" : m.toLowerCase(), apiGroup: "", resource: "pods", namespace: parts[3] };
  let apiGroup = "";
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    apiGroup = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    apiGroup = parts[1];
    rest = parts.slice(3);
  } else rest = [];
  if (rest.length === 0) return { resourceRequest: false, verb: m === "HEAD" ? "get" : m.toLowerCase(), path };
  let verb: string;
  switch (m) {
    case "POST":
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = "delete";
      break;
    default:
      verb = "get";
  }
  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace = "";
  if (rest[0] === "namespaces") {
    if (rest.length > 1) {
      namespace = rest[1];
      if (rest.length > 2 && !(apiGroup === "" && rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"))) rest = rest.slice(2);
    }
  }
  const [resource, name, subresource] = rest;
  const q = url.searchParams;
  if (watchPrefix || (m === "GET" && (q.get("watch") === "true" || q.get("watch") === "1"))) verb = "watch";
  else if (m === "GET" && !name) verb = "list";
  else if (m === "DELETE" && !name) verb = "deletecollection";
  // exec/attach/portforward over a WebSocket upgrade (GET) need `create`, as since Kubernetes 1.30
  if (m === "GET" && verb === "get" && apiGroup === "" && resource === "pods" && ["exec", "attach", "portforward"].includes(subresource ?? "")) verb = "create";
  let effectiveName = name;
  // list/watch narrowed to one object with metadata.name=<x> is authorized as that object
  if (!name && (verb === "list" || verb === "watch")) {
    const fs = q.get("fieldSelector");
    const only = fs && /^metadata\.name==?([^,]+)$/.exec(fs);
    if (only) effectiveName = only[1];
  }
  return {
    resourceRequest: true,
    verb,
    apiGroup,
    resource,
    ...(subresource ? { subresource } : {}),
    ...(effectiveName ? { name: effectiveName } : {}),
    ...(namespace ? { namespace } : {}),
  };
}
