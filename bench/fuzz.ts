import { Agent, request } from "node:https";
import { performance } from "node:perf_hooks";
import { FREEZE_QUOTA, generateCases, judge, mutating, SEEDS, type FuzzCase } from "../test/fuzz/cases.ts";
import { percentile } from "./stats.ts";

/**
 * `npm run bench -- fuzz`: the fuzz suite's generator (test/fuzz/cases.ts) against the real local
 * stack (wrangler dev, HTTPS). Cases go out in waves of `concurrency`; each must be answered within
 * `boundMs` without a 5xx and, when refused, with a proper Status. Around every wave the cluster's
 * revision (a list's resourceVersion) is read: a wave none of whose mutating cases succeeded must
 * leave it unchanged. Reports counts by family and status, rates, latencies and every failure.
 */

export interface FuzzOptions {
  seed: number;
  count: number;
  concurrency: number;
  boundMs: number;
  namespace: string;
}

export interface FuzzResults {
  seed: number;
  cases: number;
  seconds: number;
  casesPerSec: number;
  /** Plain `GET /version` at the same concurrency, side by side: what the stack answers when nothing is hostile. */
  baselinePerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  byStatus: Record<string, number>;
  byFamily: Record<string, { cases: number; refused: number; maxMs: number }>;
  wavesChecked: number;
  wavesWithAcceptedWrites: number;
  failures: string[];
}

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function send(base: URL, agent: Agent, token: string, c: FuzzCase, boundMs: number): Promise<Answer | "timeout"> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const body = c.body === undefined || c.method === "GET" || c.method === "HEAD" ? undefined : typeof c.body === "string" ? Buffer.from(c.body) : Buffer.from(c.body);
    const headers: Record<string, string | number> = { accept: "application/json", ...c.headers, authorization: `Bearer ${token}` };
    if (body) headers["content-length"] = body.length;
    let done = false;
    const finish = (a: Answer | "timeout") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = request({ host: base.hostname, port: base.port, path: c.path, method: c.method, headers, agent, rejectUnauthorized: false }, (res) => {
      const status = res.statusCode ?? 0;
      // An accepted watch streams until its timeout: its status is the answer.
      if (status === 200 && /[?&]watch=|\/watch\//.test(c.path)) {
        res.destroy();
        return finish({ status, body: "", ms: performance.now() - t0 });
      }
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => finish({ status, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }));
      res.on("error", () => finish({ status: 0, body: "response stream error", ms: performance.now() - t0 }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish("timeout");
    }, boundMs);
    req.on("error", (e) => finish({ status: 0, body: `connection error: ${e.message}`, ms: performance.now() - t0 }));
    req.end(body);
  });
}

async function adminCall(base: URL, agent: Agent, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const c: FuzzCase = { id: -1, family: "setup", as: "admin", method, path, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined };
  const r = await send(base, agent, token, c, 30_000);
  if (r === "timeout") throw new Error(`${method} ${path}: no answer in 30 s`);
  return r;
}

export async function runFuzzBench(server: { url: string; token: string }, o: FuzzOptions, log: (s: string) => void): Promise<FuzzResults> {
  const base = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency + 2, rejectUnauthorized: false });
  try {
    const ns = o.namespace;
    const tenant = await adminCall(base, agent, server.token, "POST", "/edgeplane/v1/tenants", { name: ns, namespaces: [ns] });
    if (tenant.status !== 201) throw new Error(`creating the fuzz tenant: ${tenant.status} ${tenant.body.slice(0, 300)}`);
    const tenantToken = (JSON.parse(tenant.body) as { token: string }).token;
    for (const s of SEEDS) {
      const r = await adminCall(base, agent, server.token, "POST", s.path.replace("NS", ns), s.object);
      if (r.status !== 201) throw new Error(`seeding ${s.path}: ${r.status} ${r.body.slice(0, 300)}`);
    }
    const q = await adminCall(base, agent, server.token, "POST", `/api/v1/namespaces/${ns}/resourcequotas`, FREEZE_QUOTA);
    if (q.status !== 201) throw new Error(`the freeze quota: ${q.status} ${q.body.slice(0, 300)}`);
    // The revision is read on connections of its own, never reused: a hostile case may leave wrangler's
    // proxy closing the keep-alive connection it came on.
    const fresh = new Agent({ keepAlive: false, rejectUnauthorized: false });
    const revision = async () => {
      let r = await adminCall(base, fresh, server.token, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=1`);
      for (let attempt = 1; r.status === 0 && attempt < 4; attempt++) {
        await new Promise((ok) => setTimeout(ok, 1000 * attempt));
        r = await adminCall(base, fresh, server.token, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=1`);
      }
      if (r.status !== 200) throw new Error(`reading the revision: ${r.status} ${r.body.slice(0, 300)}`);
      return (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    };
    // Let the quota's status settle: the store must be still before the first wave.
    for (let last = "", i = 0; i < 40; i++) {
      const now = await revision();
      if (now === last) break;
      last = now;
      await new Promise((r) => setTimeout(r, 500));
    }

    // Baseline, side by side: plain requests at the same concurrency.
    const baseN = Math.min(2000, o.count);
    const b0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < baseN) {
          next++;
          await send(base, agent, server.token, { id: -1, family: "baseline", as: "admin", method: "GET", path: "/version", headers: {} }, o.boundMs);
        }
      }),
    );
    const baselinePerSec = baseN / ((performance.now() - b0) / 1000);
    log(`fuzz: baseline GET /version at ${o.concurrency} in flight: ${baselinePerSec.toFixed(0)}/s`);

    const cases = generateCases(o.seed, o.count, ns);
    const byStatus: Record<string, number> = {};
    const byFamily: FuzzResults["byFamily"] = {};
    const failures: string[] = [];
    const latencies: number[] = [];
    let wavesChecked = 0;
    let wavesWithAcceptedWrites = 0;
    const t0 = performance.now();
    let lastLog = t0;
    for (let i = 0; i < cases.length; i += o.concurrency) {
      const wave = cases.slice(i, i + o.concurrency);
      const before = await revision();
      const answers = await Promise.all(wave.map((c) => send(base, agent, c.as === "admin" ? server.token : tenantToken, c, o.boundMs)));
      let acceptedWrite = false;
      wave.forEach((c, j) => {
        const a = answers[j];
        const fam = (byFamily[c.family] ??= { cases: 0, refused: 0, maxMs: 0 });
        fam.cases++;
        const label = `#${c.id} ${c.family} ${c.as} ${c.method} ${c.path.slice(0, 160)}`;
        if (a === "timeout") {
          failures.push(`${label}: no answer within ${o.boundMs} ms`);
          byStatus.timeout = (byStatus.timeout ?? 0) + 1;
          return;
        }
        latencies.push(a.ms);
        fam.maxMs = Math.max(fam.maxMs, Math.round(a.ms));
        byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
        if (a.status >= 400) fam.refused++;
        if (a.status === 0) failures.push(`${label}: ${a.body}`);
        const why = judge(c, a.status, a.body);
        if (why) failures.push(`${label}: ${why}`);
        if (mutating(c) && a.status < 300) acceptedWrite = true;
      });
      let after: string;
      try {
        after = await revision();
      } catch (e) {
        throw new Error(`after the wave of cases #${wave[0].id}-#${wave[wave.length - 1].id} (${wave.map((c) => `${c.family} ${c.method} ${c.path.slice(0, 80)}`).join("; ")}): ${String(e)}`);
      }
      if (acceptedWrite) wavesWithAcceptedWrites++;
      else {
        wavesChecked++;
        if (after !== before) failures.push(`wave of cases #${wave[0].id}-#${wave[wave.length - 1].id}: every write was refused, but the store went from revision ${before} to ${after}`);
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`fuzz: ${i + wave.length}/${cases.length} cases, ${failures.length} failures`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      seed: o.seed,
      cases: cases.length,
      seconds: Math.round(seconds * 10) / 10,
      casesPerSec: Math.round(cases.length / seconds),
      baselinePerSec: Math.round(baselinePerSec),
      latencyMs: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies[latencies.length - 1] ?? 0) },
      byStatus,
      byFamily,
      wavesChecked,
      wavesWithAcceptedWrites,
      failures,
    };
  } finally {
    agent.destroy();
  }
}
