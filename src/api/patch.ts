import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { badRequest, unsupportedMediaType } from "./errors.ts";
import { applyJsonPatch, isObject, patchNotApplicable, setOwn, type JsonObject } from "./json-patch.ts";
import { schemaFor } from "./patch-strategy.ts";
import { serverSideApply } from "./server-side-apply.ts";
import { strategicMergePatch } from "./strategic-merge.ts";

/** Patch content types and how each one turns the current object into the next. */

export const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

/** A patched object nested deeper than this is rejected (request bodies have the same bound). */
export const MAX_PATCHED_DEPTH = 100;

/** RFC 7386 JSON merge patch; `target` is not changed. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/** Whether a value nests deeper than `max` levels (iterative: safe on any depth). */
function deeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (d > max) return true;
    for (const y of Object.values(x)) if (y !== null && typeof y === "object") stack.push([y, d + 1]);
  }
  return false;
}

/**
 * Applies a patch of content type `type` to `current` (not changed) and returns the result.
 * `kind` picks the strategic merge schema; when `current` is a view of another kind (a
 * Scale), only metadata fields are special.
 */
export function applyPatch(type: string, current: KubeObject, patch: unknown, kind: ResourceKind, opts: { force?: boolean; fieldManager?: string } = {}): KubeObject {
  let out: unknown;
  try {
    out = patchWith(type, current, patch, kind, opts);
  } catch (e) {
    // A patch can nest values deeper than any recursion copes with (JSON patch moves).
    if (e instanceof RangeError) throw patchNotApplicable("the patched object is nested too deeply or is too large");
    throw e;
  }
  if (!isObject(out)) throw patchNotApplicable("the patched document is not a JSON object");
  if (deeperThan(out, MAX_PATCHED_DEPTH)) throw patchNotApplicable(`the patched object is nested deeper than ${MAX_PATCHED_DEPTH} levels`);
  return out as KubeObject;
}

function patchWith(type: string, current: KubeObject, patch: unknown, kind: ResourceKind, opts: { force?: boolean; fieldManager?: string }): unknown {
  let out: unknown;
  switch (type) {
    case "application/json-patch+json":
      out = applyJsonPatch(current, patch);
      break;
    case "application/merge-patch+json":
      if (!isObject(patch)) throw badRequest("a JSON merge patch must be a JSON object");
      out = mergePatch(current, patch);
      break;
    case "application/strategic-merge-patch+json":
      if (!isObject(patch)) throw badRequest("a strategic merge patch must be a JSON object");
      out = strategicMergePatch(current, patch, schemaFor(kind, current.kind));
      break;
    case "application/apply-patch+yaml":
      out = serverSideApply(current, patch, schemaFor(kind, current.kind), opts);
      break;
    default:
      throw unsupportedMediaType(`the patch content type "${type}" is not supported; use one of ${PATCH_TYPES.join(", ")}`);
  }
  return out;
}
