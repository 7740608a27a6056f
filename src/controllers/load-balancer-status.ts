import { DEFAULT_EDGE_DOMAIN, ingressHostname, lbHostname } from "../edge/edge-host.ts";
import type { KubeObject } from "../resources/types.ts";
import { canonicalJson } from "./pod-utils.ts";
import type { Action, Observed, ReconcileResult } from "./types.ts";

/**
 * The service controller's and the ingress controller's status half, for the Worker's edge
 * (pure): a LoadBalancer Service gets `status.loadBalancer.ingress: [{hostname:
 * <svc>.<ns>.lb.<domain>}]`, which `kubectl get svc` shows as EXTERNAL-IP, and loses it when it
 * stops being one; every Ingress gets `[{hostname: <name>.<ns>.ingress.<domain>}]` (ADDRESS).
 * Objects being deleted are left alone; nothing is written when the status is already right.
 */

type LbStatus = { ingress?: { hostname?: string; ip?: string }[] };

const lbOf = (o: KubeObject): LbStatus => ((o.status as { loadBalancer?: LbStatus } | undefined)?.loadBalancer ?? {}) as LbStatus;

function withStatus(o: KubeObject, loadBalancer: LbStatus): Action[] {
  if (canonicalJson(lbOf(o)) === canonicalJson(loadBalancer)) return [];
  const object = structuredClone(o);
  object.status = { ...((object.status as object | undefined) ?? {}), loadBalancer };
  return [{ type: "update", resource: o.kind === "Service" ? "core/services" : "networking.k8s.io/ingresses", object, subresource: "status" }];
}

export function reconcile(observed: Observed): ReconcileResult {
  const domain = observed.edgeDomain ?? DEFAULT_EDGE_DOMAIN;
  const ns = observed.namespace;
  const actions: Action[] = [];
  for (const svc of observed.services ?? []) {
    if (svc.metadata.deletionTimestamp) continue;
    const isLb = (svc.spec as { type?: string } | undefined)?.type === "LoadBalancer";
    if (isLb) actions.push(...withStatus(svc, { ingress: [{ hostname: lbHostname(domain, ns, svc.metadata.name ?? "") }] }));
    else if (lbOf(svc).ingress?.length) actions.push(...withStatus(svc, {}));
  }
  for (const ing of observed.ingresses ?? []) {
    if (ing.metadata.deletionTimestamp) continue;
    actions.push(...withStatus(ing, { ingress: [{ hostname: ingressHostname(domain, ns, ing.metadata.name ?? "") }] }));
  }
  return { actions };
}
