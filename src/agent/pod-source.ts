import { ApiStatusError, type ApiClient, type WatchEvent } from "./api-client.ts";
import { Backoff } from "./backoff.ts";
import type { Pod } from "./container-record.ts";

/**
 * The agent's pod assignments: a list, then a watch from the list's resourceVersion
 * (`?fieldSelector=spec.nodeName=<node>` for one node). The API holds the watch open in
 * the namespace hub's Durable Object, which reads nothing from D1 while nothing changes.
 * The watch resumes from the last resourceVersion seen; errors reconnect with backoff and
 * jitter; 410 Gone (compacted) relists. Survives the control plane restarting.
 */

export interface PodHandler {
  /** A full list: every pod assigned now (pods not in it are gone). */
  replace(pods: Pod[]): void;
  upsert(pod: Pod): void;
  remove(pod: Pod): void;
}

export interface PodSourceOptions {
  /** e.g. "spec.nodeName=node-1"; none: every pod (hollow nodes filter by nodeName themselves). */
  fieldSelector?: string;
  /** Server-side timeout of one watch request; the watch is then resumed. */
  watchTimeoutSeconds?: number;
  log: (line: string) => void;
}

export class PodSource {
  private readonly abort = new AbortController();
  private resourceVersion?: string;
  private loop?: Promise<void>;
  /** Number of lists made (the first, and each relist after 410 or a failure to resume). */
  lists = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly handler: PodHandler,
    private readonly opts: PodSourceOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.opts.fieldSelector) q.set("fieldSelector", this.opts.fieldSelector);
    return `/api/v1/pods?${q}`;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(500, 30_000);
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) {
          const list = await this.api.get<{ metadata: { resourceVersion: string }; items: Pod[] }>(this.query({}));
          this.lists++;
          this.handler.replace(list.items);
          this.resourceVersion = list.metadata.resourceVersion;
        }
        let expired = false;
        const began = Date.now();
        await this.api.watch<Pod>(
          this.query({
            watch: "1",
            resourceVersion: this.resourceVersion!,
            allowWatchBookmarks: "true",
            timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 60)),
          }),
          (e: WatchEvent<Pod>) => {
            if (e.type === "ERROR") {
              const status = e.object as unknown as { code?: number; message?: string };
              if (status.code === 410) expired = true;
              else this.opts.log(`pod watch error: ${status.message ?? JSON.stringify(status)}`);
              return;
            }
            const rv = e.object?.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (e.type === "BOOKMARK") return;
            backoff.reset();
            if (e.type === "DELETED") this.handler.remove(e.object);
            else this.handler.upsert(e.object);
          },
          signal,
        );
        if (expired) {
          this.opts.log("pod watch: resourceVersion compacted (410 Gone), relisting");
          this.resourceVersion = undefined;
        }
        // A watch the server ends at once (overloaded, restarting) must not become a busy loop.
        if (Date.now() - began < 1000) await sleep(backoff.next(), signal);
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof ApiStatusError && e.status === 410) this.resourceVersion = undefined;
        const delay = backoff.next();
        this.opts.log(`pod watch: ${e instanceof Error ? e.message : String(e)}; retrying in ${delay} ms`);
        await sleep(delay, signal);
      }
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
