import { badRequest, unsupportedMediaType } from "./errors.ts";
import { decodePartial, decodeToJson, fieldOf, type Partial, toJson } from "./protobuf/decode.ts";
import { ROOTS } from "./protobuf/schemas.generated.ts";

/**
 * Protobuf request bodies. Typed kubectl commands (`kubectl create namespace`,
 * `create deployment`, ...) send `application/vnd.kubernetes.protobuf`: the magic
 * bytes "k8s\0", then a runtime.Unknown envelope {typeMeta{apiVersion, kind}, raw,
 * contentEncoding, contentType} whose raw bytes are the object's own message. We
 * decode that into the same plain JSON object a JSON request would have carried.
 */
export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

export function decodeProtobufObject(bytes: Uint8Array): unknown {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b))
    throw badRequest('the protobuf request body does not start with the "k8s\\0" prefix');
  const budget = { messages: 0 };
  const envelope = decodePartial("runtime.Unknown", bytes.subarray(MAGIC.length), budget);
  const typeMetaPart = fieldOf(envelope, 1) as Partial | undefined;
  const typeMeta = (typeMetaPart ? toJson(typeMetaPart) : {}) as { apiVersion?: string; kind?: string };
  const contentEncoding = fieldOf(envelope, 3) as string | undefined;
  const contentType = fieldOf(envelope, 4) as string | undefined;
  const apiVersion = typeMeta.apiVersion ?? "";
  const kind = typeMeta.kind ?? "";
  if (contentEncoding) throw unsupportedMediaType(`protobuf request bodies with content encoding "${contentEncoding}" are not supported`);
  if (contentType && contentType !== PROTOBUF_CONTENT_TYPE)
    throw unsupportedMediaType(`protobuf request bodies wrapping "${contentType}" are not supported`);
  if (!kind || !apiVersion) throw badRequest("the protobuf request body does not name the object's apiVersion and kind");
  // client-go encodes DeleteOptions under the group version of the client that sends it
  const root = ROOTS[`${apiVersion}/${kind}`] ?? (kind === "DeleteOptions" ? ROOTS["meta.k8s.io/v1/DeleteOptions"] : undefined);
  if (!root)
    throw unsupportedMediaType(
      `this server cannot decode a ${kind} (${apiVersion}) sent as ${PROTOBUF_CONTENT_TYPE}; send it as application/json or application/yaml`,
    );
  const raw = (fieldOf(envelope, 2) as Uint8Array | undefined) ?? new Uint8Array();
  const object = decodeToJson(root, raw, budget) as Record<string, unknown>;
  return { apiVersion, kind, ...object };
}
