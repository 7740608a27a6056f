import { execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { attachStdin } from "./attach-stdin.ts";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import type { LogSink } from "./container-logs.ts";
import type { Pod } from "./container-record.ts";
import type { RuntimeInfo } from "./node-status.ts";
import { podDnsMounts } from "./pod-dns.ts";
import type { PodNetwork } from "./pod-network.ts";
import type { Mount } from "./volumes.ts";
import { rfc3339 } from "./pod-status.ts";
import { groupUsage, readProcesses } from "./proc-stats.ts";
import { DetachedContainer, loadContainerStates } from "./process-container.ts";
import type { OutputListener } from "./process-output.ts";
import type { ProcessContainerState } from "./process-state.ts";
import { ttyEnv, ttyResizer, underTty } from "./tty.ts";
import type { TerminalSize } from "../tunnel/frames.ts";
import {
  StartError,
  type AdoptedContainer,
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
 * Containers are started detached (process-container.ts: a session of their own, a monitor
 * that records the exit status, output written to files by the container itself), so they
 * outlive an agent that dies: the next run on the same data dir adopts the running containers
 * of pods still bound to the node (same ID, start time, restart count, pod IP) and removes the
 * rest. A clean stop (close) stops them all, as podman's does.
 * Logs go to the agent's rotating log files (StartRequest.log, copied from the container's
 * output files), else to <data-dir>/pods/<namespace>_<name>_<uid>/<container>/<restart>.log.
 * Exec runs the command inside the container's namespaces (nsenter) with its environment and
 * working directory.
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
  /** Every running container (stopped on close). */
  private readonly running = new Set<DetachedContainer>();
  /** Running containers by "<pod uid>/<container>" (exec, attach, stats). */
  private readonly containers = new Map<string, ContainerProcess>();
  private readonly netns = new Map<string, string>();
  /** Where each container's directory (state, exit status, raw output) is. */
  private readonly root: string;
  private readonly setsid: string;
  /** Containers an earlier run of the agent started, by pod uid, until adopted or removed. */
  private readonly found = new Map<string, ProcessContainerState[]>();
  private readonly kept = new Set<string>();
  /** Processes the agent itself has spawned, by kind (each container's monitor forks the container; exec). */
  private readonly spawned = { monitor: 0, exec: 0 };

  constructor(
    private readonly opts: { dataDir: string; hostIP: string; network?: PodNetwork; networkWarning?: string; log?: (line: string) => void },
  ) {
    const { isolation, warning } = detectIsolation();
    this.isolation = isolation;
    this.root = join(opts.dataDir, "process-containers");
    this.setsid = lookPath("setsid", DEFAULT_PATH) ?? "setsid";
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

  /** Finds the containers an earlier run of the agent left (adopted, or removed once the pods are known); returns how many. */
  discover(): number {
    const states = loadContainerStates(this.root, this.opts.log);
    for (const s of states) this.found.set(s.podUid, [...(this.found.get(s.podUid) ?? []), s]);
    return states.length;
  }

  keep(podUid: string): void {
    this.kept.add(podUid);
  }

  /**
   * The newest container of this pod and name from an earlier run, taken over (still running, or
   * ended meanwhile: then its exit is reported at once); older ones of that name are removed.
   */
  adopt(pod: Pod, container: string, log?: LogSink): AdoptedContainer | undefined {
    const all = this.found.get(pod.metadata.uid) ?? [];
    const mine = all.filter((s) => s.container === container).sort((a, b) => b.restartCount - a.restartCount);
    if (!mine.length) return undefined;
    this.found.set(pod.metadata.uid, all.filter((s) => s.container !== container));
    for (const older of mine.slice(1)) void this.discard(older, 0);
    const state = mine[0];
    const c = DetachedContainer.adopt(this.root, state, log);
    return { ...this.track(`${pod.metadata.uid}/${container}`, c, false), restartCount: state.restartCount };
  }

  /** Stops (with its grace period, at most 30 s) and removes a container of an earlier run that nothing adopts. */
  private async discard(state: ProcessContainerState, graceSeconds: number): Promise<void> {
    await DetachedContainer.adopt(this.root, state).stop(Math.min(graceSeconds, 30));
  }

  /**
   * Removes what the earlier run left for pods no longer here: stops their containers (with the
   * pod's grace period), removes their directories and network namespaces; returns how many
   * containers. A kept pod's are left to it (its worker adopts them).
   */
  async finishAdoption(): Promise<number> {
    const leftovers = [...this.found].filter(([uid]) => !this.kept.has(uid)).flatMap(([, states]) => states);
    for (const s of leftovers) this.found.delete(s.podUid);
    await Promise.all(leftovers.map((s) => this.discard(s, s.graceSeconds)));
    const pods = join(this.opts.dataDir, "pods");
    for (const d of existsSync(pods) ? readdirSync(pods) : []) if (!this.kept.has(d.slice(d.lastIndexOf("_") + 1))) await removeTree(join(pods, d));
    await this.opts.network?.releaseStale(this.kept);
    return leftovers.length;
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
    // Containers of an earlier run the pod's worker did not adopt (it was being deleted).
    const left = this.found.get(pod.metadata.uid) ?? [];
    this.found.delete(pod.metadata.uid);
    await Promise.all(left.map((s) => this.discard(s, s.graceSeconds)));
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
    this.spawned.monitor++;
    const c = DetachedContainer.start({
      root: this.root,
      state: {
        version: 1,
        id: randomBytes(16).toString("hex"),
        podUid: pod.metadata.uid,
        namespace: pod.metadata.namespace,
        pod: pod.metadata.name,
        container: container.name,
        restartCount: req.restartCount,
        startedAt: rfc3339(Date.now()),
        isolated: !!this.isolation,
        cwd,
        env,
        tty: !!container.tty,
        graceSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
      },
      spawnEnv: container.tty ? ttyEnv(env) : env,
      argv: full,
      setsid: this.setsid,
      stdin: keepStdin,
      sink: req.log,
      logFile: join(logDir, `${req.restartCount}.log`),
    });
    const rc = this.track(`${pod.metadata.uid}/${container.name}`, c, !!container.stdinOnce);
    return { ...rc, ...(warnings.length ? { warnings } : {}) };
  }

  /** Follows a started or adopted container: exec, attach, stats, close. */
  private track(key: string, c: DetachedContainer, stdinOnce: boolean): RunningContainer {
    this.running.add(c);
    this.containers.set(key, { c, stdinOnce });
    void c.exited.then(() => {
      this.running.delete(c);
      if (this.containers.get(key)?.c === c) this.containers.delete(key);
    });
    return { containerID: `process://${c.state.id}`, imageID: "", startedAt: c.state.startedAt, exited: c.exited, stop: (grace) => c.stop(grace) };
  }

  async attach(o: Omit<ExecOptions, "command">): Promise<ExecProcess> {
    const c = this.containers.get(`${o.podUid}/${o.container}`);
    if (!c || !c.c.running) throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    if (!c.c.listeners) throw new StartError("AttachUnavailable", `container "${o.container}" writes its output straight to a file: nothing to attach to`);
    return attachTo(c, o.stdin);
  }

  async exec(o: ExecOptions): Promise<ExecProcess> {
    const c = this.containers.get(`${o.podUid}/${o.container}`);
    if (!c || !c.c.running) throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    const { cwd, env: cenv, isolated } = c.c.state;
    // The terminal is made inside the container's namespaces: a shell's job control sees its process groups.
    let argv = o.tty ? underTty(o.command) : o.command;
    if (isolated) {
      const target = c.c.initPid();
      if (target === undefined) throw new StartError("ContainerNotRunning", `container "${o.container}" is not running yet`);
      const user = this.isolation?.flags.includes("--user") ? ["--user", "--preserve-credentials"] : [];
      argv = ["nsenter", `--target=${target}`, ...user, "--pid", "--mount", "--uts", "--ipc", "--net", `--wd=${cwd}`, "--", ...argv];
    }
    const env = o.tty ? ttyEnv(cenv) : cenv;
    this.spawned.exec++;
    // A terminal reads its input from script's stdin: it gets a pipe even without -i (never EOF at once).
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: [o.stdin || o.tty ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
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

  processCounts(): Record<string, number> {
    return { ...this.spawned };
  }

  /** Each container is one session and process group (setsid): its processes' CPU and memory. */
  async stats(): Promise<ContainerStats[]> {
    const processes = readProcesses();
    const out: ContainerStats[] = [];
    for (const [key, c] of this.containers) {
      const pid = c.c.mainPid();
      if (pid === undefined) continue;
      const slash = key.indexOf("/");
      out.push({ podUid: key.slice(0, slash), container: key.slice(slash + 1), ...groupUsage(processes, pid) });
    }
    return out;
  }

  /** Agent shutdown: stops every container (grace 0), an earlier run's not adopted too, and removes the pods' namespaces. */
  async close(): Promise<void> {
    const leftovers = [...this.found.values()].flat();
    this.found.clear();
    await Promise.all([...[...this.running].map((c) => c.stop(0)), ...leftovers.map((s) => this.discard(s, 0))]);
    await this.opts.network?.close();
  }
}

interface ContainerProcess {
  c: DetachedContainer;
  stdinOnce: boolean;
}

/**
 * An attach session: the container's output from now on, its stdin (never ended by the session
 * unless stdinOnce), its terminal's resize. Detaching (kill) leaves the container running.
 */
function attachTo({ c, stdinOnce }: ContainerProcess, withStdin: boolean): ExecProcess {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const listener: OutputListener = (which, data) => (which === "stdout" ? stdout : stderr).write(data);
  c.listeners!.add(listener);
  let detach!: () => void;
  const detached = new Promise<void>((resolve) => (detach = resolve));
  const exited = Promise.race([c.exited, detached]).then(() => {
    c.listeners!.delete(listener);
    if (stdin && stdinOnce) target?.end();
    stdout.end();
    stderr.end();
    return 0;
  });
  const target = c.stdin;
  const stdin = withStdin && target && !target.writableEnded ? attachStdin(target, stdinOnce) : undefined;
  return { stdin, stdout, stderr, exited, kill: detach, ...(c.state.tty ? { resize: (size: TerminalSize) => c.resize(size) } : {}) };
}

/** Unmounts what is mounted under `dir` (a pod's tmpfs volumes), then removes it. */
async function removeTree(dir: string): Promise<void> {
  let mounts: string[] = [];
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m?.startsWith(`${dir}/`));
  } catch {
    /* not Linux */
  }
  for (const m of mounts.sort((a, b) => b.length - a.length)) await new Promise((r) => execFile("umount", [m], { timeout: 10_000 }, r));
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* something still mounted there */
  }
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
