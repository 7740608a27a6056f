import type { FilterPlugin, HostPort } from "./types.ts";

/** Two host ports clash on the same protocol and port when either binds every address or both the same one. */
export function portsConflict(a: HostPort, b: HostPort): boolean {
  return a.hostPort === b.hostPort && a.protocol === b.protocol && (a.hostIP === "" || b.hostIP === "" || a.hostIP === b.hostIP);
}

/** NodePorts: the pod's host ports must be free on the node. */
export const nodePortsFilter: FilterPlugin = {
  name: "NodePorts",
  prepare(pod) {
    if (pod.hostPorts.length === 0) return () => undefined;
    return (node) =>
      pod.hostPorts.some((p) => node.usedPorts.some((u) => portsConflict(p, u)))
        ? ["node(s) didn't have free ports for the requested pod ports"]
        : undefined;
  },
};
