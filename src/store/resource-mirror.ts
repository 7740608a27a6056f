import { sql } from "drizzle-orm";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "./hub.ts";
import { currentRevisionQuery, eventsSince, firstNumber, type Db } from "./revision-log.ts";

/** Log rows read per incremental step; a longer backlog is read in several steps. */
const STEP = 1000;

/** Told of every change to a mirror's objects, so what is derived from them can follow change by change. */
export interface MirrorListener {
  /** The mirror read everything again: `objects` is all there is. */
  reset(objects: Map<string, KubeObject>): void;
  /** One object changed: its kept object before (if any) and after (undefined: gone or no longer kept). */
  changed(key: string, before: KubeObject | undefined, after: KubeObject | undefined): void;
}

/**
 * An in-memory copy of one resource's objects, kept current from the revision log like an
 * informer: one full read, then only the changes after the revision it has seen (through the
 * (resource, id) index). A compacted gap, or a store behind the mirror (a reset database),
 * makes it read everything again. `keep` drops objects the reader never needs (finished pods),
 * so they cost no memory; an object that stops being kept is dropped when its change is seen.
 */
export class ResourceMirror {
  readonly objects = new Map<string, KubeObject>();
  private revision = -1;
  /** Rows read from D1 by the last sync (what it cost). */
  lastRowsRead = 0;

  constructor(
    readonly resource: string,
    private readonly keep: (obj: KubeObject) => boolean = () => true,
    private readonly listener?: MirrorListener,
  ) {}

  /** The sync under way: syncs run one at a time (two at once could apply an older change after a newer one). */
  private syncing?: Promise<Map<string, KubeObject>>;

  async sync(db: Db): Promise<Map<string, KubeObject>> {
    while (this.syncing) await this.syncing.catch(() => undefined);
    this.syncing = this.read(db);
    try {
      return await this.syncing;
    } finally {
      this.syncing = undefined;
    }
  }

  private async read(db: Db): Promise<Map<string, KubeObject>> {
    this.lastRowsRead = 0;
    if (this.revision < 0) return this.reload(db);
    for (;;) {
      const { events, compacted, revision } = await eventsSince(db, this.revision, { resources: [this.resource], limit: STEP });
      if (compacted > this.revision || revision < this.revision) return this.reload(db);
      this.lastRowsRead += events.length;
      for (const e of events) {
        const obj = e.type === "DELETED" ? undefined : materialize(e.value, e.rev);
        const before = this.objects.get(e.key);
        const after = obj && this.keep(obj) ? obj : undefined;
        if (after) this.objects.set(e.key, after);
        else this.objects.delete(e.key);
        if (before || after) this.listener?.changed(e.key, before, after);
        this.revision = e.rev;
      }
      if (events.length < STEP) return this.objects;
    }
  }

  private async reload(db: Db): Promise<Map<string, KubeObject>> {
    const [rows, seq] = await db.batch([
      sql`SELECT key, rev, value FROM objects WHERE resource = ${this.resource}`,
      currentRevisionQuery,
    ]);
    this.objects.clear();
    for (const r of rows as { key: string; rev: number; value: string }[]) {
      const obj = materialize(r.value, r.rev);
      if (this.keep(obj)) this.objects.set(r.key, obj);
    }
    this.revision = firstNumber(seq, "seq");
    this.lastRowsRead = rows.length;
    this.listener?.reset(this.objects);
    return this.objects;
  }
}
