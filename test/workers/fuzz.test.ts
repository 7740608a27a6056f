import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { FREEZE_QUOTA, generateCases, judge, mutating, SEEDS, type FuzzCase } from "../fuzz/cases.ts";
import { ADMIN_TOKEN, api, apiJson, BASE, eventually } from "./helpers.ts";

/**
 * The fast subset of the fuzz suite (test/fuzz/cases.ts; `npm run bench -- fuzz` sends 10,000+
 * through the real local stack): hostile requests through the real Worker, D1 and Durable Objects.
 * Each must be answered without a 5xx, refused with a proper Status, within a bound, and a
 * refused one must leave the revision log as it was.
 */

const NS = "fuzz";
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const COUNT = Number(process.env.FUZZ_COUNT ?? 390);
const BOUND_MS = 15_000;

const headRevision = async () => (await env.DB.prepare("SELECT coalesce(max(id), 0) AS rev FROM revisions").first<{ rev: number }>())!.rev;

async function send(c: FuzzCase, tenantToken: string): Promise<{ status: number; body: string } | "timeout"> {
  const worker = (exports as unknown as { default: Fetcher }).default;
  const headers = new Headers({ accept: "application/json", ...c.headers, authorization: `Bearer ${c.as === "admin" ? ADMIN_TOKEN : tenantToken}` });
  const work = (async () => {
    const res = await worker.fetch(`${BASE}${c.path}`, { method: c.method, headers, body: c.body === undefined || c.method === "GET" || c.method === "HEAD" ? undefined : c.body });
    // A watch that was accepted streams until its timeout: its status is the answer.
    if (res.status === 200 && /[?&]watch=|\/watch\//.test(c.path)) {
      await res.body?.cancel();
      return { status: res.status, body: "" };
    }
    return { status: res.status, body: await res.text() };
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), BOUND_MS)));
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe("fuzz (fast subset)", () => {
  let tenantToken = "";
  beforeAll(async () => {
    const t = await apiJson("POST", "/edgeplane/v1/tenants", { name: "fuzz", namespaces: [NS] });
    expect(t.status).toBe(201);
    tenantToken = t.body.token;
    for (const s of SEEDS) expect((await apiJson("POST", s.path.replace("NS", NS), s.object)).status).toBe(201);
    expect((await apiJson("POST", `/api/v1/namespaces/${NS}/resourcequotas`, FREEZE_QUOTA)).status).toBe(201);
    // The quota's status is written once by its namespace: wait until the store is still.
    let last = -1;
    await eventually(async () => {
      const now = await headRevision();
      const still = now === last;
      last = now;
      if (!still) throw new Error("the store is still changing");
    }, () => new Promise((r) => setTimeout(r, 500)));
  });

  it(`answers ${COUNT} hostile requests (seed ${SEED}) without a 5xx, with Status refusals, in bounded time, changing nothing when refusing`, { timeout: 600_000 }, async () => {
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    for (const c of generateCases(SEED, COUNT, NS)) {
      const before = await headRevision();
      const r = await send(c, tenantToken);
      const label = `#${c.id} ${c.family} ${c.as} ${c.method} ${c.path.slice(0, 160)}`;
      if (r === "timeout") {
        failures.push(`${label}: no answer within ${BOUND_MS} ms`);
        continue;
      }
      byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      const why = judge(c, r.status, r.body);
      if (why) failures.push(`${label}: ${why}`);
      const after = await headRevision();
      if ((r.status >= 300 || !mutating(c)) && after !== before) failures.push(`${label}: answered ${r.status} but the store went from revision ${before} to ${after}`);
    }
    expect(failures).toEqual([]);
    // The suite is hostile: most of it must be refused, and with more than one kind of refusal.
    const refused = [...byStatus].filter(([s]) => s >= 400).reduce((n, [, k]) => n + k, 0);
    expect(refused).toBeGreaterThan(COUNT * 0.6);
    expect([...byStatus.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(6);
  });

  it("regressions the fuzzer found: huge unknown-field lists, bad watch selectors, bad list versions, unserved subresources of missing objects", async () => {
    const many = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 1]));
    const strict = await apiJson("POST", `/api/v1/namespaces/${NS}/configmaps?fieldValidation=Strict`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "u" }, ...many });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toMatch(/^strict decoding error: unknown field "k0", .* and 199980 more unknown fields$/);
    const warn = await api("PUT", `/api/v1/namespaces/${NS}/configmaps/seed?fieldValidation=Warn&dryRun=All`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "seed" }, ...many });
    expect(warn.status).toBe(200);
    expect(warn.headers.get("warning")).toContain("and 199980 more unknown fields");
    for (const q of ["labelSelector=a%20in%20(", "fieldSelector=metadata.name", `fieldSelector=${"a".repeat(5000)}%3Db`]) {
      const w = await apiJson("GET", `/api/v1/namespaces/${NS}/configmaps?watch=1&${q}`);
      expect(w.status, q).toBe(400);
      expect(w.body).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
    }
    for (const q of ["resourceVersion=abc", "resourceVersion=-1", "resourceVersionMatch=bogus&resourceVersion=1", "resourceVersionMatch=Exact", "timeoutSeconds=x"]) {
      const l = await apiJson("GET", `/api/v1/namespaces/${NS}/configmaps?${q}`);
      expect(l.status, q).toBe(400);
      expect(l.body).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
    }
    expect((await apiJson("GET", `/api/v1/namespaces/${NS}/configmaps?resourceVersion=0&resourceVersionMatch=NotOlderThan`)).status).toBe(200);
    // Wrong types where defaulting expects objects (npm run bench -- fuzz found these as 500s).
    const tpl = (template: unknown) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { replicas: 1, selector: { matchLabels: { a: "b" } }, template } });
    for (const [path, body] of [
      ["/apis/apps/v1/namespaces/NS/deployments", tpl("10Ki")],
      ["/apis/apps/v1/namespaces/NS/deployments", tpl({ metadata: { labels: { a: "b" } }, spec: "1Gi" })],
      ["/apis/apps/v1/namespaces/NS/deployments", tpl({ metadata: "x", spec: { containers: "c" } })],
      ["/apis/apps/v1/namespaces/NS/statefulsets", { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "s" }, spec: { selector: { matchLabels: { a: "b" } }, template: { spec: 7 } } }],
      ["/apis/batch/v1/namespaces/NS/jobs", { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template: { spec: ["x"] } } }],
      ["/api/v1/namespaces/NS/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", ports: "80" }], tolerations: "all" } }],
      // Pod Security admission (baseline is enforced in tenant namespaces) met a string where ports belong.
      ["/api/v1/namespaces/NS/pods?dryRun=All", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", ports: "80" }] } }],
    ] as const) {
      const r = await apiJson("POST", path.replace("NS", NS), body);
      expect([400, 403, 422], `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toContain(r.status);
      expect(r.body.kind).toBe("Status");
    }
    for (const sub of ["portforward", "proxy"]) expect((await apiJson("POST", `/api/v1/namespaces/${NS}/pods/missing/${sub}`)).status, sub).toBe(404);
  });
});
