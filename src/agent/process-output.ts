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
 * landing between the last read and the truncate is lost. Unlike a pipe, a file does not slow a
 * writer down: one that writes faster than the agent copies (for minutes) grows its file until it
 * pauses. Copying goes in chunks, so a backlog does not hold up the agent's event loop.
 */

export type OutputStream = "stdout" | "stderr";
export type OutputListener = (stream: OutputStream, data: Buffer) => void;

const STREAMS: OutputStream[] = ["stdout", "stderr"];
const TRUNCATE_AT = 4 * 1024 * 1024;
const POLL_MS = 1000;
/** At most this much per stream per pump; the rest in the next (the agent's event loop is not held up by a backlog). */
const CHUNK = 256 * 1024;
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
  private again = false;

  constructor(
    private readonly dir: string,
    private readonly sink: LogSink,
    readonly listeners: Set<OutputListener>,
    /** Called when the directory's `exit` file changes (the exit status may have appeared). */
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
      this.watcher = watch(this.dir, (_event, file) => {
        if (file === "stdout" || file === "stderr" || file === null) this.pump();
        if (file === "exit" || file === null) this.onChange();
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
    let more = false;
    for (const s of STREAMS) {
      const fd = this.fds.get(s)!;
      let offset = this.offsets.get(s)!;
      const size = fstatSync(fd).size;
      if (size < offset) offset = 0; // truncated by someone else
      const fresh = readFrom(fd, offset, CHUNK);
      if (fresh.length === CHUNK) more = true;
      if (fresh.length) {
        offset += fresh.length;
        this.sink.write(s, fresh);
        for (const l of this.listeners) l(s, fresh);
        moved = true;
      }
      // Caught up past TRUNCATE_AT: start the file over.
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
    if (more && !this.again) {
      this.again = true;
      setImmediate(() => {
        this.again = false;
        this.pump();
      });
    }
  }

  /** Copies everything the files hold now, a chunk per turn of the event loop (the container has ended: nothing more comes). */
  private async drain(): Promise<void> {
    for (;;) {
      const before = STREAMS.map((s) => this.offsets.get(s));
      this.pump();
      if (STREAMS.every((s, i) => this.offsets.get(s) === before[i])) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** The container has ended: copies the rest and closes its log. */
  async finish(): Promise<void> {
    if (this.done) return;
    await this.drain();
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
