import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { summarize } from "./stats.ts";

/**
 * A load generator the proxy bench runs inside a pod's network namespace (nsenter --net):
 * `proxy-load.ts URL CONCURRENCY SECONDS keepalive|close` -> one JSON line:
 * { requests, errors, rps, p50, p99 } (milliseconds).
 */

const [url, c, s, mode] = process.argv.slice(2);
const concurrency = Number(c);
const seconds = Number(s);
const keepAlive = mode !== "close";
const agent = new Agent({ keepAlive, maxSockets: concurrency });

function once(): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: 5000, headers: keepAlive ? {} : { connection: "close" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? performance.now() - t0 : undefined));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

const latencies: number[] = [];
let errors = 0;
const t0 = performance.now();
const end = t0 + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const ms = await once();
      if (ms === undefined) errors++;
      else latencies.push(ms);
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
const sum = summarize(latencies);
process.stdout.write(`${JSON.stringify({ requests: latencies.length, errors, rps: latencies.length / elapsed, p50: sum.p50, p99: sum.p99 })}\n`);
agent.destroy();
