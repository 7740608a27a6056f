import { describe, expect, it } from "vitest";
import { api, apiJson, createNamespace } from "./helpers.ts";

/** Every bad request gets a Status with the right code, and nothing is written. */

const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data: {},
  ...extra,
});

async function countConfigMaps(ns: string): Promise<number> {
  return (await apiJson("GET", `/api/v1/namespaces/${ns}/configmaps`)).body.items.length;
}

describe("bad input", () => {
  it("malformed JSON and YAML -> 400", async () => {
    await createNamespace("bad1");
    const j = await apiJson("POST", "/api/v1/namespaces/bad1/configmaps", "{not json");
    expect(j.status).toBe(400);
    expect(j.body).toMatchObject({ kind: "Status", status: "Failure", reason: "BadRequest", code: 400 });
    expect(j.body.message).toContain("not valid JSON");
    const y = await apiJson("POST", "/api/v1/namespaces/bad1/configmaps", "a: [1, 2\nb: }", { contentType: "application/yaml" });
    expect(y.status).toBe(400);
    const arr = await apiJson("POST", "/api/v1/namespaces/bad1/configmaps", "[1,2]");
    expect(arr.status).toBe(400);
    expect(await countConfigMaps("bad1")).toBe(0);
  });

  it("accepts YAML bodies", async () => {
    await createNamespace("yaml");
    const r = await apiJson("POST", "/api/v1/namespaces/yaml/configmaps", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n", {
      contentType: "application/yaml",
    });
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ k: "v" });
  });

  it("rejects YAML alias bombs quickly", async () => {
    await createNamespace("bomb");
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    const started = Date.now();
    const r = await apiJson("POST", "/api/v1/namespaces/bomb/configmaps", lines.join("\n"), { contentType: "application/yaml" });
    expect(r.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("wrong kind or apiVersion for the URL, and namespace mismatch -> 400", async () => {
    await createNamespace("bad2");
    const wrongKind = await apiJson("POST", "/api/v1/namespaces/bad2/configmaps", { ...cm("x"), kind: "Secret" });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.message).toContain("do not match the URL");
    const wrongVersion = await apiJson("POST", "/api/v1/namespaces/bad2/configmaps", { ...cm("x"), apiVersion: "apps/v1" });
    expect(wrongVersion.status).toBe(400);
    const mismatch = await apiJson("POST", "/api/v1/namespaces/bad2/configmaps", { ...cm("x"), metadata: { name: "x", namespace: "other" } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.message).toContain("does not match the namespace");
    const nameMismatch = await apiJson("PUT", "/api/v1/namespaces/bad2/configmaps/a", cm("b"));
    expect(nameMismatch.status).toBe(400);
    expect(await countConfigMaps("bad2")).toBe(0);
  });

  it("invalid names, labels and annotations -> 422 with causes", async () => {
    await createNamespace("bad3");
    const upper = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", cm("Not_Valid"));
    expect(upper.status).toBe(422);
    expect(upper.body.reason).toBe("Invalid");
    expect(upper.body.details.causes[0]).toMatchObject({ field: "metadata.name", reason: "FieldValueInvalid" });
    const long = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", cm("a".repeat(254)));
    expect(long.status).toBe(422);
    const nsName = await apiJson("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "a".repeat(64) } });
    expect(nsName.status).toBe(422);
    const missing = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.details.causes[0]).toMatchObject({ field: "metadata.name", reason: "FieldValueRequired" });
    const label = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", { ...cm("l"), metadata: { name: "l", labels: { "bad key!": "v" } } });
    expect(label.status).toBe(422);
    const labelValue = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", { ...cm("l"), metadata: { name: "l", labels: { k: "-bad" } } });
    expect(labelValue.status).toBe(422);
    const huge = await apiJson("POST", "/api/v1/namespaces/bad3/configmaps", {
      ...cm("h"),
      metadata: { name: "h", annotations: { big: "x".repeat(300 * 1024) } },
    });
    expect(huge.status).toBe(422);
    expect(huge.body.details.causes[0].field).toBe("metadata.annotations");
    expect(await countConfigMaps("bad3")).toBe(0);
  });

  it("bodies over 3 MiB -> 413, objects over 1.5 MiB -> 413", async () => {
    await createNamespace("bad4");
    const big = await apiJson("POST", "/api/v1/namespaces/bad4/configmaps", cm("big", { data: { k: "x".repeat(3.2 * 1024 * 1024) } }));
    expect(big.status).toBe(413);
    // A ConfigMap over 1 MiB is invalid (422) by its own rule; anything over 1.5 MiB can't be stored (413).
    const large = await apiJson("POST", "/api/v1/namespaces/bad4/configmaps", cm("large", { data: { k: "x".repeat(2 * 1024 * 1024) } }));
    expect([413, 422]).toContain(large.status);
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i", env: [{ name: "BIG", value: "x".repeat(2 * 1024 * 1024) }] }] },
    };
    const bigPod = await apiJson("POST", "/api/v1/namespaces/bad4/pods", pod);
    expect(bigPod.status).toBe(413);
    expect(bigPod.body.message).toContain("limit");
    expect((await apiJson("GET", "/api/v1/namespaces/bad4/pods")).body.items).toEqual([]);
    expect(await countConfigMaps("bad4")).toBe(0);
  });

  it("unknown resources and paths -> 404; unsupported verbs -> 405", async () => {
    expect((await apiJson("GET", "/api/v1/namespaces/x/widgets")).status).toBe(404);
    expect((await apiJson("GET", "/apis/nope.example.com/v1/things")).status).toBe(404);
    expect((await apiJson("GET", "/nothing/here")).status).toBe(404);
    const put = await apiJson("PUT", "/api/v1/namespaces/x/configmaps", cm("x"));
    expect(put.status).toBe(405);
    expect(put.body.kind).toBe("Status");
  });

  it("fieldValidation=Strict rejects unknown fields; Warn warns; Ignore drops", async () => {
    await createNamespace("bad5");
    const strict = await apiJson("POST", "/api/v1/namespaces/bad5/configmaps?fieldValidation=Strict", cm("s", { bogus: 1 }));
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "bogus"');
    const warn = await api("POST", "/api/v1/namespaces/bad5/configmaps?fieldValidation=Warn", cm("w", { bogus: 1 }));
    expect(warn.status).toBe(201);
    expect(warn.headers.get("warning")).toContain("bogus");
    expect(((await warn.json()) as Record<string, unknown>).bogus).toBeUndefined();
    const badValue = await apiJson("POST", "/api/v1/namespaces/bad5/configmaps?fieldValidation=Loose", cm("x"));
    expect(badValue.status).toBe(400);
  });

  it("dryRun=All validates without writing", async () => {
    await createNamespace("dry");
    const r = await apiJson("POST", "/api/v1/namespaces/dry/configmaps?dryRun=All", cm("d"));
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).toBeTruthy();
    expect(await countConfigMaps("dry")).toBe(0);
    const bad = await apiJson("POST", "/api/v1/namespaces/dry/configmaps?dryRun=Some", cm("d"));
    expect(bad.status).toBe(400);
  });

  it("invalid query parameters -> 400", async () => {
    expect((await apiJson("GET", "/api/v1/configmaps?limit=-1")).status).toBe(400);
    expect((await apiJson("GET", "/api/v1/configmaps?watch=1&resourceVersion=abc")).status).toBe(400);
    expect((await apiJson("GET", "/api/v1/configmaps?fieldSelector=%3D%3D%3D")).status).toBe(400);
  });
});
