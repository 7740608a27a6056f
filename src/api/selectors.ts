import { getPath } from "../resources/columns.ts";
import type { KubeObject } from "../resources/types.ts";
import { badRequest } from "./errors.ts";

/** Label and field selectors as in `?labelSelector=` and `?fieldSelector=`. */

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

const KEY = /^([A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t.length > 0);
}

export function parseLabelSelector(s: string | undefined | null): Requirement[] {
  if (!s) return [];
  if (s.length > 4096) throw badRequest("labelSelector is too long");
  return splitTerms(s).map((term) => {
    let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (m) {
      checkKey(m[1], s);
      return { key: m[1], op: m[2] as "in" | "notin", values: m[3].split(",").map((v) => v.trim()).filter(Boolean) };
    }
    m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      checkKey(m[1], s);
      return { key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] };
    }
    m = /^!\s*(\S+)$/.exec(term);
    if (m) {
      checkKey(m[1], s);
      return { key: m[1], op: "!exists" };
    }
    checkKey(term, s);
    return { key: term, op: "exists" };
  });
}

function checkKey(key: string, whole: string) {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
}

export function labelsMatch(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.value;
      case "!=":
        return !has || l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key]);
      case "notin":
        return !has || !r.values.includes(l[r.key]);
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export function parseFieldSelector(s: string | undefined | null): FieldRequirement[] {
  if (!s) return [];
  if (s.length > 4096) throw badRequest("fieldSelector is too long");
  return splitTerms(s).map((term) => {
    const m = /^([A-Za-z0-9_.\-]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    return { field: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] };
  });
}

/** A field's value as a string for field selectors; missing fields read as "". */
function fieldValue(obj: KubeObject, field: string): string {
  const v = getPath(obj, field);
  if (v === undefined || v === null) return "";
  return String(v);
}

export function fieldsMatch(reqs: FieldRequirement[], obj: KubeObject): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === "="));
}

/** A compiled filter for list and watch. */
export interface ObjectFilter {
  labels: Requirement[];
  fields: FieldRequirement[];
  /** A further condition set by the server itself (e.g. the namespaces a user may see). */
  allow?: (obj: KubeObject) => boolean;
}

export const parseFilter = (labelSelector?: string | null, fieldSelector?: string | null): ObjectFilter => ({
  labels: parseLabelSelector(labelSelector),
  fields: parseFieldSelector(fieldSelector),
});

export const matchesFilter = (f: ObjectFilter, obj: KubeObject) =>
  labelsMatch(f.labels, obj.metadata.labels) && fieldsMatch(f.fields, obj) && (!f.allow || f.allow(obj));

export const isEmptyFilter = (f: ObjectFilter) => f.labels.length === 0 && f.fields.length === 0 && !f.allow;
