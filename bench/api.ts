import { randomBytes } from "node:crypto";
import { cpuWindow, type CpuWindow, type RoleOf } from "./cpu.ts";
import type { Client, Reply } from "./http.ts";
import { runPool, summarize, type LatencySummary } from "./stats.ts";
import type { WatchTracker } from "./watch.ts";

/**
 * Mutating API calls against Edgeplane, exactly as a client sends them: HTTPS, bearer
 * token, JSON ConfigMaps with a 1 KiB value. Each create goes through authentication,
 * admission (defaults + validation), the namespace hub's group commit (CAS insert into
 * the revision log + current state in one D1 batch) and the watch fan-out.
 */

export type OpKind = "create" | "update" | "delete";

export interface OpFigures {
  op: string;
  concurrency: number;
  asked: number;
  attempted: number;
  ok: number;
  /** HTTP status (0: transport error) -> count, for failed calls. */
  errors: Record<string, number>;
  errorSamples: string[];
  elapsedMs: number;
  opsPerSec: number;
  /** Latency of successful calls. */
  latency: LatencySummary;
  /** CPU of the server processes (wrangler + workerd) and of this load generator, per successful op. */
  serverCpuMsPerOp: number;
  /** Server CPU per successful op split by process role (wrangler's proxy, our Worker, ...). */
  serverCpuMsPerOpByRole: Record<string, number>;
  clientCpuMsPerOp: number;
  /** CPU used by everything else on the machine during the phase, in cores (other engineers' tests, say). */
  backgroundCores: number;
  /** Server processes that exited during the phase (a restarted workerd loses every Durable Object). */
  serverProcessesExited: number;
  stoppedByDeadline: boolean;
}

export const VALUE_BYTES = 1024;

/** 1 KiB of base64 text: the payload of every object (and of every etcd value, for the baseline). */
export function payload(seed: number): string {
  const raw = randomBytes(VALUE_BYTES);
  raw.writeUInt32BE(seed >>> 0, 0);
  return raw.toString("base64").slice(0, VALUE_BYTES);
}

export function configMap(name: string, seed: number, resourceVersion?: string): object {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, labels: { app: "edgeplane-bench" }, ...(resourceVersion ? { resourceVersion } : {}) },
    data: { value: payload(seed) },
  };
}

export interface Objects {
  names: string[];
  /** resourceVersion of each object after the last successful write. */
  rv: Map<string, string>;
}

const EXPECTED: Record<OpKind, number[]> = { create: [201], update: [200], delete: [200, 202] };
const EVENT: Record<OpKind, "ADDED" | "MODIFIED" | "DELETED"> = { create: "ADDED", update: "MODIFIED", delete: "DELETED" };

export async function runOps(
  client: Client,
  namespace: string,
  op: OpKind,
  objects: Objects,
  concurrency: number,
  budgetMs: number,
  opts: { watch?: WatchTracker; roles?: RoleOf } = {},
): Promise<OpFigures> {
  const { watch } = opts;
  const base = `/api/v1/namespaces/${namespace}/configmaps`;
  // Only objects that exist (for update/delete) take part.
  const names = op === "create" ? objects.names : objects.names.filter((n) => objects.rv.has(n));
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  const fail = (status: number, text: string) => {
    errors[status] = (errors[status] ?? 0) + 1;
    if (errorSamples.length < 5) errorSamples.push(`${op} -> ${status || "transport"}: ${text.slice(0, 300)}`);
  };
  const cpu = cpuWindow(opts.roles);
  const pool = await runPool(names.length, concurrency, budgetMs, async (i) => {
    const name = names[i];
    const start = performance.now();
    const done = watch?.begin(EVENT[op], name, start);
    let r: Reply;
    try {
      if (op === "create") r = await client.request("POST", base, configMap(name, i));
      else if (op === "update") r = await client.request("PUT", `${base}/${name}`, configMap(name, i + 1_000_000, objects.rv.get(name)));
      else r = await client.request("DELETE", `${base}/${name}`);
    } catch (e) {
      done?.(performance.now(), false);
      fail(0, String(e));
      return undefined;
    }
    const ok = EXPECTED[op].includes(r.status);
    done?.(r.end, ok);
    if (!ok) {
      fail(r.status, r.body);
      return undefined;
    }
    if (op === "delete") objects.rv.delete(name);
    else objects.rv.set(name, (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    return r.ms;
  });
  const latencies = pool.results.filter((x): x is number => typeof x === "number");
  return figures(op, concurrency, names.length, pool, latencies, errors, errorSamples, cpu());
}

export function figures(
  op: string,
  concurrency: number,
  asked: number,
  pool: { attempted: number; elapsedMs: number; stoppedByDeadline: boolean },
  latencies: number[],
  errors: Record<string, number>,
  errorSamples: string[],
  cpu: CpuWindow,
): OpFigures {
  const ok = latencies.length;
  return {
    op,
    concurrency,
    asked,
    attempted: pool.attempted,
    ok,
    errors,
    errorSamples,
    elapsedMs: pool.elapsedMs,
    opsPerSec: ok / (pool.elapsedMs / 1000),
    latency: summarize(latencies),
    serverCpuMsPerOp: ok ? cpu.serverMs / ok : NaN,
    serverCpuMsPerOpByRole: Object.fromEntries(Object.entries(cpu.byRole).map(([r, ms]) => [r, ok ? ms / ok : NaN])),
    clientCpuMsPerOp: ok ? cpu.clientMs / ok : NaN,
    backgroundCores: cpu.otherMs / cpu.wallMs,
    serverProcessesExited: cpu.exited,
    stoppedByDeadline: pool.stoppedByDeadline,
  };
}

/**
 * Reads, for scale: GET /version (wrangler's HTTPS proxy + the Worker's router; no auth, no
 * store: the ceiling any call can reach on this stack) and GET of one ConfigMap (+ bearer
 * auth + one D1 read).
 */
export async function runGets(
  client: Client,
  label: string,
  path: (i: number) => string,
  count: number,
  concurrency: number,
  budgetMs: number,
  roles?: RoleOf,
): Promise<OpFigures> {
  const errors: Record<string, number> = {};
  const errorSamples: string[] = [];
  const cpu = cpuWindow(roles);
  const pool = await runPool(count, concurrency, budgetMs, async (i) => {
    try {
      const r = await client.request("GET", path(i));
      if (r.status === 200) return r.ms;
      errors[r.status] = (errors[r.status] ?? 0) + 1;
      if (errorSamples.length < 5) errorSamples.push(`${label} -> ${r.status}: ${r.body.slice(0, 300)}`);
    } catch (e) {
      errors[0] = (errors[0] ?? 0) + 1;
      if (errorSamples.length < 5) errorSamples.push(`${label} -> transport: ${String(e).slice(0, 300)}`);
    }
    return undefined;
  });
  const latencies = pool.results.filter((x): x is number => typeof x === "number");
  return figures(label, concurrency, count, pool, latencies, errors, errorSamples, cpu());
}
