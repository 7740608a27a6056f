import { execFile } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Balancer, iptablesRestoreInput, proxyChain, splitHostPort, type ProxiedPort, type Redirect } from "./proxy-plan.ts";

/**
 * The service proxy of a node (userspace, as kube-proxy's original mode): one TCP listener per
 * service port, which forwards each connection to an endpoint picked by the Balancer (round-robin,
 * ClientIP affinity), trying the next endpoint when one refuses or does not answer in time.
 *
 * - Cluster IPs: the listener sits on the pods' bridge address at a free port; a REDIRECT rule in
 *   the node's own nat chain (`EP-SVC-<tag>`, jumped to from PREROUTING only for traffic arriving on
 *   the node's bridge) sends `clusterIP:port` there. Nothing else on the host changes: no
 *   ip_forward, no masquerading, and several agents on one host never see each other's rules.
 *   A pod reaching its own service through the proxy (hairpin) works like any other client, since
 *   the proxy opens a new connection from the bridge address.
 * - Node ports: the listener sits on the node's address at the nodePort itself (no iptables).
 * - Extra redirects (the cluster DNS server) join the same chain.
 */

export interface ServiceProxyOptions {
  /** The node tag (names the iptables chain). */
  tag: string;
  /** The pods' bridge and its address (none: pods share the host network; cluster IPs are not served). */
  bridge?: { name: string; ip: string };
  /** The node's address, where node ports listen. */
  nodeIP: string;
  log: (line: string) => void;
  /** How long a connection attempt to one endpoint may take before the next is tried. */
  connectTimeoutMs?: number;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

interface Listener {
  server: Server;
  /** The local port (cluster IP listeners: ephemeral; node ports: the nodePort). */
  port: number;
}

export class ServiceProxy {
  /** Why part of the data plane does not work here (the node's RuntimeDegraded condition). */
  readonly warnings: string[] = [];
  /** Connections forwarded and refused for lack of a working endpoint (tests, benches). */
  readonly counters = { forwarded: 0, refused: 0 };
  private readonly entries = new Map<string, ProxiedPort>();
  private readonly balancers = new Map<string, Balancer>();
  private readonly clusterListeners = new Map<string, Listener>();
  private readonly nodePortListeners = new Map<number, Listener & { key: string }>();
  private readonly nodePortFailures = new Map<number, string>();
  private extra: Redirect[] = [];
  private iptables = false;
  private lastRules = "";
  private applying: Promise<void> = Promise.resolve();

  private constructor(private readonly o: ServiceProxyOptions) {}

  get chain(): string {
    return proxyChain(this.o.tag);
  }

  /** Prepares the node's nat chain (or records why cluster IPs cannot be served). */
  static async open(o: ServiceProxyOptions): Promise<ServiceProxy> {
    const p = new ServiceProxy(o);
    if (!o.bridge) p.warnings.push("service proxy: cluster IPs are not served (pods share the host network; per-pod networks need root); node ports are");
    else if (process.getuid?.() !== 0) p.warnings.push("service proxy: cluster IPs are not served (iptables needs root); node ports are");
    else {
      try {
        await p.removeRules();
        await run("iptables-restore", ["-w", "--noflush"], iptablesRestoreInput(p.chain, []));
        await run("iptables", ["-w", "-t", "nat", "-A", "PREROUTING", "-i", o.bridge.name, "-j", p.chain]);
        p.iptables = true;
      } catch (e) {
        p.warnings.push(`service proxy: cluster IPs are not served (iptables failed: ${e instanceof Error ? e.message : String(e)}); node ports are`);
      }
    }
    return p;
  }

  /** Whether cluster IPs are redirected to the proxy (iptables programmed). */
  get servesClusterIPs(): boolean {
    return this.iptables;
  }

  /** Redirects besides the services' (e.g. DNS on the bridge address); applied with the next apply(). */
  setExtraRedirects(r: Redirect[]): void {
    this.extra = r;
  }

  /** Makes the listeners and rules match `plan` (calls are serialized). */
  apply(plan: ProxiedPort[]): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(plan)).catch((e) => this.o.log(`service proxy: ${e instanceof Error ? e.message : String(e)}`));
    return this.applying;
  }

  private async applyNow(plan: ProxiedPort[]): Promise<void> {
    const keys = new Set(plan.map((p) => p.key));
    for (const [k] of this.entries) if (!keys.has(k)) this.entries.delete(k), this.balancers.delete(k);
    for (const p of plan) this.entries.set(p.key, p);
    // Cluster IPs: one listener per service port with a cluster IP.
    const wantCluster = new Set(this.iptables ? plan.filter((p) => p.clusterIP).map((p) => p.key) : []);
    for (const [k, l] of this.clusterListeners) if (!wantCluster.has(k)) (l.server.close(), this.clusterListeners.delete(k));
    for (const k of wantCluster)
      if (!this.clusterListeners.has(k)) {
        try {
          this.clusterListeners.set(k, await this.listen(k, this.o.bridge!.ip, 0));
        } catch (e) {
          this.o.log(`service proxy: ${k}: cannot listen on ${this.o.bridge!.ip}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    // Node ports: one listener per node port, on the node's address.
    const wantNode = new Map(plan.filter((p) => p.nodePort).map((p) => [p.nodePort!, p.key]));
    for (const [port, l] of this.nodePortListeners) if (wantNode.get(port) !== l.key) (l.server.close(), this.nodePortListeners.delete(port));
    for (const port of this.nodePortFailures.keys()) if (!wantNode.has(port)) this.nodePortFailures.delete(port);
    for (const [port, key] of wantNode)
      if (!this.nodePortListeners.has(port)) {
        try {
          this.nodePortListeners.set(port, { ...(await this.listen(key, this.o.nodeIP, port, true)), key });
          this.nodePortFailures.delete(port);
        } catch (e) {
          const why = `node port ${port} of ${key}: cannot listen on ${this.o.nodeIP}: ${e instanceof Error ? e.message : String(e)}`;
          if (this.nodePortFailures.get(port) !== why) this.o.log(`service proxy: ${why}`);
          this.nodePortFailures.set(port, why);
        }
      }
    if (this.iptables) {
      const redirects: Redirect[] = [...this.extra];
      for (const p of plan) {
        const l = p.clusterIP ? this.clusterListeners.get(p.key) : undefined;
        if (l) redirects.push({ ip: p.clusterIP!, port: p.port, protocol: "tcp", toPort: l.port });
      }
      const rules = iptablesRestoreInput(this.chain, redirects);
      if (rules !== this.lastRules) {
        await run("iptables-restore", ["-w", "--noflush"], rules);
        this.lastRules = rules;
      }
    }
  }

  /** Node ports that could not be opened (each with why). */
  get nodePortProblems(): string[] {
    return [...this.nodePortFailures.values()];
  }

  /** The local port a service port's cluster IP is redirected to (tests). */
  listenerPort(key: string): number | undefined {
    return this.clusterListeners.get(key)?.port;
  }

  private listen(key: string, host: string, port: number, nodePort = false): Promise<Listener> {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (c) => this.forward(c, key, nodePort));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off("error", reject);
        server.on("error", (e) => this.o.log(`service proxy: ${key}: ${e.message}`));
        resolve({ server, port: (server.address() as { port: number }).port });
      });
    });
  }

  private forward(client: Socket, key: string, viaNodePort: boolean): void {
    const tried = new Set<string>();
    const clientIP = client.remoteAddress ?? "";
    let upstream: Socket | undefined;
    let done = false;
    const fail = () => {
      if (done) return;
      done = true;
      this.counters.refused++;
      client.resetAndDestroy();
    };
    client.on("error", () => upstream?.destroy());
    client.on("close", () => {
      done = true;
      // Once connected, the pipes carry each side's end to the other; before, nothing is owed.
      if (upstream && upstream.connecting) upstream.destroy();
    });
    const attempt = () => {
      if (done) return;
      const entry = this.entries.get(key);
      if (!entry || (viaNodePort && !entry.nodePort)) return fail();
      let balancer = this.balancers.get(key);
      if (!balancer) this.balancers.set(key, (balancer = new Balancer()));
      const endpoint = balancer.pick(entry.endpoints, clientIP, Date.now(), entry.affinitySeconds, tried);
      if (!endpoint) return fail();
      tried.add(endpoint);
      const { host, port } = splitHostPort(endpoint);
      const up = connect({ host, port, allowHalfOpen: true, noDelay: true, timeout: this.o.connectTimeoutMs ?? 3000 });
      upstream = up;
      let connected = false;
      up.once("timeout", () => {
        if (!connected) up.destroy(new Error("connect timeout"));
      });
      up.once("connect", () => {
        connected = true;
        up.setTimeout(0);
        this.counters.forwarded++;
        client.pipe(up);
        up.pipe(client);
      });
      up.on("error", () => {
        if (!connected) attempt();
        else client.destroy();
      });
      up.on("close", (hadError) => {
        if (connected && hadError) client.destroy();
      });
    };
    attempt();
  }

  private async removeRules(): Promise<void> {
    if (!this.o.bridge) return;
    // Every jump to the chain (a crashed run may have left one), then the chain itself.
    while (await run("iptables", ["-w", "-t", "nat", "-D", "PREROUTING", "-i", this.o.bridge.name, "-j", this.chain]).then(() => true, () => false));
    await run("iptables", ["-w", "-t", "nat", "-F", this.chain]).catch(() => {});
    await run("iptables", ["-w", "-t", "nat", "-X", this.chain]).catch(() => {});
  }

  /** Closes every listener and removes the node's rules. */
  async close(): Promise<void> {
    await this.applying;
    for (const l of [...this.clusterListeners.values(), ...this.nodePortListeners.values()]) l.server.close();
    this.clusterListeners.clear();
    this.nodePortListeners.clear();
    if (this.iptables) await this.removeRules();
    this.iptables = false;
  }
}
