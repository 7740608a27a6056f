import type { ApiClient } from "./api-client.ts";
import { ClusterDns } from "./cluster-dns.ts";
import { dnsRecords } from "./cluster-dns-records.ts";
import { NodeRoutes } from "./node-routes.ts";
import { ObjectCache, ObjectSource } from "./object-source.ts";
import type { PodNetwork } from "./pod-network.ts";
import { proxyPlan, type ServiceLike, type SliceLike } from "./proxy-plan.ts";
import { ServiceProxy } from "./service-proxy.ts";

/**
 * A node's share of the Services data plane: watches every Service and EndpointSlice (the node
 * authorizer lets nodes read them), and keeps the service proxy (cluster IPs, node ports) and the
 * cluster DNS server current (changes are applied together a moment after they arrive), and routes
 * to the other nodes' pod CIDRs (node-routes.ts).
 */

export interface DataPlaneOptions {
  api: ApiClient;
  tag: string;
  network?: PodNetwork;
  nodeIP: string;
  /** "host:port" of the API server: where default/kubernetes goes. */
  apiServer?: string;
  /** This node's name (routes to the other nodes' pod CIDRs). */
  nodeName: string;
  log: (line: string) => void;
}

export class ServiceDataPlane {
  private readonly services: ObjectCache<ServiceLike>;
  private readonly slices: ObjectCache<SliceLike>;
  private readonly sources: { start(): void; stop(): Promise<void> }[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;
  /** Plans applied (tests). */
  syncs = 0;

  private constructor(
    private readonly o: DataPlaneOptions,
    readonly proxy: ServiceProxy,
    readonly dns: ClusterDns | undefined,
    readonly routes: NodeRoutes | undefined,
  ) {
    const changed = () => this.schedule();
    this.services = new ObjectCache<ServiceLike>(changed);
    this.slices = new ObjectCache<SliceLike>(changed);
  }

  static async start(o: DataPlaneOptions): Promise<ServiceDataPlane> {
    const bridge = o.network ? { name: o.network.bridge, ip: o.network.gateway } : undefined;
    const proxy = await ServiceProxy.open({ tag: o.tag, bridge, nodeIP: o.nodeIP, log: o.log });
    let dns: ClusterDns | undefined;
    if (bridge && proxy.servesClusterIPs) {
      try {
        dns = await ClusterDns.open(bridge.ip, o.log);
        proxy.setExtraRedirects([{ ip: bridge.ip, port: 53, protocol: "udp", toPort: dns.port }]);
        o.network!.clusterDNS = bridge.ip;
      } catch (e) {
        proxy.warnings.push(`cluster DNS is not served: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else proxy.warnings.push("cluster DNS is not served (it needs the service proxy's redirects)");
    const routes = o.network ? new NodeRoutes(o.api, o.nodeName, o.network.cidr, o.log) : undefined;
    routes?.start();
    const plane = new ServiceDataPlane(o, proxy, dns, routes);
    const opts = { log: o.log };
    plane.sources.push(
      new ObjectSource<ServiceLike>(o.api, "/api/v1/services", plane.services, opts),
      new ObjectSource<SliceLike>(o.api, "/apis/discovery.k8s.io/v1/endpointslices", plane.slices, opts),
    );
    for (const s of plane.sources) s.start();
    return plane;
  }

  /** What the node lacks (RuntimeDegraded): fixed at start, plus node ports that cannot be opened. */
  get warnings(): string[] {
    return [...this.proxy.warnings, ...this.proxy.nodePortProblems, ...(this.routes?.warnings ?? [])];
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, 20);
  }

  /** Applies the current Services and EndpointSlices now. */
  async sync(): Promise<void> {
    const services = [...this.services.items.values()];
    const slices = [...this.slices.items.values()];
    this.dns?.set(dnsRecords(services, slices));
    await this.proxy.apply(proxyPlan(services, slices, this.o.apiServer));
    this.syncs++;
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([...this.sources.map((s) => s.stop()), this.routes?.stop()]);
    await this.proxy.close();
    await this.dns?.close();
    if (this.o.network) this.o.network.clusterDNS = undefined;
  }
}
