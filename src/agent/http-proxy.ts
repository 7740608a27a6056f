import http from "node:http";
import type { TunnelStream } from "./tunnel-client.ts";
import type { HttpRequest, HttpResponseHead } from "../tunnel/frames.ts";
import { HOP_BY_HOP } from "../edge/http-headers.ts";

/**
 * The agent's half of edge routing: one HTTP request from the control plane's edge to a pod
 * (`ip:port` on this node's pod network), streamed both ways over the tunnel. The stream is
 * accepted once the TCP connection is up; a connection that fails is refused (503), so the edge
 * tries another endpoint. A pod that accepts but does not answer within RESPONSE_TIMEOUT_MS
 * gets a 504 head.
 */

const RESPONSE_TIMEOUT_MS = 60_000;
/** At most this many response bytes are in flight to the control plane before its client consumed them (Ack frames). */
export const RESPONSE_WINDOW_BYTES = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const encoder = new TextEncoder();

function requestHeaders(list: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of list) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function responseHead(res: http.IncomingMessage): HttpResponseHead {
  const headers: [string, string][] = [];
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i].toLowerCase())) headers.push([raw[i], raw[i + 1]]);
  return { status: res.statusCode ?? 502, statusText: res.statusMessage, headers };
}

export function serveHttp(req: HttpRequest, stream: TunnelStream, log: (line: string) => void): void {
  const target = `${req.ip}:${req.port}`;
  let accepted = false;
  let headSent = false;
  const sendHead = async (head: HttpResponseHead) => {
    headSent = true;
    await stream.write(encoder.encode(JSON.stringify(head)));
  };
  /** An error after the stream was accepted: a 502/504 head if none went yet, else a reset. */
  const fail = async (status: number, message: string) => {
    if (stream.signal.aborted) return;
    if (headSent) return stream.reset();
    await sendHead({ status, headers: [["content-type", "text/plain; charset=utf-8"]] });
    await stream.write(encoder.encode(`${message}\n`));
    stream.end();
  };
  const out = http.request({
    host: req.ip,
    port: req.port,
    method: req.method,
    path: req.path,
    headers: requestHeaders(req.headers),
    agent,
  });
  const connectTimer = setTimeout(() => out.destroy(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  const onConnected = () => {
    clearTimeout(connectTimer);
    if (accepted || stream.signal.aborted) return;
    accepted = true;
    stream.accept();
    out.setTimeout(RESPONSE_TIMEOUT_MS, () => {
      void fail(504, `pod ${target} did not answer within ${RESPONSE_TIMEOUT_MS / 1000} s`);
      out.destroy();
    });
  };
  out.on("socket", (s) => {
    if (s.connecting) s.once("connect", onConnected);
    else onConnected();
  });
  out.on("error", (e) => {
    clearTimeout(connectTimer);
    if (!accepted) {
      if (!stream.signal.aborted) stream.reject({ code: 503, reason: "ServiceUnavailable", message: `connecting to ${target}: ${e.message}` });
      return;
    }
    log(`http ${req.method} ${target}${req.path}: ${e.message}`);
    void fail(502, `pod ${target}: ${e.message}`);
  });
  // Flow control: a slow client holds the pod back instead of queueing in the control plane.
  let unacked = 0;
  let waiting: (() => void) | undefined;
  const release = () => {
    waiting?.();
    waiting = undefined;
  };
  stream.onAck = (bytes) => {
    unacked = Math.max(0, unacked - bytes);
    if (unacked <= RESPONSE_WINDOW_BYTES) release();
  };
  stream.signal.addEventListener("abort", release, { once: true });
  out.on("response", (res) => {
    void (async () => {
      try {
        await sendHead(responseHead(res));
        for await (const chunk of res) {
          if (stream.signal.aborted) break;
          await stream.write(chunk as Buffer);
          unacked += (chunk as Buffer).byteLength;
          while (unacked > RESPONSE_WINDOW_BYTES && !stream.signal.aborted) await new Promise<void>((r) => (waiting = r));
        }
        if (!stream.signal.aborted) stream.end();
      } catch (e) {
        log(`http ${req.method} ${target}${req.path}: ${e instanceof Error ? e.message : String(e)}`);
        stream.reset();
      }
    })();
  });
  stream.onData = (data) => out.write(data);
  stream.onEnd = () => out.end();
  stream.signal.addEventListener("abort", () => out.destroy(), { once: true });
}
