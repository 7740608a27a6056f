import { describe, expect, it } from "vitest";
import { nodeNameOf, nodeRule, podReferences } from "../../src/auth/node-authorizer.ts";

const r = (verb: string, resource: string, extra: Record<string, string> = {}) => ({ resourceRequest: true, verb, apiGroup: "", resource, ...extra });

describe("node authorizer rules", () => {
  it("a node user is system:node:<name> in system:nodes", () => {
    expect(nodeNameOf({ username: "system:node:n1", uid: "x", groups: ["system:nodes"] })).toBe("n1");
    expect(nodeNameOf({ username: "system:node:n1", uid: "x", groups: [] })).toBeUndefined();
    expect(nodeNameOf({ username: "alice", uid: "x", groups: ["system:nodes"] })).toBeUndefined();
  });

  it("pods: list/watch only with its own nodeName selector; named pods need a look at the pod", () => {
    expect(nodeRule("n1", r("watch", "pods"), "spec.nodeName=n1")).toBe("allow");
    expect(nodeRule("n1", r("list", "pods"), "spec.nodeName=n2")).toBe("no-opinion");
    expect(nodeRule("n1", r("list", "pods"), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("list", "pods"), "spec.nodeName=n1,metadata.name=x")).toBe("no-opinion");
    expect(nodeRule("n1", r("patch", "pods", { namespace: "d", name: "p", subresource: "status" }), null)).toBe("own-pod");
    expect(nodeRule("n1", r("delete", "pods", { namespace: "d", name: "p" }), null)).toBe("own-pod");
    expect(nodeRule("n1", r("update", "pods", { namespace: "d", name: "p" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("create", "pods", { namespace: "d" }), null)).toBe("no-opinion");
  });

  it("nodes, leases, configmaps/secrets, events", () => {
    expect(nodeRule("n1", r("patch", "nodes", { name: "n1", subresource: "status" }), null)).toBe("allow");
    expect(nodeRule("n1", r("patch", "nodes", { name: "n2" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("delete", "nodes", { name: "n1" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("create", "nodes"), null)).toBe("own-name-on-create");
    const lease = (verb: string, extra: Record<string, string>) => ({ ...r(verb, "leases", { namespace: "kube-node-lease", ...extra }), apiGroup: "coordination.k8s.io" });
    expect(nodeRule("n1", lease("update", { name: "n1" }), null)).toBe("allow");
    expect(nodeRule("n1", lease("update", { name: "n2" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", { ...lease("get", { name: "n1" }), namespace: "default" }, null)).toBe("no-opinion");
    expect(nodeRule("n1", r("get", "secrets", { namespace: "d", name: "s" }), null)).toBe("used-by-pod");
    expect(nodeRule("n1", r("list", "secrets", { namespace: "d" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("create", "events", { namespace: "d" }), null)).toBe("allow");
    expect(nodeRule("n1", { resourceRequest: false, verb: "get", path: "/apis/apps/v1" }, null)).toBe("allow");
    expect(nodeRule("n1", { resourceRequest: false, verb: "post", path: "/edgeplane/v1/jointokens" }, null)).toBe("no-opinion");
  });

  it("services and endpointslices: read-only, every namespace (the service proxy)", () => {
    const slice = (verb: string, extra: Record<string, string> = {}) => ({ ...r(verb, "endpointslices", extra), apiGroup: "discovery.k8s.io" });
    expect(nodeRule("n1", slice("watch"), null)).toBe("allow");
    expect(nodeRule("n1", slice("list"), null)).toBe("allow");
    expect(nodeRule("n1", slice("get", { namespace: "d", name: "x" }), null)).toBe("allow");
    expect(nodeRule("n1", slice("create", { namespace: "d" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", slice("delete", { namespace: "d", name: "x" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("watch", "services"), null)).toBe("allow");
    expect(nodeRule("n1", r("update", "services", { namespace: "d", name: "x" }), null)).toBe("no-opinion");
    expect(nodeRule("n1", r("watch", "endpoints"), null)).toBe("no-opinion");
    // Every Node, read-only (routes to other nodes' pod CIDRs).
    expect(nodeRule("n1", r("watch", "nodes"), null)).toBe("allow");
    expect(nodeRule("n1", r("get", "nodes", { name: "n2" }), null)).toBe("allow");
    expect(nodeRule("n1", r("update", "nodes", { name: "n2" }), null)).toBe("no-opinion");
  });

  it("the ConfigMaps and Secrets a pod uses", () => {
    const refs = podReferences({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        imagePullSecrets: [{ name: "pull" }],
        initContainers: [{ name: "i", envFrom: [{ configMapRef: { name: "cm-init" } }] }],
        containers: [{ name: "c", env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s-env", key: "k" } } }], envFrom: [{ secretRef: { name: "s-from" } }] }],
        volumes: [{ name: "v", configMap: { name: "cm-vol" } }, { name: "w", projected: { sources: [{ secret: { name: "s-proj" } }] } }, { name: "d", persistentVolumeClaim: { claimName: "data" } }],
      },
    });
    expect([...refs.persistentvolumeclaims]).toEqual(["data"]);
    expect(nodeRule("n1", { resourceRequest: true, verb: "get", apiGroup: "", resource: "persistentvolumeclaims", namespace: "ns", name: "data" }, null)).toBe("used-by-pod");
    expect(nodeRule("n1", { resourceRequest: true, verb: "list", apiGroup: "", resource: "persistentvolumeclaims", namespace: "ns" }, null)).toBe("no-opinion");
    expect(nodeRule("n1", { resourceRequest: true, verb: "get", apiGroup: "", resource: "persistentvolumes", name: "pvc-1" }, null)).toBe("own-volume");
    expect(nodeRule("n1", { resourceRequest: true, verb: "delete", apiGroup: "", resource: "persistentvolumes", name: "pvc-1" }, null)).toBe("no-opinion");
    expect([...refs.configmaps].sort()).toEqual(["cm-init", "cm-vol"]);
    expect([...refs.secrets].sort()).toEqual(["pull", "s-env", "s-from", "s-proj"]);
  });
});
