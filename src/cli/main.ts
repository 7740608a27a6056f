import { join } from "node:path";
import { adminToken, PROJECT_ROOT, startLocalCluster } from "./local-cluster.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { TENANT_USAGE, tenantCommand } from "./tenant.ts";
import { TOKEN_USAGE, tokenCommand } from "./token.ts";
import { AUDIT_USAGE, auditCommand } from "./audit.ts";
import { AGENT_USAGE, agentCommand } from "../agent/agent-cli.ts";
import { startAgent, type RunningAgent } from "../agent/agent.ts";

/** `edgeplane start|kubeconfig|help` */

const USAGE = `usage: edgeplane <command>

  start [--port N] [--data-dir D] [--verbose] [--no-agent]
        run the control plane locally (wrangler dev, local D1 + Durable Objects, HTTPS)
        plus one node agent for this machine (unless --no-agent),
        and write an admin kubeconfig to <data-dir>/kubeconfig (default .edgeplane/)
  kubeconfig --server URL [--data-dir D]
        print an admin kubeconfig for a running control plane
${TENANT_USAGE}${TOKEN_USAGE}${AUDIT_USAGE}${AGENT_USAGE}`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

async function start(args: string[]) {
  const portArg = flag(args, "port") ?? process.env.EDGEPLANE_PORT;
  const port = portArg ? Number(portArg) : 8443;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port "${portArg}"`);
  const dataDir = flag(args, "data-dir") ?? join(PROJECT_ROOT, ".edgeplane");
  const cluster = await startLocalCluster({
    port,
    dataDir,
    verbose: args.includes("--verbose"),
    log: (l) => console.log(`edgeplane: ${l}`),
  });
  console.log(`edgeplane: admin kubeconfig written to ${cluster.kubeconfig}`);
  let agent: RunningAgent | undefined;
  if (!args.includes("--no-agent")) {
    try {
      agent = await startAgent({
        api: { server: cluster.url, token: cluster.token, insecure: true },
        dataDir,
        log: (l) => console.log(`edgeplane agent: ${l}`),
      });
    } catch (e) {
      console.error(`edgeplane: the node agent did not start (${e instanceof Error ? e.message : String(e)}); pods will stay Pending`);
    }
  }
  console.log(`edgeplane: ready at ${cluster.url} -- try: kubectl --kubeconfig ${cluster.kubeconfig} get ns`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("edgeplane: stopping");
    await agent?.stop();
    await cluster.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case "start":
      return start(args);
    case "tenant":
      return tenantCommand(args, PROJECT_ROOT);
    case "token":
      return tokenCommand(args, PROJECT_ROOT);
    case "audit":
      return auditCommand(args, PROJECT_ROOT);
    case "agent":
      return agentCommand(args, PROJECT_ROOT);
    case "kubeconfig": {
      const server = flag(args, "server");
      if (!server) throw new Error("kubeconfig needs --server URL");
      const token = adminToken(flag(args, "data-dir") ?? join(PROJECT_ROOT, ".edgeplane"));
      process.stdout.write(kubeconfigYaml({ server, token, user: "edgeplane-admin", cluster: "edgeplane" }));
      return;
    }
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`edgeplane: unknown command "${cmd}"\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e: unknown) => {
  console.error(`edgeplane: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
