import { describe, expect, it } from "vitest";
import { namespacePolicy, podSecurityDecision, podTemplateOf, violations } from "../../src/auth/pod-security.ts";

const c = (name: string, securityContext?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name, image: "x", ...(securityContext ? { securityContext } : {}), ...extra });
/** A pod spec that passes restricted. */
const restrictedOk = () => ({
  securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  containers: [c("app", { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } })],
  volumes: [{ name: "v", projected: { sources: [] } }, { name: "e", emptyDir: {} }],
});

describe("namespace labels", () => {
  it("reads each mode's level and version; an unknown level counts as restricted", () => {
    expect(
      namespacePolicy({
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.32",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "bogus",
      }),
    ).toEqual({ enforce: { level: "baseline", version: "v1.32" }, warn: { level: "restricted", version: "latest" }, audit: { level: "restricted", version: "latest" } });
    expect(namespacePolicy({ app: "x" })).toEqual({});
  });
});

describe("baseline", () => {
  it("passes a plain pod, and privileged allows anything", () => {
    expect(violations("baseline", {}, { containers: [c("a")] })).toEqual([]);
    expect(violations("privileged", {}, { hostNetwork: true, containers: [c("a", { privileged: true })] })).toEqual([]);
  });

  it("names every baseline violation as Kubernetes does", () => {
    const spec = {
      hostNetwork: true,
      hostPID: true,
      securityContext: { sysctls: [{ name: "kernel.shm_rmid_forced", value: "1" }, { name: "net.ipv4.ip_forward", value: "1" }], seLinuxOptions: { type: "spc_t" } },
      volumes: [{ name: "host", hostPath: { path: "/" } }, { name: "ok", emptyDir: {} }],
      containers: [
        c("a", { privileged: true, capabilities: { add: ["NET_ADMIN", "CHOWN", "SYS_TIME"] }, procMount: "Unmasked" }, { ports: [{ containerPort: 80, hostPort: 8080 }] }),
        c("b", { privileged: true, seccompProfile: { type: "Unconfined" }, appArmorProfile: { type: "Unconfined" } }),
      ],
    };
    expect(violations("baseline", { annotations: { "container.apparmor.security.beta.kubernetes.io/a": "unconfined" } }, spec)).toEqual([
      { check: "host namespaces", detail: "hostNetwork=true, hostPID=true" },
      { check: "privileged", detail: 'containers "a", "b" must not set securityContext.privileged=true' },
      { check: "non-default capabilities", detail: 'container "a" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add' },
      { check: "hostPath volumes", detail: 'volume "host"' },
      { check: "hostPort", detail: 'container "a" uses hostPort 8080' },
      { check: "forbidden AppArmor profile", detail: 'container "b" must not set securityContext.appArmorProfile.type to "Unconfined"; annotation container.apparmor.security.beta.kubernetes.io/a="unconfined"' },
      { check: "seLinuxOptions", detail: 'pod set forbidden securityContext.seLinuxOptions: type "spc_t"' },
      { check: "procMount", detail: 'container "a" must not set securityContext.procMount to "Unmasked"' },
      { check: "seccompProfile", detail: 'container "b" must not set securityContext.seccompProfile.type to "Unconfined"' },
      { check: "forbidden sysctls", detail: "net.ipv4.ip_forward" },
    ]);
  });

  it("checks init and ephemeral containers too", () => {
    expect(violations("baseline", {}, { containers: [c("a")], initContainers: [c("i", { privileged: true })] })).toEqual([
      { check: "privileged", detail: 'container "i" must not set securityContext.privileged=true' },
    ]);
  });
});

describe("restricted", () => {
  it("passes a pod that meets it", () => {
    expect(violations("restricted", {}, restrictedOk())).toEqual([]);
  });

  it("names every restricted violation", () => {
    const spec = {
      securityContext: { runAsUser: 0 },
      volumes: [{ name: "data", nfs: { server: "s", path: "/" } }],
      containers: [c("a"), c("b", { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, capabilities: { drop: ["ALL"], add: ["CHOWN"] } })],
    };
    expect(violations("restricted", {}, spec)).toEqual([
      { check: "restricted volume types", detail: 'volume "data" uses restricted volume type "nfs"' },
      { check: "allowPrivilegeEscalation != false", detail: 'container "a" must set securityContext.allowPrivilegeEscalation=false' },
      { check: "runAsNonRoot != true", detail: 'pod or container "a" must set securityContext.runAsNonRoot=true' },
      { check: "runAsUser=0", detail: "pod must not set runAsUser=0" },
      { check: "seccompProfile", detail: 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' },
      { check: "unrestricted capabilities", detail: 'container "a" must set securityContext.capabilities.drop=["ALL"]; container "b" must not include "CHOWN" in securityContext.capabilities.add' },
    ]);
  });

  it("includes the baseline checks", () => {
    const spec = restrictedOk();
    (spec as Record<string, unknown>).hostIPC = true;
    expect(violations("restricted", {}, spec)).toEqual([{ check: "host namespaces", detail: "hostIPC=true" }]);
  });
});

describe("decisions", () => {
  const enforceBaseline = { "pod-security.kubernetes.io/enforce": "baseline" };
  const hostNet = { hostNetwork: true, containers: [c("a")] };

  it("enforce refuses a pod with Kubernetes' message; warn and audit describe it", () => {
    expect(podSecurityDecision(enforceBaseline, {}, hostNet, true)).toEqual({ deny: 'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)', warnings: [] });
    const d = podSecurityDecision({ "pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": "v1.32", "pod-security.kubernetes.io/audit": "baseline" }, {}, hostNet, true);
    expect(d).toEqual({
      warnings: ['would violate PodSecurity "baseline:v1.32": host namespaces (hostNetwork=true)'],
      audit: 'would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
    });
    expect(podSecurityDecision(enforceBaseline, {}, { containers: [c("a")] }, true)).toEqual({ warnings: [] });
  });

  it("only warns about workload templates, for the enforce and the warn level", () => {
    const d = podSecurityDecision({ ...enforceBaseline, "pod-security.kubernetes.io/warn": "restricted" }, {}, hostNet, false);
    expect(d.deny).toBeUndefined();
    expect(d.warnings).toHaveLength(2);
    expect(d.warnings[0]).toBe('would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');
    expect(d.warnings[1]).toMatch(/^would violate PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\), allowPrivilegeEscalation != false/);
  });

  it("finds the pod template of workloads and cronjobs", () => {
    expect(podTemplateOf({ spec: { template: { metadata: { labels: { a: "b" } }, spec: hostNet } } })).toEqual({ metadata: { labels: { a: "b" } }, spec: hostNet });
    expect(podTemplateOf({ spec: { jobTemplate: { spec: { template: { spec: hostNet } } } } })?.spec).toBe(hostNet);
    expect(podTemplateOf({ spec: { replicas: 1 } })).toBeUndefined();
  });
});
