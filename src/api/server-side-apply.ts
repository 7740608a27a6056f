import type { KubeObject } from "../resources/types.ts";
import { badRequest } from "./errors.ts";
import { getOwn, isObject, setOwn, type JsonObject } from "./json-patch.ts";
import { fieldStrategy, type FieldStrategy, type ListKey, type Schema } from "./patch-strategy.ts";

/**
 * Server-side apply (`application/apply-patch+yaml`) onto an existing object: the applied
 * configuration is merged into the live object.
 *
 * - Maps merge recursively; a `null` in the configuration removes the field.
 * - Associative lists (the "merge" lists of the patch schema) merge element by element, by
 *   their list-map keys (e.g. containers by name, container ports by containerPort+protocol),
 *   keeping the live order and appending new elements; set lists (finalizers) are unioned.
 * - Every other list, and every scalar, is replaced by the configuration's value.
 *
 * Limits (no managedFields tracking): fields a manager applied before and now omits are NOT
 * removed (real server-side apply removes them when no other manager owns them); there is no
 * ownership, so no 409 conflicts between managers and `force` changes nothing; an object's
 * metadata.managedFields is left as it is. The handler creates missing objects itself.
 */

export interface ApplyOptions {
  force?: boolean;
  fieldManager?: string;
}

export function serverSideApply(live: KubeObject, config: unknown, schema: Schema | undefined, _opts: ApplyOptions = {}): KubeObject {
  if (!isObject(config)) throw badRequest("an apply patch must be a YAML or JSON object: the configuration to apply");
  const cfg = structuredClone(config);
  const meta = getOwn(cfg, "metadata");
  if (isObject(meta)) delete meta.managedFields; // managedFields are the server's, not part of a configuration
  return applyMap(structuredClone(live) as JsonObject, cfg, schema, "") as KubeObject;
}

function applyMap(live: JsonObject, cfg: JsonObject, schema: Schema | undefined, path: string): JsonObject {
  for (const [key, value] of Object.entries(cfg)) {
    const fieldPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete live[key];
      continue;
    }
    const current = getOwn(live, key);
    const meta = fieldStrategy(schema, key);
    if (isObject(value) && isObject(current) && meta?.strategy !== "replace") setOwn(live, key, applyMap(current, value, meta?.fields, fieldPath));
    else if (Array.isArray(value) && Array.isArray(current) && meta?.strategy === "merge") setOwn(live, key, applyList(current, value, meta, fieldPath));
    else setOwn(live, key, withoutNulls(value));
  }
  return live;
}

function keysOf(meta: FieldStrategy): ListKey[] | undefined {
  if (meta.applyKeys) return meta.applyKeys;
  return meta.mergeKey !== undefined ? [{ field: meta.mergeKey }] : undefined;
}

/** An element's identity in an associative list, or undefined when it lacks a key field. */
function listKey(el: unknown, keys: ListKey[]): string | undefined {
  if (!isObject(el)) return undefined;
  const parts: unknown[] = [];
  for (const k of keys) {
    const v = getOwn(el, k.field) ?? k.default;
    if (v === undefined || v === null) return undefined;
    parts.push(v);
  }
  return JSON.stringify(parts);
}

function applyList(live: unknown[], cfg: unknown[], meta: FieldStrategy, path: string): unknown[] {
  const keys = keysOf(meta);
  if (!keys) {
    // A set of scalars: the union, live order first.
    const seen = new Set(live.map((v) => JSON.stringify(v)));
    const out = [...live];
    for (const v of cfg) {
      const id = JSON.stringify(v);
      if (!seen.has(id)) {
        seen.add(id);
        out.push(v);
      }
    }
    return out;
  }
  const out = [...live];
  const at = new Map<string, number>();
  out.forEach((el, i) => {
    const id = listKey(el, keys);
    if (id !== undefined && !at.has(id)) at.set(id, i);
  });
  cfg.forEach((el, n) => {
    const id = listKey(el, keys);
    if (id === undefined)
      throw badRequest(
        `${path}[${n}]: an element of this list must be an object with ${keys.filter((k) => k.default === undefined).map((k) => `"${k.field}"`).join(" and ")}`,
      );
    const i = at.get(id);
    if (i !== undefined && isObject(out[i])) out[i] = applyMap(out[i] as JsonObject, el as JsonObject, meta.fields, `${path}[${n}]`);
    else {
      at.set(id, out.length);
      out.push(withoutNulls(el));
    }
  });
  return out;
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) setOwn(out, k, withoutNulls(x));
  return out;
}
