import { writeFileSync } from "node:fs";
import { WsClient } from "../src/agent/ws-client.ts";

/**
 * A CPU profile of the Worker (and its Durable Objects) while a bench part runs, through
 * wrangler dev's DevTools inspector (`BENCH_PROFILE=1`): Profiler.start, then Profiler.stop
 * into a .cpuprofile that Chrome DevTools or `bench/profile-top.ts` read.
 */

interface Target {
  title?: string;
  url?: string;
  webSocketDebuggerUrl?: string;
}

export interface WorkerProfile {
  stop(path: string): Promise<void>;
}

export async function startWorkerProfile(inspectorPort: number, pick: (t: Target) => boolean = () => true): Promise<WorkerProfile> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Target[];
  const target = targets.find((t) => t.webSocketDebuggerUrl && pick(t));
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target on port ${inspectorPort}: ${JSON.stringify(targets)}`);
  const ws = await WsClient.connect(target.webSocketDebuggerUrl);
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on("message", (data: Buffer) => {
    const msg = JSON.parse(data.toString("utf8")) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.error ? { error: msg.error.message } : msg.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return {
    async stop(path) {
      const result = (await call("Profiler.stop")) as { profile?: unknown; error?: string };
      ws.close();
      if (!result.profile) throw new Error(`Profiler.stop: ${result.error ?? "no profile"}`);
      writeFileSync(path, JSON.stringify(result.profile));
    },
  };
}
