import { sql } from "drizzle-orm";
import type { KubeObject } from "../resources/types.ts";
import {
  addUsage,
  exceeds,
  forbiddenPrefix,
  formatList,
  hardOf,
  increase,
  missingComputeSpecs,
  objectUsage,
  quotaCovers,
  resourceOfName,
  scopeFacts,
  type ScopeFacts,
  type Usage,
} from "../quota/usage.ts";
import { applyLimitRangeDefaults, claimLimitViolations, limitRangeViolations } from "../quota/limit-ranger.ts";
import type { Db, LogEvent, Write } from "./revision-log.ts";

/**
 * ResourceQuota enforcement inside a namespace's hub. The hub is the only writer of its
 * namespace and commits one batch at a time, so checking a batch's writes in order against
 * usage held here, charging each admitted write before the next is checked, and committing
 * the batch is atomic: N concurrent creates never overshoot a quota, and no read-then-write
 * race exists across requests. Usage is loaded from D1 once (when the namespace has quotas)
 * and then kept current from the hub's own commits, as its watch fan-out is.
 *
 * LimitRanges are applied here too (the hub knows them the same way): a pod being created gets
 * its containers' default requests/limits, then min/max/ratio are checked, before quota counts it.
 * No D1 read per create: the namespace's quotas and limit ranges are read once per hub start.
 */

interface Entry {
  usage: Usage;
  facts: ScopeFacts | null;
}

const entryOf = (resource: string, obj: KubeObject): Entry => ({ usage: objectUsage(resource, obj), facts: scopeFacts(resource, obj) });

export interface QuotaStatus {
  hard: Record<string, string>;
  used: Record<string, string>;
}

export class QuotaLedger {
  /** The namespace's ResourceQuotas by name; undefined until read. */
  private quotas?: Map<string, KubeObject>;
  /** The namespace's LimitRanges by name (read with the quotas). */
  private limitRanges = new Map<string, KubeObject>();
  /** Charges of the namespace's objects by key, for the resources some quota counts; undefined until read. */
  private entries?: Map<string, Entry>;
  private loaded = new Set<string>();
  /** Per quota: what its objects hold now (derived from entries; undefined: recompute). */
  private totals?: Map<string, Usage>;

  constructor(private readonly namespace: string) {}

  /** Reads what is not known yet; the hub calls this inside its commit loop, so no commit runs meanwhile. */
  async ensure(db: Db): Promise<void> {
    if (!this.quotas) {
      const rows = await db.all<{ resource: string; value: string }>(
        sql`SELECT resource, value FROM objects WHERE resource IN ('core/resourcequotas', 'core/limitranges') AND namespace = ${this.namespace}`,
      );
      const parsed = rows.map((r) => [r.resource, JSON.parse(r.value) as KubeObject] as const);
      this.quotas = new Map(parsed.filter(([r]) => r === "core/resourcequotas").map(([, q]) => [q.metadata.name!, q]));
      this.limitRanges = new Map(parsed.filter(([r]) => r === "core/limitranges").map(([, l]) => [l.metadata.name!, l]));
    }
    if (this.quotas.size === 0) {
      this.entries = undefined;
      this.totals = undefined;
      this.loaded.clear();
      return;
    }
    const needed = this.neededResources();
    if (this.entries && [...needed].every((r) => this.loaded.has(r))) return;
    const resources = [...needed];
    const rows = await db.all<{ key: string; resource: string; value: string }>(
      sql`SELECT key, resource, value FROM objects WHERE namespace = ${this.namespace}
        AND resource IN (${sql.join(resources.map((r) => sql`${r}`), sql`, `)})`,
    );
    this.entries = new Map(rows.map((r) => [r.key, entryOf(r.resource, JSON.parse(r.value) as KubeObject)]));
    this.loaded = needed;
    this.totals = undefined;
  }

  private neededResources(): Set<string> {
    const out = new Set<string>();
    for (const q of this.quotas?.values() ?? [])
      for (const name of Object.keys(hardOf(q))) {
        const r = resourceOfName(name);
        if (r) out.add(r);
      }
    return out;
  }

  private sortedQuotas(): KubeObject[] {
    return [...(this.quotas?.values() ?? [])].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  private currentTotals(): Map<string, Usage> {
    if (this.totals) return this.totals;
    const totals = new Map<string, Usage>();
    for (const q of this.sortedQuotas()) {
      const t: Usage = {};
      for (const e of this.entries?.values() ?? []) if (quotaCovers(q, e.facts)) addUsage(t, e.usage);
      totals.set(q.metadata.name!, t);
    }
    return (this.totals = totals);
  }

  private charge(totals: Map<string, Usage>, prev: Entry | undefined, next: Entry | undefined): void {
    for (const q of this.quotas?.values() ?? []) {
      const t = totals.get(q.metadata.name!);
      if (!t) continue;
      if (prev && quotaCovers(q, prev.facts)) addUsage(t, prev.usage, -1n);
      if (next && quotaCovers(q, next.facts)) addUsage(t, next.usage);
    }
  }

  /**
   * Checks the commits of one batch in order. Each entry of the answer is undefined (admitted)
   * or the denial message of that commit; admitted writes are charged tentatively, so the
   * later ones of the same batch see them. Deletes and decreases are always admitted.
   */
  admit(batch: Write[][]): (string | undefined)[] {
    const limitDenials = this.admitLimits(batch);
    if (!this.quotas || this.quotas.size === 0 || !this.entries) return limitDenials;
    const quotas = this.sortedQuotas();
    const totals = new Map([...this.currentTotals()].map(([k, v]) => [k, { ...v }]));
    const tentative = new Map<string, Entry | undefined>();
    const held = (key: string) => (tentative.has(key) ? tentative.get(key) : this.entries!.get(key));
    return batch.map((writes, index) => {
      if (limitDenials[index] !== undefined) return limitDenials[index];
      const changes: [string, Entry | undefined, Entry | undefined][] = [];
      for (const w of writes) {
        if (!this.loaded.has(w.resource)) continue;
        const prev = held(w.key);
        if (w.type === "DELETED") {
          changes.push([w.key, prev, undefined]);
          continue;
        }
        const obj = JSON.parse(w.value) as KubeObject;
        const next = entryOf(w.resource, obj);
        const create = w.expectedRev === null;
        // Pods are checked when created (Kubernetes' pod evaluator handles create only).
        if (create || w.resource !== "core/pods") {
          const prefix = forbiddenPrefix(w.resource, w.name);
          if (create && w.resource === "core/pods")
            for (const q of quotas) {
              if (!quotaCovers(q, next.facts)) continue;
              const missing = missingComputeSpecs(obj, Object.keys(hardOf(q)));
              if (missing) return `${prefix}failed quota: ${q.metadata.name}: ${missing}`;
            }
          for (const q of quotas) {
            if (!quotaCovers(q, next.facts)) continue;
            const before = prev && quotaCovers(q, prev.facts) ? prev.usage : undefined;
            const denied = exceeds(q.metadata.name!, hardOf(q), totals.get(q.metadata.name!) ?? {}, increase(next.usage, before));
            if (denied) return prefix + denied;
          }
        }
        changes.push([w.key, prev, next]);
      }
      for (const [key, prev, next] of changes) {
        tentative.set(key, next);
        this.charge(totals, prev, next);
      }
      return undefined;
    });
  }

  /** Writes whose value admission changed (LimitRange defaults); the hub answers them with what it stored. */
  readonly rewritten = new WeakSet<Write>();

  /** LimitRange admission of the pods a batch creates: defaults written into the write, then min/max/ratio. */
  private admitLimits(batch: Write[][]): (string | undefined)[] {
    const ranges = [...this.limitRanges.values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    return batch.map((writes) => {
      if (ranges.length === 0) return undefined;
      for (let j = 0; j < writes.length; j++) {
        const w = writes[j];
        if (w.type !== "ADDED" || w.expectedRev !== null) continue;
        if (w.resource === "core/persistentvolumeclaims") {
          const violation = claimLimitViolations(JSON.parse(w.value) as KubeObject, ranges);
          if (violation) return forbiddenPrefix(w.resource, w.name) + violation;
          continue;
        }
        if (w.resource !== "core/pods") continue;
        const pod = JSON.parse(w.value) as KubeObject;
        if (applyLimitRangeDefaults(pod, ranges)) {
          writes[j] = { ...w, value: JSON.stringify(pod) };
          this.rewritten.add(writes[j]);
        }
        const violation = limitRangeViolations(pod, ranges);
        if (violation) return forbiddenPrefix(w.resource, w.name) + violation;
      }
      return undefined;
    });
  }

  /** The hub calls this with every batch it committed (its own writes: the whole truth of the namespace). */
  apply(events: LogEvent[]): void {
    for (const e of events) {
      if (e.resource === "core/limitranges" && this.quotas) {
        if (e.type === "DELETED") this.limitRanges.delete(e.name);
        else this.limitRanges.set(e.name, JSON.parse(e.value) as KubeObject);
      }
      if (e.resource === "core/resourcequotas" && this.quotas) {
        if (e.type === "DELETED") this.quotas.delete(e.name);
        else this.quotas.set(e.name, JSON.parse(e.value) as KubeObject);
        // What counts may have changed: totals are derived again, entries loaded again if a new resource is counted.
        this.totals = undefined;
        if (this.quotas.size === 0) this.entries = undefined;
      }
      if (!this.entries || !this.loaded.has(e.resource)) continue;
      const prev = this.entries.get(e.key);
      const next = e.type === "DELETED" ? undefined : entryOf(e.resource, JSON.parse(e.value) as KubeObject);
      if (next) this.entries.set(e.key, next);
      else this.entries.delete(e.key);
      if (this.totals) this.charge(this.totals, prev, next);
    }
    if (this.entries && this.quotas && ![...this.neededResources()].every((r) => this.loaded.has(r))) this.entries = undefined;
  }

  /** Whether these commits changed what some quota counts (its status needs refreshing). */
  affects(events: LogEvent[]): boolean {
    if (!this.quotas || this.quotas.size === 0) return false;
    return events.some((e) => e.resource === "core/resourcequotas" || this.loaded.has(e.resource) || !this.entries);
  }

  /** status.hard and status.used of every quota, as the quota controller writes them (call after ensure). */
  status(): Record<string, QuotaStatus> {
    const out: Record<string, QuotaStatus> = {};
    if (!this.quotas) return out;
    const totals = this.entries ? this.currentTotals() : new Map<string, Usage>();
    for (const q of this.sortedQuotas()) {
      const hard = hardOf(q);
      const names = Object.keys(hard);
      const specHard = (q.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {};
      out[q.metadata.name!] = { hard: { ...formatList(hard, names), ...specHard }, used: formatList(totals.get(q.metadata.name!) ?? {}, names) };
    }
    return out;
  }
}
