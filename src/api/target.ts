import { kindForPath } from "../resources/index.ts";
import type { ResourceKind } from "../resources/types.ts";
import { pathNotFound } from "./errors.ts";

/** What a resource URL names: kind, namespace, object and subresource. */
export interface Target {
  kind: ResourceKind;
  /** "" for cluster-scoped kinds, or for namespaced kinds listed across all namespaces. */
  namespace: string;
  /** True when a namespaced collection is addressed without a namespace (`-A`). */
  allNamespaces: boolean;
  name?: string;
  subresource?: string;
}

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/**
 * Resolves the part of the path after `/api/v1` or `/apis/<group>/<version>`:
 *   namespaces/<ns>/<plural>[/<name>[/<sub>]]  or  <plural>[/<name>[/<sub>]]
 */
export function resolveTarget(group: string, version: string, rest: string[]): Target {
  const segs = rest.filter((s) => s !== "").map((s) => decodeURIComponent(s));
  if (segs.length === 0) throw pathNotFound();
  let namespace = "";
  let tail = segs;
  if (segs[0] === "namespaces" && segs.length >= 3 && !(group === "" && segs.length === 3 && NAMESPACE_SUBRESOURCES.has(segs[2]))) {
    namespace = segs[1];
    tail = segs.slice(2);
  }
  const [plural, name, subresource, ...extra] = tail;
  const kind = kindForPath(group, version, plural);
  if (!kind) throw pathNotFound(`the server could not find the requested resource (${group ? `${plural}.${group}` : plural})`);
  if (extra.length > 0) throw pathNotFound();
  if (namespace && !kind.namespaced) throw pathNotFound();
  if (subresource && !kind.subresources?.includes(subresource))
    throw pathNotFound(`the server could not find the requested resource (${plural}/${subresource})`);
  return {
    kind,
    namespace,
    allNamespaces: kind.namespaced && !namespace,
    name,
    subresource,
  };
}
