import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Where the CPU goes during a phase, from /proc (Linux; elsewhere everything reads 0):
 * the server processes (descendants of this process: wrangler and its two workerd
 * processes, or etcd) split by role, this load generator, and everything else on the
 * machine (other people's tests on a shared box show up there).
 */

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Proc {
  pid: number;
  ppid: number;
  cpuMs: number;
  cmd: string;
}

function readProcs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, "utf8");
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const pid = Number(e);
      out.set(pid, { pid, ppid: Number(rest[1]), cpuMs: (Number(rest[11]) + Number(rest[12])) * TICK_MS, cmd: "" });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function descendants(procs: Map<number, Proc>, root = process.pid): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** TCP sockets in LISTEN state: inode -> port. */
function listeningSockets(): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length >= 10 && cols[3] === "0A") out.set(cols[9], parseInt(cols[1].split(":").pop()!, 16));
      }
    } catch {
      /* no procfs */
    }
  }
  return out;
}

/** Ports the process listens on. */
export function listeningPorts(pid: number): number[] {
  const sockets = listeningSockets();
  const ports = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        const port = m ? sockets.get(m[1]) : undefined;
        if (port !== undefined) ports.add(port);
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    /* exited */
  }
  return [...ports];
}

/** Live descendants of this process with the given role. */
export function pidsWithRole(roleOf: RoleOf, role: string): number[] {
  return descendants(readProcs())
    .map((p) => p.pid)
    .filter((pid) => roleOf(pid) === role);
}

/** Descendant pids listening on `port`. */
function listeningPids(port: number): Set<number> {
  return new Set(descendants(readProcs()).filter((p) => listeningPorts(p.pid).includes(port)).map((p) => p.pid));
}

export const ROLE_PROXY = "wrangler proxy (workerd: TLS + ProxyWorker)";
export const ROLE_WORKER = "Worker (workerd: Hono, hubs, local D1)";
export const ROLE_WRANGLER = "wrangler (node)";
export const ROLE_ETCD = "etcd";
export const ROLE_AGENT = "node agent (node)";
export const ROLE_OTHER = "other children";

export type RoleOf = (pid: number) => string;

/**
 * Names the server's processes: the workerd that listens on the public port is wrangler's
 * dev proxy (it terminates TLS and forwards every request through its ProxyWorker Durable
 * Object); the other workerd runs our Worker, its Durable Objects and the local D1.
 */
export function serverRoles(publicPort?: number): RoleOf {
  const proxies = publicPort ? listeningPids(publicPort) : new Set<number>();
  const cache = new Map<number, string>();
  return (pid) => {
    let role = cache.get(pid);
    if (role) return role;
    const cmd = cmdline(pid);
    if (/\bworkerd\b/.test(cmd)) role = proxies.has(pid) ? ROLE_PROXY : ROLE_WORKER;
    else if (/wrangler/.test(cmd)) role = ROLE_WRANGLER;
    else if (/\betcd\b/.test(cmd)) role = ROLE_ETCD;
    else if (/\bagent\b.*--runtime/.test(cmd)) role = ROLE_AGENT;
    else role = ROLE_OTHER;
    cache.set(pid, role);
    return role;
  };
}

/** Busy CPU milliseconds of the whole machine (all cores) since boot, from /proc/stat. */
function machineBusyMs(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * TICK_MS;
  } catch {
    return 0;
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface CpuWindow {
  /** CPU ms of the server processes (all descendants), and split by role. */
  serverMs: number;
  byRole: Record<string, number>;
  /** This load generator. */
  clientMs: number;
  /** Everything else on the machine. */
  otherMs: number;
  wallMs: number;
  /** Server processes that exited during the window (a workerd restart, say). */
  exited: number;
}

/** Starts measuring; call the returned function at the end of the window. */
export function cpuWindow(roleOf: RoleOf = () => ROLE_OTHER): () => CpuWindow {
  const before = new Map(descendants(readProcs()).map((p) => [p.pid, p.cpuMs]));
  const client0 = selfCpuMs();
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  return () => {
    const after = descendants(readProcs());
    const clientMs = selfCpuMs() - client0;
    const busyMs = machineBusyMs() - busy0;
    const byRole: Record<string, number> = {};
    let serverMs = 0;
    const alive = new Set<number>();
    for (const p of after) {
      alive.add(p.pid);
      // A process born during the window counts from zero.
      const ms = p.cpuMs - (before.get(p.pid) ?? 0);
      serverMs += ms;
      const role = roleOf(p.pid);
      byRole[role] = (byRole[role] ?? 0) + ms;
    }
    let exited = 0;
    for (const pid of before.keys()) if (!alive.has(pid)) exited++;
    return { serverMs, byRole, clientMs, otherMs: Math.max(0, busyMs - serverMs - clientMs), wallMs: performance.now() - t0, exited };
  };
}
