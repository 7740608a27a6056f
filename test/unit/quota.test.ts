import { describe, expect, it } from "vitest";
import { reconcile } from "../../src/controllers/resource-quota.ts";
import { emptyObserved } from "../../src/controllers/observed.ts";
import { applyLimitRangeDefaults, claimLimitViolations, limitRangeViolations } from "../../src/quota/limit-ranger.ts";
import {
  countName,
  exceeds,
  formatAmount,
  hardOf,
  increase,
  missingComputeSpecs,
  objectUsage,
  quotaCovers,
  resourceOfName,
  scopeFacts,
  toNano,
} from "../../src/quota/usage.ts";
import type { KubeObject } from "../../src/resources/types.ts";

const podWith = (containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns" },
  spec: { containers, ...extra },
});
const fmt = (u: Record<string, bigint>) => Object.fromEntries(Object.entries(u).map(([k, v]) => [k, formatAmount(k, v)]));

describe("quota arithmetic", () => {
  it("adds quantities exactly and prints them canonically", () => {
    expect(formatAmount("requests.cpu", toNano("100m")! + toNano("0.9")!)).toBe("1");
    expect(formatAmount("requests.memory", toNano("1Gi")! + toNano("512Mi")!)).toBe("1536Mi");
    expect(formatAmount("pods", 5n * toNano("1")!)).toBe("5");
    expect(formatAmount("limits.cpu", toNano("250m")!)).toBe("250m");
  });

  it("charges a pod its containers' requests (defaulted from limits), the largest init container, and overhead", () => {
    const pod = podWith(
      [
        { name: "a", resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } } },
        { name: "b", resources: { limits: { cpu: "300m" } } },
      ],
      { initContainers: [{ name: "i", resources: { requests: { cpu: "1" } } }], overhead: { cpu: "10m" } },
    );
    expect(fmt(objectUsage("core/pods", pod))).toEqual({
      "count/pods": "1",
      pods: "1",
      "requests.cpu": "1010m",
      cpu: "1010m",
      "requests.memory": "64Mi",
      memory: "64Mi",
      "limits.cpu": "510m",
      "limits.memory": "128Mi",
    });
    const done = { ...pod, status: { phase: "Failed" } };
    expect(fmt(objectUsage("core/pods", done))).toEqual({ "count/pods": "1" });
  });

  it("counts services, claims and any object", () => {
    expect(fmt(objectUsage("core/services", { apiVersion: "v1", kind: "Service", metadata: {}, spec: { type: "LoadBalancer", ports: [{ port: 1 }, { port: 2 }] } }))).toEqual({
      "count/services": "1",
      services: "1",
      "services.loadbalancers": "1",
      "services.nodeports": "2",
    });
    expect(fmt(objectUsage("core/persistentvolumeclaims", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {}, spec: { resources: { requests: { storage: "5Gi" } } } }))).toEqual({
      "count/persistentvolumeclaims": "1",
      persistentvolumeclaims: "1",
      "requests.storage": "5Gi",
    });
    expect(
      fmt(objectUsage("core/persistentvolumeclaims", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {}, spec: { storageClassName: "gold", resources: { requests: { storage: "1Gi" } } } })),
    ).toEqual({
      "count/persistentvolumeclaims": "1",
      persistentvolumeclaims: "1",
      "requests.storage": "1Gi",
      "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "gold.storageclass.storage.k8s.io/requests.storage": "1Gi",
    });
    expect(resourceOfName("gold.storageclass.storage.k8s.io/requests.storage")).toBe("core/persistentvolumeclaims");
    expect(fmt(objectUsage("core/pods", podWith([{ name: "h", resources: { limits: { "hugepages-2Mi": "4Mi" } } }])))).toMatchObject({
      "requests.hugepages-2Mi": "4Mi",
      "hugepages-2Mi": "4Mi",
      "limits.hugepages-2Mi": "4Mi",
    });
    expect(countName("apps/deployments")).toBe("count/deployments.apps");
    expect(resourceOfName("count/deployments.apps")).toBe("apps/deployments");
    expect(resourceOfName("count/secrets")).toBe("core/secrets");
    expect(resourceOfName("limits.memory")).toBe("core/pods");
  });

  it("decides with Kubernetes' message, on increases only", () => {
    const hard = { "requests.cpu": toNano("2")!, pods: toNano("10")! };
    expect(exceeds("compute", hard, { "requests.cpu": toNano("1")!, pods: toNano("1")! }, { "requests.cpu": toNano("2")!, pods: toNano("1")! })).toBe(
      "exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=1, limited: requests.cpu=2",
    );
    expect(exceeds("compute", hard, { "requests.cpu": toNano("1")! }, { "requests.cpu": toNano("1")! })).toBeUndefined();
    expect(increase({ a: 5n, b: 1n }, { a: 2n, b: 3n })).toEqual({ a: 3n });
    expect(hardOf({ apiVersion: "v1", kind: "ResourceQuota", metadata: {}, spec: { hard: { memory: "1Gi" } } })).toEqual({ memory: 1073741824n * 1_000_000_000n });
  });

  it("requires per-container requests/limits a quota limits", () => {
    const pod = podWith([{ name: "x", resources: { requests: { cpu: "1" } } }, { name: "y" }]);
    expect(missingComputeSpecs(pod, ["cpu", "limits.memory", "pods"])).toBe("must specify cpu for: y; limits.memory for: x,y");
    expect(missingComputeSpecs(pod, ["pods"])).toBeUndefined();
  });

  it("matches scopes", () => {
    const q = (scopes: string[], scopeSelector?: unknown): KubeObject => ({ apiVersion: "v1", kind: "ResourceQuota", metadata: {}, spec: { hard: {}, scopes, scopeSelector } });
    const bestEffort = scopeFacts("core/pods", podWith([{ name: "c" }]));
    const burstable = scopeFacts("core/pods", podWith([{ name: "c", resources: { requests: { cpu: "1" } } }], { activeDeadlineSeconds: 5, priorityClassName: "high" }));
    expect(quotaCovers(q(["BestEffort"]), bestEffort)).toBe(true);
    expect(quotaCovers(q(["BestEffort"]), burstable)).toBe(false);
    expect(quotaCovers(q(["NotBestEffort", "Terminating"]), burstable)).toBe(true);
    expect(quotaCovers(q([], { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] }), burstable)).toBe(true);
    expect(quotaCovers(q([], { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] }), bestEffort)).toBe(false);
    expect(quotaCovers(q(["BestEffort"]), scopeFacts("core/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: {} }))).toBe(false);
    expect(quotaCovers(q([]), null)).toBe(true);
  });
});

describe("LimitRange merging", () => {
  const lr = (limits: unknown[]): KubeObject => ({ apiVersion: "v1", kind: "LimitRange", metadata: { name: "l" }, spec: { limits } });

  it("fills only what containers leave out, and notes it", () => {
    const pod = podWith([{ name: "a", resources: { limits: { cpu: "2" } } }, { name: "b" }]);
    expect(applyLimitRangeDefaults(pod, [lr([{ type: "Container", default: { cpu: "1", memory: "1Gi" }, defaultRequest: { cpu: "0.5" } }])])).toBe(true);
    const containers = (pod.spec as { containers: { resources: unknown }[] }).containers;
    expect(containers[0].resources).toEqual({ limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "2" } });
    expect(containers[1].resources).toEqual({ limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } });
    expect(pod.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBe(
      "LimitRanger plugin set: memory limit for container a; cpu request for container b; cpu, memory limit for container b",
    );
    expect(applyLimitRangeDefaults(podWith([{ name: "a" }]), [lr([{ type: "Pod", max: { cpu: "1" } }])])).toBe(false);
  });

  it("checks min, max and ratio per container and per pod", () => {
    const range = lr([
      { type: "Container", min: { cpu: "100m" }, max: { memory: "1Gi" } },
      { type: "Pod", maxLimitRequestRatio: { cpu: "4" } },
    ]);
    expect(limitRangeViolations(podWith([{ name: "a", resources: { requests: { cpu: "50m" }, limits: { memory: "512Mi", cpu: "200m" } } }]), [range])).toBe(
      "minimum cpu usage per Container is 100m, but request is 50m",
    );
    expect(limitRangeViolations(podWith([{ name: "a", resources: { requests: { cpu: "1" } } }]), [range])).toBe(
      "[maximum memory usage per Container is 1Gi.  No limit is specified, cpu max limit to request ratio per Pod is 4, but no limit is specified or limit is 0]",
    );
    expect(limitRangeViolations(podWith([{ name: "a", resources: { requests: { cpu: "100m" }, limits: { cpu: "500m", memory: "1Gi" } } }]), [range])).toBe(
      "cpu max limit to request ratio per Pod is 4, but provided ratio is 5.000000",
    );
    expect(limitRangeViolations(podWith([{ name: "a", resources: { requests: { cpu: "200m" }, limits: { cpu: "800m", memory: "1Gi" } } }]), [range])).toBeUndefined();
  });
});

describe("LimitRange on claims", () => {
  it("checks a claim's requested storage against min and max", () => {
    const range: KubeObject = { apiVersion: "v1", kind: "LimitRange", metadata: { name: "l" }, spec: { limits: [{ type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "2Gi" } }] } };
    const claim = (storage?: string): KubeObject => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "c" }, spec: { resources: storage ? { requests: { storage } } : {} } });
    expect(claimLimitViolations(claim("5Gi"), [range])).toBe("maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi");
    expect(claimLimitViolations(claim("512Mi"), [range])).toBe("minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 512Mi");
    expect(claimLimitViolations(claim(), [range])).toBe(
      "[minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified, maximum storage usage per PersistentVolumeClaim is 2Gi.  No request is specified]",
    );
    expect(claimLimitViolations(claim("1536Mi"), [range])).toBeUndefined();
  });
});

describe("resource quota controller", () => {
  const rq = (name: string, status?: unknown): KubeObject => ({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name, namespace: "ns", resourceVersion: "7" },
    spec: { hard: { pods: "2" } },
    ...(status ? { status } : {}),
  });

  it("writes status.hard and status.used when they differ, nothing when current", () => {
    const observed = { ...emptyObserved("ns", 0), resourceQuotas: [rq("a"), rq("b", { hard: { pods: "2" }, used: { pods: "1" } }), rq("new")] };
    observed.quotaStatus = { a: { hard: { pods: "2" }, used: { pods: "1" } }, b: { hard: { pods: "2" }, used: { pods: "1" } } };
    expect(reconcile(observed)).toEqual({
      actions: [
        {
          type: "update",
          resource: "core/resourcequotas",
          subresource: "status",
          object: { ...rq("a"), status: { hard: { pods: "2" }, used: { pods: "1" } } },
        },
      ],
    });
    expect(reconcile({ ...observed, quotaStatus: undefined })).toEqual({ actions: [] });
  });
});
