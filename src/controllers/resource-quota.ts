import type { KubeObject } from "../resources/types.ts";
import type { Action, Observed, ReconcileResult } from "./types.ts";

/**
 * The ResourceQuota controller: keeps each quota's status.hard (its spec.hard) and status.used
 * (what the namespace's objects hold, as the hub's quota ledger counts them) current. Admission
 * does not read status: the hub checks and charges writes against the ledger as it commits.
 */

const sorted = (m: Record<string, string> | undefined) => JSON.stringify(Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  const status = observed.quotaStatus;
  if (!status) return { actions };
  for (const rq of observed.resourceQuotas ?? []) {
    const want = status[rq.metadata.name!];
    if (!want) continue; // not counted yet (created after the ledger's view): the next pass has it
    const have = (rq.status ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
    if (sorted(have.hard) === sorted(want.hard) && sorted(have.used) === sorted(want.used)) continue;
    const next: KubeObject = structuredClone(rq);
    next.status = { ...(have as object), hard: { ...want.hard }, used: { ...want.used } };
    actions.push({ type: "update", resource: "core/resourcequotas", object: next, subresource: "status" });
  }
  return { actions };
}
