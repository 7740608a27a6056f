import { describe, expect, it } from "vitest";
import { forbiddenMessage, requestAttributes, ruleAllows, uncovered, type Attributes, type PolicyRule } from "../../src/auth/rbac.ts";

const res = (verb: string, resource: string, o: Partial<Attributes> = {}): Attributes => ({ resourceRequest: true, verb, apiGroup: "", resource, ...o });

describe("rule matching", () => {
  const rule: PolicyRule = { verbs: ["get", "list"], apiGroups: ["", "apps"], resources: ["pods", "pods/log", "deployments"] };

  it("matches verb, group and resource, subresources only when listed", () => {
    expect(ruleAllows(rule, res("get", "pods"))).toBe(true);
    expect(ruleAllows(rule, res("list", "deployments", { apiGroup: "apps" }))).toBe(true);
    expect(ruleAllows(rule, res("delete", "pods"))).toBe(false);
    expect(ruleAllows(rule, res("get", "pods", { apiGroup: "batch" }))).toBe(false);
    expect(ruleAllows(rule, res("get", "pods", { subresource: "log" }))).toBe(true);
    expect(ruleAllows(rule, res("get", "pods", { subresource: "exec" }))).toBe(false);
    expect(ruleAllows(rule, res("get", "secrets"))).toBe(false);
  });

  it("handles wildcards, */subresource and resourceNames", () => {
    expect(ruleAllows({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, res("escalate", "roles", { apiGroup: "rbac.authorization.k8s.io" }))).toBe(true);
    expect(ruleAllows({ verbs: ["get"], apiGroups: ["*"], resources: ["*/status"] }, res("get", "deployments", { subresource: "status" }))).toBe(true);
    expect(ruleAllows({ verbs: ["get"], apiGroups: ["*"], resources: ["*/status"] }, res("get", "deployments"))).toBe(false);
    const named: PolicyRule = { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] };
    expect(ruleAllows(named, res("get", "configmaps", { name: "a" }))).toBe(true);
    expect(ruleAllows(named, res("get", "configmaps", { name: "b" }))).toBe(false);
    // a named rule never allows a whole collection
    expect(ruleAllows({ ...named, verbs: ["list"] }, res("list", "configmaps"))).toBe(false);
  });

  it("matches non-resource URLs exactly or by a trailing *", () => {
    const r: PolicyRule = { verbs: ["get"], nonResourceURLs: ["/version", "/apis/*"] };
    const path = (p: string, verb = "get"): Attributes => ({ resourceRequest: false, verb, path: p });
    expect(ruleAllows(r, path("/version"))).toBe(true);
    expect(ruleAllows(r, path("/apis/apps/v1"))).toBe(true);
    expect(ruleAllows(r, path("/api"))).toBe(false);
    expect(ruleAllows(r, path("/version", "post"))).toBe(false);
    expect(ruleAllows(r, res("get", "version"))).toBe(false);
  });
});

describe("escalation coverage", () => {
  const owner: PolicyRule[] = [
    { verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "configmaps"] },
    { verbs: ["get"], apiGroups: [""], resources: ["secrets"], resourceNames: ["s1"] },
  ];
  it("covers subsets and reports each missing permission", () => {
    expect(uncovered(owner, [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }])).toEqual([]);
    expect(uncovered(owner, [{ verbs: ["get"], apiGroups: [""], resources: ["secrets"], resourceNames: ["s1"] }])).toEqual([]);
    expect(uncovered(owner, [{ verbs: ["get", "delete"], apiGroups: [""], resources: ["pods"] }])).toEqual([{ verbs: ["delete"], apiGroups: [""], resources: ["pods"] }]);
    expect(uncovered(owner, [{ verbs: ["get"], apiGroups: [""], resources: ["secrets"] }])).toEqual([{ verbs: ["get"], apiGroups: [""], resources: ["secrets"] }]);
  });
  it("covers a wildcard only with a wildcard", () => {
    expect(uncovered(owner, [{ verbs: ["*"], apiGroups: [""], resources: ["pods"] }])).toHaveLength(1);
    expect(uncovered([{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }])).toEqual([]);
    expect(uncovered([{ verbs: ["get"], nonResourceURLs: ["/apis/*"] }], [{ verbs: ["get"], nonResourceURLs: ["/apis/apps"] }])).toEqual([]);
    expect(uncovered([{ verbs: ["get"], nonResourceURLs: ["/apis/*"] }], [{ verbs: ["get"], nonResourceURLs: ["*"] }])).toHaveLength(1);
  });
});

describe("request attributes", () => {
  const at = (method: string, url: string) => requestAttributes(method, new URL(`https://x${url}`));
  it("derives verbs, namespaces and subresources as kube-apiserver's RequestInfo", () => {
    expect(at("GET", "/api/v1/namespaces/a/pods")).toEqual({ resourceRequest: true, verb: "list", apiGroup: "", resource: "pods", namespace: "a" });
    expect(at("GET", "/api/v1/namespaces/a/pods?watch=true")).toMatchObject({ verb: "watch" });
    expect(at("GET", "/api/v1/namespaces/a/pods?watch=1&fieldSelector=metadata.name%3Dp1")).toMatchObject({ verb: "watch", name: "p1" });
    expect(at("GET", "/api/v1/namespaces/a/pods/p/log")).toEqual({ resourceRequest: true, verb: "get", apiGroup: "", resource: "pods", name: "p", subresource: "log", namespace: "a" });
    expect(at("GET", "/api/v1/namespaces/a/pods/p/exec?command=sh")).toMatchObject({ verb: "create", subresource: "exec", name: "p" });
    expect(at("POST", "/api/v1/namespaces/a/pods/p/portforward")).toMatchObject({ verb: "create", subresource: "portforward" });
    expect(at("DELETE", "/apis/apps/v1/namespaces/a/deployments")).toMatchObject({ verb: "deletecollection", apiGroup: "apps", resource: "deployments" });
    expect(at("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale")).toMatchObject({ verb: "patch", subresource: "scale", name: "d" });
    expect(at("GET", "/api/v1/namespaces/a")).toEqual({ resourceRequest: true, verb: "get", apiGroup: "", resource: "namespaces", name: "a", namespace: "a" });
    expect(at("PUT", "/api/v1/namespaces/a/finalize")).toMatchObject({ verb: "update", resource: "namespaces", name: "a", subresource: "finalize", namespace: "a" });
    expect(at("POST", "/api/v1/namespaces")).toEqual({ resourceRequest: true, verb: "create", apiGroup: "", resource: "namespaces" });
    expect(at("GET", "/api/v1/nodes")).toEqual({ resourceRequest: true, verb: "list", apiGroup: "", resource: "nodes" });
    expect(at("GET", "/apis/apps/v1")).toEqual({ resourceRequest: false, verb: "get", path: "/apis/apps/v1" });
    expect(at("POST", "/edgeplane/v1/tenants")).toEqual({ resourceRequest: false, verb: "post", path: "/edgeplane/v1/tenants" });
  });

  it("formats denials as kube-apiserver", () => {
    expect(forbiddenMessage("u", res("list", "pods", { namespace: "y" }))).toBe('pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "y"');
    expect(forbiddenMessage("u", res("get", "deployments", { apiGroup: "apps", name: "d", namespace: "y", subresource: "scale" }))).toBe(
      'deployments.apps "d" is forbidden: User "u" cannot get resource "deployments/scale" in API group "apps" in the namespace "y"',
    );
    expect(forbiddenMessage("u", res("list", "nodes"))).toBe('nodes is forbidden: User "u" cannot list resource "nodes" in API group "" at the cluster scope');
    expect(forbiddenMessage("u", { resourceRequest: false, verb: "get", path: "/metrics" })).toBe('forbidden: User "u" cannot get path "/metrics"');
  });
});
