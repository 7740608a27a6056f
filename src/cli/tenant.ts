import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { parse } from "yaml";
import { kubeconfigYaml } from "./kubeconfig.ts";

/**
 * `edgeplane tenant create NAME --namespaces a,b [--ttl 720h]` and `edgeplane tenant revoke NAME`:
 * admin calls to the control plane's /edgeplane/v1/tenants endpoint, made with the admin
 * kubeconfig. `create` prints a kubeconfig for the tenant (its token appears nowhere else).
 */

export const TENANT_USAGE = `  tenant create NAME --namespaces NS[,NS...] [--quota R=Q[,R=Q...]] [--ttl DURATION] [--kubeconfig FILE]
        create (or extend) a tenant: its namespaces, an admin RoleBinding in each, and a new
        token; prints the tenant's kubeconfig (DURATION like 720h or 30d; default 90d, 0 = never expires);
        --quota (e.g. cpu=8,memory=16Gi,pods=100) puts a ResourceQuota with that hard limit in each namespace
  tenant revoke NAME [--kubeconfig FILE]
        revoke every token of a tenant
`;

interface AdminConnection {
  server: string;
  token: string;
  insecure: boolean;
  cluster: string;
}

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** The current context's server and bearer token from a kubeconfig. */
export function readAdminKubeconfig(path: string): AdminConnection {
  const cfg = parse(readFileSync(path, "utf8")) as {
    "current-context"?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: { server: string; "insecure-skip-tls-verify"?: boolean } }[];
    users?: { name: string; user: { token?: string } }[];
  };
  const ctx = cfg.contexts?.find((c) => c.name === cfg["current-context"]) ?? cfg.contexts?.[0];
  const cluster = cfg.clusters?.find((c) => c.name === ctx?.context.cluster);
  const user = cfg.users?.find((u) => u.name === ctx?.context.user);
  if (!cluster || !user?.user.token) throw new Error(`${path}: no current context with a server and a bearer token`);
  return { server: cluster.cluster.server, token: user.user.token, insecure: !!cluster.cluster["insecure-skip-tls-verify"], cluster: cluster.name };
}

/** Seconds from "90d", "720h", "30m", "45s" or a plain number of seconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(s.trim());
  if (!m) throw new Error(`invalid duration "${s}" (use e.g. 720h or 30d)`);
  return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
}

/** "cpu=8,memory=16Gi,pods=100" as a ResourceQuota's hard map. */
export function parseQuota(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) throw new Error(`invalid --quota entry "${part}" (use RESOURCE=QUANTITY, e.g. cpu=8)`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function call(conn: AdminConnection, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, conn.server),
      {
        method,
        rejectUnauthorized: !conn.insecure,
        headers: { authorization: `Bearer ${conn.token}`, accept: "application/json", ...(payload ? { "content-type": "application/json" } : {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: { message: text } });
          }
        });
      },
    );
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.end(payload);
  });
}

export async function tenantCommand(args: string[], projectRoot: string): Promise<void> {
  const [sub, name] = args;
  const kubeconfig = flag(args, "kubeconfig") ?? process.env.KUBECONFIG ?? join(projectRoot, ".edgeplane", "kubeconfig");
  if (!name || name.startsWith("--")) throw new Error(`tenant ${sub ?? ""} needs a NAME\n${TENANT_USAGE}`);
  const conn = readAdminKubeconfig(kubeconfig);
  if (sub === "create") {
    const namespaces = (flag(args, "namespaces") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (namespaces.length === 0) throw new Error("tenant create needs --namespaces NS[,NS...]");
    const ttl = flag(args, "ttl");
    const quota = flag(args, "quota");
    const r = await call(conn, "POST", "/edgeplane/v1/tenants", {
      name,
      namespaces,
      ...(ttl !== undefined ? { ttlSeconds: parseDuration(ttl) } : {}),
      ...(quota !== undefined ? { quota: parseQuota(quota) } : {}),
    });
    if (r.status !== 201) throw new Error(`the control plane refused (${r.status}): ${r.body?.message ?? ""}`);
    process.stderr.write(
      `edgeplane: tenant "${name}" owns ${namespaces.join(", ")}; user ${r.body.user.username}; token expires ${r.body.expirationTimestamp ?? "never"}\n`,
    );
    process.stdout.write(kubeconfigYaml({ server: conn.server, token: r.body.token, user: r.body.user.username, cluster: conn.cluster, namespace: namespaces[0] }));
    return;
  }
  if (sub === "revoke") {
    const r = await call(conn, "DELETE", `/edgeplane/v1/tenants/${encodeURIComponent(name)}/tokens`);
    if (r.status !== 200) throw new Error(`the control plane refused (${r.status}): ${r.body?.message ?? ""}`);
    process.stdout.write(`edgeplane: revoked ${r.body.revoked} token(s) of tenant "${name}"\n`);
    return;
  }
  throw new Error(`unknown tenant command "${sub ?? ""}"\n${TENANT_USAGE}`);
}
