import { parse as parseYaml, parseAllDocuments } from "yaml";
import { badRequest, tooLarge, unsupportedMediaType } from "./errors.ts";
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from "./protobuf.ts";

/** Reading request bodies: size limits, JSON, YAML and protobuf, into plain JSON values. */

/** The API server's request body limit (kube-apiserver: 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** The largest object the store keeps (etcd's default request limit is 1.5 MiB). */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
/** JSON/YAML nesting deeper than this is rejected before it can hurt. */
const MAX_DEPTH = 100;

export const mediaType = (contentType: string | null | undefined) =>
  (contentType ?? "").split(";")[0].trim().toLowerCase();

export async function readBodyBytes(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge(`the request body of ${declared} bytes exceeds the limit of ${MAX_BODY_BYTES} bytes`);
  if (!req.body) return new Uint8Array();
  if (req.headers.has("content-length")) {
    // Declared and within the limit: one native read (a body longer than declared is an error there).
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge(`the request body exceeds the limit of ${MAX_BODY_BYTES} bytes`);
    return bytes;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`the request body exceeds the limit of ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function depth(v: unknown, d = 0): number {
  if (d > MAX_DEPTH) return d;
  if (v === null || typeof v !== "object") return d;
  let max = d;
  for (const x of Object.values(v as object)) {
    max = Math.max(max, depth(x, d + 1));
    if (max > MAX_DEPTH) break;
  }
  return max;
}

function checkDepth(v: unknown): unknown {
  if (depth(v) > MAX_DEPTH) throw badRequest(`the request body is nested deeper than ${MAX_DEPTH} levels`);
  return v;
}

export function parseJson(text: string): unknown {
  try {
    return checkDepth(JSON.parse(text));
  } catch (e) {
    if (e instanceof SyntaxError) throw badRequest(`the request body is not valid JSON: ${e.message}`);
    throw e;
  }
}

export function parseYamlDocument(text: string): unknown {
  try {
    const docs = parseAllDocuments(text, { uniqueKeys: false });
    const list = Array.isArray(docs) ? docs : [docs];
    const nonEmpty = list.filter((d) => d.contents !== null);
    if (nonEmpty.length > 1) throw badRequest("the request body holds more than one YAML document; send one object per request");
    for (const d of list) if (d.errors.length) throw badRequest(`the request body is not valid YAML: ${d.errors[0].message}`);
    return checkDepth(nonEmpty[0] ? nonEmpty[0].toJS({ maxAliasCount: 100 }) : parseYaml("null"));
  } catch (e) {
    if (e instanceof Error && !(e as { code?: number }).code) throw badRequest(`the request body is not valid YAML: ${e.message}`);
    throw e;
  }
}

/** Decodes a request body by its media type into a JSON value. */
export async function readBody(req: Request): Promise<unknown> {
  return decodeBody(await readBodyBytes(req), req.headers.get("content-type"));
}

export function decodeBody(bytes: Uint8Array, contentType: string | null): unknown {
  const type = mediaType(contentType);
  if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(bytes);
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === "") throw badRequest("the request body is empty; an object was expected");
  if (type === "application/yaml" || type === "application/apply-patch+yaml" || type === "text/yaml") return parseYamlDocument(text);
  if (type === "" || type.endsWith("json") || type === "*/*") return parseJson(text);
  throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got "${type}")`);
}

/** A body that must be a JSON object (an API object or a patch document). */
export function expectObject(v: unknown, what = "object"): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw badRequest(`the request body must be a JSON ${what}`);
  return v as Record<string, unknown>;
}
