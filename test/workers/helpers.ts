import { exports } from "cloudflare:workers";

/** Calls the real Worker as kubectl would: HTTPS, the test admin token, JSON. */
export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "https://edgeplane.test";

export async function api(
  method: string,
  path: string,
  body?: unknown,
  opts: { contentType?: string; accept?: string; token?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: opts.accept ?? "application/json" };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? ADMIN_TOKEN}`;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    headers["content-type"] = opts.contentType ?? "application/json";
  }
  return (exports as unknown as { default: Fetcher }).default.fetch(`${BASE}${path}`, { method, headers, body: payload });
}

export async function apiJson<T = any>(method: string, path: string, body?: unknown, opts: Parameters<typeof api>[3] = {}): Promise<{ status: number; body: T }> {
  const res = await api(method, path, body, opts);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as T) : (undefined as T) };
}

export async function createNamespace(name: string) {
  const r = await apiJson("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  if (r.status !== 201) throw new Error(`create namespace ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Reads newline-delimited watch events from a streaming response until `count` arrived or `ms` passed. */
export async function readEvents(res: Response, count: number, ms = 5000): Promise<any[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: any[] = [];
  let buffer = "";
  const deadline = Date.now() + ms;
  while (events.length < count && Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise<{ done: true; value: undefined }>((r) => setTimeout(() => r({ done: true, value: undefined }), Math.max(1, deadline - Date.now()))),
    ]);
    if (next.done) break;
    buffer += decoder.decode(next.value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) events.push(JSON.parse(line));
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

/**
 * Retries `check` (assertions) until it passes or `ms` pass, calling `between` before each retry
 * (e.g. running a Durable Object's alarm): for state that controllers reach on their own time.
 */
export async function eventually<T>(check: () => Promise<T>, between: () => Promise<unknown> = async () => {}, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await between();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reports a pod Running with an IP and a Ready condition, as its node's agent would. */
export async function setPodStatus(ns: string, name: string, ip: string, ready: boolean): Promise<void> {
  const r = await apiJson(
    "PATCH",
    `/api/v1/namespaces/${ns}/pods/${name}/status`,
    { status: { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } },
    { contentType: "application/merge-patch+json" },
  );
  if (r.status !== 200) throw new Error(`pod ${ns}/${name} status: ${r.status} ${JSON.stringify(r.body)}`);
}
