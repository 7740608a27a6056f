import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/cli/local-cluster.ts";
import { configMap, figures, type OpFigures } from "./api.ts";
import { cpuWindow, serverRoles } from "./cpu.ts";
import { Client } from "./http.ts";
import { runPool, sleep } from "./stats.ts";

/**
 * The baseline: a single-member etcd (Debian's etcd-server, 3.4) on 127.0.0.1 with its
 * default durability (fsync on every commit), driven through its HTTP/JSON gateway.
 * Installed with apt-get when missing; every step has a deadline, and a failure to
 * install or start turns into a skip with the reason rather than an error.
 */

export interface Etcd {
  url: string;
  version: string;
  stop(): Promise<void>;
}

const INSTALL_TIMEOUT_MS = 150_000;

function which(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

function aptGet(args: string[], timeoutMs: number): { ok: boolean; output: string } {
  const asRoot = process.getuid?.() === 0;
  const sudo = !asRoot && which("sudo") ? ["sudo", "-n"] : [];
  if (!asRoot && sudo.length === 0) return { ok: false, output: "not root and no sudo: cannot run apt-get" };
  const [cmd, ...rest] = [...sudo, "apt-get", ...args];
  const r = spawnSync(cmd, rest, {
    encoding: "utf8",
    timeout: timeoutMs,
    // The package must not start a system-wide etcd: policy-rc.d / no init system here; and no prompts.
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
  return { ok: r.status === 0, output };
}

/** The etcd binary, installing Debian's etcd-server if needed; or a reason why not. */
export function ensureEtcd(log: (s: string) => void): { path: string } | { skip: string } {
  const found = which("etcd");
  if (found) return { path: found };
  log("etcd not found: installing Debian's etcd-server (apt-get install -y etcd-server)");
  const started = Date.now();
  let r = aptGet(["install", "-y", "--no-install-recommends", "etcd-server"], INSTALL_TIMEOUT_MS);
  if (!r.ok) {
    log("apt-get install failed; running apt-get update and retrying");
    const left = INSTALL_TIMEOUT_MS - (Date.now() - started);
    const u = aptGet(["update"], Math.max(10_000, left / 2));
    if (!u.ok) return { skip: `apt-get update failed: ${lastLines(u.output)}` };
    r = aptGet(["install", "-y", "--no-install-recommends", "etcd-server"], Math.max(10_000, INSTALL_TIMEOUT_MS - (Date.now() - started)));
  }
  if (!r.ok) return { skip: `apt-get install etcd-server failed: ${lastLines(r.output)}` };
  const path = which("etcd");
  return path ? { path } : { skip: "etcd-server installed but no etcd on PATH" };
}

const lastLines = (s: string) => s.trim().split("\n").slice(-3).join(" | ");

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const kill = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      clearTimeout(kill);
      resolve();
    }
  });
}

export async function startEtcd(binary: string, log: (s: string) => void): Promise<Etcd> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-bench-etcd-"));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name", "bench",
    "--data-dir", dataDir,
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `bench=${peer}`,
    "--initial-cluster-state", "new",
    "--log-level", "error",
    "--logger", "zap",
  ];
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-10_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const cleanup = async () => {
    await stopGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const http = new Client({ baseUrl: client, maxSockets: 1, timeoutMs: 2000 });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd exited (${child.exitCode}): ${output.slice(-2000)}`);
      try {
        const r = await http.request("GET", "/health");
        if (r.status === 200 && /"health":\s*"true"/.test(r.body)) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`etcd not healthy within 30 s: ${output.slice(-2000)}`);
      await sleep(100);
    }
    const v = await http.request("GET", "/version");
    const version = (JSON.parse(v.body) as { etcdserver?: string }).etcdserver ?? "unknown";
    log(`etcd ${version} ready at ${client} (data dir ${dataDir})`);
    return { url: client, version, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    http.close();
  }
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** One etcd put through the gateway, as the etcd client's `put` does. */
export function putBody(key: string, value: string): object {
  return { key: b64(key), value: b64(value) };
}

/**
 * A create as kube-apiserver issues it: a transaction that puts the key only if it
 * does not exist yet (create_revision == 0).
 */
export function createTxnBody(key: string, value: string): object {
  return {
    compare: [{ key: b64(key), target: "CREATE", result: "EQUAL", create_revision: "0" }],
    success: [{ request_put: { key: b64(key), value: b64(value) } }],
    failure: [],
  };
}

/** etcd writes at a given concurrency through the gateway: "put" or "txn-create". */
export async function runEtcdOps(
  client: Client,
  mode: "put" | "txn-create",
  prefix: string,
  count: number,
  concurrency: number,
  budgetMs: number,
): Promise<OpFigures> {
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  const fail = (status: number, text: string) => {
    errors[status] = (errors[status] ?? 0) + 1;
    if (errorSamples.length < 5) errorSamples.push(`${mode} -> ${status || "transport"}: ${text.slice(0, 300)}`);
  };
  const cpu = cpuWindow(serverRoles());
  const pool = await runPool(count, concurrency, budgetMs, async (i) => {
    const name = `${prefix}-${String(i).padStart(5, "0")}`;
    // The same bytes our API stores for a create: the ConfigMap JSON with its 1 KiB value.
    const value = JSON.stringify(configMap(name, i));
    const key = `/registry/configmaps/bench/${name}`;
    try {
      const r =
        mode === "put"
          ? await client.request("POST", "/v3/kv/put", putBody(key, value))
          : await client.request("POST", "/v3/kv/txn", createTxnBody(key, value));
      if (r.status !== 200) return fail(r.status, r.body);
      if (mode === "txn-create" && !(JSON.parse(r.body) as { succeeded?: boolean }).succeeded) return fail(r.status, `txn not succeeded: ${r.body}`);
      return r.ms;
    } catch (e) {
      return fail(0, String(e));
    }
  });
  const latencies = pool.results.filter((x): x is number => typeof x === "number");
  return figures(mode, concurrency, count, pool, latencies, errors, errorSamples, cpu());
}
