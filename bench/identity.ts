import { runGets, type OpFigures } from "./api.ts";
import { sideSummary } from "./audit-cost.ts";
import { Client } from "./http.ts";
import { fmt, table } from "./report.ts";

/**
 * `npm run bench -- identity`: what authenticating a service-account token (an ES256 JWT: signature,
 * claims, one D1 read of the ServiceAccount) costs a read, against an opaque tenant token (SHA-256,
 * then a D1 lookup remembered 10 s per isolate) and the admin token (no lookup, no RBAC read). The
 * same GET of one ConfigMap per identity, in rounds that rotate the order, on one stack.
 */

export interface IdentityResults {
  perRound: number;
  rounds: number;
  concurrency: number;
  sides: { who: "admin" | "tenant" | "serviceaccount"; get: OpFigures[] }[];
  /** Summed gets over summed seconds: service account / tenant. */
  saOverTenant: number;
}

interface Stack {
  url: string;
  token: string;
}

const NS = "bench-id";

async function must(c: Client, method: string, path: string, body: object, what: string): Promise<string> {
  const r = await c.request(method, path, body);
  if (r.status !== 201) throw new Error(`${what}: ${r.status} ${r.body.slice(0, 300)}`);
  return r.body;
}

/** The tenant's opaque token and a JWT of a service account bound to `view` in the tenant's namespace. */
async function identities(s: Stack): Promise<{ tenant: string; serviceAccount: string }> {
  const admin = new Client({ baseUrl: s.url, token: s.token, maxSockets: 2, timeoutMs: 30_000 });
  try {
    const tenant = (JSON.parse(await must(admin, "POST", "/edgeplane/v1/tenants", { name: NS, namespaces: [NS] }, "creating the tenant")) as { token: string }).token;
    await must(admin, "POST", `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "probe" }, data: { k: "v" } }, "creating the ConfigMap");
    await must(admin, "POST", `/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: "reader" } }, "creating the ServiceAccount");
    await must(
      admin,
      "POST",
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      { metadata: { name: "reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "ServiceAccount", name: "reader", namespace: NS }] },
      "binding the ServiceAccount",
    );
    const tr = JSON.parse(await must(admin, "POST", `/api/v1/namespaces/${NS}/serviceaccounts/reader/token`, { spec: { expirationSeconds: 3600 } }, "requesting a token")) as {
      status: { token: string };
    };
    return { tenant, serviceAccount: tr.status.token };
  } finally {
    admin.close();
  }
}

const rate = (fs: OpFigures[]) => fs.reduce((n, f) => n + f.ok, 0) / (fs.reduce((n, f) => n + f.elapsedMs, 0) / 1000);

export async function runIdentityBench(
  s: Stack,
  o: { perRound: number; rounds: number; concurrency: number; budgetMs: number },
  log: (line: string) => void,
): Promise<IdentityResults> {
  const tokens = await identities(s);
  const sides: IdentityResults["sides"] = [
    { who: "admin", get: [] },
    { who: "tenant", get: [] },
    { who: "serviceaccount", get: [] },
  ];
  const clients = [s.token, tokens.tenant, tokens.serviceAccount].map((token) => new Client({ baseUrl: s.url, token, maxSockets: o.concurrency, timeoutMs: 30_000 }));
  const path = () => `/api/v1/namespaces/${NS}/configmaps/probe`;
  try {
    for (const c of clients) await runGets(c, "warm", path, 100, o.concurrency, o.budgetMs);
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < clients.length; k++) {
        const i = (k + r) % clients.length;
        sides[i].get.push(await runGets(clients[i], `get as ${sides[i].who}`, path, o.perRound, o.concurrency, o.budgetMs));
      }
      log(`identity: round ${r + 1}/${o.rounds}: gets/s ${sides.map((x) => `${x.who} ${rate(x.get).toFixed(0)}`).join(", ")}`);
    }
  } finally {
    for (const c of clients) c.close();
  }
  return { perRound: o.perRound, rounds: o.rounds, concurrency: o.concurrency, sides, saOverTenant: rate(sides[2].get) / rate(sides[1].get) };
}

/** The report's lines. */
export function identityReport(a: IdentityResults): string[] {
  const rows = a.sides.map((x) => {
    const s = sideSummary(x.get);
    return [x.who, fmt(s.opsPerSec, 0), fmt(s.p50), fmt(s.p99), s.errors];
  });
  return [
    "",
    `Identity: GET of one ConfigMap as each identity, ${a.rounds} rotating rounds of ${a.perRound}, ${a.concurrency} in flight, one stack`,
    table(["token", "gets/s", "worst round p50 ms", "worst round p99 ms", "errors"], rows),
    `ratio service-account JWT / tenant opaque token: ${fmt(a.saOverTenant, 2)}`,
  ];
}
