import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { ContainerSpec } from "./container-record.ts";
import {
  dueProbes,
  newContainerProbes,
  nextProbeAt,
  probeParams,
  probesFailed,
  probesReady,
  probesStarted,
  recordProbe,
  type ContainerProbes,
  type ProbeKind,
  type ProbeSpec,
  type ProbeState,
} from "./probe-state.ts";
import type { ExecOptions, ExecProcess } from "./runtime.ts";

/**
 * Runs a container's probes (the impure half of probe-state.ts): exec through the runtime
 * (in the container's namespaces), httpGet and tcpSocket against the pod IP, each bounded by
 * timeoutSeconds; tells the pod worker when `started`/`ready` change and when a liveness or
 * startup probe failed for good (the container is to be restarted).
 */

export interface ProbeResult {
  ok: boolean;
  /** Why it failed (the Unhealthy event's text). */
  output?: string;
}

export interface ProbeTarget {
  podUid: string;
  podIP: string;
  container: ContainerSpec;
  /** Runs a command in the container (Runtime.exec); none: exec probes cannot run. */
  exec?: (o: ExecOptions) => Promise<ExecProcess>;
  /** The runtime fakes containers (hollow): every probe succeeds. */
  alwaysSucceed?: boolean;
}

const KIND_TEXT: Record<ProbeKind, string> = { liveness: "Liveness", readiness: "Readiness", startup: "Startup" };

function resolvePort(port: number | string, c: ContainerSpec): number | string {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of container "${c.name}"`);
  return named.containerPort;
}

function execProbe(spec: ProbeSpec, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const command = spec.exec?.command ?? [];
  if (!t.exec) return Promise.resolve({ ok: false, output: "this runtime cannot run exec probes" });
  if (command.length === 0) return Promise.resolve({ ok: false, output: "exec probe without a command" });
  return t.exec({ podUid: t.podUid, container: t.container.name, command, stdin: false, tty: false }).then(
    (proc) =>
      new Promise<ProbeResult>((resolve) => {
        const out: Buffer[] = [];
        let size = 0;
        const take = (d: Buffer) => {
          if (size < 10_240) out.push(d);
          size += d.length;
        };
        proc.stdout.on("data", take);
        proc.stderr.on("data", take);
        const timer = setTimeout(() => {
          proc.kill();
          resolve({ ok: false, output: `command ${JSON.stringify(command.join(" "))} timed out` });
        }, timeoutMs);
        void proc.exited.then((code) => {
          clearTimeout(timer);
          const text = Buffer.concat(out).toString("utf8").trim();
          resolve(code === 0 ? { ok: true } : { ok: false, output: text || `command ${JSON.stringify(command.join(" "))} exited with ${code}` });
        });
      }),
    (e: unknown) => ({ ok: false, output: e instanceof Error ? e.message : String(e) }),
  );
}

function httpProbe(spec: NonNullable<ProbeSpec["httpGet"]>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let port: number | string;
    try {
      port = resolvePort(spec.port, t.container);
    } catch (e) {
      return resolve({ ok: false, output: (e as Error).message });
    }
    const https = (spec.scheme ?? "HTTP").toUpperCase() === "HTTPS";
    const host = spec.host || t.podIP;
    let path = spec.path || "/";
    if (!path.startsWith("/")) path = `/${path}`;
    const url = `${https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
    const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32", Accept: "*/*" };
    for (const h of spec.httpHeaders ?? []) headers[h.name] = h.value;
    let done = false;
    const finish = (r: ProbeResult) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const req = (https ? httpsRequest : httpRequest)(url, { method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      finish(code >= 200 && code < 400 ? { ok: true } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on("timeout", () => {
      req.destroy();
      finish({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on("error", (e) => finish({ ok: false, output: `Get "${url}": ${e.message}` }));
    req.end();
  });
}

function tcpProbe(spec: NonNullable<ProbeSpec["tcpSocket"]>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let port: number;
    try {
      port = Number(resolvePort(spec.port, t.container));
    } catch (e) {
      return resolve({ ok: false, output: (e as Error).message });
    }
    const host = spec.host || t.podIP;
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` });
    });
  });
}

/** Runs one probe once. */
export async function runProbe(kind: ProbeKind, spec: ProbeSpec, t: ProbeTarget): Promise<ProbeResult> {
  if (t.alwaysSucceed) return { ok: true };
  const { timeoutMs } = probeParams(kind, spec);
  if (spec.exec) return execProbe(spec, t, timeoutMs);
  if (spec.httpGet) return httpProbe(spec.httpGet, t, timeoutMs);
  if (spec.tcpSocket) return tcpProbe(spec.tcpSocket, t, timeoutMs);
  // gRPC probes are not implemented: they pass, so they never restart a container or hold back readiness.
  if (spec.grpc) return { ok: true };
  return { ok: false, output: "probe has no handler (exec, httpGet, tcpSocket)" };
}

export interface ProberHooks {
  /** `started` or `ready` changed. */
  changed(): void;
  /** One probe run failed (the kubelet's Unhealthy event, for every failure). */
  unhealthy(message: string): void;
  /** A liveness or startup probe failed failureThreshold times: restart the container. */
  failed(kind: ProbeKind, message: string): void;
}

/** The probes of one running container instance, on timers; `stop()` when the container ends. */
export class ContainerProber {
  private readonly probes: ContainerProbes;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private busy = false;

  constructor(
    private readonly target: ProbeTarget,
    startedAtMs: number,
    private readonly hooks: ProberHooks,
  ) {
    this.probes = newContainerProbes(target.container, startedAtMs);
    this.schedule();
  }

  get started(): boolean {
    return probesStarted(this.probes);
  }

  get ready(): boolean {
    return probesReady(this.probes);
  }

  get hasProbes(): boolean {
    return !!(this.probes.startup || this.probes.liveness || this.probes.readiness);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped || this.busy) return;
    const at = nextProbeAt(this.probes);
    if (at === undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, at - Date.now()));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.busy = true;
    const due = dueProbes(this.probes, Date.now());
    const results = await Promise.all(due.map((s) => runProbe(s.kind, s.spec, this.target).then((r) => [s, r] as [ProbeState, ProbeResult])));
    this.busy = false;
    if (this.stopped) return;
    const before = `${this.started}/${this.ready}`;
    const now = Date.now();
    for (const [s, r] of results) {
      recordProbe(s, r.ok, now);
      if (!r.ok) this.hooks.unhealthy(`${KIND_TEXT[s.kind]} probe failed: ${r.output ?? ""}`);
    }
    const failed = probesFailed(this.probes);
    if (failed) {
      this.stop();
      this.hooks.failed(failed, `Container ${this.target.container.name} failed ${failed} probe, will be restarted`);
      return;
    }
    if (`${this.started}/${this.ready}` !== before) this.hooks.changed();
    this.schedule();
  }
}
