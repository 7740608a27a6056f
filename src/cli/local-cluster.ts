import { spawn, type ChildProcess } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeKubeconfig } from "./kubeconfig.ts";

/**
 * The local control plane: wrangler dev (local D1 + Durable Objects) over HTTPS on
 * 127.0.0.1, state persisted under the data directory, an admin token and kubeconfig.
 * Shared by `edgeplane start` and the end-to-end tests.
 */

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WRANGLER = join(PROJECT_ROOT, "node_modules", ".bin", "wrangler");

export interface LocalClusterOptions {
  /** Where state, token and kubeconfig live (default: <project>/.edgeplane). */
  dataDir?: string;
  port?: number;
  log?: (line: string) => void;
  /** Extra `--var NAME:value` settings for the Worker (e.g. short compaction intervals in tests). */
  vars?: Record<string, string>;
  /** Show wrangler's own output. */
  verbose?: boolean;
  /** wrangler's `--log-level` (default: info when verbose, else warn); "debug" includes the Worker's console.debug lines. */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Receives wrangler's output (the Worker's console lines included) as it arrives. */
  onOutput?: (chunk: string) => void;
  /** The Worker's DevTools inspector port (CPU profiles: bench/worker-profile.ts); default: any free port. */
  inspectorPort?: number;
}

export interface LocalCluster {
  url: string;
  port: number;
  token: string;
  kubeconfig: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** wrangler's settings for quiet, offline, background runs (see shared/README). */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // wrangler needs Node >= 22: the node@22 devDependency puts it first in node_modules/.bin.
    PATH: `${join(PROJECT_ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    X_LOCAL_OBSERVABILITY: "false",
    CI: process.env.CI ?? "",
  };
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function run(cmd: string, args: string[], opts: { cwd: string; verbose?: boolean }): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", rej);
    child.on("exit", (code) => {
      if (opts.verbose) process.stderr.write(output);
      code === 0 ? res() : rej(new Error(`${cmd} ${args.join(" ")} failed (${code}):\n${output}`));
    });
  });
}

/** GET over HTTPS without verifying wrangler's self-signed certificate. */
export function httpsGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (r) => {
      let body = "";
      r.on("data", (d) => (body += d));
      r.on("end", () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on("error", rej);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** The admin token: made once per data directory, kept in a 0600 file; the Worker only sees its hash. */
export function adminToken(dataDir: string): string {
  const file = join(dataDir, "admin-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, token + "\n", { mode: 0o600 });
  return token;
}

/**
 * The key Secrets are encrypted with at rest (AES-256-GCM, 32 random bytes, base64): made once
 * per data directory, kept in a 0600 file, passed to the Worker as SECRETS_ENCRYPTION_KEY.
 * Losing it makes the stored Secrets unreadable.
 */
export function secretsEncryptionKey(dataDir: string): string {
  return keyFile(join(dataDir, "secrets-encryption-key"), () => randomBytes(32).toString("base64"));
}

/** A key kept in a 0600 file: read if the file exists, else made and written. */
function keyFile(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const key = make();
  writeFileSync(file, key + "\n", { mode: 0o600 });
  return key;
}

/**
 * The key service-account tokens are signed with (ES256: a P-256 key, PKCS#8 DER in base64): made
 * once per data directory, kept in a 0600 file, passed to the Worker as SERVICE_ACCOUNT_SIGNING_KEY.
 * Replacing it invalidates every issued service-account token.
 */
export function serviceAccountSigningKey(dataDir: string): string {
  return keyFile(join(dataDir, "service-account-key"), () =>
    generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
  );
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.pid === undefined) return res();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      res();
    });
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      clearTimeout(timer);
      res();
    }
  });
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir ?? join(PROJECT_ROOT, ".edgeplane"));
  const stateDir = join(dataDir, "state");
  mkdirSync(stateDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const token = adminToken(dataDir);
  const hash = createHash("sha256").update(token).digest("hex");

  log("applying D1 migrations to the local database");
  await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
    cwd: PROJECT_ROOT,
    verbose: opts.verbose,
  });

  log(`starting the control plane (wrangler dev) on https://127.0.0.1:${port}`);
  const vars = { ADMIN_TOKEN_SHA256: hash, ...(opts.vars ?? {}) };
  // Secrets for the Worker go through a 0600 env file, never the command line (other users can read that).
  const envFile = join(dataDir, "worker.env");
  writeFileSync(envFile, `SECRETS_ENCRYPTION_KEY=${secretsEncryptionKey(dataDir)}\nSERVICE_ACCOUNT_SIGNING_KEY=${serviceAccountSigningKey(dataDir)}\n`, {
    mode: 0o600,
  });
  chmodSync(envFile, 0o600);
  const args = [
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--local-protocol", "https",
    "--persist-to", stateDir,
    "--env-file", envFile,
    "--inspector-port", String(opts.inspectorPort ?? (await freePort())),
    "--show-interactive-dev-session=false",
    "--log-level", opts.logLevel ?? (opts.verbose ? "info" : "warn"),
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child = spawn(WRANGLER, args, { cwd: PROJECT_ROOT, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
    if (opts.verbose) process.stderr.write(d);
    opts.onOutput?.(d.toString());
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);

  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const r = await httpsGet(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new Error(`the control plane did not become ready within 90 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const kubeconfig = join(dataDir, "kubeconfig");
  writeKubeconfig(kubeconfig, { server: url, token, user: "edgeplane-admin", cluster: "edgeplane" });
  log("control plane ready");
  return { url, port, token, kubeconfig, dataDir, stop: () => stopGroup(child) };
}
