import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { LogSink } from "./container-logs.ts";
import { rfc3339 } from "./pod-status.ts";
import { readProcess } from "./proc-stats.ts";
import { OutputCopier, outputPath, type OutputListener } from "./process-output.ts";
import { parseContainerState, parseExitStatus, sameProcess, type ProcessContainerState } from "./process-state.ts";
import type { ContainerExit } from "./runtime.ts";
import { resizeTty } from "./tty.ts";
import type { TerminalSize } from "../tunnel/frames.ts";

/**
 * One process-runtime container, started detached so that it outlives the agent: a monitor shell
 * (a session of its own) starts the container's command in another session with `setsid`, waits
 * for it and writes its exit status (128 + n for a signal) to `exit` in the container's directory.
 * The container writes its output to files there itself (process-output.ts); `state.json` says
 * what it is (process-state.ts). The agent that started it learns of its end from the monitor's
 * exit; an agent that adopted it (after one that died) from the exit file or the monitor's death,
 * watched by inotify and a poll. A monitor gone without an exit file means it was killed: 137.
 * Stops signal the container's session (never the monitor), so its status is still written.
 */

const MONITOR = 'd=$1; s=$2; shift 2; exec 3<&0; "$s" "$@" <&3 3<&- & exec 3<&- </dev/null; wait $!; echo $? > "$d/exit"';
const ADOPTED_POLL_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Child pids of a process, as /proc lists them (none when it is gone). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** The containers' directories under `root`, with their state (directories without a valid one are removed). */
export function loadContainerStates(root: string, log: (line: string) => void = () => {}): ProcessContainerState[] {
  if (!existsSync(root)) return [];
  const out: ProcessContainerState[] = [];
  for (const id of readdirSync(root)) {
    const dir = join(root, id);
    let parsed: ReturnType<typeof parseContainerState>;
    try {
      parsed = parseContainerState(readFileSync(join(dir, "state.json"), "utf8"));
    } catch (e) {
      parsed = { error: e instanceof Error ? e.message : String(e) };
    }
    if ("state" in parsed && parsed.state.id === id) out.push(parsed.state);
    else {
      log(`process runtime: ${dir} has no usable state (${"error" in parsed ? parsed.error : "id differs"}): removed, its processes (if any) are not touched`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

export interface StartOptions {
  root: string;
  state: Omit<ProcessContainerState, "monitorPid" | "monitorStart">;
  /** The environment the container's command starts with (state.env is what exec gets). */
  spawnEnv: Record<string, string>;
  argv: string[];
  /** The setsid binary (absolute: the container's PATH may not have it). */
  setsid: string;
  /** Keep a pipe to the container's stdin (attach; lost when the agent dies). */
  stdin: boolean;
  /** The container's log; none: its stdout and stderr go to `logFile` directly. */
  sink?: LogSink;
  logFile?: string;
}

export class DetachedContainer {
  readonly exited: Promise<ContainerExit>;
  /** Attach sessions' output listeners (only with a log sink: output copied as it comes). */
  readonly listeners?: Set<OutputListener>;
  readonly stdin?: Writable;
  private readonly dir: string;
  private readonly copier?: OutputCopier;
  private resolveExit!: (e: ContainerExit) => void;
  private ended = false;
  private poll?: ReturnType<typeof setInterval>;

  private constructor(
    readonly state: ProcessContainerState,
    root: string,
    sink: LogSink | undefined,
    child?: ChildProcess,
  ) {
    this.dir = join(root, state.id);
    this.exited = new Promise((r) => (this.resolveExit = r));
    this.stdin = child?.stdin ?? undefined;
    this.stdin?.on("error", () => {});
    if (sink) {
      this.listeners = new Set();
      this.copier = new OutputCopier(this.dir, sink, this.listeners, () => this.check());
      this.copier.start();
    }
    if (child) {
      child.once("exit", () => void this.settle());
      child.once("error", (e) => void this.settle(e.message));
    } else {
      this.poll = setInterval(() => this.check(), ADOPTED_POLL_MS);
      this.check();
    }
  }

  /** Starts a container: its directory, output files, monitor, state file. */
  static start(o: StartOptions): DetachedContainer {
    const dir = join(o.root, o.state.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = o.sink ? [outputPath(dir, "stdout"), outputPath(dir, "stderr")] : [o.logFile!, o.logFile!];
    const fds = files.map((f) => openSync(f, "a", 0o600));
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", MONITOR, "edgeplane-monitor", dir, o.setsid, ...o.argv], {
        cwd: o.state.cwd,
        env: o.spawnEnv,
        stdio: [o.stdin ? "pipe" : "ignore", fds[0], fds[1]],
        detached: true,
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    const pid = child.pid ?? 0;
    const state: ProcessContainerState = { ...o.state, monitorPid: pid, monitorStart: readProcess(pid)?.startTime ?? 0 };
    if (pid) {
      const file = join(dir, "state.json");
      writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
    return new DetachedContainer(state, o.root, o.sink, child);
  }

  /** Takes over a container an earlier run of the agent started (it may have ended meanwhile). */
  static adopt(root: string, state: ProcessContainerState, sink?: LogSink): DetachedContainer {
    return new DetachedContainer(state, root, sink);
  }

  private monitorAlive(): boolean {
    const { monitorPid: pid, monitorStart } = this.state;
    let stat: string | undefined;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      stat = undefined;
    }
    return sameProcess(stat, pid, monitorStart);
  }

  private exitStatus(): { code?: number; at?: number } {
    const file = join(this.dir, "exit");
    try {
      const code = parseExitStatus(readFileSync(file, "latin1"));
      return { code, at: statSync(file).mtimeMs };
    } catch {
      return {};
    }
  }

  /** Whether the container has ended (exit file written, or its monitor gone). */
  private check(): void {
    if (this.ended) return;
    if (this.exitStatus().code !== undefined || !this.monitorAlive()) void this.settle();
  }

  /** The container has ended: its output copied to the end, its directory removed, its exit reported. */
  private async settle(error?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.poll);
    const { code, at } = this.exitStatus();
    await this.copier?.finish();
    rmSync(this.dir, { recursive: true, force: true });
    const finishedAt = rfc3339(at ?? Date.now());
    if (error) this.resolveExit({ exitCode: 128, reason: "StartError", message: error, finishedAt });
    else if (code === undefined)
      this.resolveExit({ exitCode: 137, reason: "Error", message: "the container's monitor process ended without writing its exit status (killed)", finishedAt });
    else this.resolveExit({ exitCode: code, reason: code === 0 ? "Completed" : "Error", finishedAt });
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The container's main process (its session leader: the monitor's child), once setsid ran. */
  mainPid(): number | undefined {
    if (this.ended || !this.monitorAlive()) return undefined;
    for (const c of childrenOf(this.state.monitorPid)) if (readProcess(c)?.pgrp === c) return c;
    return undefined;
  }

  /** The container's PID 1 as the host sees it (the first child of unshare when isolated). */
  initPid(): number | undefined {
    const main = this.mainPid();
    if (main === undefined || !this.state.isolated) return main;
    return childrenOf(main)[0];
  }

  /** Sets the window size of the terminal of a `tty: true` container (found below its monitor, waited for briefly after a start). */
  async resize(size: TerminalSize): Promise<boolean> {
    return this.running && this.monitorAlive() ? resizeTty(this.state.monitorPid, size) : false;
  }

  /** SIGTERM to the container's PID 1, SIGKILL to its whole session after `graceSeconds`; resolves once it has ended. */
  async stop(graceSeconds: number): Promise<void> {
    let main = this.mainPid();
    // Just started: setsid may not have run yet.
    for (let i = 0; main === undefined && this.running && i < 100; i++) {
      await sleep(20);
      main = this.mainPid();
    }
    if (!this.running) return void (await this.exited);
    if (main === undefined) {
      // No container session to signal (its monitor never got it going): the monitor's group goes.
      if (this.monitorAlive()) signal(-this.state.monitorPid, "SIGKILL");
      await this.exited;
      return;
    }
    const target = this.state.isolated ? childrenOf(main)[0] : main;
    if (graceSeconds > 0 && target !== undefined) signal(target, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    // unshare --kill-child: its death takes the namespace's init, and with it every process inside.
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        if (this.running) signal(-main, "SIGKILL");
        r();
      }, graceSeconds * 1000);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}
