import { badRequest } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { AUTHENTICATED_GROUP, type UserInfo } from "./authn.ts";
import { forbiddenFor, isSuperuser, loadPolicy } from "./authorizer.ts";
import type { Attributes } from "./rbac.ts";

/**
 * User impersonation (`kubectl --as USER --as-group G --as-uid U`): the caller needs the
 * `impersonate` verb on users (or serviceaccounts), groups and uids, as in Kubernetes; the
 * request then runs as the impersonated user. Extra fields are not supported.
 */

export async function impersonate(env: Env, caller: UserInfo, headers: Headers): Promise<UserInfo> {
  // Header names come lower-cased; most requests impersonate no one: one pass tells.
  let impersonating = false;
  let hasExtra = false;
  for (const k of headers.keys()) {
    if (!k.startsWith("impersonate-")) continue;
    impersonating = true;
    if (k.startsWith("impersonate-extra-")) hasExtra = true;
  }
  if (!impersonating) return caller;
  const username = headers.get("impersonate-user");
  const groupsHeader = headers.get("impersonate-group");
  const uid = headers.get("impersonate-uid");
  if (username === null) {
    if (groupsHeader !== null || uid !== null || hasExtra) throw badRequest("requested impersonation of groups, uid or extra fields without impersonating a user");
    return caller;
  }
  if (hasExtra) throw badRequest("impersonating user extra fields (Impersonate-Extra-*) is not supported");
  if (!username) throw badRequest("Impersonate-User must not be empty");
  // Several Impersonate-Group headers arrive joined by ", ".
  const groups = groupsHeader === null ? [] : groupsHeader.split(",").map((g) => g.trim()).filter(Boolean);
  const checks: Attributes[] = [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  checks.push(
    sa
      ? { resourceRequest: true, verb: "impersonate", apiGroup: "", resource: "serviceaccounts", namespace: sa[1], name: sa[2] }
      : { resourceRequest: true, verb: "impersonate", apiGroup: "", resource: "users", name: username },
  );
  for (const g of groups) checks.push({ resourceRequest: true, verb: "impersonate", apiGroup: "", resource: "groups", name: g });
  if (uid !== null) checks.push({ resourceRequest: true, verb: "impersonate", apiGroup: "authentication.k8s.io", resource: "uids", name: uid });
  if (!isSuperuser(caller)) {
    const cluster = await loadPolicy(env, "");
    const inNamespace = sa ? await loadPolicy(env, sa[1]) : cluster;
    for (const a of checks) if (!(a.namespace ? inNamespace : cluster).decide(caller, a).allowed) throw forbiddenFor(caller, a);
  }
  const all = username === "system:anonymous" || groups.includes(AUTHENTICATED_GROUP) ? groups : [...groups, AUTHENTICATED_GROUP];
  return { username, uid: uid ?? "", groups: all };
}
