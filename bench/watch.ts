import type { Client, Stream } from "./http.ts";
import { sleep, summarize, type LatencySummary } from "./stats.ts";

/**
 * Watch delivery latency: a watch stream is open while the bench writes; each event is
 * matched to the write that caused it (event type + object name), and the delay is taken
 * from the write request's start and from its response's arrival (the latter is negative
 * when the event overtakes the response).
 */

interface Op {
  start: number;
  end?: number;
  arrived?: number;
}

export interface WatchFigures {
  expected: number;
  received: number;
  /** Event arrival minus write request start. */
  fromRequest: LatencySummary;
  /** Event arrival minus write response arrival. */
  fromResponse: LatencySummary;
  /** Events for our objects that did not match a write we made (duplicates, wrong type). */
  unexpected: number;
  /**
   * Delivery rate: events received per second between the first and the last arrival, and
   * writes acknowledged per second between the first request and the last response. A
   * stream slower than the writes shows up as a growing lag.
   */
  eventsPerSec: number;
  writesPerSec: number;
  /** The stream ended (server closed it) before the phase's figures were taken. */
  streamEnded: boolean;
  errors: string[];
}

export class WatchTracker {
  private ops = new Map<string, Op>();
  private stream?: Stream;
  private unexpected = 0;
  private errors: string[] = [];
  lastRv = "";

  constructor(private readonly prefix: string) {}

  async open(client: Client, path: string): Promise<void> {
    this.stream = await client.stream(path, (line, at) => this.onLine(line, at));
  }

  private onLine(line: string, at: number): void {
    let ev: { type: string; object?: { metadata?: { name?: string; resourceVersion?: string }; message?: string } };
    try {
      ev = JSON.parse(line);
    } catch {
      this.errors.push(`unparsable line: ${line.slice(0, 200)}`);
      return;
    }
    if (ev.type === "BOOKMARK") return;
    if (ev.type === "ERROR") {
      this.errors.push(`ERROR event: ${ev.object?.message ?? line.slice(0, 200)}`);
      return;
    }
    const name = ev.object?.metadata?.name ?? "";
    if (!name.startsWith(this.prefix)) return;
    this.lastRv = ev.object?.metadata?.resourceVersion ?? this.lastRv;
    const op = this.ops.get(`${ev.type}/${name}`);
    if (!op || op.arrived !== undefined) {
      this.unexpected++;
      return;
    }
    op.arrived = at;
  }

  /** Called when a write starts; returns a function to call when its response arrived (ok or not). */
  begin(type: "ADDED" | "MODIFIED" | "DELETED", name: string, start: number): (end: number, ok: boolean) => void {
    const key = `${type}/${name}`;
    const op: Op = { start };
    this.ops.set(key, op);
    return (end, ok) => {
      if (ok) op.end = end;
      else this.ops.delete(key); // a failed write has no event
    };
  }

  /** Waits until every successful write's event arrived, or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let missing = false;
      for (const op of this.ops.values()) if (op.end !== undefined && op.arrived === undefined) missing = true;
      if (!missing) return;
      if (this.stream?.closed) return;
      await sleep(20);
    }
  }

  /** Figures for the writes since the last reset, then forgets them. */
  take(): WatchFigures {
    const fromRequest: number[] = [];
    const fromResponse: number[] = [];
    let expected = 0;
    let firstStart = Infinity;
    let lastEnd = -Infinity;
    let firstArrival = Infinity;
    let lastArrival = -Infinity;
    for (const op of this.ops.values()) {
      if (op.end === undefined) continue;
      expected++;
      firstStart = Math.min(firstStart, op.start);
      lastEnd = Math.max(lastEnd, op.end);
      if (op.arrived === undefined) continue;
      firstArrival = Math.min(firstArrival, op.arrived);
      lastArrival = Math.max(lastArrival, op.arrived);
      fromRequest.push(op.arrived - op.start);
      fromResponse.push(op.arrived - op.end);
    }
    const figures: WatchFigures = {
      expected,
      received: fromRequest.length,
      fromRequest: summarize(fromRequest),
      fromResponse: summarize(fromResponse),
      unexpected: this.unexpected,
      eventsPerSec: fromRequest.length > 1 ? (fromRequest.length - 1) / ((lastArrival - firstArrival) / 1000) : NaN,
      writesPerSec: expected > 0 ? expected / ((lastEnd - firstStart) / 1000) : NaN,
      streamEnded: this.closed,
      errors: this.errors.slice(0, 5),
    };
    this.ops.clear();
    this.unexpected = 0;
    this.errors = [];
    return figures;
  }

  get closed(): boolean {
    return this.stream?.closed ?? true;
  }

  close(): void {
    this.stream?.close();
  }
}
