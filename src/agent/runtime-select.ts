import { spawnSync } from "node:child_process";
import { HollowRuntime } from "./hollow-runtime.ts";
import { ProcessRuntime } from "./process-runtime.ts";
import type { Runtime } from "./runtime.ts";

/** Picks and builds the agent's runtime; says plainly why podman is not used. */

export type RuntimeName = "podman" | "process" | "hollow";

/** Why the podman runtime cannot be used here (undefined: it could be). */
export function podmanUnavailable(): string {
  const r = spawnSync("podman", ["version", "--format", "{{.Client.Version}}"], { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  if (r.error) return "podman is not installed on this machine";
  if (r.status !== 0) return `podman is installed but does not work: ${r.stderr.toString().trim().split("\n")[0]}`;
  return `podman ${r.stdout.toString().trim()} is installed, but this agent's podman runtime is not implemented yet`;
}

export interface RuntimeChoice {
  runtime: Runtime;
  /** One line for the user: which runtime and why. */
  note: string;
}

export function selectRuntime(
  wanted: RuntimeName | "auto",
  opts: { dataDir: string; hostIP: string; hollowStartDelayMs?: number },
): RuntimeChoice {
  if (wanted === "hollow") return { runtime: new HollowRuntime(opts.hollowStartDelayMs ?? 0), note: "runtime hollow (starts nothing)" };
  if (wanted === "podman") throw new Error(`--runtime podman: ${podmanUnavailable()}; use --runtime process`);
  const runtime = new ProcessRuntime({ dataDir: opts.dataDir, hostIP: opts.hostIP });
  const why = wanted === "auto" ? ` (podman not used: ${podmanUnavailable()})` : "";
  return { runtime, note: `runtime process${why}; ${runtime.info().warnings.join("; ")}` };
}
