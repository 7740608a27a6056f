import { ageColumn } from "../resources/columns.ts";
import type { KubeObject, ResourceKind, TableColumn } from "../resources/types.ts";

/** Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`. */

export function wantsTable(accept: string | null | undefined): boolean {
  if (!accept) return false;
  return accept
    .split(",")
    .some((part) => /(^|;)\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

const nameColumn: TableColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  cell: (o) => o.metadata.name ?? "",
};

export function columnsOf(kind: ResourceKind): TableColumn[] {
  const cols = kind.columns ?? [];
  const out = cols.some((c) => c.name === "Name") ? [...cols] : [nameColumn, ...cols];
  if (!kind.noAgeColumn && !out.some((c) => c.name === "Age")) out.push(ageColumn);
  return out;
}

function partialMetadata(o: KubeObject) {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

export function toTable(
  kind: ResourceKind,
  objects: KubeObject[],
  listMeta: { resourceVersion?: string; continue?: string },
  includeObject: string | null = "Metadata",
  now = Date.now(),
) {
  const columns = columnsOf(kind);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type === "date" ? "string" : c.type,
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => {
        try {
          return c.cell(o, now);
        } catch {
          return "<error>";
        }
      }),
      object: includeObject === "None" ? undefined : includeObject === "Object" ? o : partialMetadata(o),
    })),
  };
}
