import { describe, expect, it } from "vitest";
import { refreshTime } from "../../src/agent/service-account-token.ts";
import { tokenRequestSpec } from "../../src/api/token-request.ts";
import { serviceAccountUser, subjectOf, tokenClaims } from "../../src/auth/service-account-tokens.ts";
import { defaultPodServiceAccount, SERVICE_ACCOUNT_MOUNT_PATH } from "../../src/resources/pod-service-account.ts";

const subject = { namespace: "ns1", serviceAccount: { name: "build", uid: "sa-uid" }, pod: { name: "p", uid: "pod-uid" }, node: "n1" };

describe("service-account token claims", () => {
  it("builds Kubernetes' bound-token claims", () => {
    expect(tokenClaims(subject, { issuer: "https://iss", audiences: ["a", "b"], nowSeconds: 1000, ttlSeconds: 600, jti: "j" })).toEqual({
      iss: "https://iss",
      sub: "system:serviceaccount:ns1:build",
      aud: ["a", "b"],
      iat: 1000,
      nbf: 1000,
      exp: 1600,
      jti: "j",
      "kubernetes.io": { namespace: "ns1", serviceaccount: { name: "build", uid: "sa-uid" }, pod: { name: "p", uid: "pod-uid" }, node: { name: "n1" } },
    });
  });

  it("reads the subject back, and refuses claims whose sub disagrees with kubernetes.io", () => {
    const claims = tokenClaims(subject, { issuer: "i", audiences: ["a"], nowSeconds: 0, ttlSeconds: 600, jti: "j" });
    expect(subjectOf(claims)).toEqual(subject);
    expect(subjectOf({ ...claims, sub: "system:serviceaccount:ns1:admin" })).toBeUndefined();
    expect(subjectOf({ ...claims, "kubernetes.io": { namespace: "ns1" } })).toBeUndefined();
    expect(subjectOf({ sub: "x" })).toBeUndefined();
  });

  it("authenticates as the service account with its groups", () => {
    expect(serviceAccountUser(subject)).toEqual({
      username: "system:serviceaccount:ns1:build",
      uid: "sa-uid",
      groups: ["system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"],
    });
  });
});

describe("TokenRequest spec", () => {
  it("defaults audiences and lifetime", () => {
    expect(tokenRequestSpec({}, ["api"])).toEqual({ spec: { audiences: ["api"], expirationSeconds: 3600 }, errors: [] });
    expect(tokenRequestSpec({ spec: { audiences: [], expirationSeconds: 7200 } }, ["api"]).spec).toEqual({ audiences: ["api"], expirationSeconds: 7200 });
  });

  it("validates lifetime bounds and bound object kinds", () => {
    expect(tokenRequestSpec({ spec: { expirationSeconds: 599 } }, ["api"]).errors.map((e) => e.field)).toEqual(["spec.expirationSeconds"]);
    expect(tokenRequestSpec({ spec: { expirationSeconds: 2 ** 32 + 1 } }, ["api"]).errors[0].message).toContain("larger than 2^32 seconds");
    expect(tokenRequestSpec({ spec: { boundObjectRef: { kind: "Secret", name: "s" } } }, ["api"]).errors.map((e) => e.field)).toEqual(["spec.boundObjectRef.kind"]);
    expect(tokenRequestSpec({ spec: { boundObjectRef: { kind: "Pod" } } }, ["api"]).errors.map((e) => e.field)).toEqual(["spec.boundObjectRef.name"]);
    expect(tokenRequestSpec({ spec: { audiences: [""] } }, ["api"]).errors.map((e) => e.field)).toEqual(["spec.audiences"]);
  });
});

describe("the agent's token refresh", () => {
  it("refreshes at 80% of the lifetime, at most after 24 h", () => {
    expect(refreshTime(0, 3600_000)).toBe(2880_000);
    expect(refreshTime(0, 365 * 24 * 3600_000)).toBe(24 * 3600_000);
  });
});

describe("pod service account defaults", () => {
  const spec = () => ({ containers: [{ name: "a", image: "x" }, { name: "b", image: "x", volumeMounts: [{ name: "own", mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }], initContainers: [{ name: "i", image: "x" }] });

  it("defaults the service account and mounts a projected token volume where nothing is mounted", () => {
    const s: Record<string, any> = spec();
    defaultPodServiceAccount(s, () => "abcde");
    expect(s.serviceAccountName).toBe("default");
    expect(s.serviceAccount).toBe("default");
    expect(s.volumes).toEqual([
      {
        name: "kube-api-access-abcde",
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
          ],
        },
      },
    ]);
    const mount = { name: "kube-api-access-abcde", readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
    expect(s.containers[0].volumeMounts).toEqual([mount]);
    expect(s.containers[1].volumeMounts).toEqual([{ name: "own", mountPath: SERVICE_ACCOUNT_MOUNT_PATH }]);
    expect(s.initContainers[0].volumeMounts).toEqual([mount]);
    // idempotent: a second pass (an update) adds nothing
    const before = JSON.stringify(s);
    defaultPodServiceAccount(s, () => "zzzzz");
    expect(JSON.stringify(s)).toBe(before);
  });

  it("keeps a named service account and mounts nothing when automount is off", () => {
    const s: Record<string, any> = { ...spec(), serviceAccountName: "build", automountServiceAccountToken: false };
    defaultPodServiceAccount(s, () => "abcde");
    expect(s.serviceAccountName).toBe("build");
    expect(s.volumes).toBeUndefined();
    expect(s.containers[0].volumeMounts).toBeUndefined();
    const legacy: Record<string, any> = { containers: [], serviceAccount: "old" };
    defaultPodServiceAccount(legacy, () => "abcde");
    expect(legacy.serviceAccountName).toBe("old");
  });
});
