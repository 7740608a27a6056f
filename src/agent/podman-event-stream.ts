import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { Backoff } from "./backoff.ts";
import { parsePodmanEvent, type PodmanEvent } from "./podman-event.ts";

/**
 * One long-lived `podman events` process per node tells the agent when its containers end,
 * instead of a `podman wait` process per container (each a Go process polling podman's state
 * four times a second: 100 of them took much of a 2-core node during a burst of starts).
 *
 * The stream is opened without `--since` so that podman follows its events file across
 * rotations (with `--since` podman 4 reads the file once and stops at the next rotation); it then
 * only shows what happens after it opened the file, and nothing says when that is. So once started,
 * the stream is probed: a volume is created and removed under a fresh name until its `remove`
 * event comes through (then the stream is live), and `resync` asks podman about every container
 * still waited for, which settles those that ended before. The same happens whenever the process
 * ends and is started again (backoff 1 s doubling to 30 s), and every `resyncMs` as a safety net.
 * Deaths of containers nobody waits for yet (one that ends before `podman run -d` has even
 * returned its id) are kept for a while, for the waiter that comes.
 */

export interface ContainerEnd {
  exitCode: number;
  /** When podman saw it end (RFC 3339), if known. */
  time?: string;
  /** The container was removed without its death being seen (its exit code is not known). */
  removed?: boolean;
}

export interface PodmanEventStreamOptions {
  /** Starts `podman <args>` with stdout piped (the runtime counts these processes). */
  spawn: (args: string[]) => ChildProcess;
  /** Creates and removes a volume of this name (the readiness probe). */
  probe: (volume: string) => Promise<void>;
  /** Which of these containers have ended (or are gone), as podman says now. */
  resync: (ids: string[]) => Promise<Map<string, ContainerEnd>>;
  /** Probe volume names start with this (unique per node). */
  probePrefix: string;
  log?: (line: string) => void;
  /** How often the containers waited for are checked anyway (default 60 s). */
  resyncMs?: number;
  /** How long to wait for a probe's event before probing again (default 3 s). */
  probeWaitMs?: number;
}

/** How long a death nobody waits for is kept. */
const UNCLAIMED_TTL_MS = 10 * 60_000;

export class PodmanEventStream {
  private child?: ChildProcess;
  private closed = false;
  private readonly waiters = new Map<string, ((end: ContainerEnd) => void)[]>();
  private readonly unclaimed = new Map<string, { end: ContainerEnd; at: number }>();
  private readonly probes = new Map<string, () => void>();
  private readonly backoff = new Backoff(1_000, 30_000);
  private restartTimer?: ReturnType<typeof setTimeout>;
  private resyncTimer?: ReturnType<typeof setInterval>;
  private probeSeq = 0;
  /** Times the stream became live (1 after a clean start; more after restarts). */
  readyCount = 0;
  /** Containers settled by a resync rather than by their event (for tests). */
  settledByResync = 0;

  constructor(private readonly o: PodmanEventStreamOptions) {}

  start(): void {
    if (this.closed || this.child) return;
    const child = this.o.spawn(["events", "--format", "json", "--filter", "event=died", "--filter", "event=remove"]);
    this.child = child;
    child.stderr?.resume();
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const e = parsePodmanEvent(line);
      if (e) this.handle(e);
    });
    const ended = () => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.closed) return;
      const delay = this.backoff.next();
      this.o.log?.(`podman events ended; starting it again in ${Math.round(delay)} ms`);
      this.restartTimer = setTimeout(() => this.start(), delay);
    };
    child.once("exit", ended);
    child.once("error", ended);
    void this.becomeLive(child);
    this.resyncTimer ??= setInterval(() => void this.resync(), this.o.resyncMs ?? 60_000);
    this.resyncTimer.unref?.();
  }

  /** Probes until the stream shows the probe's event, then settles what ended meanwhile. */
  private async becomeLive(child: ChildProcess): Promise<void> {
    while (!this.closed && this.child === child) {
      const name = `${this.o.probePrefix}-${process.pid}-${++this.probeSeq}`;
      const seen = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), this.o.probeWaitMs ?? 3_000);
        this.probes.set(name, () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      await this.o.probe(name).catch(() => {});
      const ok = await seen;
      this.probes.delete(name);
      if (ok) break;
    }
    if (this.closed || this.child !== child) return;
    this.readyCount++;
    this.backoff.reset();
    await this.resync();
  }

  private handle(e: PodmanEvent): void {
    if (e.kind === "volume-removed") return this.probes.get(e.name)?.();
    if (e.kind === "died") this.settle(e.id, { exitCode: e.exitCode, time: e.time || undefined });
    // A removal with a waiter left means its death was not seen: say it is gone.
    else if (this.waiters.has(e.id)) this.settle(e.id, { exitCode: 137, time: e.time || undefined, removed: true });
  }

  private settle(id: string, end: ContainerEnd): void {
    const waiting = this.waiters.get(id);
    if (waiting) {
      this.waiters.delete(id);
      for (const w of waiting) w(end);
      return;
    }
    const now = Date.now();
    this.unclaimed.set(id, { end, at: now });
    for (const [k, v] of this.unclaimed) if (now - v.at > UNCLAIMED_TTL_MS) this.unclaimed.delete(k);
  }

  /** Settles once the container has ended (its full id, as `podman run -d` prints it). */
  ended(id: string): Promise<ContainerEnd> {
    const seen = this.unclaimed.get(id);
    if (seen) {
      this.unclaimed.delete(id);
      return Promise.resolve(seen.end);
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(id);
      if (list) list.push(resolve);
      else this.waiters.set(id, [resolve]);
    });
  }

  /** Containers waited for now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Asks podman about every container waited for: those that ended are settled. */
  async resync(): Promise<void> {
    const ids = [...this.waiters.keys()];
    if (!ids.length || this.closed) return;
    let ended: Map<string, ContainerEnd>;
    try {
      ended = await this.o.resync(ids);
    } catch (e) {
      this.o.log?.(`podman: checking containers: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const [id, end] of ended)
      if (this.waiters.has(id)) {
        this.settledByResync++;
        this.settle(id, end);
      }
  }

  /** Whether the stream's process runs now. */
  get running(): boolean {
    return !!this.child;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.resyncTimer);
    this.child?.kill("SIGTERM");
    this.child = undefined;
  }
}
