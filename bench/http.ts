import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";

/**
 * A small keep-alive HTTP(S) client for the benches: one agent per target, sized to the
 * highest concurrency, wrangler's self-signed certificate accepted. Every request has a
 * deadline, so no loop can hang on a stuck connection.
 */

export interface Reply {
  status: number;
  body: string;
  /** Wall time of the whole request (send to last byte), milliseconds. */
  ms: number;
  /** performance.now() when the request was started / the response completed. */
  start: number;
  end: number;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string;
  maxSockets: number;
  timeoutMs?: number;
  /**
   * Send every request with `MF-Original-URL: <base><path>`: miniflare's entry worker then
   * presents that URL to the Worker. Used to reach the Worker's workerd directly, skipping
   * wrangler's dev proxy (a diagnostic only).
   */
  originalUrlBase?: string;
  /** Headers sent with every request (e.g. `host` for the edge bench's Ingress host). */
  headers?: Record<string, string>;
}

export class Client {
  private readonly url: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly https: boolean;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly originalUrlBase?: string;

  constructor(opts: ClientOptions) {
    this.url = new URL(opts.baseUrl);
    this.https = this.url.protocol === "https:";
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets };
    this.agent = this.https ? new HttpsAgent({ ...agentOpts, rejectUnauthorized: false }) : new HttpAgent(agentOpts);
    this.headers = { accept: "application/json" };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    Object.assign(this.headers, opts.headers ?? {});
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.originalUrlBase = opts.originalUrlBase;
  }

  request(method: string, path: string, body?: string | object, contentType = "application/json"): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...this.headers };
    if (this.originalUrlBase) headers["mf-original-url"] = this.originalUrlBase + path;
    if (payload !== undefined) {
      headers["content-type"] = contentType;
      headers["content-length"] = Buffer.byteLength(payload);
    }
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const fn = this.https ? httpsRequest : httpRequest;
      const req = fn(
        {
          hostname: this.url.hostname,
          port: this.url.port,
          path,
          method,
          headers,
          agent: this.agent,
          ...(this.https ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("error", reject);
          res.on("end", () => {
            const end = performance.now();
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: end - start, start, end });
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Opens a streaming GET (a watch); `onLine` gets each newline-delimited line with its arrival time. */
  /** A stream of lines; `onClose` is called once if the server (or the network) ends it, not after `close()`. */
  stream(path: string, onLine: (line: string, at: number) => void, onClose?: () => void): Promise<Stream> {
    return new Promise((resolve, reject) => {
      const fn = this.https ? httpsRequest : httpRequest;
      // A dedicated connection: a long-lived stream must not hold a pooled socket.
      const req = fn(
        {
          hostname: this.url.hostname,
          port: this.url.port,
          path,
          method: "GET",
          headers: this.originalUrlBase ? { ...this.headers, "mf-original-url": this.originalUrlBase + path } : this.headers,
          agent: false,
          ...(this.https ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          if (res.statusCode !== 200) {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => reject(new Error(`watch ${path}: HTTP ${res.statusCode}: ${text.slice(0, 500)}`)));
            return;
          }
          let buffer = "";
          const s: Stream = {
            closed: false,
            close: () => {
              s.closed = true;
              req.destroy();
            },
          };
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            const at = performance.now();
            buffer += chunk;
            // One pass over the chunk's lines (slicing the rest off after each line would copy it once per line).
            let start = 0;
            let nl: number;
            while ((nl = buffer.indexOf("\n", start)) >= 0) {
              const line = buffer.slice(start, nl);
              start = nl + 1;
              if (line.trim()) onLine(line, at);
            }
            buffer = buffer.slice(start);
          });
          const closed = () => {
            if (s.closed) return;
            s.closed = true;
            onClose?.();
          };
          res.on("close", closed);
          res.on("error", closed);
          resolve(s);
        },
      );
      // Only the connect/headers phase has a deadline; the stream itself is closed by its owner.
      const headersTimer = setTimeout(() => req.destroy(new Error(`watch ${path}: no response headers within 15 s`)), 15_000);
      req.on("response", () => clearTimeout(headersTimer));
      req.on("error", (e) => {
        clearTimeout(headersTimer);
        reject(e);
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Stream {
  closed: boolean;
  close(): void;
}
