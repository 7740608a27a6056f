import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { attachStdin } from "./attach-stdin.ts";
import { accessSync, constants, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import type { Pod } from "./container-record.ts";
import type { RuntimeInfo } from "./node-status.ts";
import { podDnsMounts } from "./pod-dns.ts";
import type { PodNetwork } from "./pod-network.ts";
import type { Mount } from "./volumes.ts";
import { rfc3339 } from "./pod-status.ts";
import { groupUsage, readProcesses } from "./proc-stats.ts";
import { ttyEnv, ttyResizer, underTty } from "./tty.ts";
import {
  StartError,
  type ContainerExit,
  type ContainerStats,
  type ExecOptions,
  type ExecProcess,
  type PodSandbox,
  type RunningContainer,
  type Runtime,
  type StartRequest,
} from "./runtime.ts";

/**
 * The `process` runtime: runs a container's command/args with its env as a host process,
 * in its own PID, mount (private /proc), UTS and IPC namespaces via `unshare` where the
 * host allows it (degraded, with a warning, where it does not). Images are not pulled:
 * the command must exist on this machine. With a PodNetwork each pod gets its own network
 * namespace and IP (containers enter it with nsenter); without one pods share the host's
 * network (podIP = hostIP).
 * Logs go to the agent's rotating log files (StartRequest.log), else to
 * <data-dir>/pods/<namespace>_<name>_<uid>/<container>/<restart>.log. Exec runs the command
 * inside the container's namespaces (nsenter) with its environment and working directory.
 */

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

type Isolation = { flags: string[]; describe: string } | undefined;

/** Which unshare works here: as root, then in a user namespace, else none. */
function detectIsolation(): { isolation: Isolation; warning?: string } {
  const tries: { flags: string[]; describe: string }[] = [
    { flags: ["--pid", "--fork", "--mount-proc", "--uts", "--ipc", "--kill-child"], describe: "pid, mount, uts, ipc namespaces" },
    { flags: ["--user", "--map-root-user", "--pid", "--fork", "--mount-proc", "--uts", "--ipc", "--kill-child"], describe: "user, pid, mount, uts, ipc namespaces" },
  ];
  let last = "unshare is not installed";
  for (const t of tries) {
    const r = spawnSync("unshare", [...t.flags, "--", "true"], { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    if (r.status === 0) return { isolation: t };
    last = r.error ? String(r.error.message) : (r.stderr?.toString().trim() || `exit ${r.status}`);
  }
  return { isolation: undefined, warning: `no namespace isolation: unshare failed here (${last}); containers run as plain host processes` };
}

/** Finds an executable the way execvp does. */
export function lookPath(cmd: string, path: string): string | undefined {
  const candidates = cmd.includes("/") ? [cmd] : path.split(":").filter(Boolean).map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function signalNumber(signal: NodeJS.Signals | null): number | undefined {
  return signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
}

export class ProcessRuntime implements Runtime {
  readonly name = "process";
  private readonly isolation: Isolation;
  private readonly warnings: string[];
  private readonly running = new Map<ChildProcess, Promise<ContainerExit>>();
  /** Running containers by "<pod uid>/<container>", for exec. */
  private readonly containers = new Map<string, ContainerProcess>();
  private readonly netns = new Map<string, string>();

  constructor(
    private readonly opts: { dataDir: string; hostIP: string; network?: PodNetwork; networkWarning?: string },
  ) {
    const { isolation, warning } = detectIsolation();
    // Containers run in their own process groups: never leave them behind when the agent exits.
    process.once("exit", () => {
      for (const c of this.running.keys())
        try {
          if (c.pid) process.kill(-c.pid, "SIGKILL");
        } catch {
          /* gone */
        }
    });
    this.isolation = isolation;
    this.warnings = [
      "process runtime: images are not pulled, each container's command runs from this machine's filesystem",
      ...(opts.network ? [] : [opts.networkWarning ?? "pods share the host network (podIP = hostIP)"]),
      "resource limits are not enforced",
      ...(warning ? [warning] : []),
    ];
  }

  info(): RuntimeInfo {
    return { version: "process://0.1.0", warnings: this.warnings };
  }

  /** Where a pod's files live. */
  podDir(pod: Pod): string {
    return join(this.opts.dataDir, "pods", `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
  }

  async createSandbox(pod: Pod): Promise<PodSandbox> {
    mkdirSync(this.podDir(pod), { recursive: true });
    const volumeDir = join(this.podDir(pod), "volumes");
    if (pod.spec.hostNetwork || !this.opts.network) return { podIP: this.opts.hostIP, volumeDir };
    const net = await this.opts.network.setup(pod.metadata.uid);
    this.netns.set(pod.metadata.uid, net.netnsPath);
    return { podIP: net.ip, volumeDir, mounts: podDnsMounts(pod, this.podDir(pod), this.opts.network) };
  }

  async removeSandbox(pod: Pod): Promise<void> {
    rmSync(this.podDir(pod), { recursive: true, force: true });
    this.netns.delete(pod.metadata.uid);
    await this.opts.network?.teardown(pod.metadata.uid);
  }

  async startContainer(req: StartRequest): Promise<RunningContainer> {
    const { pod, container } = req;
    if (!req.argv || req.argv.length === 0)
      throw new StartError(
        "StartError",
        `the process runtime does not pull images, so it cannot run ${container.image}'s default entrypoint: give container "${container.name}" a command`,
      );
    const env: Record<string, string> = { PATH: DEFAULT_PATH, HOSTNAME: pod.metadata.name, ...req.env };
    const exe = lookPath(req.argv[0], env.PATH);
    if (!exe)
      throw new StartError(
        "StartError",
        `exec: "${req.argv[0]}": executable file not found in $PATH (the process runtime runs commands from this machine, not from image ${container.image})`,
      );
    const podDir = this.podDir(pod);
    const logDir = join(podDir, container.name);
    mkdirSync(logDir, { recursive: true });
    const cwd = container.workingDir && existsSync(container.workingDir) ? container.workingDir : podDir;
    // A container with tty: true runs on a terminal (made inside its namespaces, as exec -t does).
    const argv = container.tty ? underTty([exe, ...req.argv.slice(1)]) : [exe, ...req.argv.slice(1)];
    // stdin: true keeps a pipe open for attach (a terminal always reads one).
    const keepStdin = !!(container.stdin || container.tty);
    const { script: mounts, warnings } = bindMounts(req.mounts ?? [], !!this.isolation);
    const isolated = this.isolation
      ? ["unshare", ...this.isolation.flags, "--", "/bin/sh", "-c", `hostname "$0" 2>/dev/null; ${mounts}exec "$@"`, pod.metadata.name, ...argv]
      : argv;
    // The pod's network namespace: nsenter joins it before unshare makes the others.
    const netns = this.netns.get(pod.metadata.uid);
    const full = netns ? ["nsenter", `--net=${netns}`, "--", ...isolated] : isolated;
    let child: ChildProcess;
    const sink = req.log;
    const attached = new Set<OutputListener>();
    if (sink) {
      child = spawn(full[0], full.slice(1), { cwd, env: container.tty ? ttyEnv(env) : env, stdio: [keepStdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
      child.stdin?.on("error", () => {});
      child.stdout!.on("data", (d: Buffer) => {
        sink.write("stdout", d);
        for (const l of attached) l("stdout", d);
      });
      child.stderr!.on("data", (d: Buffer) => {
        sink.write("stderr", d);
        for (const l of attached) l("stderr", d);
      });
      child.once("close", () => sink.close());
      child.once("error", () => sink.close());
    } else {
      const log = openSync(join(logDir, `${req.restartCount}.log`), "a");
      try {
        // Its own process group: a Ctrl-C meant for the agent does not reach containers (the agent
        // stops them, with their grace period); SIGKILL to the group takes every process of it.
        child = spawn(full[0], full.slice(1), { cwd, env, stdio: ["ignore", log, log], detached: true });
      } finally {
        closeSync(log);
      }
    }
    const id = randomBytes(16).toString("hex");
    const startedAt = rfc3339(Date.now());
    const exited = new Promise<ContainerExit>((resolve) => {
      child.once("error", (e) => {
        this.running.delete(child);
        resolve({ exitCode: 128, reason: "StartError", message: e.message, finishedAt: rfc3339(Date.now()) });
      });
      child.once("exit", (code, signal) => {
        this.running.delete(child);
        const signo = signalNumber(signal);
        const exitCode = code ?? 128 + (signo ?? 9);
        resolve({ exitCode, ...(signo ? { signal: signo } : {}), reason: exitCode === 0 ? "Completed" : "Error", finishedAt: rfc3339(Date.now()) });
      });
    });
    this.running.set(child, exited);
    const key = `${pod.metadata.uid}/${container.name}`;
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    this.containers.set(key, { child, env, cwd, closed, ...(sink ? { attached } : {}), stdinOnce: !!container.stdinOnce, tty: !!container.tty });
    void exited.then(() => {
      if (this.containers.get(key)?.child === child) this.containers.delete(key);
    });
    const stop = (graceSeconds: number) => this.stopChild(child, exited, graceSeconds);
    return { containerID: `process://${id}`, imageID: "", startedAt, exited, stop, ...(warnings.length ? { warnings } : {}) };
  }

  /** SIGTERM to the container's main process (inside the namespace), SIGKILL to all of it after the grace period. */
  private async stopChild(child: ChildProcess, exited: Promise<ContainerExit>, graceSeconds: number): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const pid = child.pid;
    const target = this.isolation ? innerPid(pid) : pid;
    try {
      if (graceSeconds > 0 && target !== undefined) process.kill(target, "SIGTERM");
    } catch {
      /* gone */
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((r) => {
      timer = setTimeout(() => {
        // unshare --kill-child: its death takes the namespace's init, and with it every process inside.
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          /* gone */
        }
        r();
      }, graceSeconds * 1000);
    });
    await Promise.race([exited, killed]);
    clearTimeout(timer);
    await exited;
  }

  async attach(o: Omit<ExecOptions, "command">): Promise<ExecProcess> {
    const c = this.containers.get(`${o.podUid}/${o.container}`);
    if (!c || c.child.exitCode !== null || c.child.signalCode !== null)
      throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    if (!c.attached) throw new StartError("AttachUnavailable", `container "${o.container}" writes its output straight to a file: nothing to attach to`);
    return attachTo(c, o.stdin);
  }

  async exec(o: ExecOptions): Promise<ExecProcess> {
    const c = this.containers.get(`${o.podUid}/${o.container}`);
    if (!c || c.child.pid === undefined || c.child.exitCode !== null || c.child.signalCode !== null)
      throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    // The terminal is made inside the container's namespaces: a shell's job control sees its process groups.
    let argv = o.tty ? underTty(o.command) : o.command;
    if (this.isolation) {
      const target = innerPid(c.child.pid);
      if (target === undefined) throw new StartError("ContainerNotRunning", `container "${o.container}" is not running yet`);
      const user = this.isolation.flags.includes("--user") ? ["--user", "--preserve-credentials"] : [];
      argv = ["nsenter", `--target=${target}`, ...user, "--pid", "--mount", "--uts", "--ipc", "--net", `--wd=${c.cwd}`, "--", ...argv];
    }
    const env = o.tty ? ttyEnv(c.env) : c.env;
    // A terminal reads its input from script's stdin: it gets a pipe even without -i (never EOF at once).
    const child = spawn(argv[0], argv.slice(1), { cwd: c.cwd, env, stdio: [o.stdin || o.tty ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
    const exited = new Promise<number>((resolve) => {
      child.once("error", (e) => {
        child.stderr?.push(`exec: ${e.message}\n`);
        resolve(126);
      });
      child.once("exit", (code, signal) => resolve(code ?? 128 + (signalNumber(signal) ?? 9)));
    });
    return {
      stdin: child.stdin ?? undefined,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      kill: () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      },
      ...(o.tty ? { resize: ttyResizer(child) } : {}),
    };
  }

  /** Each container is one process group (spawned detached): its processes' CPU and memory. */
  async stats(): Promise<ContainerStats[]> {
    const processes = readProcesses();
    const out: ContainerStats[] = [];
    for (const [key, c] of this.containers) {
      if (c.child.pid === undefined) continue;
      const slash = key.indexOf("/");
      out.push({ podUid: key.slice(0, slash), container: key.slice(slash + 1), ...groupUsage(processes, c.child.pid) });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.running].map(([c, exited]) => this.stopChild(c, exited, 0)));
    await this.opts.network?.close();
  }
}

type OutputListener = (stream: "stdout" | "stderr", data: Buffer) => void;

interface ContainerProcess {
  child: ChildProcess;
  env: Record<string, string>;
  cwd: string;
  /** Settles when the container has ended and its output is drained. */
  closed: Promise<void>;
  /** Live output listeners (attach sessions); absent when the output goes straight to a file. */
  attached?: Set<OutputListener>;
  stdinOnce: boolean;
  tty: boolean;
}

/**
 * An attach session: the container's output from now on, its stdin (never ended by the session
 * unless stdinOnce), its terminal's resize. Detaching (kill) leaves the container running.
 */
function attachTo(c: ContainerProcess, withStdin: boolean): ExecProcess {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const listener: OutputListener = (which, data) => (which === "stdout" ? stdout : stderr).write(data);
  c.attached!.add(listener);
  let detach!: () => void;
  const detached = new Promise<void>((resolve) => (detach = resolve));
  const exited = Promise.race([c.closed, detached]).then(() => {
    c.attached!.delete(listener);
    if (stdin && c.stdinOnce) target?.end();
    stdout.end();
    stderr.end();
    return 0;
  });
  const target = c.child.stdin;
  const stdin = withStdin && target && !target.writableEnded ? attachStdin(target, c.stdinOnce) : undefined;
  return { stdin, stdout, stderr, exited, kill: detach, ...(c.tty ? { resize: ttyResizer(c.child) } : {}) };
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Shell commands that bind-mount a container's volumes in its own mount namespace (private
 * propagation: the host does not see them). Only over paths that exist on this machine: the
 * process runtime has no root filesystem of its own to create mount points in.
 */
export function bindMounts(mounts: Mount[], isolated: boolean): { script: string; warnings: string[] } {
  const warnings: string[] = [];
  let script = "";
  for (const m of mounts) {
    if (!isolated) {
      warnings.push(`volume at ${m.containerPath} is not mounted: no mount namespace here (its files are at ${m.hostPath})`);
      continue;
    }
    if (!existsSync(m.containerPath)) {
      warnings.push(
        `volume at ${m.containerPath} is not mounted: the path does not exist on this node and the process runtime mounts volumes only over existing paths (its files are at ${m.hostPath})`,
      );
      continue;
    }
    const t = sq(m.containerPath);
    const ro = m.readOnly ? ` && mount -o remount,bind,ro ${t}` : "";
    script += `{ mount --bind ${sq(m.hostPath)} ${t}${ro}; } || echo "edgeplane: could not mount a volume at "${t} >&2; `;
  }
  return { script, warnings };
}

/** The first child of unshare --fork: the container's PID 1, as the host sees it. */
function innerPid(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    return children.length ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}
