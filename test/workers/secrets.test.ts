import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { primaryKeyId, sealSecret } from "../../src/store/secret-box.ts";
import { api, apiJson, createNamespace, readEvents } from "./helpers.ts";

describe("Secrets at rest", () => {
  it("stores Secret data encrypted (D1 holds no plaintext) and serves it decrypted", async () => {
    await createNamespace("sec-rest");
    const plaintext = "hunter2-very-secret";
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, stringData: { password: plaintext } };
    const created = await apiJson("POST", "/api/v1/namespaces/sec-rest/secrets", secret);
    expect(created.status).toBe(201);
    const b64 = btoa(plaintext);
    expect(created.body.data).toEqual({ password: b64 });

    const rows = await env.DB.prepare("SELECT value FROM objects WHERE resource = 'core/secrets' AND namespace = 'sec-rest'").all<{ value: string }>();
    const revs = await env.DB.prepare("SELECT value FROM revisions WHERE resource = 'core/secrets' AND namespace = 'sec-rest'").all<{ value: string }>();
    expect(rows.results).toHaveLength(1);
    expect(revs.results.length).toBeGreaterThan(0);
    for (const r of [...rows.results, ...revs.results]) {
      expect(r.value).not.toContain(b64);
      expect(r.value).not.toContain(plaintext);
      expect(r.value).not.toContain('"data"');
      expect(JSON.parse(r.value).sealedData).toMatchObject({ keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    }

    expect((await apiJson("GET", "/api/v1/namespaces/sec-rest/secrets/creds")).body.data).toEqual({ password: b64 });
    expect((await apiJson("GET", "/api/v1/namespaces/sec-rest/secrets")).body.items[0].data).toEqual({ password: b64 });
    expect((await apiJson("GET", "/api/v1/secrets?fieldSelector=metadata.namespace%3Dsec-rest")).body.items[0].data).toEqual({ password: b64 });

    // Updates (patch) keep working on the decrypted object.
    const patched = await apiJson("PATCH", "/api/v1/namespaces/sec-rest/secrets/creds", { data: { user: btoa("root") } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ password: b64, user: btoa("root") });
  });

  it("serves decrypted Secrets to watches (from the log and live)", async () => {
    await createNamespace("sec-watch");
    const s1 = await apiJson("POST", "/api/v1/namespaces/sec-watch/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "one" }, data: { k: btoa("v1") } });
    const res = await api("GET", `/api/v1/namespaces/sec-watch/secrets?watch=true&resourceVersion=${Number(s1.body.metadata.resourceVersion) - 1}`);
    const pending = readEvents(res, 2);
    await apiJson("POST", "/api/v1/namespaces/sec-watch/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "two" }, data: { k: btoa("v2") } });
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata.name, e.object.data])).toEqual([
      ["ADDED", "one", { k: btoa("v1") }],
      ["ADDED", "two", { k: btoa("v2") }],
    ]);
    const initial = await readEvents(await api("GET", "/api/v1/namespaces/sec-watch/secrets?watch=true"), 2);
    expect(initial.map((e) => e.object.data.k).sort()).toEqual([btoa("v1"), btoa("v2")]);
  });

  it("rotates keys by re-encryption: an old key still reads, POST /edgeplane/v1/secrets/reencrypt moves everything to the current one", async () => {
    await createNamespace("sec-rotate");
    const oldKey = env.SECRETS_ENCRYPTION_OLD_KEYS!;
    const oldId = await primaryKeyId({ ...env, SECRETS_ENCRYPTION_KEY: oldKey });
    const currentId = await primaryKeyId(env);
    expect(oldId).not.toBe(currentId);
    // A Secret stored before the rotation: sealed with the old key, written straight into D1.
    const key = "core/secrets/sec-rotate/legacy";
    const plain = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "legacy", namespace: "sec-rotate", uid: "u-1" }, type: "Opaque", data: { k: btoa("old") } });
    const sealed = await sealSecret({ ...env, SECRETS_ENCRYPTION_KEY: oldKey }, key, plain);
    const rev = await env.DB.prepare("INSERT INTO revisions (key, resource, namespace, name, type, value) VALUES (?, 'core/secrets', 'sec-rotate', 'legacy', 'ADDED', ?) RETURNING id")
      .bind(key, sealed)
      .first<{ id: number }>();
    await env.DB.prepare("INSERT INTO objects (key, resource, namespace, name, rev, value) VALUES (?, 'core/secrets', 'sec-rotate', 'legacy', ?, ?)").bind(key, rev!.id, sealed).run();
    expect((await apiJson("GET", "/api/v1/namespaces/sec-rotate/secrets/legacy")).body.data).toEqual({ k: btoa("old") });

    const r = await apiJson("POST", "/edgeplane/v1/secrets/reencrypt", {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: "SecretReencryption", keyId: currentId, reencrypted: 1 });
    const row = await env.DB.prepare("SELECT value FROM objects WHERE key = ?").bind(key).first<{ value: string }>();
    expect(JSON.parse(row!.value).sealedData.keyId).toBe(currentId);
    expect((await apiJson("GET", "/api/v1/namespaces/sec-rotate/secrets/legacy")).body.data).toEqual({ k: btoa("old") });
    // Nothing left to do.
    expect((await apiJson("POST", "/edgeplane/v1/secrets/reencrypt", {})).body.reencrypted).toBe(0);
  });
});
