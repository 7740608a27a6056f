import { sql } from "drizzle-orm";
import { ApiError } from "../api/errors.ts";
import { numberSetting, type Env } from "../env.ts";
import { nodeKind } from "../resources/node.ts";
import { podKind } from "../resources/pod.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { alarmBy } from "../store/maintenance.ts";
import { ObjectStore } from "../store/object-store.ts";
import { openDb, type LogEvent } from "../store/revision-log.ts";
import { recordEvent } from "./host.ts";
import { podNotReady, reconcileNodes, type NodeLifecycleAction } from "./node-lifecycle.ts";

/**
 * Drives the node lifecycle reconciler from the cluster hub's alarm, every check period
 * while nodes exist. The Nodes are kept in memory, current through the cluster hub's own
 * commits (it writes every cluster-scoped object), so a check reads only the leases of
 * kube-node-lease; pods are read only when a node is tainted NoExecute or Unknown, and then
 * only when something changed, a toleration runs out, or every POD_RECHECK_MS.
 */

const DUE = "nodes:due";
const POD_RECHECK_MS = 30_000;

export const gracePeriodMs = (env: Env) => numberSetting(env.NODE_MONITOR_GRACE_SECONDS, 40) * 1000;
export const checkPeriodMs = (env: Env) => numberSetting(env.NODE_MONITOR_PERIOD_SECONDS, 5) * 1000;

export interface NodeMonitorRun {
  nodes: number;
  podsRead: boolean;
  actions: NodeLifecycleAction[];
  nextEvictionAt?: number;
}

export class NodeMonitor {
  /** Nodes by name, as last committed; undefined until read. */
  private nodes?: Map<string, KubeObject>;
  /** When pods are to be read next (0: at the next check that needs them). */
  private podsDueAt = 0;
  /** D1 reads of the last run (for tests): which queries it made. */
  lastReads: string[] = [];

  /** The cluster hub committed these (node events among them). */
  async committed(ctx: DurableObjectState, env: Env, events: LogEvent[]): Promise<void> {
    for (const e of events) {
      if (e.resource !== "core/nodes") continue;
      if (this.nodes) {
        if (e.type === "DELETED") this.nodes.delete(e.name);
        else this.nodes.set(e.name, materialize(e.value, e.rev));
      }
      this.podsDueAt = 0;
    }
    if ((await ctx.storage.get<number>(DUE)) !== undefined) return;
    const at = Date.now() + checkPeriodMs(env);
    await ctx.storage.put(DUE, at);
    await alarmBy(ctx, at);
  }

  /** Runs a check if due; returns when the next is due (undefined: no nodes, no alarm). */
  async runIfDue(env: Env, ctx: DurableObjectState, now = Date.now()): Promise<number | undefined> {
    const due = await ctx.storage.get<number>(DUE);
    if (due === undefined || due > now) return due;
    let run: NodeMonitorRun | undefined;
    try {
      run = await this.run(env, now);
    } catch (e) {
      console.error("node lifecycle check failed:", e);
      this.nodes = undefined;
    }
    if (run && run.nodes === 0) {
      await ctx.storage.delete(DUE);
      return undefined;
    }
    let next = now + checkPeriodMs(env);
    if (run?.nextEvictionAt !== undefined && run.nextEvictionAt < next) next = Math.max(now + 100, run.nextEvictionAt);
    await ctx.storage.put(DUE, next);
    return next;
  }

  /** One check at `now` (tests pass a later clock to skip the grace period). */
  async run(env: Env, now = Date.now()): Promise<NodeMonitorRun> {
    const db = openDb(env.DB);
    this.lastReads = [];
    if (!this.nodes) {
      const rows = await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects WHERE resource = 'core/nodes'`);
      this.lastReads.push("nodes");
      this.nodes = new Map(rows.map((r) => {
        const n = materialize(r.value, r.rev);
        return [n.metadata.name!, n];
      }));
    }
    const nodes = [...this.nodes.values()];
    if (nodes.length === 0) return { nodes: 0, podsRead: false, actions: [] };
    const leaseRows = await db.all<{ name: string; renew: string | null }>(sql`SELECT name, json_extract(value, '$.spec.renewTime') AS renew
      FROM objects WHERE resource = 'coordination.k8s.io/leases' AND namespace = 'kube-node-lease'`);
    this.lastReads.push("leases");
    const leases: Record<string, string | undefined> = {};
    for (const r of leaseRows) leases[r.name] = r.renew ?? undefined;
    const state = { now, gracePeriodMs: gracePeriodMs(env), nodes, leases };
    let result = reconcileNodes(state);
    let pods: KubeObject[] | undefined;
    const nodeActions = result.actions.length > 0;
    if (result.needsPods && (nodeActions || this.podsDueAt <= now)) {
      // Pods of the nodes that are (or are becoming) tainted or Unknown.
      const watched = new Set(result.actions.map((a) => (a.type === "update-node" ? a.node : "")));
      for (const n of nodes) {
        const taints = (n.spec as { taints?: { effect?: string }[] } | undefined)?.taints ?? [];
        const ready = ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
        if (taints.some((t) => t?.effect === "NoExecute") || ready?.status === "Unknown") watched.add(n.metadata.name!);
      }
      watched.delete("");
      const rows = await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects WHERE resource = 'core/pods'
        AND json_extract(value, '$.spec.nodeName') IN (SELECT value FROM json_each(${JSON.stringify([...watched])}))`);
      this.lastReads.push("pods");
      pods = rows.map((r) => materialize(r.value, r.rev));
      result = reconcileNodes({ ...state, pods });
      this.podsDueAt = Math.min(result.nextEvictionAt ?? Infinity, now + POD_RECHECK_MS);
    }
    if (result.actions.length > 0) await this.apply(env, result.actions, pods ?? [], now);
    // Node writes come back through committed(); a tainted node's pods are looked at again next check.
    if (nodeActions) this.podsDueAt = 0;
    return { nodes: nodes.length, podsRead: pods !== undefined, actions: result.actions, nextEvictionAt: result.nextEvictionAt };
  }

  private async apply(env: Env, actions: NodeLifecycleAction[], pods: KubeObject[], now: number): Promise<void> {
    const store = new ObjectStore(env);
    const podOf = (ns: string, name: string) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
    await Promise.all(
      actions.map(async (a) => {
        try {
          switch (a.type) {
            case "update-node": {
              const current = this.nodes?.get(a.node);
              if (!current || current.metadata.resourceVersion !== a.resourceVersion) return;
              const next = structuredClone(current);
              if (a.conditions) ((next.status ??= {}) as Record<string, unknown>).conditions = a.conditions;
              if (a.taints) {
                const spec = (next.spec ??= {}) as Record<string, unknown>;
                if (a.taints.length) spec.taints = a.taints;
                else delete spec.taints;
              }
              await store.update(nodeKind, next, { part: "all", current });
              break;
            }
            case "mark-pod-not-ready": {
              const pod = podOf(a.namespace, a.name);
              if (pod) await store.update(podKind, podNotReady(pod, now), { part: "status", current: pod });
              break;
            }
            case "evict-pod": {
              const pod = podOf(a.namespace, a.name);
              await store.delete(podKind, a.namespace, a.name, { preconditions: { uid: a.uid } });
              if (pod) await recordEvent(store, pod, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${a.namespace}/${a.name}`, now, "taint-eviction-controller");
              break;
            }
          }
        } catch (e) {
          // Changed or gone under us: the next check sees the new state.
          if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
          if (a.type === "update-node") this.nodes = undefined;
        }
      }),
    );
  }
}
