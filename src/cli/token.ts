import { join } from "node:path";
import { call, parseDuration, readAdminKubeconfig } from "./tenant.ts";

/**
 * `edgeplane token create [--ttl 24h]`: a node join token from the control plane's admin-only
 * /edgeplane/v1/jointokens endpoint, printed once (only its SHA-256 is stored). An agent
 * joins with it: `edgeplane agent --server URL --token <join token>`.
 */

export const TOKEN_USAGE = `  token create [--ttl DURATION] [--kubeconfig FILE]
        print a node join token ([a-z0-9]{6}.[a-z0-9]{16}; default lifetime 24h, 0 = never expires);
        an agent started with --token <it> exchanges it for its own node credential
`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export async function tokenCommand(args: string[], projectRoot: string): Promise<void> {
  const [sub] = args;
  if (sub !== "create") throw new Error(`unknown token command "${sub ?? ""}"\n${TOKEN_USAGE}`);
  const conn = readAdminKubeconfig(flag(args, "kubeconfig") ?? process.env.KUBECONFIG ?? join(projectRoot, ".edgeplane", "kubeconfig"));
  const ttl = flag(args, "ttl");
  const r = await call(conn, "POST", "/edgeplane/v1/jointokens", ttl !== undefined ? { ttlSeconds: parseDuration(ttl) } : {});
  if (r.status !== 201) throw new Error(`the control plane refused (${r.status}): ${r.body?.message ?? ""}`);
  process.stderr.write(`edgeplane: join token expires ${r.body.expirationTimestamp ?? "never"}; run: edgeplane agent --server ${conn.server} --token <token>\n`);
  process.stdout.write(`${r.body.token}\n`);
}
