import { randomBytes } from "node:crypto";
import type { RuntimeInfo } from "./node-status.ts";
import { rfc3339 } from "./pod-status.ts";
import type { ContainerExit, PodSandbox, RunningContainer, Runtime, StartRequest } from "./runtime.ts";
import type { Pod } from "./container-record.ts";

/**
 * The `hollow` runtime: starts nothing. A container "runs" `startDelayMs` after it is
 * asked to start and until it is stopped; pods get made-up IPs from 10.64.0.0/10.
 * Everything above the runtime (registration, watch, lifecycle, status) is the real agent's.
 */
export class HollowRuntime implements Runtime {
  readonly name = "hollow";
  private next = 1;
  private readonly ips = new Map<string, string>();
  private readonly stops = new Set<() => void>();

  constructor(private readonly startDelayMs = 0) {}

  info(): RuntimeInfo {
    return { version: "hollow://0.1.0", warnings: [] };
  }

  async createSandbox(pod: Pod): Promise<PodSandbox> {
    let ip = this.ips.get(pod.metadata.uid);
    if (!ip) {
      const n = this.next++;
      ip = `10.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;
      this.ips.set(pod.metadata.uid, ip);
    }
    return { podIP: ip };
  }

  async removeSandbox(pod: Pod): Promise<void> {
    this.ips.delete(pod.metadata.uid);
  }

  async startContainer(_req: StartRequest): Promise<RunningContainer> {
    if (this.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.startDelayMs));
    let end!: (e: ContainerExit) => void;
    const exited = new Promise<ContainerExit>((r) => (end = r));
    const finish = () => {
      this.stops.delete(finish);
      end({ exitCode: 0, reason: "Completed", finishedAt: rfc3339(Date.now()) });
    };
    this.stops.add(finish);
    return {
      containerID: `hollow://${randomBytes(8).toString("hex")}`,
      imageID: "",
      startedAt: rfc3339(Date.now()),
      exited,
      async stop() {
        finish();
      },
    };
  }

  async close(): Promise<void> {
    for (const stop of [...this.stops]) stop();
  }
}
