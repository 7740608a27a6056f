import { request, type Agent } from "node:https";
import { httpsAgentFor } from "./proxy-agent.ts";
import type { IncomingMessage } from "node:http";

/**
 * The agent's HTTPS client for the Kubernetes API: JSON calls and newline-delimited
 * watch streams, bearer-token auth, keep-alive connections, through an HTTP proxy when the
 * environment names one (HTTPS_PROXY, NO_PROXY).
 */

export interface ApiConfig {
  server: string;
  token: string;
  /** Skip verifying the server certificate (kubeconfig `insecure-skip-tls-verify`). */
  insecure?: boolean;
  /** PEM of the CA that signed the server certificate. */
  ca?: string;
}

export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message?: string; reason?: string; code?: number } | undefined,
    what: string,
  ) {
    super(`${what}: ${status} ${body?.reason ?? ""} ${body?.message ?? ""}`.trim());
  }
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export class ApiClient {
  private readonly agent: Agent;
  private readonly base: URL;

  /** `maxSockets`: requests in flight at once (the rest wait in order); 64 unless told. */
  constructor(
    readonly config: ApiConfig,
    opts: { maxSockets?: number } = {},
  ) {
    this.base = new URL(config.server);
    if (this.base.protocol !== "https:") throw new Error(`the API server must be https (got ${config.server})`);
    // HTTPS_PROXY / NO_PROXY: calls go through a CONNECT tunnel when a proxy applies (proxy-env.ts).
    this.agent = httpsAgentFor(this.base, { keepAlive: true, maxSockets: opts.maxSockets ?? 64, rejectUnauthorized: !config.insecure, ...(config.ca ? { ca: config.ca } : {}) });
  }

  private open(method: string, path: string, body: string | undefined, contentType: string, timeoutMs: number): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, this.base);
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.config.token}`,
            accept: "application/json",
            "user-agent": "edgeplane-agent/0.1",
            ...(body !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          res.setEncoding("utf8");
          resolve(res);
        },
      );
      req.on("error", reject);
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.end(body);
    });
  }

  /** One JSON call; throws ApiStatusError for answers >= 400. */
  async call<T>(method: string, path: string, body?: unknown, contentType = "application/json", timeoutMs = 30_000): Promise<T> {
    const res = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body), contentType, timeoutMs);
    let text = "";
    for await (const chunk of res) text += chunk;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if ((res.statusCode ?? 0) >= 400) throw new ApiStatusError(res.statusCode ?? 0, parsed as ApiStatusError["body"], `${method} ${path}`);
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  /** A merge patch (RFC 7386). */
  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.call<T>("PATCH", path, patch, "application/merge-patch+json");
  }

  /**
   * Streams a watch; `onEvent` gets each event. Resolves when the server ends the stream,
   * rejects on errors and non-200 answers; `signal` aborts it (then it resolves).
   */
  async watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const res = await this.open("GET", path, undefined, "", 0);
    if ((res.statusCode ?? 0) !== 200) {
      let text = "";
      for await (const chunk of res) text += chunk;
      let body: ApiStatusError["body"];
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.slice(0, 200) };
      }
      throw new ApiStatusError(res.statusCode ?? 0, body, `watch ${path}`);
    }
    const abort = () => res.destroy();
    signal.addEventListener("abort", abort, { once: true });
    let buffer = "";
    try {
      for await (const chunk of res) {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
