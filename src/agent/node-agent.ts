import { ApiStatusError, type ApiClient } from "./api-client.ts";
import type { ContainerLogStore } from "./container-logs.ts";
import type { DataSource, ServiceInfo } from "./container-env.ts";
import { tokenSource } from "./service-account-token.ts";
import type { Pod } from "./container-record.ts";
import { podRef, recordEvent } from "./event-recorder.ts";
import { buildNodeStatus, nodeLabels, shouldReportNodeStatus, type HostFacts, type NodeStatus } from "./node-status.ts";
import { sleep } from "./pod-source.ts";
import { PodWorker } from "./pod-worker.ts";
import type { Runtime } from "./runtime.ts";
import { streamHandler } from "./stream-server.ts";
import { TunnelClient } from "./tunnel-client.ts";
import type { PodRef } from "./metrics.ts";
import { MetricsReporter } from "./metrics-reporter.ts";
import { readNodeUsage } from "./proc-stats.ts";
import { claimResolver, LOCAL_PATH_ROOT_ANNOTATION, sweepLocalPaths } from "./claim-volumes.ts";
import type { ClaimResolver } from "./volumes.ts";

/**
 * One node: registers its Node, renews its Lease in kube-node-lease (which never rewrites
 * the Node), posts Node status when it changes or every `statusReportMs`, and runs a
 * PodWorker per pod assigned to it.
 */

export interface NodeAgentOptions {
  api: ApiClient;
  /**
   * Node status and Lease renewals go through a client of their own (the kubelet's heartbeatClient),
   * so that a node's heartbeats never wait behind its pods' requests (default: `api`).
   */
  heartbeats?: ApiClient;
  name: string;
  runtime: Runtime;
  host: HostFacts;
  labels: Record<string, string>;
  log: (line: string) => void;
  /** Record events (Started, Killing, BackOff, ...); hollow nodes at scale may turn them off. */
  events?: boolean;
  /** How often status is computed (the kubelet's nodeStatusUpdateFrequency, 10 s). */
  statusUpdateMs?: number;
  /** How often an unchanged status is posted anyway (the kubelet's nodeStatusReportFrequency, 5 min). */
  statusReportMs?: number;
  leaseDurationSeconds?: number;
  /** Keep a tunnel to the control plane (logs, exec); hollow nodes at scale may go without. */
  tunnel?: boolean;
  /** Where container logs are kept (runtimes that write them there). */
  logs?: ContainerLogStore;
  /** How often NodeMetrics/PodMetrics are reported (runtimes that measure usage); 0: never. */
  metricsMs?: number;
  /** This node's pod CIDR (Node spec.podCIDR: other nodes route it here). */
  podCIDR?: string;
  /** What else the node lacks besides its runtime (e.g. the service proxy's), for RuntimeDegraded. */
  warnings?: () => string[];
  /** Where provisioned local-path volumes live on this node (none: no persistentVolumeClaim volumes). */
  localPathRoot?: string;
  /** How often directories of deleted local-path volumes are looked for (default 15 s). */
  localPathSweepMs?: number;
}

const NODE_LEASE_NS = "kube-node-lease";
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, "000Z");

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; ownerReferences?: unknown[] };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/** How long a read of a namespace's Services serves container starts. */
const SERVICE_READ_TTL_MS = 2_000;

export class NodeAgent {
  private readonly workers = new Map<string, PodWorker>();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private nodeUid?: string;
  private lastStatus?: NodeStatus;
  private lastReportAt = 0;
  private lease?: Lease;
  readonly data: DataSource;
  /** Bound service-account tokens of this node's pods (projected volumes). */
  private readonly tokens: ReturnType<typeof tokenSource>;
  /** Node status posts and lease renewals made (for tests and benchmarks). */
  readonly counters = { statusPosts: 0, leaseRenewals: 0 };
  /** The node's tunnel to the control plane, when it keeps one. */
  readonly tunnel?: TunnelClient;
  /** Usage reports (metrics.k8s.io), when the runtime measures containers. */
  readonly metrics?: MetricsReporter;
  /** The pods this node runs, by uid (what metrics are named after). */
  private readonly podRefs = new Map<string, PodRef>();
  private readonly claims?: ClaimResolver;

  constructor(private readonly o: NodeAgentOptions) {
    if (o.tunnel)
      this.tunnel = new TunnelClient({ api: o.api.config, node: o.name, log: o.log, handler: streamHandler({ logs: o.logs, runtime: o.runtime, log: o.log }) });
    const stats = o.runtime.stats?.bind(o.runtime);
    if (stats && o.metricsMs !== 0)
      this.metrics = new MetricsReporter(o.api, o.name, { containers: stats, node: readNodeUsage }, (uid) => this.podRefs.get(uid));
    if (o.localPathRoot) this.claims = claimResolver(o.api);
    this.tokens = tokenSource(o.api);
    this.data = async (kind, namespace, name) => {
      try {
        const obj = await o.api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${kind}s/${name}`);
        const data = obj.data ?? {};
        if (kind === "secret") for (const k of Object.keys(data)) data[k] = Buffer.from(data[k], "base64").toString("utf8");
        return data;
      } catch (e) {
        if (e instanceof ApiStatusError && e.status === 404) return undefined;
        throw e;
      }
    };
  }

  get name(): string {
    return this.o.name;
  }

  private runtimeInfo() {
    const info = this.o.runtime.info();
    const more = this.o.warnings?.() ?? [];
    return more.length ? { ...info, warnings: [...info.warnings, ...more] } : info;
  }

  private status(now: number): NodeStatus {
    return buildNodeStatus(this.o.host, this.runtimeInfo(), now, this.lastStatus, this.o.host.hostname);
  }

  /** Creates the Node (or takes over an existing one: labels and status are refreshed). */
  async register(): Promise<void> {
    const { api, name } = this.o;
    const labels = nodeLabels(name, this.o.host, this.o.labels);
    const annotations = this.o.localPathRoot ? { [LOCAL_PATH_ROOT_ANNOTATION]: this.o.localPathRoot } : undefined;
    const status = this.status(Date.now());
    const cidr = this.o.podCIDR;
    let node: { metadata: { uid: string }; spec?: { podCIDR?: string } };
    try {
      node = await api.call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name, labels, ...(annotations ? { annotations } : {}) }, spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {}, status });
      this.o.log(`node ${name}: registered`);
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.status === 409)) throw e;
      node = await api.mergePatch(`/api/v1/nodes/${name}`, { metadata: { labels, ...(annotations ? { annotations } : {}) } });
      this.o.log(`node ${name}: already registered, taking it over`);
      if (cidr && !node.spec?.podCIDR) node = await api.mergePatch(`/api/v1/nodes/${name}`, { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
      else if (cidr && node.spec?.podCIDR !== cidr) this.o.log(`node ${name}: its Node says pod CIDR ${node.spec?.podCIDR} (immutable), this agent uses ${cidr}: other nodes route to the former`);
    }
    this.nodeUid = node.metadata.uid;
    await this.postStatus(status, Date.now());
    const warnings = this.runtimeInfo().warnings;
    if (warnings.length && this.o.events !== false)
      recordEvent(api, name, { kind: "Node", name, uid: this.nodeUid }, "Warning", "RuntimeIncomplete", warnings.join("; "), this.o.log);
  }

  private get heartbeats(): ApiClient {
    return this.o.heartbeats ?? this.o.api;
  }

  private async postStatus(status: NodeStatus, now: number): Promise<void> {
    await this.heartbeats.mergePatch(`/api/v1/nodes/${this.o.name}/status`, { status });
    this.counters.statusPosts++;
    this.lastStatus = status;
    this.lastReportAt = now;
  }

  /** Starts the lease and status loops. */
  start(): void {
    const durationS = this.o.leaseDurationSeconds ?? 40;
    const renewMs = (durationS * 1000) / 4; // the kubelet renews every 25% of the duration (10 s)
    this.loops.push(this.every(renewMs, () => this.renewLease(durationS)));
    this.loops.push(this.every(this.o.statusUpdateMs ?? 10_000, () => this.syncStatus()));
    // metrics-server's default resolution: 15 s.
    if (this.metrics) this.loops.push(this.every(this.o.metricsMs ?? 15_000, () => this.metrics!.report()));
    const root = this.o.localPathRoot;
    if (root)
      this.loops.push(
        this.every(this.o.localPathSweepMs ?? 15_000, async () => {
          for (const d of await sweepLocalPaths(this.o.api, root)) this.o.log(`node ${this.o.name}: removed ${d}: its PersistentVolume is gone`);
        }),
      );
    this.tunnel?.start();
  }

  /**
   * Runs `fn` now (within a second) and then on a fixed beat: the second run at a random point of
   * the period, every later one a period after the one before, whenever the run before ended. Nodes
   * started together (hollow nodes) so renew evenly spread, as independently started kubelets do,
   * and stay spread after a stretch of slow answers, instead of all going again together at its end.
   */
  private async every(ms: number, fn: () => Promise<void>): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    await sleep(Math.random() * Math.min(ms, 1000), signal);
    let beat = Date.now() + Math.random() * ms;
    while (!signal.aborted) {
      try {
        await fn();
        failures = 0;
      } catch (e) {
        failures++;
        this.o.log(`node ${this.o.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      const now = Date.now();
      if (beat <= now) beat += Math.ceil((now - beat) / ms) * ms; // the beats missed meanwhile are skipped
      await sleep(failures ? Math.min(ms, 1000 * 2 ** Math.min(failures, 4)) * (0.5 + Math.random()) : beat - now, signal);
      if (!failures) beat += ms;
    }
  }

  async syncStatus(): Promise<void> {
    const now = Date.now();
    const next = this.status(now);
    if (shouldReportNodeStatus(this.lastStatus, this.lastReportAt, next, now, this.o.statusReportMs ?? 300_000)) await this.postStatus(next, now);
  }

  async renewLease(durationS: number): Promise<void> {
    const api = this.heartbeats;
    const name = this.o.name;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NS}/leases`;
    const now = microTime(Date.now());
    if (!this.lease) {
      try {
        this.lease = await api.get<Lease>(`${path}/${name}`);
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.status === 404)) throw e;
        this.lease = await api.call<Lease>("POST", path, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name,
            namespace: NODE_LEASE_NS,
            ...(this.nodeUid ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: this.nodeUid }] } : {}),
          },
          spec: { holderIdentity: name, leaseDurationSeconds: durationS, renewTime: now },
        });
        this.counters.leaseRenewals++;
        return;
      }
    }
    const next: Lease = { ...this.lease, spec: { ...this.lease.spec, holderIdentity: name, leaseDurationSeconds: durationS, renewTime: now } };
    try {
      this.lease = await api.call<Lease>("PUT", `${path}/${name}`, next);
      this.counters.leaseRenewals++;
    } catch (e) {
      this.lease = undefined; // read it again next time (conflict, or deleted)
      throw e;
    }
  }

  /** Recent reads of Services (a burst of pod starts reads each namespace's once, as an informer would serve them). */
  private readonly serviceReads = new Map<string, { at: number; read: Promise<ServiceInfo[]> }>();

  /** The Services a container's environment is built from: its namespace's (with links) and default/kubernetes. */
  private services(namespace: string, links: boolean): Promise<ServiceInfo[]> {
    const key = `${namespace}/${links}`;
    const now = Date.now();
    const held = this.serviceReads.get(key);
    if (held && now - held.at < SERVICE_READ_TTL_MS) return held.read;
    const read = this.readServices(namespace, links);
    this.serviceReads.set(key, { at: now, read });
    read.catch(() => this.serviceReads.delete(key));
    for (const [k, v] of this.serviceReads) if (now - v.at >= SERVICE_READ_TTL_MS) this.serviceReads.delete(k);
    return read;
  }

  private async readServices(namespace: string, links: boolean): Promise<ServiceInfo[]> {
    const api = this.o.api;
    const out: ServiceInfo[] = [];
    if (links) out.push(...(await api.get<{ items: ServiceInfo[] }>(`/api/v1/namespaces/${namespace}/services`)).items.map((s) => ({ ...s, metadata: { ...s.metadata, namespace } })));
    if (!links || namespace !== "default") {
      try {
        out.push({ ...(await api.get<ServiceInfo>("/api/v1/namespaces/default/services/kubernetes")), metadata: { name: "kubernetes", namespace: "default" } });
      } catch (e) {
        if (!(e instanceof ApiStatusError && e.status === 404)) throw e;
      }
    }
    return out;
  }

  private workerFor(pod: Pod): PodWorker {
    let w = this.workers.get(pod.metadata.uid);
    if (!w) {
      const { api, name, log } = this.o;
      w = new PodWorker(pod, {
        api,
        runtime: this.o.runtime,
        nodeName: name,
        hostIP: this.o.host.internalIP,
        data: this.data,
        tokens: this.tokens.get,
        caCert: api.config.ca,
        services: (namespace, links) => this.services(namespace, links),
        log,
        logs: this.o.logs,
        event: (p, type, reason, message) => {
          if (this.o.events !== false) recordEvent(api, name, podRef(p), type, reason, message, log);
        },
        onDone: (uid) => {
          this.workers.delete(uid);
          this.tokens.forget(uid);
        },
        claims: this.claims,
      });
      this.workers.set(pod.metadata.uid, w);
      // Still bound here: what an earlier run of the agent left running for it is adopted, not removed.
      this.o.runtime.keep?.(pod.metadata.uid);
    }
    return w;
  }

  upsert(pod: Pod): void {
    if (pod.spec?.nodeName !== this.o.name) return;
    this.podRefs.set(pod.metadata.uid, { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid });
    this.workerFor(pod).update(pod);
  }

  remove(pod: Pod): void {
    this.podRefs.delete(pod.metadata.uid);
    this.workers.get(pod.metadata.uid)?.removed();
  }

  /** A full list of this node's pods: workers of pods not in it are stopped. */
  replace(pods: Pod[]): void {
    const uids = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, w] of this.workers) if (!uids.has(uid)) w.removed();
    for (const uid of this.podRefs.keys()) if (!uids.has(uid)) this.podRefs.delete(uid);
    for (const p of pods) this.upsert(p);
  }

  get podCount(): number {
    return this.workers.size;
  }

  /** Stops the loops and every container (grace 0); pods and the Node stay in the API. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    await this.tunnel?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.shutdown()));
  }
}
