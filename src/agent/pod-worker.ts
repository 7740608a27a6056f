import { ApiStatusError, type ApiClient } from "./api-client.ts";
import type { ContainerLogStore } from "./container-logs.ts";
import { containerEnv, EnvError, serviceEnv, type DataSource, type ServiceInfo } from "./container-env.ts";
import { newRecord, type ContainerRecord, type ContainerSpec, type Pod, type Terminated } from "./container-record.ts";
import { planPod } from "./pod-plan.ts";
import { ContainerProber } from "./prober.ts";
import { computePodStatus, rfc3339 } from "./pod-status.ts";
import { StartError, type PodSandbox, type RunningContainer, type Runtime } from "./runtime.ts";
import type { TokenSource } from "./service-account-token.ts";
import { containerMounts, prepareVolumes, removeVolumes, VolumeError, type ClaimResolver, type Mount, type PreparedVolumes } from "./volumes.ts";

/**
 * One pod on this node, whatever the runtime: makes its sandbox, runs init containers in
 * order and then the app containers, restarts them per restartPolicy with the crash-loop
 * backoff, reports status through pods/status when it changes, and on deletion stops the
 * containers within the grace period and confirms with a DELETE of grace 0.
 * Level-triggered: every change (pod update, container exit, backoff timer) runs `sync`.
 */

export interface PodWorkerDeps {
  api: ApiClient;
  runtime: Runtime;
  nodeName: string;
  hostIP: string;
  data: DataSource;
  /** Service-account tokens for projected volumes (TokenRequest with the node's credential). */
  tokens?: TokenSource;
  /** PEM of the cluster CA the agent trusts (the projected `ca.crt`). */
  caCert?: string;
  /** Services whose variables a container gets (its namespace's with links, and default/kubernetes); see serviceEnv. */
  services?: (namespace: string, links: boolean) => Promise<ServiceInfo[]>;
  log: (line: string) => void;
  /** Records kubelet-style events (Started, Killing, BackOff, Failed). */
  event: (pod: Pod, type: "Normal" | "Warning", reason: string, message: string) => void;
  /** The node's container log files (none: the runtime keeps its own, or none). */
  logs?: ContainerLogStore;
  /** Called once the worker is finished (pod deleted and cleaned up). */
  onDone: (uid: string) => void;
  /** The directories of persistentVolumeClaim volumes (none: such volumes are not supported). */
  claims?: ClaimResolver;
}

const CONFIG_RETRY_MS = 5_000;
/** How often configMap/secret/downwardAPI volume files are refreshed from their sources. */
const VOLUME_REFRESH_MS = 60_000;
/** How long ErrImagePull shows before the container shows ImagePullBackOff. */
const PULL_ERROR_SHOWN_MS = 1_000;

/** The kubelet's image pull back-off: 10 s doubling to 5 min. */
export function imagePullBackoffMs(failures: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, failures - 1), 300_000);
}

export class PodWorker {
  private pod: Pod;
  private readonly inits: ContainerRecord[];
  private readonly apps: ContainerRecord[];
  private readonly running = new Map<string, RunningContainer>();
  /** Probes of the running app containers, by container name. */
  private readonly probers = new Map<string, ContainerProber>();
  private sandbox?: PodSandbox;
  /** The pod's volumes, once every source exists (volumes.ts). */
  private volumes?: PreparedVolumes;
  private volumesAt = 0;
  private mountError?: string;
  /** Memory emptyDirs mounted as tmpfs (unmounted when the pod goes). */
  private readonly tmpfs = new Set<string>();
  private startTime?: string;
  private failure?: { reason?: string; message: string };
  private lastReported?: string;
  private syncing = false;
  private dirty = false;
  private timer?: ReturnType<typeof setTimeout>;
  private timerAt = Infinity;
  /** The pod is gone from the API (DELETED event or relist without it). */
  private gone = false;
  private terminating = false;
  private finished = false;
  /** Found already finished (Succeeded/Failed) when this agent first saw it: nothing to run. */
  private readonly adoptedTerminal: boolean;

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    const prev = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s.restartCount ?? 0]));
    const hasInits = (pod.spec.initContainers ?? []).length > 0;
    this.inits = (pod.spec.initContainers ?? []).map((c) => newRecord(c, true, prev.get(c.name) ?? 0));
    this.apps = pod.spec.containers.map((c) => {
      const r = newRecord(c, false, prev.get(c.name) ?? 0);
      if (hasInits) r.state = { kind: "waiting", reason: "PodInitializing" };
      return r;
    });
    const phase = pod.status?.phase;
    this.adoptedTerminal = phase === "Succeeded" || phase === "Failed";
    this.startTime = pod.status?.startTime;
    this.lastReported = undefined;
  }

  get uid(): string {
    return this.pod.metadata.uid;
  }

  update(pod: Pod): void {
    if (this.finished) return;
    this.pod = pod;
    // A shorter grace period (e.g. --force --grace-period=0) cuts a running termination short.
    if (this.terminating && pod.metadata.deletionGracePeriodSeconds === 0) for (const rc of this.running.values()) void rc.stop(0);
    this.kick();
  }

  /** The pod is no longer in the API: stop everything now. */
  removed(): void {
    this.gone = true;
    for (const rc of this.running.values()) void rc.stop(0);
    this.kick();
  }

  /** Agent shutdown: stop containers (grace 0), no API calls. */
  async shutdown(): Promise<void> {
    this.finished = true;
    clearTimeout(this.timer);
    this.stopProbers();
    await Promise.all([...this.running.values()].map((rc) => rc.stop(0)));
    if (this.sandbox?.volumeDir && this.tmpfs.size) await removeVolumes(this.sandbox.volumeDir, this.tmpfs);
  }

  kick(): void {
    if (this.finished) return;
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    void (async () => {
      do {
        this.dirty = false;
        try {
          await this.sync();
        } catch (e) {
          this.deps.log(`pod ${this.key()}: ${e instanceof Error ? e.message : String(e)}`);
          this.wakeAt(Date.now() + CONFIG_RETRY_MS);
        }
      } while (this.dirty && !this.finished);
      this.syncing = false;
    })();
  }

  private key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private wakeAt(at: number): void {
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.kick();
    }, Math.max(0, at - Date.now()));
  }

  private async sync(): Promise<void> {
    if (this.gone || this.pod.metadata.deletionTimestamp) return this.terminate();
    if (this.adoptedTerminal) return;
    const now = Date.now();
    if (!this.sandbox) {
      this.sandbox = await this.deps.runtime.createSandbox(this.pod);
      this.startTime ??= rfc3339(now);
      this.adoptContainers();
    }
    if (!(await this.syncVolumes(now))) return this.report();
    const plan = planPod(this.pod.spec, this.inits, this.apps, now);
    if (plan.initFailed) this.failure = { message: `init container ${plan.initFailed} failed` };
    const specs = new Map<string, ContainerSpec>([...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers].map((c) => [c.name, c]));
    const all = [...this.inits, ...this.apps];
    for (const r of all) {
      // ErrImagePull shows for a moment, then ImagePullBackOff while the back-off lasts (as the kubelet's next sync does).
      if (r.state.kind === "waiting" && r.state.reason === "ErrImagePull" && r.notBefore !== undefined && r.notBefore > now && now >= (r.pullShownAt ?? 0) + PULL_ERROR_SHOWN_MS)
        r.state = { kind: "waiting", reason: "ImagePullBackOff", message: `Back-off pulling image "${r.image}": ErrImagePull: ${r.state.message ?? ""}` };
    }
    const waitingOut = plan.start.filter((name) => (all.find((r) => r.name === name)!.notBefore ?? 0) > now);
    const start = plan.start.filter((name) => !waitingOut.includes(name));
    await Promise.all(start.map((name) => this.start(all.find((r) => r.name === name)!, specs.get(name)!)));
    if (plan.wakeAt !== undefined) this.wakeAt(plan.wakeAt);
    const later = Date.now();
    for (const r of all) {
      if (r.notBefore !== undefined && r.notBefore > later) this.wakeAt(r.notBefore);
      if (r.state.kind === "waiting" && r.state.reason === "ErrImagePull" && r.pullShownAt !== undefined) this.wakeAt(r.pullShownAt + PULL_ERROR_SHOWN_MS);
    }
    await this.report();
  }

  /**
   * Makes the pod's volumes (and refreshes configMap/secret/downwardAPI files every minute);
   * false while a source is missing: the pod stays ContainerCreating, with a FailedMount event.
   */
  private async syncVolumes(now: number): Promise<boolean> {
    const dir = this.sandbox?.volumeDir;
    if (!dir) return true;
    const volumes = (this.pod.spec as { volumes?: { name: string; emptyDir?: unknown }[] }).volumes ?? [];
    const refreshing = volumes.some((v) => !v.emptyDir) && this.volumes !== undefined && now - this.volumesAt >= VOLUME_REFRESH_MS;
    if (this.volumes && !refreshing) return true;
    try {
      const prepared = await prepareVolumes(this.pod, dir, {
        data: this.deps.data,
        tokens: this.deps.tokens,
        caCert: this.deps.caCert,
        podIP: this.sandbox!.podIP,
        hostIP: this.deps.hostIP,
        tmpfs: this.tmpfs,
        claims: this.deps.claims,
      });
      if (!this.volumes) for (const w of prepared.warnings) this.deps.event(this.pod, "Warning", "FailedMount", w);
      this.volumes = prepared;
      this.volumesAt = now;
      this.mountError = undefined;
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
      if (refreshing) this.volumesAt = now; // keep the files as they were; try again later
      else {
        if (e.message !== this.mountError) this.deps.event(this.pod, "Warning", "FailedMount", e.message);
        this.mountError = e.message;
        this.wakeAt(now + CONFIG_RETRY_MS);
        return false;
      }
    }
    if (volumes.some((v) => !v.emptyDir)) this.wakeAt(this.volumesAt + VOLUME_REFRESH_MS);
    return true;
  }

  /** The service variables for a container starting now (none if the services cannot be read). */
  private async serviceVars(): Promise<Record<string, string>> {
    if (!this.deps.services) return {};
    const links = (this.pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
    try {
      return serviceEnv(await this.deps.services(this.pod.metadata.namespace, links), this.pod.metadata.namespace, links);
    } catch (e) {
      this.deps.log(`pod ${this.pod.metadata.namespace}/${this.pod.metadata.name}: services not read, no service variables: ${e instanceof Error ? e.message : String(e)}`);
      return {};
    }
  }

  private async start(rec: ContainerRecord, spec: ContainerSpec): Promise<void> {
    const sandbox = this.sandbox!;
    let resolved: Awaited<ReturnType<typeof containerEnv>>;
    let mounts: Mount[] | undefined;
    try {
      resolved = await containerEnv(this.pod, spec, { podIP: sandbox.podIP, hostIP: this.deps.hostIP, data: this.deps.data, services: await this.serviceVars() });
      if (this.volumes) mounts = containerMounts(spec, this.volumes.byName);
      if (sandbox.mounts?.length) mounts = [...sandbox.mounts, ...(mounts ?? [])];
    } catch (e) {
      if (!(e instanceof EnvError || e instanceof VolumeError)) throw e;
      rec.state = { kind: "waiting", reason: "CreateContainerConfigError", message: e.message };
      this.deps.event(this.pod, "Warning", "Failed", `Error: ${e.message}`);
      rec.notBefore = Date.now() + CONFIG_RETRY_MS;
      return;
    }
    if (rec.everStarted) {
      if (rec.state.kind === "terminated") rec.lastTerminated = rec.state.terminated;
      rec.restartCount++;
    }
    rec.everStarted = true;
    const startedAt = rfc3339(Date.now());
    let rc: RunningContainer;
    try {
      const log = this.deps.logs?.open(this.pod.metadata.uid, spec.name, rec.restartCount);
      try {
        rc = await this.deps.runtime.startContainer({ pod: this.pod, sandbox, container: spec, env: resolved.env, argv: resolved.argv, restartCount: rec.restartCount, mounts, log });
      } catch (e) {
        log?.close();
        throw e;
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const reason = e instanceof StartError ? e.reason : "StartError";
      this.deps.event(this.pod, "Warning", "Failed", `Error: ${message}`);
      if (e instanceof StartError && !e.asCrash) {
        rec.everStarted = false;
        rec.state = { kind: "waiting", reason, message };
        const now = Date.now();
        if (reason === "ErrImagePull") {
          rec.pullFailures = (rec.pullFailures ?? 0) + 1;
          rec.pullShownAt = now;
          rec.notBefore = now + imagePullBackoffMs(rec.pullFailures);
        } else rec.notBefore = now + CONFIG_RETRY_MS;
        return;
      }
      rec.state = { kind: "terminated", terminated: { exitCode: 128, reason, message, startedAt, finishedAt: rfc3339(Date.now()) } };
      return;
    }
    if (this.finished || this.terminating) {
      await rc.stop(0);
      return;
    }
    this.deps.event(this.pod, "Normal", "Started", `Started container ${rec.name}`);
    for (const w of rc.warnings ?? []) this.deps.event(this.pod, "Warning", "FailedMount", `container ${rec.name}: ${w}`);
    this.track(rec, spec, rc);
  }

  /**
   * After an agent restart: takes over the pod's containers still running from the earlier run
   * (their restart count and start time stay). With an app container adopted, the init
   * containers had completed: they are not run again.
   */
  private adoptContainers(): void {
    const adopt = this.deps.runtime.adopt?.bind(this.deps.runtime);
    if (!adopt) return;
    const specs = new Map<string, ContainerSpec>([...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers].map((c) => [c.name, c]));
    let apps = 0;
    for (const rec of [...this.inits, ...this.apps]) {
      const log = this.deps.logs?.open(this.pod.metadata.uid, rec.name, rec.restartCount);
      const rc = adopt(this.pod, rec.name, log);
      if (!rc) {
        log?.close();
        continue;
      }
      rec.restartCount = rc.restartCount;
      rec.everStarted = true;
      if (!rec.init) apps++;
      this.deps.log(`pod ${this.key()}: adopted container ${rec.name} (${rc.containerID}, restarts ${rc.restartCount})`);
      this.track(rec, specs.get(rec.name)!, rc);
    }
    if (apps === 0) return;
    const earlier = new Map((this.pod.status?.initContainerStatuses ?? []).map((s) => [s.name, s]));
    for (const rec of this.inits) {
      if (rec.state.kind !== "waiting") continue;
      const was = earlier.get(rec.name)?.state?.terminated as Partial<Terminated> | undefined;
      rec.everStarted = true;
      rec.state = { kind: "terminated", terminated: { exitCode: 0, reason: "Completed", finishedAt: rfc3339(Date.now()), ...was } };
    }
  }

  /** A started (or adopted) container: its state, probes, and what happens when it ends. */
  private track(rec: ContainerRecord, spec: ContainerSpec, rc: RunningContainer): void {
    rec.containerID = rc.containerID;
    rec.imageID = rc.imageID;
    rec.pullFailures = 0;
    rec.notBefore = undefined;
    rec.state = { kind: "running", startedAt: rc.startedAt };
    this.running.set(rec.name, rc);
    if (!rec.init) this.startProber(rec, spec, rc);
    void rc.exited.then((exit) => {
      this.running.delete(rec.name);
      if (this.probers.get(rec.name) && rec.containerID === rc.containerID) {
        this.probers.get(rec.name)!.stop();
        this.probers.delete(rec.name);
      }
      if (rec.containerID !== rc.containerID) return;
      rec.state = {
        kind: "terminated",
        terminated: {
          exitCode: exit.exitCode,
          ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
          reason: exit.reason,
          ...(exit.message ? { message: exit.message } : {}),
          startedAt: rc.startedAt,
          finishedAt: exit.finishedAt,
          containerID: rc.containerID,
        },
      };
      if (!this.terminating && exit.exitCode !== 0)
        this.deps.event(this.pod, "Warning", "BackOff", `Back-off restarting failed container ${rec.name} in pod ${this.pod.metadata.name}`);
      this.kick();
    });
  }

  /** Liveness, readiness and startup probes of a started app container (probe-state.ts, prober.ts). */
  private startProber(rec: ContainerRecord, spec: ContainerSpec, rc: RunningContainer): void {
    const runtime = this.deps.runtime;
    const prober = new ContainerProber(
      { podUid: this.pod.metadata.uid, podIP: this.sandbox!.podIP, container: spec, exec: runtime.exec?.bind(runtime), alwaysSucceed: runtime.name === "hollow" },
      Date.parse(rc.startedAt) || Date.now(),
      {
        changed: () => {
          if (rec.containerID !== rc.containerID) return;
          rec.probeStarted = prober.started;
          rec.probeReady = prober.ready;
          this.kick();
        },
        unhealthy: (message) => this.deps.event(this.pod, "Warning", "Unhealthy", message),
        failed: (kind, message) => {
          if (rec.containerID !== rc.containerID || this.terminating) return;
          this.deps.event(this.pod, "Normal", "Killing", message);
          const probe = kind === "liveness" ? spec.livenessProbe : spec.startupProbe;
          void rc.stop(probe?.terminationGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30);
        },
      },
    );
    if (!prober.hasProbes) {
      rec.probeStarted = rec.probeReady = undefined;
      return;
    }
    rec.probeStarted = prober.started;
    rec.probeReady = prober.ready;
    this.probers.set(rec.name, prober);
  }

  private stopProbers(): void {
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
  }

  /** Posts the status if it differs from what was last posted. */
  private async report(): Promise<void> {
    const status = computePodStatus(this.pod, this.inits, this.apps, {
      hostIP: this.deps.hostIP,
      podIP: this.sandbox?.podIP,
      startTime: this.startTime,
      now: Date.now(),
      failure: this.failure,
    });
    const text = JSON.stringify(status);
    if (text === this.lastReported) return;
    const { metadata: m } = this.pod;
    try {
      const updated = await this.deps.api.mergePatch<Pod>(`/api/v1/namespaces/${m.namespace}/pods/${m.name}/status`, { status });
      if (updated?.metadata?.uid === m.uid && !this.finished) this.pod = { ...this.pod, status: updated.status };
      this.lastReported = text;
    } catch (e) {
      if (e instanceof ApiStatusError && e.status === 404) return;
      throw e;
    }
  }

  private async terminate(): Promise<void> {
    this.terminating = true;
    clearTimeout(this.timer);
    this.stopProbers();
    const { metadata: m } = this.pod;
    const grace = this.gone ? 0 : (m.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30);
    if (this.running.size > 0) {
      this.deps.event(this.pod, "Normal", "Killing", `Stopping container${this.running.size > 1 ? "s" : ""} ${[...this.running.keys()].join(", ")}`);
      await Promise.all([...this.running.values()].map((rc) => rc.stop(grace)));
    }
    if (this.sandbox?.volumeDir) await removeVolumes(this.sandbox.volumeDir, this.tmpfs);
    // Without a sandbox of this run: an adopting runtime may still hold the pod's containers of an earlier run (the pod went before they were adopted).
    if (this.sandbox || this.deps.runtime.adopt) await this.deps.runtime.removeSandbox(this.pod);
    this.deps.logs?.removePod(m.uid);
    this.sandbox = undefined;
    if (!this.gone) {
      try {
        await this.deps.api.call("DELETE", `/api/v1/namespaces/${m.namespace}/pods/${m.name}`, {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: m.uid },
        });
      } catch (e) {
        if (!(e instanceof ApiStatusError && (e.status === 404 || e.status === 409))) throw e;
      }
    }
    this.finished = true;
    this.deps.onDone(m.uid);
  }
}
