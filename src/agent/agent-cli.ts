import { join, resolve } from "node:path";
import type { ApiConfig } from "./api-client.ts";
import { startAgent } from "./agent.ts";
import { readKubeconfig } from "./kubeconfig-reader.ts";
import { parseLabels } from "./node-status.ts";
import type { RuntimeName } from "./runtime-select.ts";

/** `edgeplane agent ...`: parses flags, starts the agent, stops it cleanly on SIGINT/SIGTERM. */

export const AGENT_USAGE = `  agent (--server URL --token TOKEN [--insecure-skip-tls-verify] | --kubeconfig FILE)
        [--name NODE] [--runtime process|hollow|podman] [--labels k=v,...] [--data-dir D]
        [--pod-cidr A.B.C.0/24] [--nodes N] [--hollow-start-delay-ms MS]
        run a node agent: registers the Node, heartbeats its Lease, runs the pods bound to it
        (hollow: N fake nodes in one process that start nothing)
`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function intFlag(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export function apiConfigFromArgs(args: string[]): ApiConfig {
  const kubeconfig = flag(args, "kubeconfig");
  if (kubeconfig) return readKubeconfig(kubeconfig);
  const server = flag(args, "server");
  const token = flag(args, "token") ?? process.env.EDGEPLANE_TOKEN;
  if (!server || !token) throw new Error("agent needs --kubeconfig FILE, or --server URL and --token TOKEN (or EDGEPLANE_TOKEN)");
  // A local control plane serves wrangler's self-signed certificate.
  const local = /^https:\/\/(127\.0\.0\.1|localhost)(:|\/|$)/.test(server);
  return { server, token, insecure: args.includes("--insecure-skip-tls-verify") || local };
}

export async function agentCommand(args: string[], projectRoot: string): Promise<void> {
  const runtime = (flag(args, "runtime") ?? "auto") as RuntimeName | "auto";
  if (!["auto", "process", "hollow", "podman"].includes(runtime)) throw new Error(`--runtime must be process, hollow or podman, got "${runtime}"`);
  const agent = await startAgent({
    api: apiConfigFromArgs(args),
    name: flag(args, "name"),
    runtime,
    labels: parseLabels(flag(args, "labels")),
    dataDir: resolve(flag(args, "data-dir") ?? join(projectRoot, ".edgeplane")),
    podCIDR: flag(args, "pod-cidr"),
    nodes: intFlag(args, "nodes"),
    hollowStartDelayMs: intFlag(args, "hollow-start-delay-ms"),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("edgeplane agent: stopping (containers are stopped; pods and nodes stay in the API)");
    await agent.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
