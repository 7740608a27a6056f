import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync, watch, writeSync, type FSWatcher } from "node:fs";
import { basename, join } from "node:path";
import { readFrom, type LogSink } from "./container-logs.ts";
import { criOutput, splitLines } from "./cri-log-format.ts";
import { resumeOffset } from "./process-state.ts";

/**
 * Copies the output podman's conmon writes to its `k8s-file` logs (CRI format) into the agent's
 * log sinks, in the agent's own process: no `podman logs --follow` process per container (a Go
 * process polling each log file and the container's state). One `fs.watch` of the directory the
 * logs are made in wakes the follower as lines are written; a poll every `pollMs` catches files
 * elsewhere (an adopted container's) and anything a watch misses. conmon rotates a log at its
 * max-size by renaming a new file over it: the old file is read to its end, then the new one from
 * its start. How far each file has been copied is kept beside it (`<log>.offset`: inode and offset), so
 * an agent started after one that died goes on where that one stopped: output written while no agent
 * ran reaches the agent's log too (a chunk copied just before the agent died may be copied twice).
 */

interface Followed {
  path: string;
  sink: LogSink;
  fd?: number;
  ino?: number;
  offset: number;
  /** Go on from where an earlier run of the agent stopped copying (adoption); without a record of it, from the file's end. */
  resume: boolean;
  carry: Buffer;
  /** `<log>.offset`, rewritten in place as the copy moves on. */
  offsetFd?: number;
}

const OFFSET_RECORD = 48;
/** At most this much of one file is copied per turn of the event loop (a backlog after adoption does not hold the agent up). */
const MAX_PER_TURN = 256 * 1024;
/** Read-write, created if missing (the record is rewritten in place). */
const RW = constants.O_RDWR | constants.O_CREAT;

export class LogFileFollower {
  private readonly files = new Map<string, Followed>();
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setInterval>;
  private readonly due = new Set<string>();
  private scheduled = false;

  constructor(
    /** Where new logs are made (watched). */
    readonly dir: string,
    private readonly pollMs = 1_000,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Starts copying the log at `path` (which may not exist yet) into `sink`; `resume`: an adopted container's. */
  follow(path: string, sink: LogSink, resume = false): void {
    this.files.set(path, { path, sink, offset: 0, resume, carry: Buffer.alloc(0) });
    this.ensureRunning();
    this.pump(this.files.get(path)!);
  }

  /** The container ended: copies what is left of its log and closes the sink. */
  async finish(path: string): Promise<void> {
    const f = this.files.get(path);
    if (!f) return;
    this.pump(f, true);
    // conmon may still be writing the last of the output it drained.
    await new Promise((r) => setTimeout(r, 50));
    if (this.files.get(path) !== f) return;
    this.pump(f, true);
    this.drop(f);
  }

  /** Stops following without reading more (the sink is closed). */
  stop(path: string): void {
    const f = this.files.get(path);
    if (f) this.drop(f);
  }

  private drop(f: Followed): void {
    this.files.delete(f.path);
    if (f.fd !== undefined) closeSync(f.fd);
    if (f.offsetFd !== undefined) closeSync(f.offsetFd);
    f.fd = f.offsetFd = undefined;
    f.sink.close();
    if (this.files.size === 0) this.idle();
  }

  private ensureRunning(): void {
    if (!this.watcher) {
      try {
        this.watcher = watch(this.dir, (_event, name) => {
          if (!name) return;
          const path = join(this.dir, basename(String(name)).replace(/\.tmp$/, ""));
          if (!this.files.has(path)) return;
          this.due.add(path);
          if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => {
              this.scheduled = false;
              for (const p of this.due) {
                const f = this.files.get(p);
                if (f) this.pump(f);
              }
              this.due.clear();
            });
          }
        });
        this.watcher.on("error", () => {
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch {
        this.watcher = undefined; // the poll alone then
      }
    }
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const f of this.files.values()) this.pump(f);
      }, this.pollMs);
      this.timer.unref?.();
    }
  }

  private idle(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Copies what was written since the last pump (across a rotation); more than MAX_PER_TURN goes on in the next turn, unless `drain`. */
  private pump(f: Followed, drain = false): void {
    try {
      if (f.fd === undefined) {
        f.fd = openSync(f.path, "r");
        const st = fstatSync(f.fd);
        f.ino = st.ino;
        f.offset = f.resume ? this.resumeAt(f.path, st.ino, st.size) : 0;
        f.offsetFd = openSync(`${f.path}.offset`, RW, 0o600);
      }
      for (let rotations = 0; rotations < 4; rotations++) {
        for (;;) {
          const fresh = readFrom(f.fd, f.offset, MAX_PER_TURN);
          f.offset += fresh.length;
          this.deliver(f, fresh);
          if (fresh.length && f.offsetFd !== undefined) writeSync(f.offsetFd, `${f.ino} ${f.offset}`.padEnd(OFFSET_RECORD - 1) + "\n", 0);
          if (fresh.length < MAX_PER_TURN) break;
          if (!drain) {
            setImmediate(() => this.files.get(f.path) === f && this.pump(f));
            return;
          }
        }
        let now: number | undefined;
        try {
          now = statSync(f.path).ino;
        } catch {
          return; // removed (the container is gone): what the open file held was read
        }
        if (now === f.ino) return;
        closeSync(f.fd);
        f.fd = openSync(f.path, "r");
        f.ino = fstatSync(f.fd).ino;
        f.offset = 0;
      }
    } catch {
      // Not there yet (conmon makes it as the container is created): the next wake-up tries again.
    }
  }

  /** Where an earlier run stopped copying this file: its record if the file is the same one (else it was rotated: from its start); without a record, its end. */
  private resumeAt(path: string, ino: number, size: number): number {
    let saved: string[];
    try {
      saved = readFileSync(`${path}.offset`, "latin1").trim().split(/\s+/);
    } catch {
      return size;
    }
    return Number(saved[0]) === ino ? resumeOffset(Number(saved[1]), size) : 0;
  }

  private deliver(f: Followed, fresh: Buffer): void {
    if (!fresh.length) return;
    const { lines, rest } = splitLines(f.carry.length ? Buffer.concat([f.carry, fresh]) : fresh);
    f.carry = Buffer.from(rest);
    for (const { stream, data } of criOutput(lines)) f.sink.write(stream, data);
  }

  /** Logs followed now. */
  get size(): number {
    return this.files.size;
  }

  close(): void {
    for (const f of [...this.files.values()]) this.drop(f);
    this.idle();
  }
}
