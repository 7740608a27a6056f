import type { KubeObject, TableColumn } from "./types.ts";

/** kubectl's human-readable duration ("45s", "5m3s", "3h", "2d4h", "1y"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** Age since an RFC 3339 timestamp, or "<unknown>". */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}

/** Reads a dotted path ("spec.replicas") from an object. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Sets a dotted path, creating intermediate objects. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Record<string, unknown> = obj;
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === null || typeof cur[part] !== "object") cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

export const ageColumn: TableColumn = {
  name: "Age",
  type: "string",
  description: "Time since the object was created",
  cell: (o, now) => age(o.metadata.creationTimestamp, now),
};

/** A column whose cell is a path's value, or `fallback` when unset. */
export function pathColumn(
  name: string,
  path: string,
  opts: { type?: TableColumn["type"]; priority?: 0 | 1; fallback?: string | number } = {},
): TableColumn {
  return {
    name,
    type: opts.type ?? "string",
    priority: opts.priority,
    cell: (o: KubeObject) => {
      const v = getPath(o, path);
      if (v === undefined || v === null || v === "") return opts.fallback ?? "<none>";
      return typeof v === "object" ? JSON.stringify(v) : (v as string | number | boolean);
    },
  };
}

/** "k=v,k2=v2" or "<none>", as kubectl prints selectors and label maps. */
export function mapString(m: Record<string, string> | undefined): string {
  if (!m || Object.keys(m).length === 0) return "<none>";
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Comma list of container images / names of a pod template. */
export function containersOf(o: KubeObject, path = "spec.template.spec.containers"): { name: string; image: string }[] {
  const c = getPath(o, path);
  return Array.isArray(c) ? (c as { name: string; image: string }[]) : [];
}
