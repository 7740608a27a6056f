import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type AgentOptions, type RunningAgent } from "../../src/agent/agent.ts";
import { PROJECT_ROOT, startLocalCluster, type LocalCluster } from "../../src/cli/local-cluster.ts";

/** One real control plane (wrangler dev, HTTPS) per test file, and real kubectl against it. */

export async function startCluster(vars: Record<string, string> = {}): Promise<LocalCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-e2e-"));
  return startLocalCluster({ dataDir, vars, verbose: process.env.EDGEPLANE_VERBOSE === "1" });
}

/**
 * A real node agent in the test process, talking to the cluster over HTTPS with the admin token
 * (or `token`), its data in a fresh temporary directory, quiet unless `log` is given.
 */
export function startTestAgent(
  cluster: LocalCluster,
  opts: Omit<AgentOptions, "api" | "dataDir" | "log"> & { token?: string; dataDir?: string; log?: AgentOptions["log"] },
): Promise<RunningAgent> {
  const { token = cluster.token, dataDir = mkdtempSync(join(tmpdir(), "edgeplane-e2e-agent-")), log = () => {}, ...rest } = opts;
  return startAgent({ api: { server: cluster.url, token, insecure: true }, dataDir, log, ...rest });
}

/** `edgeplane agent` run as a process of its own (so a test can SIGKILL it and start it again), its output collected. */
export interface AgentProcess {
  /** Starts it (again, on the same data dir). */
  start(): void;
  /** Sends `signal` and resolves once it has exited (at once when it is not running). */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** What every run so far printed. */
  output(): string;
}

export function agentProcess(cluster: LocalCluster, o: { name: string; runtime: string; dataDir: string }): AgentProcess {
  let output = "";
  let running: { child: ChildProcess; exited: Promise<void> } | undefined;
  return {
    start() {
      const child = spawn(
        join(PROJECT_ROOT, "node_modules", ".bin", "node"),
        ["--import", "tsx", join(PROJECT_ROOT, "src", "cli", "main.ts"), "agent", "--server", cluster.url, "--token", cluster.token, "--name", o.name, "--runtime", o.runtime, "--data-dir", o.dataDir],
        { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout!.on("data", (d) => (output += d));
      child.stderr!.on("data", (d) => (output += d));
      running = { child, exited: new Promise<void>((r) => child.once("exit", () => r())) };
    },
    async kill(signal) {
      const r = running;
      running = undefined;
      if (!r) return;
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill(signal);
      await r.exited;
    },
    output: () => output,
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs /usr/bin/kubectl with the cluster's kubeconfig; never throws on a non-zero exit. */
export function kubectl(cluster: LocalCluster, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      ["--kubeconfig", cluster.kubeconfig, ...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (opts.input !== undefined) {
      child.stdin!.end(opts.input);
    }
  });
}

type Json = Record<string, any>;

/** The output of a kubectl call that must succeed. */
export function ok(r: KubectlResult): string {
  if (r.code !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
  return r.stdout;
}

/** Polls a kubectl call until `check` accepts its output; fails with the last output. */
export async function waitForOutput(cluster: LocalCluster, args: string[], check: (out: string) => boolean, timeoutMs = 45_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const r = await kubectl(cluster, args);
    last = r.code === 0 ? r.stdout : r.stderr;
    if (r.code === 0 && check(r.stdout)) return r.stdout;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`timed out waiting on kubectl ${args.join(" ")}; last output: ${last}`);
}

/** `kubectl get <args> -o json`, or undefined when it fails (not found). */
export async function getJson(cluster: LocalCluster, args: string[]): Promise<Json | undefined> {
  const r = await kubectl(cluster, ["get", ...args, "-o", "json"]);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** Polls `kubectl get` until `accept` holds (it may accept "gone": undefined); fails with the last object seen. */
export async function waitForObject(cluster: LocalCluster, args: string[], accept: (o: Json | undefined) => boolean, what: string, timeoutMs = 60_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let last: Json | undefined;
  for (;;) {
    last = await getJson(cluster, args);
    if (accept(last)) return last as Json;
    if (Date.now() > deadline) throw new Error(`${what}: not reached; last seen:\n${JSON.stringify(last?.status ?? last, null, 1)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A long-running command: its process, its stdout and stderr as they come (interleaved), its exit code. */
export function session(cmd: string, args: string[]) {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  const s = { child, out: "", code: new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c))) };
  child.stdout.setEncoding("utf8").on("data", (d) => (s.out += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (s.out += d));
  return s;
}

/** kubectl left running (attach, port-forward, ...): see session(). */
export const kubectlSession = (cluster: LocalCluster, args: string[]) => session("kubectl", ["--kubeconfig", cluster.kubeconfig, ...args]);

/** Runs kubectl on a terminal of its own (util-linux script), 30x100: see session(). */
export function onTerminal(cluster: LocalCluster, args: string) {
  const cmd = `stty rows 30 cols 100; exec kubectl --kubeconfig ${cluster.kubeconfig} ${args}`;
  return session("script", ["--quiet", "--flush", "--return", "--command", cmd, "/dev/null"]);
}
