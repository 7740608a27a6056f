import { ApiError, badRequest } from "./errors.ts";
import { getOwn, hasOwn, isObject, setOwn, type JsonObject } from "./json-patch.ts";
import { fieldStrategy, type FieldStrategy, type Schema } from "./patch-strategy.ts";

/**
 * Strategic merge patch, as kube-apiserver applies it (k8s.io/apimachinery strategicpatch,
 * with its server-side options: parallel deletion lists are applied, unmatched nulls dropped).
 *
 * - Maps merge key by key; `null` deletes a key.
 * - Lists whose field has patchStrategy "merge" merge element by element: by the field's
 *   patchMergeKey for lists of objects, as a set for lists of scalars. Other lists are replaced.
 * - Directives: `$patch: replace | delete | merge` in a map or as a list element,
 *   `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`, `$retainKeys`.
 * - Order of a merged list: `$setElementOrder` first, then the order of the patch list, then
 *   the order of the live list; elements the patch adds without an order go before the
 *   live elements they are compared with (so a new container lands first, as in Kubernetes).
 *
 * Errors: a malformed directive is 400 BadRequest; a list of lists is 422.
 */

const DIRECTIVE = "$patch";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER = "$setElementOrder/";
const RETAIN_KEYS = "$retainKeys";

const badPatch = (message: string) => badRequest(`invalid strategic merge patch: ${message}`);

/** Applies a strategic merge patch to a copy of `original`; neither argument is changed. */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, schema: Schema | undefined): JsonObject {
  if (getOwn(patch, DIRECTIVE) === "delete")
    throw new ApiError(422, "Invalid", 'invalid strategic merge patch: "$patch: delete" cannot remove the whole object; send a DELETE request');
  return mergeMap(structuredClone(original), structuredClone(patch), schema);
}

/** A comparable identity for a merge key value or a scalar list element. */
function identity(v: unknown): string {
  if (typeof v === "string") return `s${v}`;
  if (typeof v === "number") return `n${v}`;
  return v === undefined ? "u" : `${typeof v}:${JSON.stringify(v)}`;
}

/** Element identity within a list: the merge key of objects, the value itself for scalars. */
const elementId = (v: unknown, mergeKey: string | undefined) =>
  mergeKey !== undefined ? identity(isObject(v) ? getOwn(v, mergeKey) : undefined) : identity(v);

function mergeMap(original: JsonObject | undefined, patch: JsonObject, schema: Schema | undefined): JsonObject {
  if (hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    delete patch[DIRECTIVE];
    if (directive === "replace") return clean(patch) as JsonObject;
    if (directive === "delete") return {};
    if (directive !== "merge") throw badPatch(`unknown directive "$patch: ${String(directive)}"; use replace, delete or merge`);
  }
  const out = original ?? {};
  applyRetainKeys(out, patch);
  applySetElementOrders(out, patch, schema);

  const deletionLists: [string, unknown][] = [];
  for (const [key, patchValue] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (!field) throw badPatch(`"${key}" names no field`);
      deletionLists.push([field, patchValue]);
      continue;
    }
    if (patchValue === null) {
      delete out[key];
      continue;
    }
    const current = getOwn(out, key);
    if (current === undefined || shape(current) !== shape(patchValue)) {
      const value = clean(patchValue);
      if (value === undefined) delete out[key];
      else setOwn(out, key, value);
      continue;
    }
    const meta = fieldStrategy(schema, key);
    if (isObject(current)) setOwn(out, key, meta?.strategy === "replace" ? clean(patchValue) : mergeMap(current, patchValue as JsonObject, meta?.fields));
    else if (Array.isArray(current))
      setOwn(out, key, meta?.strategy === "merge" ? mergeList(current, patchValue as unknown[], meta, key) : clean(patchValue));
    else setOwn(out, key, patchValue);
  }
  // Deletions from lists of scalars apply after the additions of the same patch.
  for (const [field, values] of deletionLists) {
    if (!Array.isArray(values)) throw badPatch(`"${DELETE_FROM_PRIMITIVE_LIST}${field}" must be a list`);
    const current = getOwn(out, field);
    if (!Array.isArray(current)) continue;
    const gone = new Set(values.map((v) => identity(v)));
    setOwn(out, field, current.filter((v) => !gone.has(identity(v))));
  }
  return out;
}

const shape = (v: unknown) => (Array.isArray(v) ? "list" : isObject(v) ? "map" : "scalar");

/** "object" or "scalar": what a merged list holds. */
function elementKind(field: string, ...lists: unknown[][]): "object" | "scalar" | undefined {
  let kind: "object" | "scalar" | undefined;
  for (const list of lists)
    for (const v of list) {
      if (Array.isArray(v)) throw new ApiError(422, "Invalid", `invalid strategic merge patch: ${field}: lists of lists are not supported`);
      const k = isObject(v) ? "object" : "scalar";
      if (kind && kind !== k) throw badPatch(`${field}: the list mixes objects and scalars`);
      kind = k;
    }
  return kind;
}

/**
 * `view`, when given, receives the live list as Kubernetes' implementation sees it afterwards
 * for `$setElementOrder` (it works in place: deleted elements close up and the first
 * appended elements take the freed places), so the final order matches kube-apiserver's.
 */
function mergeList(original: unknown[], patch: unknown[], meta: FieldStrategy, field: string, view?: { serverOrder: unknown[] }): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(field, original, patch);
  if (kind === "scalar") {
    const seen = new Set<string>();
    const merged = [...original, ...patch].filter((v) => {
      const id = identity(v);
      return seen.has(id) ? false : (seen.add(id), true);
    });
    return orderMerged(merged, patch, original, undefined);
  }
  const mergeKey = meta.mergeKey;
  if (mergeKey === undefined) throw badPatch(`${field}: cannot merge a list of objects without a merge key`);

  // Special elements: {$patch: delete, <key>: v} removes, {$patch: replace} replaces the list.
  let base = original;
  let replace = false;
  const plain: JsonObject[] = [];
  for (const el of patch as JsonObject[]) {
    if (!hasOwn(el, DIRECTIVE)) {
      plain.push(el);
      continue;
    }
    const directive = el[DIRECTIVE];
    if (directive === "delete") {
      if (!hasOwn(el, mergeKey)) throw badPatch(`${field}: a "$patch: delete" element must name its ${mergeKey}`);
      const id = identity(el[mergeKey]);
      base = base.filter((o) => elementId(o, mergeKey) !== id);
    } else if (directive === "replace") replace = true;
    else if (directive === "merge") throw badPatch(`${field}: "$patch: merge" cannot be used in a list`);
    else throw badPatch(`${field}: unknown directive "$patch: ${String(directive)}"`);
  }
  const serverOrder = replace ? plain : base;
  const patchList = replace ? [] : plain;

  const merged = replace ? serverOrder.map((o) => clean(o)) : [...serverOrder];
  const at = new Map<string, number>();
  merged.forEach((o, i) => {
    const id = elementId(o, mergeKey);
    if (!at.has(id)) at.set(id, i);
  });
  const appended: unknown[] = [];
  for (const el of patchList) {
    if (!hasOwn(el, mergeKey)) throw badPatch(`${field}: an element has no merge key "${mergeKey}": ${JSON.stringify(el)}`);
    const id = identity(el[mergeKey]);
    const i = at.get(id);
    if (i !== undefined && isObject(merged[i])) merged[i] = mergeMap(merged[i] as JsonObject, el, meta.fields);
    else {
      at.set(id, merged.length);
      const c = clean(el);
      merged.push(c);
      appended.push(c);
    }
  }
  if (view) view.serverOrder = replace ? base : [...base, ...appended.slice(0, original.length - base.length)];
  return orderMerged(merged, patchList, serverOrder, mergeKey);
}

/**
 * The order of a merged list: the items named by `order` (a patch list or $setElementOrder)
 * in that order, interleaved with the others in the order of `serverOrder`.
 */
function orderMerged(merged: unknown[], order: unknown[], serverOrder: unknown[], mergeKey: string | undefined): unknown[] {
  const rank = (list: unknown[]) => {
    const m = new Map<string, number>();
    list.forEach((v, i) => {
      const id = elementId(v, mergeKey);
      if (!m.has(id)) m.set(id, i);
    });
    return m;
  };
  const orderRank = rank(order);
  const serverRank = rank(serverOrder);
  const fromPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) (orderRank.has(elementId(v, mergeKey)) ? fromPatch : serverOnly).push(v);
  const sortBy = (list: unknown[], r: Map<string, number>) =>
    list
      .map((v, i) => ({ v, i, r: r.get(elementId(v, mergeKey)) }))
      .sort((a, b) => (a.r !== undefined && b.r !== undefined ? a.r - b.r : a.r !== undefined ? -1 : b.r !== undefined ? 1 : a.i - b.i))
      .map((x) => x.v);
  const left = sortBy(serverOnly, serverRank);
  const right = sortBy(fromPatch, orderRank);
  // Interleave: a live item goes first only when both are live and it comes first in the live list.
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push(left[i++]);
    else if (i >= left.length) out.push(right[j++]);
    else {
      const li = serverRank.get(elementId(left[i], mergeKey));
      const ri = serverRank.get(elementId(right[j], mergeKey));
      if (li !== undefined && ri !== undefined && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function applyRetainKeys(out: JsonObject, patch: JsonObject): void {
  if (!hasOwn(patch, RETAIN_KEYS)) return;
  const keys = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw badPatch(`"${RETAIN_KEYS}" must be a list of field names`);
  const keep = new Set(keys as string[]);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw badPatch(`the patch sets "${k}", which its "${RETAIN_KEYS}" list does not name`);
  }
  for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
}

function applySetElementOrders(out: JsonObject, patch: JsonObject, schema: Schema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    const field = key.slice(SET_ELEMENT_ORDER.length);
    if (!field) throw badPatch(`"${key}" names no field`);
    if (!Array.isArray(order)) throw badPatch(`"${key}" must be a list`);
    const current = getOwn(out, field);
    const patchList = getOwn(patch, field);
    // A list being deleted or replaced by a non-list is handled by the main merge.
    if ((current !== undefined && !Array.isArray(current)) || (patchList !== undefined && !Array.isArray(patchList))) continue;
    const meta = fieldStrategy(schema, field);
    const mergeKey = meta?.strategy === "merge" ? meta.mergeKey : undefined;
    if (mergeKey !== undefined)
      for (const o of order) if (!isObject(o) || !hasOwn(o, mergeKey)) throw badPatch(`"${key}": every element must name its ${mergeKey}`);
    if (patchList) checkPatchMatchesOrder(patchList, order, mergeKey, key);

    let merged: unknown[];
    const view = { serverOrder: current ?? [] };
    if (current && patchList) merged = meta?.strategy === "merge" ? mergeList(current, patchList, meta, field, view) : (clean(patchList) as unknown[]);
    else if (patchList) merged = clean(patchList) as unknown[];
    else if (current) merged = current;
    else continue;
    const kind = elementKind(field, current ?? [], patchList ?? []);
    if (kind === "object" && mergeKey === undefined) setOwn(out, field, merged);
    else setOwn(out, field, orderMerged(merged, order, view.serverOrder, mergeKey));
    delete patch[field];
  }
}

/** The patch list's elements must appear in $setElementOrder, in the same relative order. */
function checkPatchMatchesOrder(patchList: unknown[], order: unknown[], mergeKey: string | undefined, key: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = patchList.filter((v) => !(isObject(v) && hasOwn(v, DIRECTIVE)));
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    if (elementId(items[p], mergeKey) === elementId(order[s], mergeKey)) p++;
    s++;
  }
  if (p < items.length) throw badPatch(`the order of the patch list does not match its "${key}" list`);
}

/**
 * A patch value taken as is (nothing to merge it with): directives and nulls removed.
 * Returns undefined for a value that is itself a `$patch: delete`.
 */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      if (isObject(x) && hasOwn(x, DIRECTIVE)) continue; // list markers and deletions of absent items
      out.push(clean(x));
    }
    return out;
  }
  if (!isObject(v)) return v;
  if (hasOwn(v, DIRECTIVE) && v[DIRECTIVE] === "delete") return undefined;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const c = clean(x);
    if (c !== undefined) setOwn(out, k, c);
  }
  return out;
}
