import { spawn, type ChildProcess } from "node:child_process";
import { PROJECT_ROOT } from "../../src/cli/local-cluster.ts";

/** `npm start` as a user runs it, in its own process group (a terminal's foreground job). */
export interface StartedCli {
  child: ChildProcess;
  /** Resolves with everything printed so far once the ready line appears. */
  ready: Promise<string>;
  /** Everything printed so far. */
  output(): string;
}

export function startCli(dataDir: string, port: number): StartedCli {
  const child = spawn("npm", ["start", "--", "--port", String(port), "--data-dir", dataDir], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 120 s:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/edgeplane: ready at /.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before ready:\n${out}`));
    });
  });
  return { child, ready, output: () => out };
}

/** Ctrl-C (SIGINT to the whole process group, as a terminal sends it); true if it stopped by itself in time. */
export function stopCli(child: ChildProcess, timeoutMs = 20_000): Promise<boolean> {
  return new Promise((resolve) => {
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      process.kill(-child.pid!, "SIGKILL");
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(!forced && (code === 0 || code === 130 || signal === "SIGINT"));
    });
    process.kill(-child.pid!, "SIGINT");
  });
}
