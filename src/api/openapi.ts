import { createHash } from "node:crypto";
import { KINDS } from "../resources/index.ts";
import { SERVER_VERSION } from "./discovery.ts";
import { buildGroupVersionDocs } from "./openapi-doc.ts";

/**
 * OpenAPI documents for kubectl:
 *
 * - GET /openapi/v3: the root, `{paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=..."}, ...}}`.
 * - GET /openapi/v3/<api/v1 | apis/<group>/<version>>[?hash=...]: one group-version's OpenAPI 3.0
 *   document (see openapi-doc.ts). With the current hash the response is immutable
 *   (Cache-Control: public, immutable); with a stale hash it redirects to the current one,
 *   as kube-apiserver does. Every response carries an ETag and honours If-None-Match.
 * - GET /openapi/v2: an empty Swagger 2.0 document (protobuf, or JSON when asked for). kubectl
 *   only reads it when it validates client-side, which it does for `kind: List` manifests
 *   (their items are still validated by the server, one create or patch at a time); an empty
 *   document lets that pass instead of failing with a 404.
 *
 * The documents are static for a build, so they are built once per isolate, on first use,
 * and served as pre-serialized strings.
 */

interface Served {
  doc: unknown;
  body: string;
  hash: string;
}

interface Built {
  root: { paths: Record<string, { serverRelativeURL: string }> };
  rootServed: Served;
  groupVersions: Map<string, Served>;
  v2Json: Served;
  v2Proto: { body: Uint8Array; hash: string };
}

let built: Built | undefined;

const sha512 = (...parts: Array<string | Uint8Array>) => {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return h.digest("hex").toUpperCase();
};

function serve(doc: unknown): Served {
  const body = JSON.stringify(doc);
  return { doc, body, hash: sha512(body) };
}

function build(): Built {
  if (built) return built;
  const groupVersions = new Map<string, Served>();
  for (const { key, doc } of buildGroupVersionDocs(KINDS)) groupVersions.set(key, serve(doc));
  const root = {
    paths: Object.fromEntries([...groupVersions].map(([key, s]) => [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${s.hash}` }])),
  };
  const v2 = { swagger: "2.0", info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion }, paths: {}, definitions: {} };
  const v2Proto = encodeEmptySwaggerDocument(v2.swagger, v2.info.title, v2.info.version);
  built = { root, rootServed: serve(root), groupVersions, v2Json: serve(v2), v2Proto: { body: v2Proto, hash: sha512(OPENAPI_V2_PROTOBUF, v2Proto) } };
  return built;
}

/** The /openapi/v3 root document. */
export function openApiV3Root(): { paths: Record<string, { serverRelativeURL: string }> } {
  return build().root;
}

/** The document of one group-version ("api/v1", "apis/apps/v1"), or undefined. */
export function openApiV3GroupVersion(path: string): unknown | undefined {
  return build().groupVersions.get(path.replace(/\/+$/, ""))?.doc;
}

/**
 * The protobuf media type of the v2 document. Clients ask with either spelling
 * ("...spec.v2@v1.0+protobuf" is the older one); the answer always uses this one, because
 * Go's mime parser rejects the "@" form in a Content-Type.
 */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/**
 * Answers GET/HEAD /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>, with hash,
 * ETag and cache headers. Returns undefined for any other path (including unknown
 * group-versions), which the caller turns into its 404.
 */
export function serveOpenApi(req: Request): Response | undefined {
  const url = new URL(req.url);
  const path = url.pathname.replace(/\/+$/, "");
  const b = build();
  if (path === "/openapi/v2") {
    const accept = req.headers.get("accept") || "*/*";
    if (accept.includes("com.github.proto-openapi.spec.v2")) return respond(req, b.v2Proto.body, b.v2Proto.hash, OPENAPI_V2_PROTOBUF);
    if (/json|\*\/\*|application\/\*/.test(accept)) return respond(req, b.v2Json.body, b.v2Json.hash, "application/json");
    return new Response(null, { status: 406, headers: { vary: "Accept" } });
  }
  if (path === "/openapi/v3") return respond(req, b.rootServed.body, b.rootServed.hash, "application/json");
  if (!path.startsWith("/openapi/v3/")) return undefined;
  const key = path.slice("/openapi/v3/".length);
  const gv = b.groupVersions.get(key);
  if (!gv) return undefined;
  const asked = url.searchParams.get("hash");
  if (asked !== null && asked !== gv.hash) {
    // The client holds an old root: send it to the current document.
    return new Response(null, { status: 301, headers: { location: `/openapi/v3/${key}?hash=${gv.hash}`, "cache-control": "no-cache" } });
  }
  const extra: Record<string, string> = {};
  if (asked !== null) {
    extra["cache-control"] = "public, immutable";
    extra.expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
  }
  return respond(req, gv.body, gv.hash, "application/json", extra);
}

function respond(req: Request, body: string | Uint8Array, hash: string, contentType: string, extra: Record<string, string> = {}): Response {
  const etag = `"${hash}"`;
  const headers = new Headers({ etag, vary: "Accept", ...extra });
  if (!extra["cache-control"]) headers.set("cache-control", "no-cache, private");
  const inm = req.headers.get("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) return new Response(null, { status: 304, headers });
  headers.set("content-type", contentType);
  return new Response(req.method === "HEAD" ? null : body, { status: 200, headers });
}

// ---- a minimal protobuf encoder for the (empty) openapi_v2.Document ----------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (wire type 2). */
function field(num: number, payload: Uint8Array | number[]): number[] {
  return [...varint((num << 3) | 2), ...varint(payload.length), ...payload];
}

/**
 * openapi_v2.Document (gnostic): swagger = 1, info = 2 (Info: title = 1, version = 2),
 * paths = 8, definitions = 9. Paths and definitions are present and empty.
 */
function encodeEmptySwaggerDocument(swagger: string, title: string, version: string): Uint8Array {
  const enc = new TextEncoder();
  const info = [...field(1, enc.encode(title)), ...field(2, enc.encode(version))];
  return new Uint8Array([...field(1, enc.encode(swagger)), ...field(2, info), ...field(8, []), ...field(9, [])]);
}
