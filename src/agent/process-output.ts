import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, watch, writeSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { readFrom, type LogSink } from "./container-logs.ts";
import { resumeOffset } from "./process-state.ts";

/**
 * The output of a process-runtime container: the container writes its stdout and stderr to raw
 * files in its directory itself (O_APPEND), so its output goes on while no agent runs; the agent
 * copies what is new into the container's log (the CRI files `kubectl logs` reads) and to attach
 * sessions, as it comes (inotify on the directory, and a poll each second). How far each file has
 * been copied is kept in `offsets`, so an agent started after one that died goes on from there
 * (a chunk copied just before the agent died may be copied twice). A file copied to its end that
 * has grown past TRUNCATE_AT is truncated (the writer appends: it goes on at the start); a write
 * landing between the last read and the truncate is lost.
 */

export type OutputStream = "stdout" | "stderr";
export type OutputListener = (stream: OutputStream, data: Buffer) => void;

const STREAMS: OutputStream[] = ["stdout", "stderr"];
const TRUNCATE_AT = 4 * 1024 * 1024;
const POLL_MS = 1000;
const OFFSETS_WIDTH = 20;
/** Read-write, created if missing, not O_APPEND (offsets are rewritten in place; output files only read and truncated). */
const RW = constants.O_RDWR | constants.O_CREAT;

/** The raw output files of a container directory. */
export const outputPath = (dir: string, stream: OutputStream) => join(dir, stream);

export class OutputCopier {
  private readonly fds = new Map<OutputStream, number>();
  private readonly offsets = new Map<OutputStream, number>();
  private offsetsFd?: number;
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setInterval>;
  private done = false;

  constructor(
    private readonly dir: string,
    private readonly sink: LogSink,
    readonly listeners: Set<OutputListener>,
    /** Called on every change in the directory (the exit status may have appeared). */
    private readonly onChange: () => void = () => {},
  ) {}

  /** Starts copying, from where an earlier run of the agent stopped (nothing copied yet: the start). */
  start(): void {
    const saved = this.savedOffsets();
    this.offsetsFd = openSync(join(this.dir, "offsets"), RW, 0o600);
    STREAMS.forEach((s, i) => {
      const fd = openSync(outputPath(this.dir, s), RW, 0o600);
      this.fds.set(s, fd);
      this.offsets.set(s, resumeOffset(saved[i], fstatSync(fd).size));
    });
    try {
      this.watcher = watch(this.dir, () => {
        this.pump();
        this.onChange();
      });
      this.watcher.on("error", () => {});
    } catch {
      /* the poll below still copies */
    }
    this.timer = setInterval(() => this.pump(), POLL_MS);
    this.timer.unref?.();
    this.pump();
  }

  private savedOffsets(): (number | undefined)[] {
    try {
      return readFileSync(join(this.dir, "offsets"), "latin1").trim().split(/\s+/).map(Number);
    } catch {
      return [];
    }
  }

  /** Copies what the files hold beyond what was copied. */
  pump(): void {
    if (this.done) return;
    let moved = false;
    for (const s of STREAMS) {
      const fd = this.fds.get(s)!;
      let offset = this.offsets.get(s)!;
      const size = fstatSync(fd).size;
      if (size < offset) offset = 0; // truncated by someone else
      const fresh = readFrom(fd, offset);
      if (fresh.length) {
        offset += fresh.length;
        this.sink.write(s, fresh);
        for (const l of this.listeners) l(s, fresh);
        moved = true;
      }
      if (offset >= TRUNCATE_AT && fstatSync(fd).size === offset) {
        ftruncateSync(fd, 0);
        offset = 0;
        moved = true;
      }
      this.offsets.set(s, offset);
    }
    if (moved && this.offsetsFd !== undefined) {
      const line = STREAMS.map((s) => String(this.offsets.get(s)).padStart(OFFSETS_WIDTH, "0")).join(" ") + "\n";
      writeSync(this.offsetsFd, line, 0);
    }
  }

  /** The container has ended: copies the rest and closes its log. */
  finish(): void {
    if (this.done) return;
    this.pump();
    this.stop();
    this.sink.close();
  }

  /** Stops copying without closing the log (the agent is stopping; a later run goes on). */
  stop(): void {
    this.done = true;
    this.watcher?.close();
    clearInterval(this.timer);
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    if (this.offsetsFd !== undefined) closeSync(this.offsetsFd);
    this.offsetsFd = undefined;
  }
}
