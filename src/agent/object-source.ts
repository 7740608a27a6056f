import { ApiStatusError, type ApiClient, type WatchEvent } from "./api-client.ts";
import { Backoff } from "./backoff.ts";

/**
 * An informer of one resource: a list, then a watch from the list's resourceVersion
 * (e.g. pods with `?fieldSelector=spec.nodeName=<node>` for one node; Services and
 * EndpointSlices of every namespace for the service proxy). The API holds the watch open in
 * the namespace hub's Durable Object, which reads nothing from D1 while nothing changes.
 * The watch resumes from the last resourceVersion seen; errors reconnect with backoff and
 * jitter; 410 Gone (compacted) relists. Survives the control plane restarting.
 */

export interface SourceHandler<T> {
  /** A full list: every object now (objects not in it are gone). */
  replace(items: T[]): void;
  upsert(item: T): void;
  remove(item: T): void;
}

export interface ObjectSourceOptions {
  /** e.g. "spec.nodeName=node-1"; none: every pod (hollow nodes filter by nodeName themselves). */
  fieldSelector?: string;
  /** Server-side timeout of one watch request; the watch is then resumed. */
  watchTimeoutSeconds?: number;
  log: (line: string) => void;
}

interface Listed {
  metadata?: object;
}

export class ObjectSource<T extends Listed> {
  private readonly abort = new AbortController();
  private resourceVersion?: string;
  private loop?: Promise<void>;
  /** Number of lists made (the first, and each relist after 410 or a failure to resume). */
  lists = 0;

  constructor(
    private readonly api: ApiClient,
    /** e.g. /api/v1/pods, /apis/discovery.k8s.io/v1/endpointslices */
    private readonly path: string,
    private readonly handler: SourceHandler<T>,
    private readonly opts: ObjectSourceOptions,
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
    return `${this.path}?${q}`;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(500, 30_000);
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) {
          const list = await this.api.get<{ metadata: { resourceVersion: string }; items: T[] }>(this.query({}));
          this.lists++;
          this.handler.replace(list.items);
          this.resourceVersion = list.metadata.resourceVersion;
        }
        let expired = false;
        const began = Date.now();
        await this.api.watch<T>(
          this.query({
            watch: "1",
            resourceVersion: this.resourceVersion!,
            allowWatchBookmarks: "true",
            timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 60)),
          }),
          (e: WatchEvent<T>) => {
            if (e.type === "ERROR") {
              const status = e.object as unknown as { code?: number; message?: string };
              if (status.code === 410) expired = true;
              else this.opts.log(`watch ${this.path} error: ${status.message ?? JSON.stringify(status)}`);
              return;
            }
            const rv = (e.object?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (e.type === "BOOKMARK") return;
            backoff.reset();
            if (e.type === "DELETED") this.handler.remove(e.object);
            else this.handler.upsert(e.object);
          },
          signal,
        );
        if (expired) {
          this.opts.log(`watch ${this.path}: resourceVersion compacted (410 Gone), relisting`);
          this.resourceVersion = undefined;
        }
        // A watch the server ends at once (overloaded, restarting) must not become a busy loop.
        if (Date.now() - began < 1000) await sleep(backoff.next(), signal);
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof ApiStatusError && e.status === 410) this.resourceVersion = undefined;
        const delay = backoff.next();
        this.opts.log(`watch ${this.path}: ${e instanceof Error ? e.message : String(e)}; retrying in ${delay} ms`);
        await sleep(delay, signal);
      }
    }
  }
}

/** A local copy of one resource kept by an ObjectSource (by namespace/name); `changed` after every change. */
export class ObjectCache<T extends { metadata: { name: string; namespace?: string } }> implements SourceHandler<T> {
  readonly items = new Map<string, T>();
  constructor(private readonly changed: () => void) {}
  private key = (o: T) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  replace(items: T[]): void {
    this.items.clear();
    for (const o of items) this.items.set(this.key(o), o);
    this.changed();
  }
  upsert(o: T): void {
    this.items.set(this.key(o), o);
    this.changed();
  }
  remove(o: T): void {
    this.items.delete(this.key(o));
    this.changed();
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
