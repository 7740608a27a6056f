import { describe, expect, it } from "vitest";
import { OPENAPI_V2_PROTOBUF, openApiV3GroupVersion, openApiV3Root, serveOpenApi } from "../../src/api/openapi.ts";
import { schemaName } from "../../src/api/openapi-schemas.ts";
import { groupVersion, KINDS } from "../../src/resources/index.ts";
import { FULL_VERBS, type ResourceKind } from "../../src/resources/types.ts";
import { apiJson, BASE } from "./helpers.ts";

/** What kubectl needs from /openapi/v3: see client-go's openapi3 root and cli-runtime's QueryParamVerifierV3. */

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any>; parameters?: Record<string, any> };
};

const keyOf = (k: ResourceKind) => (k.group ? `apis/${groupVersion(k)}` : `api/${groupVersion(k)}`);
const prefixOf = (k: ResourceKind) => `/${keyOf(k)}`;
const basePath = (k: ResourceKind) => (k.namespaced ? `${prefixOf(k)}/namespaces/{namespace}/${k.plural}` : `${prefixOf(k)}/${k.plural}`);
const gvkOf = (k: ResourceKind) => ({ group: k.group, version: k.version, kind: k.kind });
const METHODS = ["get", "put", "post", "patch", "delete"];

async function fetchDocs(): Promise<Map<string, Doc>> {
  const root = await apiJson("GET", "/openapi/v3");
  expect(root.status).toBe(200);
  const docs = new Map<string, Doc>();
  for (const [key, { serverRelativeURL }] of Object.entries<{ serverRelativeURL: string }>(root.body.paths)) {
    const r = await apiJson("GET", serverRelativeURL);
    expect(r.status, serverRelativeURL).toBe(200);
    docs.set(key, r.body);
  }
  return docs;
}

function queryParams(doc: Doc, op: any): string[] {
  return (op.parameters ?? []).map((p: any) => {
    if (p.$ref) return doc.components.parameters?.[p.$ref.replace("#/components/parameters/", "")];
    return p;
  }).filter((p: any) => p?.in === "query").map((p: any) => p.name);
}

describe("OpenAPI v3", () => {
  it("lists every served group-version in the root, with a hash", async () => {
    const r = await apiJson("GET", "/openapi/v3");
    expect(r.status).toBe(200);
    const keys = new Set(KINDS.map(keyOf));
    expect(new Set(Object.keys(r.body.paths))).toEqual(keys);
    for (const key of keys) expect(r.body.paths[key].serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${key.replace(/\./g, "\\.")}\\?hash=[0-9A-F]{128}$`));
  });

  it("describes every kind: schema with GVK, list, collection, item and subresource paths", async () => {
    const docs = await fetchDocs();
    for (const k of KINDS) {
      const doc = docs.get(keyOf(k))!;
      expect(doc.openapi).toBe("3.0.0");
      const name = schemaName(k.group, k.version, k.kind);
      const schema = doc.components.schemas[name];
      expect(schema, name).toBeDefined();
      expect(schema["x-kubernetes-group-version-kind"]).toEqual([gvkOf(k)]);
      expect(schema.type).toBe("object");
      expect(JSON.stringify(schema.properties.metadata)).toContain("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
      expect(doc.components.schemas[`${name}List`]["x-kubernetes-group-version-kind"]).toEqual([{ ...gvkOf(k), kind: `${k.kind}List` }]);

      const verbs = k.verbs ?? FULL_VERBS;
      const collection = doc.paths[basePath(k)];
      const item = doc.paths[`${basePath(k)}/{name}`];
      if (verbs.includes("list")) {
        expect(collection.get["x-kubernetes-action"]).toBe("list");
        expect(queryParams(doc, collection.get)).toEqual(expect.arrayContaining(["labelSelector", "fieldSelector", "limit", "continue", "watch"]));
        if (k.namespaced) expect(doc.paths[`${prefixOf(k)}/${k.plural}`].get["x-kubernetes-action"]).toBe("list");
      }
      if (verbs.includes("create")) {
        expect(collection.post["x-kubernetes-action"]).toBe("post");
        expect(collection.post["x-kubernetes-group-version-kind"]).toEqual(gvkOf(k));
        expect(queryParams(doc, collection.post)).toEqual(expect.arrayContaining(["fieldValidation", "dryRun", "fieldManager"]));
      }
      if (verbs.includes("patch")) {
        expect(item.patch["x-kubernetes-action"]).toBe("patch");
        expect(item.patch["x-kubernetes-group-version-kind"]).toEqual(gvkOf(k));
        expect(queryParams(doc, item.patch)).toEqual(expect.arrayContaining(["fieldValidation", "dryRun", "fieldManager", "force"]));
        expect(Object.keys(item.patch.requestBody.content)).toEqual(
          expect.arrayContaining(["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]),
        );
        // Not advertised on purpose: kubectl would compute strategic merge patches from these
        // permissive schemas instead of its exact built-in types.
        expect(item.patch.requestBody.content["application/strategic-merge-patch+json"]).toBeUndefined();
      }
      if (verbs.includes("update")) expect(queryParams(doc, item.put)).toContain("fieldValidation");
      if (verbs.includes("get")) expect(item.get["x-kubernetes-action"]).toBe("get");
      if (verbs.includes("delete")) expect(item.delete["x-kubernetes-action"]).toBe("delete");
      for (const sub of k.subresources ?? []) expect(doc.paths[`${basePath(k)}/{name}/${sub}`], `${k.plural}/${sub}`).toBeDefined();
    }
  });

  it("passes kubectl's fieldValidation check for every kind (every PATCH carrying the kind's GVK takes it)", async () => {
    const docs = await fetchDocs();
    for (const k of KINDS) {
      const doc = docs.get(keyOf(k))!;
      const patches = Object.values(doc.paths)
        .map((p) => p.patch)
        .filter((op) => op && JSON.stringify(op["x-kubernetes-group-version-kind"]) === JSON.stringify(gvkOf(k)));
      expect(patches.length, k.kind).toBeGreaterThan(0);
      for (const op of patches) {
        const inline = (op.parameters ?? []).find((p: any) => p.name === "fieldValidation" && p.in === "query");
        expect(inline, `${k.kind} ${op.operationId}`).toBeDefined();
      }
    }
  });

  it("gives every operation an action and a GVK, and resolves every $ref", async () => {
    const docs = await fetchDocs();
    for (const [key, doc] of docs) {
      for (const [path, item] of Object.entries(doc.paths))
        for (const m of METHODS) {
          const op = item[m];
          if (!op) continue;
          expect(op["x-kubernetes-action"], `${key} ${m} ${path}`).toMatch(/^(get|list|post|put|patch|delete|deletecollection|connect)$/);
          expect(op["x-kubernetes-group-version-kind"], `${m} ${path}`).toMatchObject({ version: expect.any(String), kind: expect.any(String) });
        }
      const text = JSON.stringify(doc);
      for (const [, kind, name] of text.matchAll(/"\$ref":"#\/components\/(schemas|parameters)\/([^"]+)"/g))
        expect(doc.components[kind as "schemas" | "parameters"]?.[name], `${key}: ${kind}/${name}`).toBeDefined();
    }
  });

  it("answers 404 for an unknown group-version", async () => {
    const r = await apiJson("GET", "/openapi/v3/apis/nope.example.com/v1");
    expect(r.status).toBe(404);
  });

  it("builds the documents once per isolate", () => {
    expect(openApiV3Root()).toBe(openApiV3Root());
    expect(openApiV3GroupVersion("apis/apps/v1")).toBe(openApiV3GroupVersion("apis/apps/v1"));
    expect(openApiV3GroupVersion("apis/apps/v1/")).toBe(openApiV3GroupVersion("apis/apps/v1"));
  });
});

describe("serveOpenApi: hashes, ETags and the v2 document", () => {
  const get = (path: string, headers: Record<string, string> = {}) => serveOpenApi(new Request(`${BASE}${path}`, { headers }));

  it("serves a group-version immutably for the current hash and redirects a stale one", async () => {
    const url = openApiV3Root().paths["apis/apps/v1"].serverRelativeURL;
    const hash = url.split("hash=")[1];
    const ok = get(url)!;
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("application/json");
    expect(ok.headers.get("cache-control")).toBe("public, immutable");
    expect(ok.headers.get("etag")).toBe(`"${hash}"`);
    expect((await ok.json()) as object).toEqual(openApiV3GroupVersion("apis/apps/v1"));

    const stale = get("/openapi/v3/apis/apps/v1?hash=0123")!;
    expect(stale.status).toBe(301);
    expect(stale.headers.get("location")).toBe(url);

    const noHash = get("/openapi/v3/apis/apps/v1")!;
    expect(noHash.status).toBe(200);
    expect(noHash.headers.get("cache-control")).not.toContain("immutable");
    expect(noHash.headers.get("etag")).toBe(`"${hash}"`);

    const notModified = get(url, { "if-none-match": `"${hash}"` })!;
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe("");
  });

  it("gives the root an ETag", async () => {
    const root = get("/openapi/v3")!;
    expect(root.status).toBe(200);
    const etag = root.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect(get("/openapi/v3", { "if-none-match": etag })!.status).toBe(304);
  });

  it("serves an empty Swagger 2.0 document as protobuf or JSON", async () => {
    const pb = get("/openapi/v2", { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" })!;
    expect(pb.status).toBe(200);
    expect(pb.headers.get("content-type")).toBe(OPENAPI_V2_PROTOBUF);
    const bytes = new Uint8Array(await pb.arrayBuffer());
    // field 1 (swagger), length 3, "2.0"
    expect([...bytes.slice(0, 5)]).toEqual([0x0a, 3, 0x32, 0x2e, 0x30]);

    const js = get("/openapi/v2", { accept: "application/json" })!;
    expect(js.headers.get("content-type")).toBe("application/json");
    expect(await js.json()).toMatchObject({ swagger: "2.0", paths: {}, definitions: {} });

    expect(get("/openapi/v2", { accept: "text/html" })!.status).toBe(406);
  });

  it("leaves other paths to the caller", () => {
    expect(get("/openapi/v3/apis/nope/v1")).toBeUndefined();
    expect(get("/api/v1")).toBeUndefined();
  });
});
