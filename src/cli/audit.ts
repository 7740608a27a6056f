import { join } from "node:path";
import type { AuditEntry } from "../store/audit-log.ts";
import { call, flag, parseDuration, readAdminKubeconfig } from "./tenant.ts";

/**
 * `edgeplane audit [-n|--namespace NS] [--user U] [--since 10m] [--limit N] [-o json]`: the newest
 * audit log entries from the admin-only GET /edgeplane/v1/audit, printed as a table.
 */

export const AUDIT_USAGE = `  audit [-n|--namespace NS] [--user U] [--since DURATION] [--limit N] [-o json] [--kubeconfig FILE]
        the audit log, newest first: who created, changed or deleted what, and every denied request
        (DURATION like 10m or 24h; default limit 100, at most 1000)
`;

/** An entry as GET /edgeplane/v1/audit answers it. */
type AuditItem = AuditEntry & { timestamp: string };

const what = (e: AuditItem) =>
  e.resource ? `${e.resource}${e.subresource ? `/${e.subresource}` : ""}${e.apiGroup ? `.${e.apiGroup}` : ""}` : (e.path ?? "");

/** Rows padded into columns, as kubectl prints. */
export function auditTable(items: AuditItem[]): string {
  const rows = [["TIME", "USER", "VERB", "RESOURCE", "NAMESPACE", "NAME", "CODE"]];
  for (const e of items)
    rows.push([e.timestamp, e.impersonator ? `${e.user} (by ${e.impersonator})` : e.user, e.verb, what(e), e.namespace ?? "", e.name ?? "", String(e.code)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("   ")).join("\n") + "\n";
}

export async function auditCommand(args: string[], projectRoot: string): Promise<void> {
  const conn = readAdminKubeconfig(flag(args, "kubeconfig") ?? process.env.KUBECONFIG ?? join(projectRoot, ".edgeplane", "kubeconfig"));
  const q = new URLSearchParams();
  const short = (name: string) => (args.includes(`-${name}`) ? args[args.indexOf(`-${name}`) + 1] : undefined);
  const namespace = flag(args, "namespace") ?? short("n");
  if (namespace) q.set("namespace", namespace);
  const user = flag(args, "user");
  if (user) q.set("user", user);
  const since = flag(args, "since");
  if (since) q.set("sinceSeconds", String(parseDuration(since)));
  const limit = flag(args, "limit");
  if (limit) q.set("limit", limit);
  const r = await call(conn, "GET", `/edgeplane/v1/audit${q.size ? `?${q}` : ""}`);
  if (r.status !== 200) throw new Error(`the control plane refused (${r.status}): ${r.body?.message ?? ""}`);
  const items = r.body.items as AuditItem[];
  process.stdout.write((flag(args, "output") ?? short("o")) === "json" ? JSON.stringify(items, null, 2) + "\n" : auditTable(items));
}
