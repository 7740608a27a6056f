import { groups, groupVersion, KINDS } from "../resources/index.ts";
import { FULL_VERBS, type ResourceKind } from "../resources/types.ts";

/** Legacy (unaggregated) discovery documents: /api, /apis, /api/v1, /apis/<g>/<v>, /version. */

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-edgeplane",
  gitCommit: "edgeplane",
  gitTreeState: "clean",
  buildDate: "2026-11-01T00:00:00Z",
  goVersion: "n/a (workerd)",
  compiler: "n/a",
  platform: "cloudflare/workers",
};

/** Verbs and kinds of each subresource, as discovery advertises them. */
const SUBRESOURCE_VERBS: Record<string, { verbs: string[]; kind?: string; group?: string; version?: string }> = {
  status: { verbs: ["get", "patch", "update"] },
  scale: { verbs: ["get", "patch", "update"], kind: "Scale", group: "autoscaling", version: "v1" },
  binding: { verbs: ["create"], kind: "Binding" },
  eviction: { verbs: ["create"], kind: "Eviction", group: "policy", version: "v1" },
  log: { verbs: ["get"], kind: "Pod" },
  exec: { verbs: ["create", "get"], kind: "PodExecOptions" },
  attach: { verbs: ["create", "get"], kind: "PodAttachOptions" },
  portforward: { verbs: ["create", "get"], kind: "PodPortForwardOptions" },
  proxy: { verbs: ["create", "delete", "get", "patch", "update"], kind: "ServiceProxyOptions" },
  ephemeralcontainers: { verbs: ["get", "patch", "update"] },
  finalize: { verbs: ["update"] },
  token: { verbs: ["create"], kind: "TokenRequest", group: "authentication.k8s.io", version: "v1" },
};

function resourceEntries(k: ResourceKind) {
  const main = {
    name: k.plural,
    singularName: k.singular,
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: k.verbs ?? FULL_VERBS,
    ...(k.shortNames?.length ? { shortNames: k.shortNames } : {}),
    ...(k.categories?.length ? { categories: k.categories } : {}),
    storageVersionHash: btoa(`${groupVersion(k)}/${k.kind}`).slice(0, 11),
  };
  const subs = (k.subresources ?? []).map((s) => {
    const d = SUBRESOURCE_VERBS[s] ?? { verbs: ["get"] };
    return {
      name: `${k.plural}/${s}`,
      singularName: "",
      namespaced: k.namespaced,
      kind: d.kind ?? k.kind,
      ...(d.group !== undefined ? { group: d.group, version: d.version } : {}),
      verbs: d.verbs,
    };
  });
  return [main, ...subs];
}

/** Create-only review resources answered by src/auth/ (never stored, so not in KINDS). */
const REVIEW_GROUPS: Record<string, { kind: string; name: string; singularName: string }[]> = {
  "authentication.k8s.io": [{ name: "selfsubjectreviews", singularName: "selfsubjectreview", kind: "SelfSubjectReview" }],
  "authorization.k8s.io": [
    { name: "selfsubjectaccessreviews", singularName: "selfsubjectaccessreview", kind: "SelfSubjectAccessReview" },
    { name: "selfsubjectrulesreviews", singularName: "selfsubjectrulesreview", kind: "SelfSubjectRulesReview" },
  ],
};

const reviewGroup = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
  preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
});

export function apiVersions() {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "" }],
  };
}

export function apiGroupList() {
  const list = [...groups()]
    .filter(([g]) => g !== "")
    .map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  return { kind: "APIGroupList", apiVersion: "v1", groups: [...list, ...Object.keys(REVIEW_GROUPS).map(reviewGroup)] };
}

export function apiGroup(name: string) {
  if (REVIEW_GROUPS[name]) return { kind: "APIGroup", apiVersion: "v1", ...reviewGroup(name) };
  const versions = groups().get(name);
  if (!versions || name === "") return undefined;
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

export function apiResourceList(group: string, version: string) {
  const reviews = REVIEW_GROUPS[group];
  if (reviews && version === "v1")
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: `${group}/v1`,
      resources: reviews.map((r) => ({ ...r, namespaced: false, verbs: ["create"], storageVersionHash: "" })),
    };
  const kinds = KINDS.filter((k) => k.group === group && k.version === version);
  if (kinds.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: kinds.flatMap(resourceEntries),
  };
}
