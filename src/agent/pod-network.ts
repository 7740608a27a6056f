import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { allocateHost, netnsName, podNetworkPlan, vethName } from "./runtime-plan.ts";

/**
 * Pod IPs on this node: each pod gets a network namespace of its own (`ip netns`), joined by a
 * veth pair to a node-local bridge that holds the first address of the node's pod CIDR (a /24);
 * the pod's eth0 gets the next free address, its default route goes through the bridge. The
 * host reaches pods through the bridge; nothing is forwarded or NATed beyond it (no route to
 * anywhere else is added and ip_forward is left as it is).
 *
 * Names carry a tag derived from the node name, so several agents on one host do not collide
 * and each cleans only its own: bridge `ep<tag>`, namespaces `ep-<tag>-<uid8>`, host-side veths
 * `v<tag><uid8>`. Namespaces left by an agent that did not stop cleanly are removed on start, or
 * (`keepStale`, for a runtime that adopts containers) kept until `releaseStale`: a pod still here
 * gets its namespace and IP back.
 */

export interface PodNet {
  ip: string;
  /** e.g. /run/netns/ep-1a2b3-0123abcd (for nsenter --net= and podman --network ns:). */
  netnsPath: string;
}

/** Runs `ip` with args; rejects with its stderr. */
export function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Runs several `ip` commands in one process (`ip [-n netns] -batch -`): a pod's setup is two processes, not eight. */
function ipBatch(lines: string[][], netns?: string): Promise<void> {
  const args = [...(netns ? ["-n", netns] : []), "-batch", "-"];
  return new Promise((resolve, reject) => {
    const child = execFile("ip", args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")} (${lines.map((l) => l.join(" ")).join("; ")}): ${(stderr || err.message).trim()}`));
      else resolve();
    });
    child.stdin!.end(lines.map((l) => l.join(" ")).join("\n") + "\n");
  });
}

async function listNetns(): Promise<string[]> {
  const out = await ip(["netns", "list"]).catch(() => "");
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);
}

export class PodNetwork {
  private readonly pods = new Map<string, { host: number; netns: string; veth: string }>();
  /** Setups in flight per pod uid (a second setup for the same pod waits for the first). */
  private readonly pending = new Map<string, Promise<PodNet>>();
  /** Namespaces of an earlier run, by the uid prefix in their name, until adopted or released. */
  private readonly stale = new Map<string, { host: number; netns: string; veth: string }>();

  private constructor(
    readonly tag: string,
    readonly bridge: string,
    readonly prefix: string,
  ) {}

  /** Where pods' cluster DNS queries go (the bridge address), once the node serves cluster DNS. */
  clusterDNS?: string;

  /** The bridge's address: the pods' default gateway. */
  get gateway(): string {
    return `${this.prefix}.1`;
  }

  get cidr(): string {
    return `${this.prefix}.0/24`;
  }

  /**
   * Sets up the node's bridge (and removes namespaces of this node left from an earlier run),
   * or says why pods cannot have their own network here.
   */
  static async open(nodeName: string, cidr?: string, opts: { keepStale?: boolean } = {}): Promise<{ network?: PodNetwork; warning?: string }> {
    const plan = podNetworkPlan(nodeName, cidr);
    const degraded = (why: string) => ({ warning: `pods share the host network (podIP = hostIP): ${why}` });
    if (process.platform !== "linux") return degraded("per-pod network namespaces need Linux");
    if (process.getuid?.() !== 0) return degraded("per-pod network namespaces need root (ip netns, veth, bridge)");
    // Another interface already in this /24 (other than our bridge): do not shadow its routes.
    for (const [name, addrs] of Object.entries(networkInterfaces()))
      if (name !== plan.bridge && (addrs ?? []).some((a) => a.family === "IPv4" && a.address.startsWith(`${plan.prefix}.`)))
        return degraded(`the pod CIDR ${plan.prefix}.0/24 is already used by interface ${name} (choose another with --pod-cidr)`);
    const net = new PodNetwork(plan.tag, plan.bridge, plan.prefix);
    try {
      if (opts.keepStale) await net.findStale();
      else await net.cleanStale();
      const exists = await ip(["link", "show", plan.bridge]).then(
        () => true,
        () => false,
      );
      if (!exists) await ip(["link", "add", "name", plan.bridge, "type", "bridge"]);
      await ip(["addr", "flush", "dev", plan.bridge]);
      await ip(["addr", "add", `${plan.prefix}.1/24`, "dev", plan.bridge]);
      await ip(["link", "set", plan.bridge, "up"]);
      // Probe a namespace once, so a host that refuses them degrades now rather than per pod.
      const probe = `ep-${plan.tag}-probe`;
      await ip(["netns", "add", probe]);
      await ip(["netns", "del", probe]);
    } catch (e) {
      await ip(["link", "del", plan.bridge]).catch(() => {});
      return degraded(e instanceof Error ? e.message : String(e));
    }
    return { network: net };
  }

  /** Removes this node's namespaces (their veths go with them) from an earlier run. */
  private async cleanStale(): Promise<void> {
    for (const ns of await listNetns()) if (ns.startsWith(`ep-${this.tag}-`)) await ip(["netns", "del", ns]).catch(() => {});
  }

  /** Namespaces of this node from an earlier run, with the address each pod had. */
  private async findStale(): Promise<void> {
    const prefix = `ep-${this.tag}-`;
    for (const ns of await listNetns()) {
      if (!ns.startsWith(prefix) || ns.endsWith("-probe")) continue;
      const out = await ip(["-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]).catch(() => "");
      const m = new RegExp(`inet ${this.prefix.replace(/\./g, "\\.")}\\.(\\d+)/`).exec(out);
      const uid8 = ns.slice(prefix.length);
      if (m) this.stale.set(uid8, { host: Number(m[1]), netns: ns, veth: `v${this.tag}${uid8}` });
      else await ip(["netns", "del", ns]).catch(() => {});
    }
  }

  /** Removes the namespaces of an earlier run, but those of the pods kept (by uid), which take theirs back. */
  async releaseStale(kept: Set<string> = new Set()): Promise<void> {
    const keep = new Set([...kept].map((uid) => uid.replace(/-/g, "").slice(0, 8)));
    for (const [uid8, p] of this.stale) {
      if (keep.has(uid8)) continue;
      this.stale.delete(uid8);
      await ip(["netns", "del", p.netns]).catch(() => {});
      await ip(["link", "del", p.veth]).catch(() => {});
    }
  }

  /** The pod's namespace with eth0 up at its IP (idempotent per pod uid). */
  setup(uid: string): Promise<PodNet> {
    const uid8 = uid.replace(/-/g, "").slice(0, 8);
    const earlier = this.stale.get(uid8);
    if (earlier && !this.pods.has(uid)) {
      this.stale.delete(uid8);
      this.pods.set(uid, earlier);
    }
    const have = this.pods.get(uid);
    if (have) return Promise.resolve({ ip: `${this.prefix}.${have.host}`, netnsPath: `/run/netns/${have.netns}` });
    let p = this.pending.get(uid);
    if (!p) {
      p = this.create(uid).finally(() => this.pending.delete(uid));
      this.pending.set(uid, p);
    }
    return p;
  }

  private async create(uid: string): Promise<PodNet> {
    const host = allocateHost([...this.pods.values(), ...this.stale.values()].map((p) => p.host));
    if (host === undefined) throw new Error(`pod CIDR ${this.cidr} is full`);
    const netns = netnsName(this.tag, uid);
    const veth = vethName(this.tag, uid);
    this.pods.set(uid, { host, netns, veth });
    const addr = `${this.prefix}.${host}`;
    try {
      if (existsSync(`/run/netns/${netns}`)) await ip(["netns", "del", netns]).catch(() => {});
      await ipBatch([
        ["netns", "add", netns],
        ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns],
        ["link", "set", veth, "master", this.bridge, "up"],
      ]);
      await ipBatch(
        [
          ["addr", "add", `${addr}/24`, "dev", "eth0"],
          ["link", "set", "eth0", "up"],
          ["link", "set", "lo", "up"],
          ["route", "add", "default", "via", `${this.prefix}.1`],
        ],
        netns,
      );
    } catch (e) {
      this.pods.delete(uid);
      await ip(["netns", "del", netns]).catch(() => {});
      throw e;
    }
    return { ip: addr, netnsPath: `/run/netns/${netns}` };
  }

  /** Removes the pod's namespace and veth pair (an earlier run's too, when the pod went before taking it back). */
  async teardown(uid: string): Promise<void> {
    await this.pending.get(uid)?.catch(() => {});
    const uid8 = uid.replace(/-/g, "").slice(0, 8);
    const p = this.pods.get(uid) ?? this.stale.get(uid8);
    if (!p) return;
    this.pods.delete(uid);
    if (this.stale.get(uid8) === p) this.stale.delete(uid8);
    await ip(["netns", "del", p.netns]).catch(() => {});
    await ip(["link", "del", p.veth]).catch(() => {}); // normally gone with its peer
  }

  /** Removes every namespace of this node and the bridge (agent shutdown). */
  async close(): Promise<void> {
    await this.releaseStale();
    await Promise.all([...this.pods.keys()].map((uid) => this.teardown(uid)));
    await this.cleanStale();
    await ip(["link", "del", this.bridge]).catch(() => {});
  }

  /** How many pods have a namespace now (tests). */
  get size(): number {
    return this.pods.size;
  }
}
