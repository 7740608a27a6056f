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
  /** When the process started, in clock ticks after boot (field 22): with the pid, names one process (pids are reused). */
  startTime: number;
}

/** Parses one /proc/<pid>/stat line (the command may hold spaces and parentheses). */
export function parseProcStat(line: string): ProcSample | undefined {
  const close = line.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(line.slice(0, line.indexOf(" ")));
  const f = line.slice(close + 2).split(" ");
  // After "(comm)": state(0) ppid(1) pgrp(2) ... utime(11) stime(12) ... starttime(19) ... rss(21)
  const pgrp = Number(f[2]);
  const ticks = Number(f[11]) + Number(f[12]);
  const startTime = Number(f[19]);
  const rss = Number(f[21]);
  if (![pid, pgrp, ticks, startTime, rss].every(Number.isFinite)) return undefined;
  return { pid, pgrp, cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss * PAGE_SIZE, startTime };
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

/** One process now (undefined: no such process). */
export function readProcess(pid: number): ProcSample | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
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

/** A process's cgroup directories for CPU accounting and memory (cgroup v1 controllers, or the v2 unified one). */
export function parseProcCgroup(text: string): { cpu?: string; memory?: string; unified?: string } {
  const out: { cpu?: string; memory?: string; unified?: string } = {};
  for (const line of text.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    const names = controllers.split(",");
    if (names.includes("cpuacct")) out.cpu = `/sys/fs/cgroup/${controllers}${path}`;
    if (names.includes("memory")) out.memory = `/sys/fs/cgroup/memory${path}`;
    if (controllers === "") out.unified = `/sys/fs/cgroup${path}`;
  }
  return out;
}

/** CPU seconds and memory of the cgroup a process is in (a podman container's). */
export function cgroupUsage(pid: number): { cpuSeconds: number; memoryBytes: number } | undefined {
  try {
    const cg = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    if (cg.cpu && cg.memory) {
      const ns = Number(readFileSync(`${cg.cpu}/cpuacct.usage`, "utf8"));
      const mem = Number(readFileSync(`${cg.memory}/memory.usage_in_bytes`, "utf8"));
      return { cpuSeconds: ns / 1e9, memoryBytes: mem };
    }
    if (cg.unified) {
      const usec = Number(/^usage_usec (\d+)/m.exec(readFileSync(`${cg.unified}/cpu.stat`, "utf8"))?.[1] ?? NaN);
      const mem = Number(readFileSync(`${cg.unified}/memory.current`, "utf8"));
      return { cpuSeconds: usec / 1e6, memoryBytes: mem };
    }
  } catch {
    /* gone, or no such controller here */
  }
  return undefined;
}
