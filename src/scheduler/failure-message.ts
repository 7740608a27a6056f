/**
 * The FailedScheduling message as kube-scheduler words it: how many nodes rejected the
 * pod for each reason, sorted as strings, e.g.
 * "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
 */
export function failureMessage(totalNodes: number, reasons: Record<string, number>): string {
  if (totalNodes === 0) return "no nodes available to schedule pods";
  const parts = Object.entries(reasons).map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${totalNodes} nodes are available${parts.length ? `: ${parts.join(", ")}` : ""}.`;
}
