import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCluster, type LocalCluster } from "../../src/cli/local-cluster.ts";

/** One real control plane (wrangler dev, HTTPS) per test file, and real kubectl against it. */

export async function startCluster(vars: Record<string, string> = {}): Promise<LocalCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgeplane-e2e-"));
  return startLocalCluster({ dataDir, vars, verbose: process.env.EDGEPLANE_VERBOSE === "1" });
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
