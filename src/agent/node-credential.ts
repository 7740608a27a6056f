import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiClient, ApiStatusError, type ApiConfig } from "./api-client.ts";

/**
 * Joining with a join token (`edgeplane token create`): the agent exchanges it once for its own
 * node credential (user system:node:<name>, group system:nodes) and keeps that in
 * <data-dir>/agent/credentials/<node>.token (mode 0600), so a restart needs no join token (which
 * may have expired by then). A kept credential the server no longer accepts (401) is exchanged again.
 */

/** kubeadm's bootstrap token shape (the control plane checks the same in src/auth/node-authorizer.ts). */
export const JOIN_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

export const isJoinToken = (token: string) => JOIN_TOKEN.test(token);

async function accepted(cfg: ApiConfig): Promise<boolean> {
  const api = new ApiClient(cfg);
  try {
    await api.get("/api");
    return true;
  } catch (e) {
    if (e instanceof ApiStatusError && e.status === 401) return false;
    throw e;
  } finally {
    api.close();
  }
}

/** The API config to run node `nodeName` with: the kept or a freshly exchanged node credential. */
export async function nodeCredential(join_: ApiConfig, nodeName: string, dataDir: string, log: (l: string) => void): Promise<ApiConfig> {
  const dir = join(dataDir, "credentials");
  const file = join(dir, `${nodeName}.token`);
  if (existsSync(file)) {
    const kept = { ...join_, token: readFileSync(file, "utf8").trim() };
    if (await accepted(kept)) return kept;
    log(`node ${nodeName}: the kept node credential is no longer accepted; joining again with the join token`);
  }
  const api = new ApiClient(join_);
  try {
    const r = await api.call<{ token: string; user: { username: string } }>("POST", "/edgeplane/v1/nodecredentials", { nodeName });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, r.token + "\n", { mode: 0o600 });
    log(`node ${nodeName}: joined with a join token; credential for ${r.user.username} kept in ${file}`);
    return { ...join_, token: r.token };
  } catch (e) {
    if (e instanceof ApiStatusError && e.status === 401) throw new Error("the join token was not accepted (unknown or expired): create one with `edgeplane token create`");
    throw e;
  } finally {
    api.close();
  }
}
