import { runOps, type Objects, type OpFigures } from "./api.ts";
import { Client } from "./http.ts";

/**
 * `npm run bench -- audit`: what the audit log costs the write path. Two stacks run side by side,
 * the same but for `AUDIT_LOG=off` on one; a tenant (so its requests also pass the rate limiter,
 * identically on both) creates and deletes ConfigMaps in rounds that alternate between them, so
 * the machine's other load falls on both alike.
 */

export interface AuditCostSide {
  audit: "on" | "off";
  create: OpFigures[];
  delete: OpFigures[];
}

export interface AuditCostResults {
  perRound: number;
  rounds: number;
  concurrency: number;
  sides: AuditCostSide[];
  /** Summed ops over summed seconds, audit on / audit off. */
  createRatio: number;
  deleteRatio: number;
}

interface Stack {
  url: string;
  token: string;
}

async function tenantClient(s: Stack, concurrency: number): Promise<Client> {
  const admin = new Client({ baseUrl: s.url, token: s.token, maxSockets: 2, timeoutMs: 30_000 });
  try {
    const r = await admin.request("POST", "/edgeplane/v1/tenants", { name: "cost", namespaces: ["cost"] });
    if (r.status !== 201) throw new Error(`creating the tenant: ${r.status} ${r.body.slice(0, 300)}`);
    return new Client({ baseUrl: s.url, token: (JSON.parse(r.body) as { token: string }).token, maxSockets: concurrency, timeoutMs: 30_000 });
  } finally {
    admin.close();
  }
}

const rate = (fs: OpFigures[]) => fs.reduce((n, f) => n + f.ok, 0) / (fs.reduce((n, f) => n + f.elapsedMs, 0) / 1000);

export async function runAuditCostBench(
  on: Stack,
  off: Stack,
  o: { perRound: number; rounds: number; concurrency: number; budgetMs: number },
  log: (s: string) => void,
): Promise<AuditCostResults> {
  const clients = [await tenantClient(on, o.concurrency), await tenantClient(off, o.concurrency)];
  const sides: AuditCostSide[] = [
    { audit: "on", create: [], delete: [] },
    { audit: "off", create: [], delete: [] },
  ];
  try {
    // One unmeasured round each: isolates, hubs and D1 warm.
    for (const c of clients) {
      const warm: Objects = { names: Array.from({ length: 50 }, (_, i) => `warm-${i}`), rv: new Map() };
      await runOps(c, "cost", "create", warm, o.concurrency, o.budgetMs);
      await runOps(c, "cost", "delete", warm, o.concurrency, o.budgetMs);
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const objects: Objects = { names: Array.from({ length: o.perRound }, (_, k) => `r${r}-${String(k).padStart(5, "0")}`), rv: new Map() };
        sides[i].create.push(await runOps(clients[i], "cost", "create", objects, o.concurrency, o.budgetMs));
        sides[i].delete.push(await runOps(clients[i], "cost", "delete", objects, o.concurrency, o.budgetMs));
      }
      log(`audit cost: round ${r + 1}/${o.rounds}: creates/s on ${rate(sides[0].create).toFixed(0)}, off ${rate(sides[1].create).toFixed(0)}`);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return {
    perRound: o.perRound,
    rounds: o.rounds,
    concurrency: o.concurrency,
    sides,
    createRatio: rate(sides[0].create) / rate(sides[1].create),
    deleteRatio: rate(sides[0].delete) / rate(sides[1].delete),
  };
}

/** Summed figures of one side and op, for the report. */
export function sideSummary(fs: OpFigures[]): { opsPerSec: number; p50: number; p99: number; errors: number } {
  const worst = (k: "p50" | "p99") => fs.reduce((m, f) => Math.max(m, f.latency[k]), 0);
  return { opsPerSec: rate(fs), p50: worst("p50"), p99: worst("p99"), errors: fs.reduce((n, f) => n + Object.values(f.errors).reduce((a, b) => a + b, 0), 0) };
}
