import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time and memory of processes, read from /proc: what the process runtime measures its
 * containers with (each container is one process group), and the node's own totals.
 */

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

export interface ProcSample {
  pid: number;
  pgrp: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

/** Parses one /proc/<pid>/stat line (the command may hold spaces and parentheses). */
export function parseProcStat(line: string): ProcSample | undefined {
  const close = line.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(line.slice(0, line.indexOf(" ")));
  const f = line.slice(close + 2).split(" ");
  // After "(comm)": state(0) ppid(1) pgrp(2) ... utime(11) stime(12) ... rss(21)
  const pgrp = Number(f[2]);
  const ticks = Number(f[11]) + Number(f[12]);
  const rss = Number(f[21]);
  if (![pid, pgrp, ticks, rss].every(Number.isFinite)) return undefined;
  return { pid, pgrp, cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss * PAGE_SIZE };
}

/** Every process now, as /proc shows it (processes that vanish while reading are skipped). */
export function readProcesses(): ProcSample[] {
  const out: ProcSample[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = parseProcStat(readFileSync(`/proc/${d}/stat`, "utf8"));
      if (s) out.push(s);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds and resident memory of every process of a process group. */
export function groupUsage(processes: ProcSample[], pgrp: number): { cpuSeconds: number; memoryBytes: number } {
  let cpuSeconds = 0;
  let memoryBytes = 0;
  for (const p of processes) {
    if (p.pgrp !== pgrp) continue;
    cpuSeconds += p.cpuSeconds;
    memoryBytes += p.rssBytes;
  }
  return { cpuSeconds, memoryBytes };
}

/** The node's busy CPU seconds (all cores) from /proc/stat and memory in use from /proc/meminfo. */
export function parseNodeUsage(stat: string, meminfo: string): { cpuSeconds: number; memoryBytes: number } {
  const cpu = stat.split("\n").find((l) => l.startsWith("cpu "));
  const v = (cpu ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  return { cpuSeconds: busy / TICKS_PER_SECOND, memoryBytes: kb("MemTotal") - kb("MemAvailable") };
}

export function readNodeUsage(): { cpuSeconds: number; memoryBytes: number } {
  return parseNodeUsage(readFileSync("/proc/stat", "utf8"), readFileSync("/proc/meminfo", "utf8"));
}
