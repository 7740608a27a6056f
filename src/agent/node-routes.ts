import { readFileSync } from "node:fs";
import type { ApiClient } from "./api-client.ts";
import { ObjectCache, ObjectSource } from "./object-source.ts";
import { ip } from "./pod-network.ts";

/**
 * Pod traffic between nodes: every node's Node carries its pod CIDR (`spec.podCIDR`), and each
 * agent with per-pod networks routes the other nodes' pod CIDRs via their InternalIP
 * (`ip route replace <cidr> via <ip>`), so the service proxy and pods reach pods on any node
 * directly (nodes on one L2 segment; no overlay, no NAT). A node forwards packets to its pods only
 * with `net.ipv4.ip_forward=1`, which the agent does not change on its own: it says so instead.
 */

export interface NodeLike {
  metadata: { name: string };
  spec?: { podCIDR?: string };
  status?: { addresses?: { type: string; address: string }[] };
}

export interface Route {
  cidr: string;
  via: string;
}

/** Routes to the other nodes' pod CIDRs (pure): nodes with a pod CIDR and an InternalIP, not this one, not our own CIDR. */
export function routePlan(nodes: NodeLike[], self: string, ownCIDR: string): Route[] {
  const out: Route[] = [];
  for (const n of nodes) {
    const cidr = n.spec?.podCIDR;
    const via = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (n.metadata.name === self || !cidr || !via || cidr === ownCIDR) continue;
    out.push({ cidr, via });
  }
  return out.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

export class NodeRoutes {
  private readonly nodes = new ObjectCache<NodeLike>(() => this.schedule());
  private readonly installed = new Map<string, Route>();
  private readonly failures = new Map<string, string>();
  private readonly source: ObjectSource<NodeLike>;
  private applying: Promise<void> = Promise.resolve();
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    api: ApiClient,
    private readonly self: string,
    private readonly ownCIDR: string,
    private readonly log: (line: string) => void,
  ) {
    this.source = new ObjectSource<NodeLike>(api, "/api/v1/nodes", this.nodes, { log });
  }

  start(): void {
    this.source.start();
  }

  /** Routes that could not be added, and whether other nodes can reach this node's pods. */
  get warnings(): string[] {
    const out = [...this.failures.values()];
    if (this.installed.size > 0 && !forwarding())
      out.push("pods on this node are not reachable from other nodes: net.ipv4.ip_forward is 0 here (the agent leaves it as it is)");
    return out;
  }

  /** The routes in place (tests). */
  get routes(): Route[] {
    return [...this.installed.values()];
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const want = routePlan([...this.nodes.items.values()], this.self, this.ownCIDR);
      this.applying = this.applying.then(() => this.apply(want));
    }, 20);
  }

  private async apply(want: Route[]): Promise<void> {
    const wanted = new Map(want.map((r) => [r.cidr, r]));
    for (const [cidr, r] of this.installed)
      if (wanted.get(cidr)?.via !== r.via) {
        await ip(["route", "del", cidr, "via", r.via]).catch(() => {});
        this.installed.delete(cidr);
      }
    for (const cidr of this.failures.keys()) if (!wanted.has(cidr)) this.failures.delete(cidr);
    for (const [cidr, r] of wanted) {
      if (this.installed.has(cidr)) continue;
      try {
        await ip(["route", "replace", cidr, "via", r.via]);
        this.installed.set(cidr, r);
        this.failures.delete(cidr);
        this.log(`route to pods ${cidr} via ${r.via}`);
      } catch (e) {
        const why = `no route to pods ${cidr} via ${r.via}: ${e instanceof Error ? e.message : String(e)}`;
        if (this.failures.get(cidr) !== why) this.log(why);
        this.failures.set(cidr, why);
      }
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.source.stop();
    await this.applying;
    for (const r of this.installed.values()) await ip(["route", "del", r.cidr, "via", r.via]).catch(() => {});
    this.installed.clear();
  }
}

function forwarding(): boolean {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1";
  } catch {
    return false;
  }
}
