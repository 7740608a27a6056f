import { describe, expect, it } from "vitest";
import { api, apiJson, createNamespace } from "./helpers.ts";

describe("API basics", () => {
  it("rejects requests without a valid token with a 401 Status", async () => {
    const r = await apiJson("GET", "/api/v1/namespaces", undefined, { token: null });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    const bad = await apiJson("GET", "/api/v1/namespaces", undefined, { token: "wrong" });
    expect(bad.status).toBe(401);
  });

  it("serves health and version without credentials", async () => {
    expect((await api("GET", "/readyz", undefined, { token: null })).status).toBe(200);
    const v = await apiJson("GET", "/version", undefined, { token: null });
    expect(v.body.major).toBe("1");
  });

  it("generates a name from generateName, cut to fit 63 characters, and rejects a bad prefix", async () => {
    await createNamespace("gen");
    const short = await apiJson("POST", "/api/v1/namespaces/gen/configmaps", { metadata: { generateName: "web-" } });
    expect(short.status).toBe(201);
    expect(short.body.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    const long = await apiJson("POST", "/api/v1/namespaces/gen/configmaps", { metadata: { generateName: "a".repeat(70) } });
    expect(long.status).toBe(201);
    expect(long.body.metadata.name).toHaveLength(63);
    const bad = await apiJson("POST", "/api/v1/namespaces/gen/configmaps", { metadata: { generateName: "Bad_" } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0].field).toBe("metadata.generateName");
    const none = await apiJson("POST", "/api/v1/namespaces/gen/configmaps", { metadata: {} });
    expect(none.status).toBe(422);
    expect(none.body.message).toContain("name or generateName is required");
  });

  it("creates, reads, updates and deletes a configmap with resourceVersion CAS", async () => {
    await createNamespace("crud");
    const created = await apiJson("POST", "/api/v1/namespaces/crud/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg" },
      data: { a: "1" },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const rv = created.body.metadata.resourceVersion;
    const again = await apiJson("POST", "/api/v1/namespaces/crud/configmaps", { metadata: { name: "cfg" } });
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("AlreadyExists");

    const updated = await apiJson("PUT", "/api/v1/namespaces/crud/configmaps/cfg", { ...created.body, data: { a: "2" } });
    expect(updated.status).toBe(200);
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
    const stale = await apiJson("PUT", "/api/v1/namespaces/crud/configmaps/cfg", { ...created.body, data: { a: "3" } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");

    const got = await apiJson("GET", "/api/v1/namespaces/crud/configmaps/cfg");
    expect(got.body.data).toEqual({ a: "2" });
    const del = await apiJson("DELETE", "/api/v1/namespaces/crud/configmaps/cfg");
    expect(del.status).toBe(200);
    expect((await apiJson("GET", "/api/v1/namespaces/crud/configmaps/cfg")).status).toBe(404);
  });
});

describe("create-time defaults that need the uid", () => {
  it("gives a new Job its generated selector, matching the assigned uid, and ignores a client uid", async () => {
    await createNamespace("jobs");
    const r = await apiJson("POST", "/apis/batch/v1/namespaces/jobs/jobs", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "j", uid: "client-chosen" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    });
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).not.toBe("client-chosen");
    expect(r.body.spec.selector.matchLabels["batch.kubernetes.io/controller-uid"]).toBe(r.body.metadata.uid);
    expect(r.body.spec.template.metadata.labels["batch.kubernetes.io/controller-uid"]).toBe(r.body.metadata.uid);
  });
});
