import { execFile, type ChildProcess } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { TerminalSize } from "../tunnel/frames.ts";

/**
 * Terminals for `kubectl exec -t` / `attach -t` without a native module: the command runs under
 * util-linux `script`, which allocates a pseudo-terminal, makes it the command's controlling
 * terminal and copies between it and its own stdin/stdout (pipes to the agent). `-e` hands the
 * command's exit code back. A resize sets the window size on the terminal's slave side
 * (`stty -F`): the kernel sends SIGWINCH to its foreground process group, as a real terminal does.
 */

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The argv that runs `argv` on a new pseudo-terminal. */
export function underTty(argv: string[]): string[] {
  return ["script", "--quiet", "--flush", "--return", "--command", argv.map(sq).join(" "), "/dev/null"];
}

/** The environment of a command on a terminal: TERM as container runtimes set it, /bin/sh for script's -c. */
export function ttyEnv(env: Record<string, string>): Record<string, string> {
  return { ...env, TERM: env.TERM ?? "xterm", SHELL: "/bin/sh" };
}

/** The slave device of the terminal `script` made under `pid` (script itself or a parent): the first descendant whose stdin is one. */
export function ttyDevice(pid: number, depth = 3): string | undefined {
  let children: string[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return undefined; // gone
  }
  for (const c of children) {
    try {
      const dev = readlinkSync(`/proc/${c}/fd/0`);
      if (dev.startsWith("/dev/pts/")) return dev;
    } catch {
      /* gone meanwhile */
    }
    const below = depth > 1 ? ttyDevice(Number(c), depth - 1) : undefined;
    if (below) return below;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sets the window size of the terminal `script` (pid, or a parent of it) runs its command on. The terminal may not
 * exist yet right after the start: retried briefly. Resolves when applied (or given up).
 */
export async function resizeTty(pid: number, size: TerminalSize): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const dev = ttyDevice(pid);
    if (dev) {
      const ok = await new Promise<boolean>((resolve) =>
        execFile("stty", ["-F", dev, "rows", String(size.height), "cols", String(size.width)], { timeout: 5000 }, (err) => resolve(!err)),
      );
      if (ok) return true;
    }
    await sleep(20);
  }
  return false;
}

/** The resize of an exec'd process run under underTty(). */
export const ttyResizer = (child: ChildProcess) => (size: TerminalSize) => (child.pid ? resizeTty(child.pid, size) : Promise.resolve(false));
