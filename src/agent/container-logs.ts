import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { LogOptions } from "../tunnel/frames.ts";
import { parseCriLine as parseLine, splitLines } from "./cri-log-format.ts";

/**
 * Container logs on the node, as the kubelet keeps them: one file per container instance under
 * <root>/<pod uid>/<container>/<restart>.log in the CRI format (`<RFC 3339 time> <stdout|stderr>
 * <F|P> <text>`, P marking a partial line), rotated to <restart>.log.1 when it reaches half the
 * per-instance bound, so an instance never holds more than `maxBytes`. The current instance and the
 * previous one (for --previous) are kept; older ones are removed when a new one starts.
 * Serving a log reads, filters (since, tail, limit) and formats (timestamps) the lines, and with
 * follow goes on with what the container writes until it ends or the reader leaves.
 */

export interface LogSink {
  write(stream: "stdout" | "stderr", chunk: Buffer): void;
  /** The container ended: flush partial lines; followers finish once they have read everything. */
  close(): void;
}

/** Why a log cannot be served (becomes the API's Status). */
export class LogError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_LINE = 16 * 1024;

export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000000Z");
}

interface Active {
  generation: number;
  closed: boolean;
  wake: Set<() => void>;
}

/** What a file holds from `offset` to its end now (at most `max` bytes). */
export function readFrom(fd: number, offset: number, max = Infinity): Buffer {
  const size = fstatSync(fd).size;
  if (size <= offset) return Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(Math.min(size - offset, max));
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

export class ContainerLogStore {
  private readonly active = new Map<string, Active>();
  /** Log streams being served now (for tests and stats). */
  serving = 0;

  constructor(
    readonly root: string,
    /** Bytes one container instance may keep (current file + one rotated). */
    private readonly maxBytes = 10 * 1024 * 1024,
  ) {}

  private dir(podUid: string, container: string): string {
    return join(this.root, podUid, container);
  }

  /** Instances (restart counts) with logs, ascending. */
  instances(podUid: string, container: string): number[] {
    const dir = this.dir(podUid, container);
    if (!existsSync(dir)) return [];
    return [...new Set(readdirSync(dir).map((f) => /^(\d+)\.log(\.1)?$/.exec(f)).filter((m) => m !== null).map((m) => Number(m[1])))].sort((a, b) => a - b);
  }

  /** The sink for a new container instance; drops instances older than the previous one. */
  open(podUid: string, container: string, instance: number): LogSink {
    const dir = this.dir(podUid, container);
    mkdirSync(dir, { recursive: true });
    for (const old of this.instances(podUid, container))
      if (old < instance - 1)
        for (const f of [`${old}.log`, `${old}.log.1`]) rmSync(join(dir, f), { force: true });
    const path = join(dir, `${instance}.log`);
    const state: Active = { generation: 0, closed: false, wake: new Set() };
    this.active.set(path, state);
    let fd = openSync(path, "a");
    let size = fstatSync(fd).size;
    const partial: Record<"stdout" | "stderr", Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    const half = Math.max(1024, Math.floor(this.maxBytes / 2));
    const append = (stream: string, text: Buffer, full: boolean) => {
      const line = Buffer.concat([Buffer.from(`${rfc3339Nano(Date.now())} ${stream} ${full ? "F" : "P"} `), text, Buffer.from("\n")]);
      if (size + line.length > half && size > 0) {
        closeSync(fd);
        renameSync(path, `${path}.1`);
        fd = openSync(path, "a");
        size = 0;
        state.generation++;
      }
      writeSync(fd, line);
      size += line.length;
    };
    const notify = () => {
      for (const w of [...state.wake]) w();
    };
    return {
      write(stream, chunk) {
        if (state.closed) return;
        let buf = partial[stream].length ? Buffer.concat([partial[stream], chunk]) : chunk;
        const { lines, rest } = splitLines(buf);
        for (const l of lines) append(stream, l, true);
        buf = rest;
        while (buf.length >= MAX_LINE) {
          append(stream, buf.subarray(0, MAX_LINE), false);
          buf = buf.subarray(MAX_LINE);
        }
        partial[stream] = Buffer.from(buf);
        notify();
      },
      close: () => {
        if (state.closed) return;
        for (const s of ["stdout", "stderr"] as const) if (partial[s].length) append(s, partial[s], false);
        state.closed = true;
        closeSync(fd);
        notify();
        this.active.delete(path);
      },
    };
  }

  removePod(podUid: string): void {
    rmSync(join(this.root, podUid), { recursive: true, force: true });
  }

  /**
   * Serves one container's log to `out` (which resolves when the reader can take more).
   * Throws LogError when there is nothing to serve; ends when done, or when `signal` aborts.
   */
  async serve(
    target: { podUid: string; pod: string; container: string },
    o: LogOptions,
    out: (chunk: Buffer) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const all = this.instances(target.podUid, target.container);
    let instance: number | undefined;
    if (o.previous) {
      instance = all.length >= 2 ? all[all.length - 2] : undefined;
      if (instance === undefined) throw new LogError(400, "BadRequest", `previous terminated container "${target.container}" in pod "${target.pod}" not found`);
    } else {
      instance = all.at(-1);
      if (instance === undefined) throw new LogError(400, "BadRequest", `container "${target.container}" in pod "${target.pod}" is waiting to start: ContainerCreating`);
    }
    const path = join(this.dir(target.podUid, target.container), `${instance}.log`);
    const state = o.previous ? undefined : this.active.get(path);
    this.serving++;
    let fd: number | undefined;
    try {
      let remaining = o.limitBytes ?? Infinity;
      let carry = Buffer.alloc(0);
      /** Writes formatted lines; false once limitBytes is reached. */
      const emit = async (lines: Buffer[]): Promise<boolean> => {
        const parts: Buffer[] = [];
        for (const raw of lines) {
          const l = parseLine(raw);
          if (!l) continue;
          if (o.sinceMs !== undefined && !(l.ms >= o.sinceMs)) continue;
          if (o.timestamps) parts.push(Buffer.from(`${l.time} `));
          parts.push(l.text);
          if (!l.partial) parts.push(Buffer.from("\n"));
        }
        if (parts.length === 0) return remaining > 0;
        let chunk = Buffer.concat(parts);
        if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
        remaining -= chunk.length;
        await out(chunk);
        return remaining > 0;
      };
      // What is there now: the rotated file, then the current one.
      const generation = state?.generation ?? 0;
      let initial = existsSync(`${path}.1`) ? readFrom((fd = openSync(`${path}.1`, "r")), 0) : Buffer.alloc(0);
      if (fd !== undefined) closeSync(fd);
      fd = existsSync(path) ? openSync(path, "r") : undefined;
      let offset = 0;
      if (fd !== undefined) {
        const current = readFrom(fd, 0);
        offset = current.length;
        initial = Buffer.concat([initial, current]);
      }
      const { lines, rest } = splitLines(initial);
      carry = Buffer.from(rest);
      let selected = lines;
      if (o.sinceMs !== undefined) selected = selected.filter((l) => (parseLine(l)?.ms ?? 0) >= o.sinceMs!);
      if (o.tailLines !== undefined) selected = o.tailLines === 0 ? [] : selected.slice(-o.tailLines);
      if (!(await emit(selected))) return;
      if (!o.follow || !state || signal.aborted) return;
      // Follow: woken by every write, until the container ends and everything is read.
      let gen = generation;
      for (;;) {
        let woke!: () => void;
        const wake = new Promise<void>((r) => (woke = r));
        state.wake.add(woke);
        const onAbort = () => woke();
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          const closedBefore = state.closed;
          for (;;) {
            const fresh = fd === undefined ? Buffer.alloc(0) : readFrom(fd, offset);
            offset += fresh.length;
            const split = splitLines(carry.length ? Buffer.concat([carry, fresh]) : fresh);
            carry = Buffer.from(split.rest);
            if (!(await emit(split.lines))) return;
            if (state.generation === gen) break;
            // Rotated: the old file is complete (read above); go on with the new one.
            if (fd !== undefined) closeSync(fd);
            fd = openSync(path, "r");
            offset = 0;
            gen++;
            if (gen < state.generation) gen = state.generation; // rotated more than once meanwhile: some lines are lost
          }
          if (closedBefore || signal.aborted) return;
          if (!state.closed) await wake;
        } finally {
          state.wake.delete(woke);
          signal.removeEventListener("abort", onAbort);
        }
      }
    } finally {
      this.serving--;
      if (fd !== undefined) closeSync(fd);
    }
  }
}
