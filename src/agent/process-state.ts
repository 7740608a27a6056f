import { parseProcStat } from "./proc-stats.ts";

/**
 * What the process runtime keeps on disk about each container it starts (`state.json` in the
 * container's directory), so that a later run of the agent, after one that died, can adopt it:
 * the pod and container it belongs to, its restart count and start time, and its monitor process
 * (the small shell that waits for the container and writes its exit status) by pid and start time
 * (`/proc/<pid>/stat` field 22: a pid alone may have been reused by another process meanwhile).
 * Pure functions: parsing and validating a state file, the exit-status file, the pid-reuse check.
 */

export interface ProcessContainerState {
  version: 1;
  /** 32 hex digits; the container's ID is process://<id>. */
  id: string;
  podUid: string;
  namespace: string;
  pod: string;
  container: string;
  restartCount: number;
  /** RFC 3339. */
  startedAt: string;
  /** The monitor process: its pid and start time in clock ticks after boot. */
  monitorPid: number;
  monitorStart: number;
  /** Started under unshare (the container's PID 1 is the first child of its main process). */
  isolated: boolean;
  /** Working directory and environment (exec runs with them). */
  cwd: string;
  env: Record<string, string>;
  tty: boolean;
  /** The pod's termination grace period when it started (a leftover of a pod deleted meanwhile is stopped with it). */
  graceSeconds: number;
}

const isInt = (v: unknown, min = 0): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= min;
const isText = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 4096;

/** A state file's contents, or why it cannot be used (its container is then not adopted). */
export function parseContainerState(text: string): { state: ProcessContainerState } | { error: string } {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: "not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { error: "not an object" };
  if (v.version !== 1) return { error: `unknown version ${JSON.stringify(v.version)}` };
  if (typeof v.id !== "string" || !/^[0-9a-f]{32}$/.test(v.id)) return { error: "bad id" };
  for (const k of ["podUid", "namespace", "pod", "container", "cwd"] as const) if (!isText(v[k])) return { error: `bad ${k}` };
  if (!isInt(v.restartCount)) return { error: "bad restartCount" };
  if (typeof v.startedAt !== "string" || !Number.isFinite(Date.parse(v.startedAt))) return { error: "bad startedAt" };
  if (!isInt(v.monitorPid, 2)) return { error: "bad monitorPid" };
  if (!isInt(v.monitorStart)) return { error: "bad monitorStart" };
  if (!isInt(v.graceSeconds)) return { error: "bad graceSeconds" };
  if (typeof v.isolated !== "boolean" || typeof v.tty !== "boolean") return { error: "bad flags" };
  const env = v.env;
  if (typeof env !== "object" || env === null || Array.isArray(env) || !Object.values(env).every((x) => typeof x === "string")) return { error: "bad env" };
  return { state: v as unknown as ProcessContainerState };
}

/** Whether `/proc/<pid>/stat` (undefined: no such process) is still the process that started at `startTime`. */
export function sameProcess(statLine: string | undefined, pid: number, startTime: number): boolean {
  if (statLine === undefined) return false;
  const p = parseProcStat(statLine);
  return p !== undefined && p.pid === pid && p.startTime === startTime;
}

/** The exit status the monitor wrote (`<code>\n`, 128 + n for a signal), or undefined while it is absent or incomplete. */
export function parseExitStatus(text: string): number | undefined {
  const m = /^(\d{1,3})\n$/.exec(text);
  if (!m) return undefined;
  const code = Number(m[1]);
  return code <= 255 ? code : undefined;
}

/**
 * Where to go on reading a raw output file after an agent restart: the offset the earlier run had
 * copied into the container's log up to, unless the file is shorter now (it was truncated after
 * the offset was written: everything in it is new).
 */
export function resumeOffset(saved: number | undefined, size: number): number {
  return saved !== undefined && Number.isSafeInteger(saved) && saved >= 0 && saved <= size ? saved : 0;
}
