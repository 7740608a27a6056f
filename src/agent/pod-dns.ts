import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { podResolvConf } from "./cluster-dns-records.ts";
import type { Pod } from "./container-record.ts";
import type { PodNetwork } from "./pod-network.ts";
import type { Mount } from "./volumes.ts";

/**
 * A pod's /etc/resolv.conf (its dnsPolicy and dnsConfig; ClusterFirst: the node's cluster DNS and
 * the `<ns>.svc.cluster.local svc.cluster.local cluster.local` search path), written in `dir`, as a
 * mount every container of the pod gets. None when the node serves no cluster DNS or the pod keeps
 * the node's resolver.
 */
export function podDnsMounts(pod: Pod, dir: string, network: PodNetwork | undefined): Mount[] {
  const nameserver = network?.clusterDNS;
  if (!nameserver) return [];
  const conf = podResolvConf(pod as Parameters<typeof podResolvConf>[0], nameserver);
  if (conf === undefined) return [];
  mkdirSync(dir, { recursive: true });
  const hostPath = join(dir, "resolv.conf");
  writeFileSync(hostPath, conf);
  return [{ hostPath, containerPath: "/etc/resolv.conf", readOnly: false }];
}
