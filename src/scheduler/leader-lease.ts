import type { KubeObject } from "../resources/types.ts";
import { getRow, objectKey, type Db } from "../store/revision-log.ts";

/**
 * kube-scheduler's leader election Lease (kube-system/kube-scheduler). Edgeplane runs one
 * scheduler and does not take the lease itself, but it stands by while another holder's
 * lease is valid, as a non-leader kube-scheduler does: an operator (or a second scheduler)
 * holds the lease to pause scheduling, and deleting the lease, or letting it expire,
 * resumes it. The benchmark uses this to build a backlog of pending pods.
 */

export const SCHEDULER_LEASE_KEY = objectKey("coordination.k8s.io/leases", "kube-system", "kube-scheduler");
/** The identity a holder uses for this scheduler (the lease is ours: no standby). */
export const SCHEDULER_IDENTITY = "edgeplane-scheduler";

/** Until when another holder's lease keeps this scheduler standing by (undefined: it leads). */
export function standbyUntil(lease: KubeObject | undefined, now: number): number | undefined {
  const spec = (lease?.spec ?? {}) as { holderIdentity?: unknown; renewTime?: unknown; acquireTime?: unknown; leaseDurationSeconds?: unknown };
  if (typeof spec.holderIdentity !== "string" || spec.holderIdentity === "" || spec.holderIdentity === SCHEDULER_IDENTITY) return undefined;
  const duration = typeof spec.leaseDurationSeconds === "number" ? spec.leaseDurationSeconds : 0;
  const renewed = Date.parse(typeof spec.renewTime === "string" ? spec.renewTime : typeof spec.acquireTime === "string" ? spec.acquireTime : "");
  if (!Number.isFinite(renewed) || duration <= 0) return undefined;
  const until = renewed + duration * 1000;
  return until > now ? until : undefined;
}

/** Reads the lease (one row) and says until when to stand by. */
export async function schedulerStandbyUntil(db: Db, now: number): Promise<number | undefined> {
  const row = await getRow(db, SCHEDULER_LEASE_KEY, now);
  return row ? standbyUntil(JSON.parse(row.value) as KubeObject, now) : undefined;
}
