import { env } from "cloudflare:test";
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../src/auth/authn.ts";
import { signingKey } from "../../src/auth/service-account-keys.ts";
import { apiJson, createNamespace } from "./helpers.ts";

/** Service-account tokens through the real Worker: TokenRequest, JWKS, authentication, RBAC, revocation. */

const NS = "sa-tokens";
const whoami = (token: string) =>
  apiJson("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }, { token });
const requestToken = (sa: string, spec: Record<string, unknown> = {}, token?: string, ns = NS) =>
  apiJson("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec }, { token });
const sa = (name: string) => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name } });
const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox" }], ...extra },
});

beforeAll(async () => {
  await createNamespace(NS);
});

describe("service accounts", () => {
  it("gives every new namespace a default ServiceAccount", async () => {
    const r = await apiJson("GET", `/api/v1/namespaces/${NS}/serviceaccounts/default`);
    expect(r.status).toBe(200);
    expect(r.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("issues a signed JWT with Kubernetes' claims, verifiable with the published JWKS", async () => {
    const r = await requestToken("default", { expirationSeconds: 1200 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec: { expirationSeconds: 1200, audiences: ["https://kubernetes.default.svc.cluster.local"] } });
    const token = r.body.status.token as string;
    const claims = decodeJwt(token);
    const saUid = (await apiJson("GET", `/api/v1/namespaces/${NS}/serviceaccounts/default`)).body.metadata.uid;
    expect(claims).toMatchObject({
      iss: "https://kubernetes.default.svc.cluster.local",
      sub: `system:serviceaccount:${NS}:default`,
      aud: ["https://kubernetes.default.svc.cluster.local"],
      "kubernetes.io": { namespace: NS, serviceaccount: { name: "default", uid: saUid } },
    });
    expect(claims.exp! - claims.iat!).toBe(1200);
    expect(Date.parse(r.body.status.expirationTimestamp) / 1000).toBe(claims.exp);

    const jwks = await apiJson("GET", "/openid/v1/jwks", undefined, { token: null });
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(2); // current and retired key
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe("ES256");
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === header.kid);
    expect(jwk.d).toBeUndefined(); // never the private part
    const verified = await jwtVerify(token, await importJWK(jwk, "ES256"));
    expect(verified.payload.sub).toBe(`system:serviceaccount:${NS}:default`);

    const discovery = await apiJson("GET", "/.well-known/openid-configuration", undefined, { token: null });
    expect(discovery.body).toMatchObject({ issuer: "https://kubernetes.default.svc.cluster.local", jwks_uri: "https://edgeplane.test/openid/v1/jwks", id_token_signing_alg_values_supported: ["ES256"] });
  });

  it("authenticates the token as the service account, and RBAC applies", async () => {
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/serviceaccounts`, sa("reader"))).status).toBe(201);
    const token = (await requestToken("reader")).body.status.token as string;
    const me = await whoami(token);
    expect(me.status).toBe(201);
    const uid = (await apiJson("GET", `/api/v1/namespaces/${NS}/serviceaccounts/reader`)).body.metadata.uid;
    expect(me.body.status.userInfo).toEqual({
      username: `system:serviceaccount:${NS}:reader`,
      uid,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${NS}`, "system:authenticated"],
    });
    const denied = await apiJson("GET", `/api/v1/namespaces/${NS}/pods`, undefined, { token });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe(`pods is forbidden: User "system:serviceaccount:${NS}:reader" cannot list resource "pods" in API group "" in the namespace "${NS}"`);
    const binding = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "reader-view" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: NS }],
    };
    expect((await apiJson("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, binding)).status).toBe(201);
    expect((await apiJson("GET", `/api/v1/namespaces/${NS}/pods`, undefined, { token })).status).toBe(200);
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "x" } }, { token })).status).toBe(403);
    // group bindings: system:serviceaccounts:<ns>
    expect((await apiJson("GET", "/api/v1/namespaces/default/configmaps", undefined, { token })).status).toBe(403);
  });

  it("revokes tokens when the service account is deleted and recreated", async () => {
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/serviceaccounts`, sa("temp"))).status).toBe(201);
    const token = (await requestToken("temp")).body.status.token as string;
    expect((await whoami(token)).status).toBe(201);
    expect((await apiJson("DELETE", `/api/v1/namespaces/${NS}/serviceaccounts/temp`)).status).toBe(200);
    expect((await whoami(token)).status).toBe(401);
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/serviceaccounts`, sa("temp"))).status).toBe(201);
    const after = await whoami(token);
    expect(after.status).toBe(401);
    expect(after.body.reason).toBe("Unauthorized");
    expect((await whoami((await requestToken("temp")).body.status.token)).status).toBe(201);
  });

  it("binds a token to a pod: it dies with the pod; the pod must run as the service account", async () => {
    const created = await apiJson("POST", `/api/v1/namespaces/${NS}/pods`, pod("bound"));
    expect(created.status).toBe(201);
    expect(created.body.spec.serviceAccountName).toBe("default");
    const r = await requestToken("default", { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "bound" } });
    expect(r.status).toBe(201);
    expect(r.body.spec.boundObjectRef.uid).toBe(created.body.metadata.uid);
    expect(decodeJwt(r.body.status.token)["kubernetes.io"]).toMatchObject({ pod: { name: "bound", uid: created.body.metadata.uid } });
    expect((await whoami(r.body.status.token)).status).toBe(201);
    const other = await requestToken("reader", { boundObjectRef: { kind: "Pod", name: "bound" } });
    expect(other.status).toBe(400);
    expect(other.body.message).toContain("different serviceaccount name");
    expect((await apiJson("DELETE", `/api/v1/namespaces/${NS}/pods/bound?gracePeriodSeconds=0`)).status).toBe(200);
    expect((await whoami(r.body.status.token)).status).toBe(401);
  });

  it("refuses bad TokenRequests and foreign or forged tokens", async () => {
    const short = await requestToken("default", { expirationSeconds: 60 });
    expect(short.status).toBe(422);
    expect(short.body.message).toContain("may not specify a duration less than 10 minutes");
    expect((await requestToken("default", { boundObjectRef: { kind: "Secret", name: "s" } })).status).toBe(422);
    expect((await requestToken("missing")).status).toBe(404);
    expect((await apiJson("GET", `/api/v1/namespaces/${NS}/serviceaccounts/default/token`)).status).toBe(405);
    // another audience: a valid token, but not for this API
    const foreign = (await requestToken("default", { audiences: ["vault"] })).body.status.token as string;
    expect((await whoami(foreign)).status).toBe(401);
    // expired
    const key = await signingKey(env);
    const claims = decodeJwt((await requestToken("default")).body.status.token);
    const sign = (c: Record<string, unknown>, k = key.privateKey, kid = key.kid) => new SignJWT(c).setProtectedHeader({ alg: "ES256", kid }).sign(k);
    const now = Math.floor(Date.now() / 1000);
    expect((await whoami(await sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }))).status).toBe(401);
    expect((await whoami(await sign({ ...claims, iss: "https://evil.example" }))).status).toBe(401);
    expect((await whoami(await sign({ ...claims }))).status).toBe(201); // the control: the same claims, re-signed, pass
    // a key the server does not know, even under the right kid
    const { privateKey } = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    expect((await whoami(await sign({ ...claims }, privateKey))).status).toBe(401);
    expect((await whoami("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.x")).status).toBe(401);
  });

  it("lets tenants (admin role) create tokens of their namespace's service accounts only", async () => {
    const t = await apiJson("POST", "/edgeplane/v1/tenants", { name: "satenant", namespaces: ["sat-dev"] });
    expect(t.status).toBe(201);
    const mine = await requestToken("default", {}, t.body.token, "sat-dev");
    expect(mine.status).toBe(201);
    const theirs = await requestToken("default", {}, t.body.token, NS);
    expect(theirs.status).toBe(403);
    expect(theirs.body.message).toContain(`cannot create resource "serviceaccounts/token"`);
  });

  it("lets a node request tokens only bound to pods on it", async () => {
    const node = await issueToken(env, { username: "system:node:n1", uid: "system:node:n1", groups: ["system:nodes"] });
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/pods`, pod("on-n1", { nodeName: "n1" }))).status).toBe(201);
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/pods`, pod("on-n2", { nodeName: "n2" }))).status).toBe(201);
    const ok = await requestToken("default", { boundObjectRef: { kind: "Pod", name: "on-n1" } }, node.token);
    expect(ok.status).toBe(201);
    expect(decodeJwt(ok.body.status.token)["kubernetes.io"]).toMatchObject({ node: { name: "n1" } });
    expect((await requestToken("default", { boundObjectRef: { kind: "Pod", name: "on-n2" } }, node.token)).status).toBe(403);
    expect((await requestToken("default", {}, node.token)).status).toBe(403);
  });
});
