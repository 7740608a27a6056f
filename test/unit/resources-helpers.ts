import { columnsOf } from "../../src/api/table.ts";
import type { FieldError, KubeObject, ResourceKind } from "../../src/resources/types.ts";

/** A fresh object of a kind (deep-copied so tests can mutate freely). */
export function make(kind: ResourceKind, body: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  const gv = kind.group ? `${kind.group}/${kind.version}` : kind.version;
  return structuredClone({ apiVersion: gv, kind: kind.kind, metadata: { name: "x", ...(kind.namespaced ? { namespace: "default" } : {}), ...meta }, ...body });
}

/** Defaults, then validation, as admission does; returns the errors. */
export function admit(kind: ResourceKind, obj: KubeObject, old?: KubeObject): FieldError[] {
  kind.defaults?.(obj);
  return kind.validate?.(obj, old) ?? [];
}

/** The field paths of the errors, in order. */
export const paths = (errs: FieldError[]) => errs.map((e) => e.field);

/** Column name -> cell of a row, for the full (wide) table. */
export function cells(kind: ResourceKind, obj: KubeObject, now = Date.parse("2024-01-01T01:00:00Z")): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columnsOf(kind)) out[c.name] = c.cell(obj, now);
  return out;
}

/** The column headers: default ones, then wide (priority 1) ones. */
export function headers(kind: ResourceKind): { default: string[]; wide: string[] } {
  const cols = columnsOf(kind);
  return { default: cols.filter((c) => !c.priority).map((c) => c.name), wide: cols.filter((c) => c.priority === 1).map((c) => c.name) };
}

export const CREATED = "2024-01-01T00:00:00Z"; // one hour before `cells`' default now
