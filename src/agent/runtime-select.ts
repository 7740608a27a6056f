import { HollowRuntime } from "./hollow-runtime.ts";
import { PodNetwork } from "./pod-network.ts";
import { PodmanRuntime, podmanVersion } from "./podman-runtime.ts";
import { ProcessRuntime } from "./process-runtime.ts";
import type { Runtime } from "./runtime.ts";

/** Picks and builds the agent's runtime; says plainly why podman is not used. */

export type RuntimeName = "podman" | "process" | "hollow";

/** Why the podman runtime cannot be used here (undefined: it can). */
export function podmanUnavailable(): string | undefined {
  if (process.platform === "linux" && process.getuid?.() !== 0) return "the podman runtime runs rootful podman and needs root";
  return podmanVersion().error;
}

export interface RuntimeChoice {
  runtime: Runtime;
  /** One line for the user: which runtime and why. */
  note: string;
  /** The per-pod network, when pods get their own (the service proxy and DNS sit on its bridge). */
  network?: PodNetwork;
}

export async function selectRuntime(
  wanted: RuntimeName | "auto",
  opts: { dataDir: string; hostIP: string; nodeName: string; podCIDR?: string; hollowStartDelayMs?: number; log?: (line: string) => void },
): Promise<RuntimeChoice> {
  if (wanted === "hollow") return { runtime: new HollowRuntime(opts.hollowStartDelayMs ?? 0), note: "runtime hollow (starts nothing)" };
  const unavailable = wanted === "process" ? undefined : podmanUnavailable();
  if (wanted === "podman" && unavailable) throw new Error(`--runtime podman: ${unavailable}; use --runtime process`);
  // Namespaces of an earlier run stay until the first pod list says which pods are still here (adoption: both runtimes).
  const { network, warning } = await PodNetwork.open(opts.nodeName, opts.podCIDR, { keepStale: true });
  const netNote = network ? `pod IPs from ${network.cidr} on bridge ${network.bridge}` : warning!;
  if (!unavailable && wanted !== "process") {
    const runtime = new PodmanRuntime({
      nodeName: opts.nodeName,
      hostIP: opts.hostIP,
      version: podmanVersion().version ?? "unknown",
      network,
      dataDir: opts.dataDir,
      warnings: [...(warning ? [warning] : []), "images are never pulled (no registry is reachable): only local images run", "hostPort is not supported yet"],
    });
    const found = await runtime.discover();
    return { runtime, network, note: `runtime podman ${podmanVersion().version}; ${netNote}${found ? `; ${found} container(s) left by an earlier run: running ones of pods still here are adopted, the rest removed` : ""}` };
  }
  const runtime = new ProcessRuntime({ dataDir: opts.dataDir, hostIP: opts.hostIP, network, networkWarning: warning, log: opts.log });
  const why = wanted === "auto" ? ` (podman not used: ${unavailable})` : "";
  const found = runtime.discover();
  return {
    runtime,
    network,
    note: `runtime process${why}; ${netNote}; ${runtime.info().warnings.join("; ")}${found ? `; ${found} container(s) left by an earlier run: those of pods still here are adopted, the rest stopped and removed` : ""}`,
  };
}
