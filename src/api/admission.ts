import { groupVersion, storedAs } from "../resources/index.ts";
import { validateObjectMeta, type NameRule } from "../resources/meta.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { MAX_OBJECT_BYTES } from "./body.ts";
import { badRequest, invalid, tooLarge } from "./errors.ts";
import type { Target } from "./target.ts";

/**
 * Everything between a decoded body and the store: shape checks against the URL,
 * unknown-field handling (fieldValidation), defaults and validation.
 */

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function parseFieldValidation(v: string | null): FieldValidation {
  if (v === null || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn" or "Strict", got "${v}"`);
}

const KNOWN_METADATA = new Set([
  "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
  "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
]);

/** Kinds whose names are DNS labels rather than subdomains. */
const LABEL_NAMED = new Set(["Namespace", "Service"]);
const nameRule = (kind: ResourceKind): NameRule => (LABEL_NAMED.has(kind.kind) ? "label" : "subdomain");

/** Unknown fields as "path" strings: top-level against the kind's known fields, and metadata. */
const MAX_NAMED_UNKNOWN = 20;

export function unknownFields(kind: ResourceKind, obj: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (kind.fields) {
    const known = new Set(["apiVersion", "kind", "metadata", ...kind.fields]);
    for (const k of Object.keys(obj)) if (!known.has(k)) out.push(k);
  }
  const m = obj.metadata;
  if (m && typeof m === "object" && !Array.isArray(m))
    for (const k of Object.keys(m)) if (!KNOWN_METADATA.has(k)) out.push(`metadata.${k}`);
  return out;
}

/** Drops null-valued fields, as decoding into Kubernetes' typed structs does (`creationTimestamp: null`). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) dropNulls(x);
  } else if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else dropNulls(o[k]);
    }
  }
  return v;
}

/**
 * Checks a body against the URL it was sent to and returns it as a KubeObject.
 * Unknown fields are dropped, reported as warnings, or rejected, per fieldValidation.
 */
export function admitBody(
  target: Target,
  body: Record<string, unknown>,
  opts: { fieldValidation: FieldValidation; warnings: string[]; requireName?: string },
): KubeObject {
  const kind = target.kind;
  const gv = groupVersion(kind);
  dropNulls(body);
  if (body.apiVersion === undefined) body.apiVersion = gv;
  if (body.kind === undefined) body.kind = kind.kind;
  if (body.apiVersion !== gv || body.kind !== kind.kind)
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) and kind (${String(body.kind)}) do not match the URL, which serves ${gv} ${kind.kind}`,
    );
  if (body.metadata === undefined) body.metadata = {};
  if (body.metadata === null || typeof body.metadata !== "object" || Array.isArray(body.metadata))
    throw badRequest("metadata must be an object");
  // What Go's decoder refuses before validation: a spec or status that is not an object.
  for (const f of ["spec", "status"])
    if (body[f] !== undefined && (typeof body[f] !== "object" || Array.isArray(body[f])))
      throw badRequest(`${f} must be an object, not ${Array.isArray(body[f]) ? "a list" : typeof body[f]}`);
  const meta = body.metadata as Record<string, unknown>;
  for (const f of ["name", "namespace", "generateName", "resourceVersion", "uid"])
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== "string") throw badRequest(`metadata.${f} must be a string`);
  if (kind.namespaced) {
    if (meta.namespace && meta.namespace !== target.namespace)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    meta.namespace = target.namespace;
  } else if (meta.namespace) {
    delete meta.namespace; // cluster-scoped objects have no namespace; Kubernetes clears it too
  }
  if (opts.requireName !== undefined) {
    if (meta.name === undefined || meta.name === "") meta.name = opts.requireName;
    if (meta.name !== opts.requireName)
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${opts.requireName})`);
  }
  const unknown = unknownFields(kind, body);
  if (unknown.length > 0) {
    // A hostile body can carry hundreds of thousands of them: name the first few only.
    const named = unknown.slice(0, MAX_NAMED_UNKNOWN).map((f) => `unknown field "${f.length > 256 ? `${f.slice(0, 256)}...` : f}"`);
    if (unknown.length > MAX_NAMED_UNKNOWN) named.push(`and ${unknown.length - MAX_NAMED_UNKNOWN} more unknown fields`);
    if (opts.fieldValidation === "Strict") throw badRequest(`strict decoding error: ${named.join(", ")}`);
    if (opts.fieldValidation === "Warn") for (const w of named) opts.warnings.push(w);
    for (const f of unknown) {
      if (f.startsWith("metadata.")) delete meta[f.slice("metadata.".length)];
      else delete body[f];
    }
  }
  // Another version of a stored kind: from here on the object is in its stored version.
  return storedAs(kind, body as KubeObject);
}

const validationErrors = (kind: ResourceKind, obj: KubeObject, old?: KubeObject) => [
  ...validateObjectMeta(obj, nameRule(kind), kind.namespaced),
  ...(kind.validate?.(obj, old) ?? []),
];

/** `fn()`, or undefined when it throws a TypeError/RangeError (a value of the wrong type or shape). */
function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return undefined;
    throw e;
  }
}

/**
 * Defaults, then validation (422 with causes), then the size limit (413). On create the
 * uid is assigned first, since some defaults derive from it (a Job's generated selector).
 */
export function defaultAndValidate(kind: ResourceKind, obj: KubeObject, old?: KubeObject): void {
  if (!old) obj.metadata.uid = crypto.randomUUID();
  // Defaulting and validation read fields as the schema types them; a body with a string where an
  // object belongs (or the like) makes them throw: that is a malformed request, not a server error.
  const malformed = () => badRequest(`the ${kind.kind} in the request body is malformed: a field holds a value of the wrong type`);
  let errs;
  try {
    kind.defaults?.(obj);
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    errs = safely(() => validationErrors(kind, obj, old));
    if (!errs || errs.length === 0) throw malformed();
  }
  errs ??= safely(() => validationErrors(kind, obj, old));
  if (!errs) throw malformed();
  if (errs.length > 0) {
    throw invalid(kind, obj.metadata.name ?? obj.metadata.generateName ?? "", errs.map((e) => ({ reason: e.reason ?? "FieldValueInvalid", message: e.message, field: e.field })));
  }
  const size = JSON.stringify(obj).length;
  if (size > MAX_OBJECT_BYTES) throw tooLarge(`the object is ${size} bytes; the limit is ${MAX_OBJECT_BYTES} bytes`);
}
