import type { Readable, Writable } from "node:stream";
import type { LogSink } from "./container-logs.ts";
import type { ContainerSpec, Pod } from "./container-record.ts";
import type { RuntimeInfo } from "./node-status.ts";
import type { TerminalSize } from "../tunnel/frames.ts";
import type { Mount } from "./volumes.ts";

/** The interface every container runtime of the agent implements (process, hollow, podman). */

export interface ContainerExit {
  exitCode: number;
  signal?: number;
  /** Completed (0), Error, OOMKilled, ... */
  reason: string;
  message?: string;
  finishedAt: string;
}

export interface RunningContainer {
  /** `<runtime>://<id>`, as containerStatuses[].containerID shows it. */
  containerID: string;
  imageID: string;
  startedAt: string;
  /** Settles once, when the container's process has ended (never rejects). */
  exited: Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves when it has ended. */
  stop(graceSeconds: number): Promise<void>;
  /** What the runtime could not do as asked (e.g. a volume it could not mount): Warning events. */
  warnings?: string[];
}

/** What a running container has used: cumulative CPU seconds and memory now (for metrics). */
export interface ContainerStats {
  podUid: string;
  container: string;
  cpuSeconds: number;
  memoryBytes: number;
}

/** A pod's shared environment (network namespace, directories): made before its containers. */
export interface PodSandbox {
  podIP: string;
  /** Where the pod's volumes are made (none: this runtime has no volumes, e.g. hollow). */
  volumeDir?: string;
  /** Mounts every container of the pod gets (its /etc/resolv.conf). */
  mounts?: Mount[];
}

/** Why a container could not start; becomes the container's waiting/terminated reason. */
export class StartError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    /** Retried like a crash (CrashLoopBackOff) rather than shown as waiting (e.g. ErrImagePull). */
    readonly asCrash = true,
  ) {
    super(message);
  }
}

export interface StartRequest {
  pod: Pod;
  sandbox: PodSandbox;
  container: ContainerSpec;
  /** Resolved environment (literal values, valueFrom, envFrom). */
  env: Record<string, string>;
  /** command and args with $(VAR) references expanded. */
  argv: string[] | undefined;
  restartCount: number;
  /** The pod's volumes this container mounts (volumes.ts). */
  mounts?: Mount[];
  /** Where the container's stdout/stderr go (the agent's rotating log files); none: the runtime's own. */
  log?: LogSink;
}

/** A command to run in a running container (kubectl exec). */
export interface ExecOptions {
  podUid: string;
  container: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/** A command running in a container: its streams and how it ended. */
export interface ExecProcess {
  stdin?: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles once with the exit code (128 + signal when killed); never rejects. */
  exited: Promise<number>;
  kill(): void;
  /** With a TTY: sets the terminal's window size (resolves once applied). */
  resize?(size: TerminalSize): Promise<unknown>;
}

export interface Runtime {
  readonly name: string;
  /** Version and what it cannot do here (reported on the Node). */
  info(): RuntimeInfo;
  createSandbox(pod: Pod): Promise<PodSandbox>;
  startContainer(req: StartRequest): Promise<RunningContainer>;
  /** Releases what createSandbox made; the pod's containers have all ended. */
  removeSandbox(pod: Pod): Promise<void>;
  /**
   * Joins a running container's stdio (kubectl attach): its output from now on, its stdin when it
   * keeps one open; `exited` settles when the container ends or kill() detaches. Throws StartError
   * when it cannot.
   */
  attach?(o: Omit<ExecOptions, "command">): Promise<ExecProcess>;
  /** Runs a command in a running container; throws StartError when it cannot (no such running container). */
  exec?(o: ExecOptions): Promise<ExecProcess>;
  /** Usage of every running container (absent: this runtime does not measure; no PodMetrics). */
  stats?(): Promise<ContainerStats[]>;
  /** Stops everything still running (agent shutdown). */
  close(): Promise<void>;
  /** Helper processes this runtime has started so far, by kind (e.g. podman's `run`, `container inspect`); for tests and benches. */
  processCounts?(): Record<string, number>;
  /**
   * Adoption after an agent restart (runtimes that leave containers running when the agent dies):
   * `keep` marks a pod still bound to this node (called as its worker is made, before
   * `finishAdoption`); `adopt` takes over the container of that pod still running from the earlier
   * run, if any, with its restart count and start time; `finishAdoption` (after the first full pod
   * list) removes what an earlier run left that no kept pod adopted.
   */
  keep?(podUid: string): void;
  adopt?(pod: Pod, container: string, log?: LogSink): AdoptedContainer | undefined;
  finishAdoption?(): Promise<number>;
}

/** A container an earlier run of the agent started, still running. */
export interface AdoptedContainer extends RunningContainer {
  restartCount: number;
}
