import { execFile, spawn, spawnSync, type SpawnOptions } from "node:child_process";
import { attachStdin } from "./attach-stdin.ts";
import { ttyEnv, ttyResizer, underTty } from "./tty.ts";
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerSpec, Pod } from "./container-record.ts";
import { containerName, entrypointArgs, nodeTag, pullPolicy, runFlags } from "./runtime-plan.ts";
import type { RuntimeInfo } from "./node-status.ts";
import { podDnsMounts } from "./pod-dns.ts";
import type { PodNetwork } from "./pod-network.ts";
import { rfc3339 } from "./pod-status.ts";
import type { LogSink } from "./container-logs.ts";
import { cgroupUsage } from "./proc-stats.ts";
import { Batcher } from "./batcher.ts";
import { Limiter } from "./limiter.ts";
import { LogFileFollower } from "./log-file-follower.ts";
import { PodmanEventStream, type ContainerEnd } from "./podman-event-stream.ts";
import {
  StartError,
  type AdoptedContainer,
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
 * The `podman` runtime: real containers from local images (no registry is reachable, so
 * nothing is pulled; a missing image is ErrImagePull / ImagePullBackOff). Each container runs
 * `podman run -d --init` (catatonit as PID 1 forwards signals, so stops are fast) in the pod's
 * network namespace from PodNetwork (one pod IP for all its containers), with its env,
 * workingDir, memory/cpu limits, a pids limit, runAsUser/runAsGroup and readOnlyRootFilesystem.
 * Containers are named `ep_<node tag>_<namespace>_<pod>_<container>_<restart>` and labelled with
 * the node, pod uid, container and restart count, so the agent finds its own: after an agent that
 * did not stop cleanly, the running containers of pods still bound to the node are adopted
 * (restart count and start time kept) and the rest removed.
 *
 * A container costs one podman process to start (`podman run -d`: create and start), a share of
 * a batched `podman container inspect`, and nothing while it runs: its end comes from the node's
 * one `podman events` stream (podman-event-stream.ts), its output from conmon's log file, read by
 * the agent (log-file-follower.ts). At most `maxParallelStarts` `podman run`s go at once, so a
 * burst of starts does not thrash the node's cores and podman's locks.
 */

const LABEL_NODE = "edgeplane.dev/node";
const LABEL_POD_UID = "edgeplane.dev/pod-uid";
const LABEL_CONTAINER = "edgeplane.dev/container";
const LABEL_RESTART = "edgeplane.dev/restart-count";

/** How long an image found present is not asked about again. */
const IMAGE_PRESENT_TTL_MS = 10_000;
/** `podman run`s at once by default (a burst of 100 on 2 cores: measured in the podstart bench). */
const DEFAULT_PARALLEL_STARTS = 4;

type PodmanResult = { code: number; stdout: string; stderr: string };

function execPodman(args: string[], timeoutMs = 60_000): Promise<PodmanResult> {
  return new Promise((resolve) => {
    execFile("podman", args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 125) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code === 125 ? err.message : "")) });
    });
  });
}

/** podman's version, or why it cannot be used here. */
export function podmanVersion(): { version?: string; error?: string } {
  const r = spawnSync("podman", ["version", "--format", "{{.Client.Version}}"], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
  if (r.error) return { error: "podman is not installed on this machine (scripts/setup-podman.sh installs it, as root)" };
  if (r.status !== 0) return { error: `podman is installed but does not work: ${r.stderr.toString().trim().split("\n")[0]}` };
  return { version: r.stdout.toString().trim() };
}

interface Inspected {
  Id: string;
  Name?: string;
  Image: string;
  /** conmon's log file (k8s-file driver). */
  HostConfig?: { LogConfig?: { Type?: string; Path?: string } };
  Config?: { Labels?: Record<string, string> };
  State: { Status: string; ExitCode: number; OOMKilled: boolean; StartedAt: string; FinishedAt: string; Error?: string; Pid?: number };
}

/** The kind of a podman invocation, for the process counters: `run`, `container inspect`, ... */
const processKind = (args: string[]): string => (["container", "volume", "image"].includes(args[0]) ? `${args[0]} ${args[1]}` : args[0]);

const podmanTime = (t: string | undefined): string | undefined => {
  if (!t || t.startsWith("0001-")) return undefined;
  const ms = Date.parse(t.replace(/^(\S+) (\S+?)(\.\d+)? ([+-]\d{4}) \w+$/, "$1T$2$4"));
  return Number.isFinite(ms) ? rfc3339(ms) : undefined;
};

export class PodmanRuntime implements Runtime {
  readonly name = "podman";
  private readonly running = new Map<string, { stop: (g: number) => Promise<void> }>();
  private readonly netns = new Map<string, string>();
  /** Running container ids by "<pod uid>/<container>" (exec, exec probes). */
  private readonly byName = new Map<string, string>();
  /** stdin/tty settings of each container started here, by "<pod uid>/<container>" (attach). */
  private readonly stdio = new Map<string, { stdin: boolean; stdinOnce: boolean; tty: boolean }>();
  /** Main process of each running container (its cgroup is the container's). */
  private readonly pids = new Map<string, number>();
  private readonly tag: string;
  /** Containers of this node found at start, by pod uid (adoption). */
  private found = new Map<string, Inspected[]>();
  private readonly kept = new Set<string>();
  /** podman processes started, by kind (`run`, `container inspect`, `events`, ...). */
  private readonly processes = new Map<string, number>();
  /** `podman container inspect` of many containers at once (after starts and exits). */
  private readonly inspector: Batcher<string, Inspected>;
  private readonly starts: Limiter;
  private readonly events: PodmanEventStream;
  /** Copies conmon's log files into the agent's. */
  private readonly logs: LogFileFollower;

  constructor(
    private readonly o: {
      nodeName: string;
      hostIP: string;
      version: string;
      network?: PodNetwork;
      warnings: string[];
      dataDir?: string;
      /** `podman run`s at once (default: EDGEPLANE_PODMAN_PARALLEL_STARTS, else 4). */
      maxParallelStarts?: number;
      log?: (line: string) => void;
    },
  ) {
    this.tag = nodeTag(o.nodeName);
    this.starts = new Limiter(o.maxParallelStarts ?? (Number(process.env.EDGEPLANE_PODMAN_PARALLEL_STARTS) || DEFAULT_PARALLEL_STARTS));
    this.logs = new LogFileFollower(join(o.dataDir ?? join(tmpdir(), "edgeplane"), "podman-logs", this.tag));
    this.inspector = new Batcher(async (ids) => {
      // Exit code 125 when some are gone: the others are still printed.
      const r = await this.podman(["container", "inspect", ...ids]);
      const out = new Map<string, Inspected>();
      let all: Inspected[] = [];
      try {
        all = JSON.parse(r.stdout) as Inspected[];
      } catch {
        /* none found */
      }
      for (const c of all) {
        out.set(c.Id, c);
        if (c.Name) out.set(c.Name, c);
      }
      return out;
    });
    this.events = new PodmanEventStream({
      spawn: (args) => this.spawnPodman(args, { stdio: ["ignore", "pipe", "pipe"] }),
      probe: async (volume) => {
        await this.podman(["volume", "create", "--label", `${LABEL_NODE}=${this.o.nodeName}`, volume]);
        await this.podman(["volume", "rm", "-f", volume]);
      },
      resync: (ids) => this.whichEnded(ids),
      probePrefix: `ep-${this.tag}-events`,
      log: o.log,
    });
  }

  /** Runs podman (counted). */
  private podman(args: string[], timeoutMs?: number): Promise<PodmanResult> {
    this.count(args);
    return execPodman(args, timeoutMs);
  }

  /** Starts a podman process with its streams (counted). */
  private spawnPodman(args: string[], opts: SpawnOptions): ReturnType<typeof spawn> {
    this.count(args);
    return spawn("podman", args, opts);
  }

  private count(args: string[]): void {
    const kind = processKind(args);
    this.processes.set(kind, (this.processes.get(kind) ?? 0) + 1);
  }

  processCounts(): Record<string, number> {
    return Object.fromEntries(this.processes);
  }

  /** Which of these containers have ended or are gone, as podman says now (the event stream's resync). */
  private async whichEnded(ids: string[]): Promise<Map<string, ContainerEnd>> {
    const r = await this.podman(["ps", "-q", "--no-trunc", "--filter", `label=${LABEL_NODE}=${this.o.nodeName}`]);
    if (r.code !== 0) throw new Error(`podman ps: ${r.stderr.trim()}`);
    const running = new Set(r.stdout.split("\n").map((l) => l.trim()).filter(Boolean));
    const out = new Map<string, ContainerEnd>();
    await Promise.all(
      ids
        .filter((id) => !running.has(id))
        .map(async (id) => {
          const info = await this.inspector.get(id);
          if (info && (info.State.Status === "running" || info.State.Status === "paused")) return;
          out.set(id, info ? { exitCode: info.State.ExitCode, time: info.State.FinishedAt } : { exitCode: 137, removed: true });
        }),
    );
    return out;
  }

  /** `podman stop`s with the same grace period asked for while one runs, in one process (agent shutdown, a deleted namespace). */
  private readonly stoppers = new Map<number, Batcher<string, true>>();
  /** Container ids of each pod started or adopted by this run (removed with the pod). */
  private readonly podContainers = new Map<string, Set<string>>();
  /** `podman rm` of many containers at once (a deleted namespace's pods go together). */
  private readonly remover = new Batcher<string, true>(async (ids) => {
    await this.podman(["rm", "-f", "--ignore", "-t", "0", ...ids]);
    return new Map(ids.map((i) => [i, true as const]));
  });

  private remember(podUid: string, id: string): void {
    const set = this.podContainers.get(podUid) ?? new Set<string>();
    set.add(id);
    this.podContainers.set(podUid, set);
  }

  private stopBatched(id: string, grace: number): Promise<true | undefined> {
    let b = this.stoppers.get(grace);
    if (!b) {
      b = new Batcher(async (ids) => {
        await this.podman(["stop", "--ignore", "-t", String(grace), ...ids], (grace + 30) * 1000);
        return new Map(ids.map((i) => [i, true as const]));
      });
      this.stoppers.set(grace, b);
    }
    return b.get(id);
  }

  /** Where conmon writes a container instance's output (`k8s-file`; the agent copies it into its own log files). */
  private logPath(pod: Pod, container: string, restart: number): string {
    return join(this.logs.dir, `${pod.metadata.uid}_${container}_${restart}.log`);
  }

  info(): RuntimeInfo {
    return { version: `podman://${this.o.version}`, warnings: this.o.warnings };
  }

  /** Removes this node's containers (agent shutdown); returns how many. */
  async cleanup(): Promise<number> {
    const r = await this.podman(["ps", "-a", "-q", "--filter", `label=${LABEL_NODE}=${this.o.nodeName}`]);
    const ids = r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
    if (ids.length) await this.podman(["rm", "-f", "-t", "0", ...ids]);
    return ids.length;
  }

  /** Finds this node's containers left by an earlier run (adopted or removed once the pods are known); returns how many. */
  async discover(): Promise<number> {
    const r = await this.podman(["ps", "-a", "-q", "--filter", `label=${LABEL_NODE}=${this.o.nodeName}`]);
    const ids = r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
    if (!ids.length) return 0;
    const inspected = await this.podman(["container", "inspect", ...ids]);
    let all: Inspected[] = [];
    try {
      all = JSON.parse(inspected.stdout) as Inspected[];
    } catch {
      /* none to adopt: finishAdoption removes them by label */
    }
    for (const c of all) {
      const uid = c.Config?.Labels?.[LABEL_POD_UID];
      if (!uid) continue;
      this.found.set(uid, [...(this.found.get(uid) ?? []), c]);
    }
    return ids.length;
  }

  keep(podUid: string): void {
    this.kept.add(podUid);
  }

  /** The running container of this pod and name from an earlier run (the newest), taken over. */
  adopt(pod: Pod, container: string, log?: LogSink): AdoptedContainer | undefined {
    const mine = (this.found.get(pod.metadata.uid) ?? []).filter((c) => c.Config?.Labels?.[LABEL_CONTAINER] === container && c.State.Status === "running");
    const c = mine.sort((a, b) => Number(b.Config?.Labels?.[LABEL_RESTART] ?? 0) - Number(a.Config?.Labels?.[LABEL_RESTART] ?? 0))[0];
    if (!c) return undefined;
    const restartCount = Number(c.Config?.Labels?.[LABEL_RESTART] ?? 0) || 0;
    // conmon's file goes on: copied from where the earlier run stopped (output written while no agent ran included).
    this.remember(pod.metadata.uid, c.Id);
    const logPath = c.HostConfig?.LogConfig?.Type === "k8s-file" ? c.HostConfig.LogConfig.Path : undefined;
    if (log && logPath) this.logs.follow(logPath, log, true);
    const rc = this.track(pod, container, c.Id, { startedAt: podmanTime(c.State.StartedAt), imageId: c.Image, pid: c.State.Pid }, { path: logPath, sink: log });
    return { ...rc, restartCount };
  }

  /**
   * Removes what the earlier run left for pods no longer here (containers, network namespaces);
   * returns how many containers. A kept pod's are left to it: its worker adopts the running one, and
   * a new run of a container replaces the one of that name.
   */
  async finishAdoption(): Promise<number> {
    const leftovers = [...this.found.entries()].filter(([uid]) => !this.kept.has(uid)).flatMap(([, cs]) => cs.map((c) => c.Id));
    for (const uid of [...this.found.keys()]) if (!this.kept.has(uid)) this.found.delete(uid);
    if (leftovers.length) await this.podman(["rm", "-f", "-t", "0", ...leftovers]);
    await this.o.network?.releaseStale(this.kept);
    return leftovers.length;
  }

  async createSandbox(pod: Pod): Promise<PodSandbox> {
    const volumeDir = this.o.dataDir ? join(this.o.dataDir, "podman-volumes", pod.metadata.uid) : undefined;
    if (pod.spec.hostNetwork || !this.o.network) return { podIP: this.o.hostIP, volumeDir };
    const net = await this.o.network.setup(pod.metadata.uid);
    this.netns.set(pod.metadata.uid, net.netnsPath);
    return { podIP: net.ip, volumeDir, mounts: podDnsMounts(pod, this.dnsDir(pod), this.o.network) };
  }

  async removeSandbox(pod: Pod): Promise<void> {
    // Every container this pod had here: those started or adopted by this run, and what an earlier run left for it.
    const uid = pod.metadata.uid;
    const ids = new Set([...(this.podContainers.get(uid) ?? []), ...(this.found.get(uid) ?? []).map((c) => c.Id)]);
    await Promise.all([...ids].map((id) => this.remover.get(id)));
    this.podContainers.delete(uid);
    this.found.delete(uid);
    this.removeLogs(`${pod.metadata.uid}_`);
    this.netns.delete(pod.metadata.uid);
    rmSync(this.dnsDir(pod), { recursive: true, force: true });
    await this.o.network?.teardown(pod.metadata.uid);
  }

  /** Removes conmon's log files whose names start with `prefix`. */
  private removeLogs(prefix: string): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.logs.dir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith(prefix)) rmSync(join(this.logs.dir, n), { force: true });
  }

  private dnsDir(pod: Pod): string {
    return join(this.o.dataDir ?? tmpdir(), "podman-dns", pod.metadata.uid);
  }

  /** Ids of images found present recently, with when (a burst of starts asks podman once per image). */
  private readonly present = new Map<string, { at: number; check: Promise<string | undefined> }>();

  /** The image's id if it is present here (`podman image inspect`, remembered for a while). */
  private imageId(image: string): Promise<string | undefined> {
    const now = Date.now();
    const held = this.present.get(image);
    if (held && now - held.at < IMAGE_PRESENT_TTL_MS) return held.check;
    const check = this.podman(["image", "inspect", "--format", "{{.Id}}", image]).then((r) => (r.code === 0 ? r.stdout.trim().split("\n")[0] || undefined : undefined));
    this.present.set(image, { at: now, check });
    // Only presence is remembered: a missing image is asked about again on the next start.
    void check.then((id) => {
      if (!id && this.present.get(image)?.check === check) this.present.delete(image);
    });
    return check;
  }

  /** The image's id; StartError when it is not here (nothing is pulled). */
  private async checkImage(c: ContainerSpec): Promise<string> {
    const id = await this.imageId(c.image);
    if (id) return id;
    const policy = pullPolicy(c);
    if (policy === "Never") throw new StartError("ErrImageNeverPull", `Container image "${c.image}" is not present with pull policy of Never`, false);
    throw new StartError(
      "ErrImagePull",
      `image "${c.image}" is not present on node ${this.o.nodeName} and no image registry is reachable from it (imagePullPolicy ${policy}; ` +
        `this node runs local images only: podman load/import it there)`,
      false,
    );
  }

  async startContainer(req: StartRequest): Promise<RunningContainer> {
    const { pod, container: c } = req;
    const imageId = await this.checkImage(c);
    const name = containerName(this.tag, pod, c.name, req.restartCount);
    // Keep the previous run's container (its logs); drop older ones (a stale one of this name only if run finds one).
    if (req.restartCount >= 2) {
      await this.podman(["rm", "-f", "--ignore", "-t", "0", containerName(this.tag, pod, c.name, req.restartCount - 2)]);
      for (const f of [this.logPath(pod, c.name, req.restartCount - 2)]) for (const p of [f, `${f}.offset`]) rmSync(p, { force: true });
    }
    const logPath = this.logPath(pod, c.name, req.restartCount);
    const netns = this.netns.get(pod.metadata.uid);
    const { entrypoint, args } = entrypointArgs(c, req.argv);
    const run = [
      // --pull=never: presence was checked above, and no registry is reachable (a pull would only wait for DNS).
      "run", "-d", "--init", "--pull=never", "--name", name,
      "--label", `${LABEL_NODE}=${this.o.nodeName}`,
      "--label", `${LABEL_POD_UID}=${pod.metadata.uid}`,
      "--label", `${LABEL_CONTAINER}=${c.name}`,
      "--label", `${LABEL_RESTART}=${req.restartCount}`,
      "--network", netns ? `ns:${netns}` : "host",
      ...(netns ? ["--hostname", pod.metadata.name] : []),
      "--log-driver", "k8s-file", "--log-opt", `path=${logPath}`, "--log-opt", "max-size=10mb",
      ...(c.workingDir ? ["--workdir", c.workingDir] : []),
      ...(req.mounts ?? []).flatMap((m) => ["-v", `${m.hostPath}:${m.containerPath}${m.readOnly ? ":ro" : ""}`]),
      ...Object.entries({ HOSTNAME: pod.metadata.name, ...req.env }).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      ...runFlags(pod, c),
      ...(entrypoint ? ["--entrypoint", entrypoint] : []),
      c.image,
      ...args,
    ];
    // Exits are seen by the node's event stream (started with the first container).
    this.events.start();
    const r = await this.starts.run(async () => {
      rmSync(logPath, { force: true }); // an earlier run's instance of this name: its output is not this one's
      let r = await this.podman(run, 120_000);
      if (r.code !== 0 && /already in use/.test(r.stderr)) {
        // Left by an earlier run (e.g. it exited while no agent ran): replace it.
        await this.podman(["rm", "-f", "--ignore", "-t", "0", name]);
        rmSync(logPath, { force: true });
        r = await this.podman(run, 120_000);
      }
      return r;
    });
    if (r.code !== 0) {
      await this.podman(["rm", "-f", "--ignore", "-t", "0", name]);
      const msg = r.stderr.trim().split("\n").filter(Boolean).pop() ?? `podman run exited ${r.code}`;
      throw new StartError("StartError", msg.replace(/^Error: /, ""));
    }
    const id = r.stdout.trim().split("\n").pop()!;
    this.remember(pod.metadata.uid, id);
    this.stdio.set(`${pod.metadata.uid}/${c.name}`, { stdin: !!c.stdin, stdinOnce: !!c.stdinOnce, tty: !!c.tty });
    // From the file's start: everything the container wrote since it started.
    if (req.log) this.logs.follow(logPath, req.log);
    // No inspect: it has just started (run -d returns once it has), and the image is the one checked.
    return this.track(pod, c.name, id, { startedAt: rfc3339(Date.now()), imageId }, { path: logPath, sink: req.log });
  }

  /** Follows a running container: its exit, stop, exec and stats entries. */
  private track(pod: Pod, container: string, id: string, info: { startedAt?: string; imageId?: string; pid?: number }, log: { path?: string; sink?: LogSink }): RunningContainer {
    const startedAt = info.startedAt ?? rfc3339(Date.now());
    const exited = this.waitExit(id, log);
    const stop = async (grace: number) => {
      await this.stopBatched(id, Math.max(0, Math.floor(grace)));
      await exited;
    };
    this.running.set(id, { stop });
    const key = `${pod.metadata.uid}/${container}`;
    this.byName.set(key, id);
    if (info.pid) this.pids.set(id, info.pid);
    void exited.then(() => {
      this.running.delete(id);
      this.pids.delete(id);
      if (this.byName.get(key) === id) {
        this.byName.delete(key);
        this.stdio.delete(key);
      }
    });
    return { containerID: `podman://${id}`, imageID: info.imageId ? `sha256:${info.imageId}` : "", startedAt, exited, stop };
  }

  /**
   * Settles when the container has ended (the node's event stream says so), with its exit code,
   * OOM kill and finish time (a batched inspect); its log is copied to the end first.
   */
  private async waitExit(id: string, log: { path?: string; sink?: LogSink }): Promise<ContainerExit> {
    this.events.start();
    const end = await this.events.ended(id);
    if (log.path && log.sink) await this.logs.finish(log.path);
    else log.sink?.close();
    const info = await this.inspector.get(id);
    const finishedAt = podmanTime(info?.State.FinishedAt) ?? podmanTime(end.time) ?? rfc3339(Date.now());
    if (!info) {
      const exitCode = end.removed ? 137 : end.exitCode;
      return { exitCode, reason: exitCode === 0 ? "Completed" : "Error", ...(end.removed ? { message: "the container was removed" } : {}), finishedAt };
    }
    const exitCode = info.State.ExitCode;
    const reason = info.State.OOMKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
    return { exitCode, reason, ...(info.State.Error ? { message: info.State.Error } : {}), finishedAt };
  }

  /**
   * `podman attach` to the running container (kubectl attach): its output from now on and, when it
   * was started with stdin: true, its stdin (podman closes the container's stdin when the session's
   * input ends: stdinOnce; without stdinOnce the session's end is not passed on). A terminal
   * container is attached from a terminal of the agent's, so resizes reach it.
   */
  async attach(o: Omit<ExecOptions, "command">): Promise<ExecProcess> {
    const key = `${o.podUid}/${o.container}`;
    const id = this.byName.get(key);
    if (!id) throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    const io = this.stdio.get(key) ?? { stdin: false, stdinOnce: false, tty: false };
    const withStdin = o.stdin && io.stdin;
    const argv = ["podman", "attach", "--sig-proxy=false", ...(withStdin ? [] : ["--no-stdin"]), id];
    const full = io.tty ? underTty(argv) : argv;
    this.count(argv.slice(1));
    const child = spawn(full[0], full.slice(1), { stdio: [withStdin || io.tty ? "pipe" : "ignore", "pipe", "pipe"], ...(io.tty ? { env: ttyEnv(process.env as Record<string, string>) } : {}) });
    child.stdin?.on("error", () => {});
    const exited = new Promise<number>((resolve) => {
      child.once("error", () => resolve(0));
      child.once("close", () => resolve(0));
    });
    return {
      stdin: withStdin && child.stdin ? attachStdin(child.stdin, io.stdinOnce) : undefined,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      kill: () => void child.kill("SIGKILL"),
      ...(io.tty ? { resize: ttyResizer(child) } : {}),
    };
  }

  /** `podman exec` in the running container (kubectl exec, exec probes). */
  async exec(o: ExecOptions): Promise<ExecProcess> {
    const id = this.byName.get(`${o.podUid}/${o.container}`);
    if (!id) throw new StartError("ContainerNotRunning", `container not found ("${o.container}"): it is not running`);
    // With -t podman needs a terminal of its own to pass on (and to follow its resizes): script gives it one.
    const argv = ["podman", "exec", ...(o.stdin || o.tty ? ["-i"] : []), ...(o.tty ? ["-t"] : []), id, ...o.command];
    const full = o.tty ? underTty(argv) : argv;
    this.count(argv.slice(1));
    const child = spawn(full[0], full.slice(1), { stdio: [o.stdin || o.tty ? "pipe" : "ignore", "pipe", "pipe"], ...(o.tty ? { env: ttyEnv(process.env as Record<string, string>) } : {}) });
    const exited = new Promise<number>((resolve) => {
      child.once("error", (e) => {
        child.stderr?.push(`exec: ${e.message}\n`);
        resolve(126);
      });
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 137 : 1)));
    });
    return {
      stdin: child.stdin ?? undefined,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      kill: () => void child.kill("SIGKILL"),
      ...(o.tty ? { resize: ttyResizer(child) } : {}),
    };
  }

  /** Usage from each running container's cgroup. */
  async stats(): Promise<ContainerStats[]> {
    const out: ContainerStats[] = [];
    // Main processes not known yet (containers started since the last time): one batched inspect.
    await Promise.all(
      [...this.byName.values()]
        .filter((id) => !this.pids.has(id))
        .map(async (id) => {
          const pid = (await this.inspector.get(id))?.State.Pid;
          if (pid && this.running.has(id)) this.pids.set(id, pid);
        }),
    );
    for (const [key, id] of this.byName) {
      const pid = this.pids.get(id);
      const usage = pid ? cgroupUsage(pid) : undefined;
      if (!usage) continue;
      const slash = key.indexOf("/");
      out.push({ podUid: key.slice(0, slash), container: key.slice(slash + 1), ...usage });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.stop(0)));
    await this.cleanup();
    this.events.close();
    this.logs.close();
    rmSync(this.logs.dir, { recursive: true, force: true });
    await this.o.network?.close();
  }
}
