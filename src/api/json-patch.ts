import { MAX_BODY_BYTES } from "./body.ts";
import { ApiError, badRequest, tooLarge } from "./errors.ts";

/**
 * RFC 6902 JSON patch, with RFC 6901 JSON pointers.
 *
 * Errors follow kube-apiserver: a malformed patch document is 400 BadRequest, more than
 * 10,000 operations is 413, and an operation that cannot be applied (a missing path, a
 * failed `test`) is 422 Invalid. Two leniencies of the json-patch library Kubernetes uses
 * are kept so clients written against it behave the same: `replace` of a missing object
 * member adds it, and `test` of a missing member against `null` succeeds.
 */

/* JSON value helpers, shared by the patch modules. Own properties only: "__proto__" or
   "constructor" in a patch are plain field names, never the prototype chain. */

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);

export const hasOwn = (o: object, k: string) => Object.hasOwn(o, k);

/** o[k] = v, also for k = "__proto__". */
export function setOwn(o: JsonObject, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** o[k] if o has it as its own property. */
export const getOwn = (o: JsonObject, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined);

/** JSON equality: object member order does not matter. `charge` is told the size of each level compared. */
export function deepEqual(a: unknown, b: unknown, charge?: (units: number) => void): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    charge?.(a.length);
    return a.every((x, i) => deepEqual(x, b[i], charge));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    charge?.(ka.length);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k], charge));
  }
  return false;
}

export const MAX_JSON_PATCH_OPERATIONS = 10_000;
/** How much `copy` may add in total: each copy can double a document, so it needs its own bound. */
export const MAX_COPIED_BYTES = MAX_BODY_BYTES;
/**
 * How much work (array elements shifted, members compared) one patch may cost: 10,000
 * inserts at the front of a huge array, or tests of huge objects, are quadratic otherwise.
 */
export const MAX_PATCH_WORK = 20_000_000;

interface Work {
  units: number;
}

function charge(work: Work, units: number): void {
  work.units += units;
  if (work.units > MAX_PATCH_WORK) throw patchNotApplicable("the patch is too expensive to apply: it shifts or compares too many elements");
}

type OpName = "add" | "remove" | "replace" | "move" | "copy" | "test";
const OPS = new Set<string>(["add", "remove", "replace", "move", "copy", "test"]);

interface Operation {
  op: OpName;
  path: string[];
  rawPath: string;
  from?: string[];
  rawFrom?: string;
  value?: unknown;
}

/** The 422 of an operation that cannot be applied. */
export const patchNotApplicable = (message: string) =>
  new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: ${message}`);

/** "/a/b~1c" -> ["a", "b/c"]; throws on anything that is not a JSON pointer. */
export function parsePointer(pointer: string, where: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw badRequest(`${where}: "${pointer}" is not a JSON pointer; it must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => {
      if (/~(?![01])/.test(token)) throw badRequest(`${where}: "${pointer}" has an invalid escape; only ~0 and ~1 are allowed`);
      return token.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function parseOperations(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw badRequest("a JSON patch must be a JSON array of operations");
  if (patch.length > MAX_JSON_PATCH_OPERATIONS)
    throw tooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`);
  return patch.map((raw, i) => {
    const where = `JSON patch operation ${i}`;
    if (!isObject(raw)) throw badRequest(`${where} must be an object with "op" and "path"`);
    const op = raw.op;
    if (typeof op !== "string" || !OPS.has(op))
      throw badRequest(`${where}: "op" must be one of add, remove, replace, move, copy or test, got ${JSON.stringify(op ?? null)}`);
    if (typeof raw.path !== "string") throw badRequest(`${where} (${op}): "path" must be a string`);
    const out: Operation = { op: op as OpName, path: parsePointer(raw.path, where), rawPath: raw.path };
    if (op === "add" || op === "replace" || op === "test") {
      if (!hasOwn(raw, "value")) throw badRequest(`${where} (${op} ${raw.path}): "value" is required`);
      out.value = raw.value;
    }
    if (op === "move" || op === "copy") {
      if (typeof raw.from !== "string") throw badRequest(`${where} (${op} ${raw.path}): "from" must be a string`);
      out.from = parsePointer(raw.from, where);
      out.rawFrom = raw.from;
    }
    return out;
  });
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** The index a token names in an array of `length` items, or -1. `allowEnd`: the position after the last. */
function arrayIndex(token: string, length: number, allowEnd: boolean): number {
  if (!ARRAY_INDEX.test(token)) return -1;
  const i = Number(token);
  return i < length || (allowEnd && i === length) ? i : -1;
}

type Lookup = { found: true; value: unknown } | { found: false };

function lookup(doc: unknown, path: string[]): Lookup {
  let cur = doc;
  for (const token of path) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(token, cur.length, false);
      if (i < 0) return { found: false };
      cur = cur[i];
    } else if (isObject(cur)) {
      if (!hasOwn(cur, token)) return { found: false };
      cur = cur[token];
    } else return { found: false };
  }
  return { found: true, value: cur };
}

/** The container holding the last token of `path`. */
function parentOf(doc: unknown, op: Operation, path: string[], rawPath: string): unknown[] | Record<string, unknown> {
  const parent = lookup(doc, path.slice(0, -1));
  if (!parent.found || (!Array.isArray(parent.value) && !isObject(parent.value)))
    throw patchNotApplicable(`${op.op} operation does not apply: doc is missing path: "${rawPath}"`);
  return parent.value as unknown[] | Record<string, unknown>;
}

function add(work: Work, doc: unknown, op: Operation, path: string[], rawPath: string, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(doc, op, path, rawPath);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : arrayIndex(last, parent.length, true);
    if (i < 0) throw patchNotApplicable(`${op.op} operation does not apply: index out of bounds or not an array index: "${rawPath}"`);
    charge(work, parent.length - i);
    parent.splice(i, 0, value);
  } else setOwn(parent, last, value);
  return doc;
}

function remove(work: Work, doc: unknown, op: Operation, path: string[], rawPath: string): unknown {
  if (path.length === 0) throw patchNotApplicable(`${op.op} operation does not apply: the whole document cannot be removed`);
  const parent = parentOf(doc, op, path, rawPath);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i < 0) throw patchNotApplicable(`${op.op} operation does not apply: index out of bounds: "${rawPath}"`);
    charge(work, parent.length - i);
    parent.splice(i, 1);
  } else {
    if (!hasOwn(parent, last)) throw patchNotApplicable(`${op.op} operation does not apply: doc is missing key: "${rawPath}"`);
    delete parent[last];
  }
  return doc;
}

function replace(doc: unknown, op: Operation, value: unknown): unknown {
  if (op.path.length === 0) return value;
  const parent = parentOf(doc, op, op.path, op.rawPath);
  const last = op.path[op.path.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i < 0) throw patchNotApplicable(`replace operation does not apply: index out of bounds: "${op.rawPath}"`);
    parent[i] = value;
  } else setOwn(parent, last, value);
  return doc;
}

const isPrefix = (prefix: string[], path: string[]) => prefix.length <= path.length && prefix.every((t, i) => path[i] === t);

/** Applies an RFC 6902 patch to a copy of `doc`; `doc` itself is not changed. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  const ops = parseOperations(patch);
  let out = structuredClone(doc);
  let copied = 0;
  const work: Work = { units: 0 };
  for (const op of ops) {
    switch (op.op) {
      case "add":
        out = add(work, out, op, op.path, op.rawPath, structuredClone(op.value));
        break;
      case "remove":
        out = remove(work, out, op, op.path, op.rawPath);
        break;
      case "replace":
        out = replace(out, op, structuredClone(op.value));
        break;
      case "move": {
        const from = lookup(out, op.from!);
        if (!from.found) throw patchNotApplicable(`move operation does not apply: doc is missing from path: "${op.rawFrom}"`);
        if (isPrefix(op.from!, op.path) && op.from!.length < op.path.length)
          throw patchNotApplicable(`move operation does not apply: "${op.rawFrom}" cannot be moved into its own child "${op.rawPath}"`);
        if (op.from!.length === op.path.length && isPrefix(op.from!, op.path)) break; // onto itself
        out = remove(work, out, op, op.from!, op.rawFrom!);
        out = add(work, out, op, op.path, op.rawPath, from.value);
        break;
      }
      case "copy": {
        const from = lookup(out, op.from!);
        if (!from.found) throw patchNotApplicable(`copy operation does not apply: doc is missing from path: "${op.rawFrom}"`);
        copied += JSON.stringify(from.value ?? null).length;
        if (copied > MAX_COPIED_BYTES)
          throw patchNotApplicable(`the copy operations of this patch add more than ${MAX_COPIED_BYTES} bytes; the limit is ${MAX_COPIED_BYTES}`);
        out = add(work, out, op, op.path, op.rawPath, structuredClone(from.value));
        break;
      }
      case "test": {
        const at = lookup(out, op.path);
        const ok = at.found ? deepEqual(at.value, op.value, (n) => charge(work, n)) : op.value === null;
        if (!ok)
          throw patchNotApplicable(
            at.found
              ? `test operation failed: the value at "${op.rawPath}" is not ${JSON.stringify(op.value)}`
              : `test operation failed: "${op.rawPath}" does not exist`,
          );
        break;
      }
    }
  }
  return out;
}
