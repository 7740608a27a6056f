import { hostname } from "node:os";
import { join } from "node:path";
import { ApiClient, type ApiConfig } from "./api-client.ts";
import { ContainerLogStore } from "./container-logs.ts";
import type { Pod } from "./container-record.ts";
import { hostFacts } from "./host-info.ts";
import { NodeAgent } from "./node-agent.ts";
import { isJoinToken, nodeCredential } from "./node-credential.ts";
import type { HostFacts } from "./node-status.ts";
import { PodSource } from "./pod-source.ts";
import { nodeTag } from "./runtime-plan.ts";
import { selectRuntime, type RuntimeName } from "./runtime-select.ts";
import { ServiceDataPlane } from "./service-data-plane.ts";

/**
 * An agent process: one real node, or N hollow nodes sharing one pod watch. Registers the
 * node(s), then feeds each node's pods from the watch to its NodeAgent.
 */

export interface AgentOptions {
  api: ApiConfig;
  /** Node name (default: this host's name); hollow nodes are <name>-0 ... <name>-(N-1). */
  name?: string;
  runtime?: RuntimeName | "auto";
  labels?: Record<string, string>;
  dataDir: string;
  /** This node's pod CIDR (a /24) for per-pod network namespaces; default: derived from the node name in 10.244.0.0/16. */
  podCIDR?: string;
  /** Hollow only: how many nodes. */
  nodes?: number;
  /** Hollow only: how long a container takes to "start". */
  hollowStartDelayMs?: number;
  statusReportMs?: number;
  statusUpdateMs?: number;
  leaseDurationSeconds?: number;
  /** How often usage is reported as metrics.k8s.io objects (default 15 s; 0: never). */
  metricsMs?: number;
  /** How often directories of deleted local-path volumes are removed (default 15 s). */
  localPathSweepMs?: number;
  log?: (line: string) => void;
}

export interface RunningAgent {
  nodes: NodeAgent[];
  runtime: string;
  /** One line: runtime chosen and what it lacks. */
  note: string;
  source: PodSource;
  /** Service proxy and cluster DNS (real runtimes). */
  services?: ServiceDataPlane;
  /** Helper processes the runtime has started, by kind (podman: `run`, `container inspect`, ...). */
  processCounts(): Record<string, number>;
  stop(): Promise<void>;
}

/** A DNS-1123 subdomain from a host name. */
export function nodeNameFrom(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "").slice(0, 253) || "node";
}

function hollowFacts(base: HostFacts, name: string, i: number): HostFacts {
  return {
    ...base,
    hostname: name,
    internalIP: `10.63.${(i >> 8) & 255}.${i & 255}`,
    cpu: "4",
    memory: "16Gi",
    ephemeralStorage: "100Gi",
    pods: "110",
    machineID: `hollow-${name}`,
    systemUUID: `hollow-${name}`,
  };
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? ((l: string) => console.log(`edgeplane agent: ${l}`));
  const host = hostFacts(o.dataDir);
  const kind = o.runtime ?? "auto";
  const base = nodeNameFrom(o.name ?? hostname());
  let apiConfig = o.api;
  if (isJoinToken(o.api.token)) {
    if (kind === "hollow" && (o.nodes ?? 1) > 1) throw new Error("a join token makes one node: run hollow nodes (--nodes N) with an admin kubeconfig");
    apiConfig = await nodeCredential(o.api, base, join(o.dataDir, "agent"), log);
  }
  const { runtime, note, network } = await selectRuntime(kind, {
    dataDir: join(o.dataDir, "agent"),
    hostIP: host.internalIP,
    nodeName: base,
    podCIDR: o.podCIDR,
    hollowStartDelayMs: o.hollowStartDelayMs,
    log,
  });
  const hollow = runtime.name === "hollow";
  // The runtimes that write container output to the agent's rotating log files.
  const logs = runtime.name === "process" || runtime.name === "podman" ? new ContainerLogStore(join(o.dataDir, "agent", "logs")) : undefined;
  const count = hollow ? Math.max(1, o.nodes ?? 1) : 1;
  // Hollow nodes share one client, where each kubelet has connections of its own: a connection per
  // four nodes (64 to 512). Node status and lease renewals have a client of their own (as the
  // kubelet's heartbeatClient): after a burst of pod statuses, renewals that waited behind it would
  // all go at once, and keep going together every period.
  const api = new ApiClient(apiConfig, { maxSockets: Math.min(512, Math.max(64, Math.ceil(count / 4))) });
  const heartbeats = new ApiClient(apiConfig, { maxSockets: Math.min(64, Math.max(2, Math.ceil(count / 16))) });
  // The data plane of Services (not for hollow nodes, which run nothing).
  let services: ServiceDataPlane | undefined;
  if (!hollow) {
    const server = new URL(apiConfig.server);
    services = await ServiceDataPlane.start({
      api,
      tag: nodeTag(base),
      network,
      nodeIP: host.internalIP,
      apiServer: `${server.hostname.replace(/^\[|\]$/g, "")}:${server.port || 443}`,
      nodeName: base,
      log,
    });
  }
  const nodes: NodeAgent[] = [];
  for (let i = 0; i < count; i++) {
    const name = hollow && (o.nodes ?? 1) > 1 ? `${base}-${i}` : base;
    nodes.push(
      new NodeAgent({
        api,
        heartbeats,
        name,
        runtime,
        host: hollow ? hollowFacts(host, name, i) : host,
        labels: { ...(hollow ? { "edgeplane.dev/hollow": "true" } : {}), ...(o.labels ?? {}) },
        log,
        events: !hollow,
        statusReportMs: o.statusReportMs,
        statusUpdateMs: o.statusUpdateMs,
        leaseDurationSeconds: o.leaseDurationSeconds,
        tunnel: !hollow,
        logs,
        metricsMs: o.metricsMs,
        warnings: services ? () => services.warnings : undefined,
        podCIDR: hollow ? undefined : network?.cidr,
        localPathRoot: hollow ? undefined : join(o.dataDir, "agent", "local-path"),
        localPathSweepMs: o.localPathSweepMs,
      }),
    );
  }
  // Register in small batches (a thousand hollow nodes should not open a thousand connections at once).
  for (let i = 0; i < nodes.length; i += 32) await Promise.all(nodes.slice(i, i + 32).map((n) => n.register()));
  for (const n of nodes) n.start();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const nodeOf = (p: Pod) => byName.get(p.spec?.nodeName ?? "");
  let adoption: Promise<unknown> | undefined;
  const source = new PodSource(
    api,
    {
      replace(pods) {
        const per = new Map<NodeAgent, Pod[]>(nodes.map((n) => [n, []]));
        for (const p of pods) nodeOf(p) && per.get(nodeOf(p)!)!.push(p);
        for (const [n, list] of per) n.replace(list);
        // The first full list says which pods are still here: the earlier run's other leftovers go.
        adoption ??= runtime.finishAdoption?.().then(
          (n) => n && log(`removed ${n} container(s) of an earlier run that no pod here adopted`),
          (e: unknown) => log(`removing an earlier run's containers: ${e instanceof Error ? e.message : String(e)}`),
        ) ?? Promise.resolve();
      },
      upsert: (p) => nodeOf(p)?.upsert(p),
      remove: (p) => nodeOf(p)?.remove(p),
    },
    { fieldSelector: nodes.length === 1 ? `spec.nodeName=${nodes[0].name}` : undefined, log },
  );
  source.start();
  log(
    `${nodes.length === 1 ? `node ${nodes[0].name}` : `${nodes.length} hollow nodes (${nodes[0].name} ...)`} ready; ${note}` +
      (services ? `; services: ${services.proxy.servesClusterIPs ? "cluster IPs, node ports and cluster DNS" : "node ports only"}` : ""),
  );
  let stopped: Promise<void> | undefined;
  return {
    nodes,
    runtime: runtime.name,
    note,
    source,
    services,
    processCounts: () => runtime.processCounts?.() ?? {},
    stop: () =>
      (stopped ??= (async () => {
        await source.stop();
        await services?.stop();
        await Promise.all(nodes.map((n) => n.stop()));
        await runtime.close();
        api.close();
        heartbeats.close();
      })()),
  };
}
