import { env, runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeAck, decodeFrame, decodeJson, encodeFrame, FrameType, type HttpRequest } from "../../src/tunnel/frames.ts";
import { ADMIN_TOKEN, BASE, apiJson, createNamespace, eventually, setPodStatus } from "./helpers.ts";

/** The Worker's edge: Ingress host claims, LoadBalancer/Ingress status, routing through node tunnels. */

const worker = () => (exports as unknown as { default: Fetcher }).default;
const hub = (namespace: string) => env.HUB.get(env.HUB.idFromName(`ns:${namespace}`));
async function settle(namespace: string): Promise<void> {
  for (let i = 0; i < 20 && (await runDurableObjectAlarm(hub(namespace))); i++);
}

const ingress = (name: string, rules: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name },
  spec: { rules, ...extra },
});
const rule = (host: string | undefined, paths: { path: string; pathType?: string; service: string; port?: number | string }[]) => ({
  ...(host ? { host } : {}),
  http: {
    paths: paths.map((p) => ({
      path: p.path,
      pathType: p.pathType ?? "Prefix",
      backend: { service: { name: p.service, port: typeof p.port === "string" ? { name: p.port } : { number: p.port ?? 80 } } },
    })),
  },
});
const postIngress = (ns: string, body: unknown) => apiJson("POST", `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, body);

const service = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...extra },
});

async function runningPod(ns: string, name: string, app: string, node: string, ip: string, ready = true) {
  const created = await apiJson("POST", `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app } },
    spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }] },
  });
  expect(created.status).toBe(201);
  await setPodStatus(ns, name, ip, ready);
}


/** An edge request as a browser or curl would send it: the Host header names the site. */
async function edge(host: string, path: string, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await worker().fetch(`https://${host}${path}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/**
 * Plays a node's agent on its tunnel: answers every http stream with the pod it was sent to,
 * refusing the addresses in `refuse` as an agent does when the connection to the pod fails.
 */
async function fakeAgent(node: string, refuse = new Set<string>()): Promise<{ seen: HttpRequest[]; frameSizes: number[]; acks: number[]; close: () => void }> {
  const res = await worker().fetch(`${BASE}/tunnel/nodes/${node}`, { headers: { upgrade: "websocket", authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const seen: HttpRequest[] = [];
  const frameSizes: number[] = [];
  const acks: number[] = [];
  const bodies = new Map<number, string>();
  let queue = Promise.resolve();
  ws.addEventListener("message", (e) => {
    // The client end of a WebSocket here delivers binary messages as Blobs.
    queue = queue.then(async () => onFrame(decodeFrame(e.data instanceof Blob ? await e.data.arrayBuffer() : (e.data as ArrayBuffer))));
  });
  const onFrame = (f: ReturnType<typeof decodeFrame>) => {
    if (f.type === FrameType.Ack) acks.push(decodeAck(f.payload));
    else if (f.type === FrameType.Open) {
      const req = decodeJson<HttpRequest>(f.payload);
      seen.push(req);
      if (refuse.has(req.ip)) {
        ws.send(encodeFrame(FrameType.Reject, f.stream, new TextEncoder().encode(JSON.stringify({ code: 503, reason: "ServiceUnavailable", message: `connecting to ${req.ip}:${req.port}: ECONNREFUSED` }))));
        return;
      }
      ws.send(encodeFrame(FrameType.Accept, f.stream));
      bodies.set(f.stream, `${req.method} ${req.ip}:${req.port}${req.path}`);
    } else if (f.type === FrameType.Data) {
      frameSizes.push(f.payload.byteLength);
      const text = new TextDecoder().decode(f.payload);
      const sofar = bodies.get(f.stream) ?? "";
      bodies.set(f.stream, sofar.includes(" body=") ? sofar + text : `${sofar} body=${text}`);
    } else if (f.type === FrameType.End) {
      const head = { status: 200, headers: [["content-type", "text/plain"], ["x-pod", "yes"], ["connection", "keep-alive"]] };
      ws.send(encodeFrame(FrameType.Data, f.stream, new TextEncoder().encode(JSON.stringify(head))));
      // GET .../big: 1.5 MiB in 64 KiB frames, to see the control plane acknowledge what its client read.
      if (bodies.get(f.stream)?.endsWith("/big")) for (let i = 0; i < 24; i++) ws.send(encodeFrame(FrameType.Data, f.stream, new Uint8Array(64 * 1024).fill(97)));
      else ws.send(encodeFrame(FrameType.Data, f.stream, new TextEncoder().encode(bodies.get(f.stream) ?? "")));
      ws.send(encodeFrame(FrameType.End, f.stream));
    }
  };
  return { seen, frameSizes, acks, close: () => ws.close(1000, "test done") };
}

describe("Ingress host claims", () => {
  it("a host belongs to the first namespace claiming it; its Ingresses share it; released on deletion", async () => {
    await createNamespace("claim-a");
    await createNamespace("claim-b");
    expect((await postIngress("claim-a", ingress("one", [rule("shop.example", [{ path: "/", service: "web" }])]))).status).toBe(201);
    expect((await postIngress("claim-a", ingress("two", [rule("shop.example", [{ path: "/api", service: "api" }])]))).status).toBe(201);
    const refused = await postIngress("claim-b", ingress("mine", [rule("other.example", [{ path: "/", service: "x" }]), rule("shop.example", [{ path: "/", service: "x" }])]));
    expect(refused.status).toBe(422);
    expect(refused.body.reason).toBe("Invalid");
    expect(refused.body.details.causes).toEqual([
      { reason: "FieldValueInvalid", field: "spec.rules[1].host", message: 'Invalid value: "shop.example": host is already claimed by an Ingress in another namespace' },
    ]);
    // An update that adds the host is refused the same way.
    expect((await postIngress("claim-b", ingress("later", [rule("later.example", [{ path: "/", service: "x" }])]))).status).toBe(201);
    const patched = await apiJson(
      "PATCH",
      "/apis/networking.k8s.io/v1/namespaces/claim-b/ingresses/later",
      [{ op: "add", path: "/spec/rules/-", value: rule("shop.example", [{ path: "/", service: "x" }]) }],
      { contentType: "application/json-patch+json" },
    );
    expect(patched.status).toBe(422);
    // Namespace a gives the host up only when its last Ingress naming it goes.
    expect((await apiJson("DELETE", "/apis/networking.k8s.io/v1/namespaces/claim-a/ingresses/one")).status).toBe(200);
    expect((await postIngress("claim-b", ingress("mine", [rule("shop.example", [{ path: "/", service: "x" }])]))).status).toBe(422);
    expect((await apiJson("DELETE", "/apis/networking.k8s.io/v1/namespaces/claim-a/ingresses/two")).status).toBe(200);
    expect((await postIngress("claim-b", ingress("mine", [rule("shop.example", [{ path: "/", service: "x" }])]))).status).toBe(201);
  });

  it("two namespaces racing for a host: exactly one wins", async () => {
    await createNamespace("race-a");
    await createNamespace("race-b");
    const [a, b] = await Promise.all(["race-a", "race-b"].map((ns) => postIngress(ns, ingress("r", [rule("race.example", [{ path: "/", service: "web" }])]))));
    expect([a.status, b.status].filter((s) => s === 201)).toHaveLength(1);
    const loser = a.status === 201 ? b : a;
    expect([409, 422]).toContain(loser.status);
  });

  it("refuses the edge's own domain, IP hosts and bad paths with 422", async () => {
    await createNamespace("claim-bad");
    const own = await postIngress("claim-bad", ingress("own", [rule("web.claim-bad.lb.edgeplane.localhost", [{ path: "/", service: "x" }])]));
    expect(own.status).toBe(422);
    expect(own.body.message).toContain("the edge's own domain edgeplane.localhost is reserved");
    expect((await postIngress("claim-bad", ingress("ip", [rule("10.0.0.1", [{ path: "/", service: "x" }])]))).status).toBe(422);
    expect((await postIngress("claim-bad", ingress("rel", [rule("ok.example", [{ path: "relative", service: "x" }])]))).status).toBe(422);
    expect((await postIngress("claim-bad", ingress("dots", [rule("ok.example", [{ path: "/a/../b", service: "x" }])]))).status).toBe(422);
    expect((await postIngress("claim-bad", ingress("type", [rule("ok.example", [{ path: "/", pathType: "Regex", service: "x" }])]))).status).toBe(422);
  });
});

describe("edge routing", () => {
  it("unknown hosts are 404, API requests are untouched, a Service without ready endpoints is a 503", async () => {
    const unknown = await edge("nobody.example", "/");
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).message).toBe('no Ingress or LoadBalancer Service serves host "nobody.example"');
    expect((await apiJson("GET", "/api/v1/namespaces/default")).status).toBe(200);
    await createNamespace("edge-empty");
    expect((await apiJson("POST", "/api/v1/namespaces/edge-empty/services", service("web"))).status).toBe(201);
    expect((await postIngress("edge-empty", ingress("i", [rule("empty.example", [{ path: "/", service: "web" }])]))).status).toBe(201);
    await settle("edge-empty");
    const r = await eventually(async () => {
      const r = await edge("empty.example", "/x");
      expect(r.status).toBe(503);
      return r;
    });
    expect(JSON.parse(r.text)).toMatchObject({ kind: "Status", code: 503, reason: "ServiceUnavailable", message: 'service "edge-empty/web" has no ready endpoints for port http' });
    const noPath = await edge("empty.example", "/x", { method: "POST", body: "hi" });
    expect(noPath.status).toBe(503);
  });

  it("routes Ingress paths to their Services' ready endpoints through the nodes' tunnels, round-robin, skipping unreachable ones", async () => {
    const ns = "edge-route";
    await createNamespace(ns);
    const agent = await fakeAgent("edge-node-1", new Set(["10.244.9.13"]));
    try {
      for (const s of ["web", "api"]) expect((await apiJson("POST", `/api/v1/namespaces/${ns}/services`, service(s))).status).toBe(201);
      await runningPod(ns, "web-1", "web", "edge-node-1", "10.244.9.11");
      await runningPod(ns, "web-2", "web", "edge-node-1", "10.244.9.12");
      await runningPod(ns, "web-3", "web", "edge-node-1", "10.244.9.13");
      await runningPod(ns, "api-1", "api", "edge-node-1", "10.244.9.21");
      await runningPod(ns, "api-2", "api", "edge-node-1", "10.244.9.22", false);
      const ing = ingress("site", [
        rule("site.example", [
          { path: "/", service: "web", port: "http" },
          { path: "/shop/api", service: "api", port: 80 },
          { path: "/shop/api/exact", pathType: "Exact", service: "web" },
        ]),
      ]);
      expect((await postIngress(ns, ing)).status).toBe(201);
      await settle(ns);

      const api = await eventually(async () => {
        const r = await edge("site.example", "/shop/api/items?x=1");
        expect(r.status).toBe(200);
        return r;
      }, () => settle(ns));
      expect(api.text).toBe("GET 10.244.9.21:8080/shop/api/items?x=1");
      expect(api.headers.get("x-pod")).toBe("yes");
      expect(api.headers.get("connection")).not.toBe("keep-alive");
      expect((await edge("site.example", "/shop/api/exact")).text).toMatch(/^GET 10\.244\.9\.1[12]:8080\/shop\/api\/exact$/);
      expect((await edge("site.example", "/shop/apiary")).text).toMatch(/^GET 10\.244\.9\.1[12]:8080\/shop\/apiary$/);
      const post = await edge("site.example", "/shop/api/x", { method: "POST", body: "payload" });
      expect(post.text).toBe("POST 10.244.9.21:8080/shop/api/x body=payload");
      // A large body reaches the agent in frames of at most 256 KiB (Cloudflare caps WebSocket messages at 1 MiB).
      agent.frameSizes.length = 0;
      const big = "b".repeat(700 * 1024);
      const large = await edge("site.example", "/shop/api/upload", { method: "PUT", body: big, headers: { "content-length": String(big.length) } });
      expect(large.text).toBe(`PUT 10.244.9.21:8080/shop/api/upload body=${big}`);
      expect(agent.frameSizes.reduce((a, b) => a + b, 0)).toBe(big.length);
      expect(Math.max(...agent.frameSizes)).toBeLessThanOrEqual(256 * 1024);
      // With API_HOSTS unset, API paths on any host are the API's (documented): not routed.
      expect((await edge("site.example", "/api/v1/namespaces")).status).toBe(401);

      // Three ready web pods, one of which refuses connections: every answer comes from the other two, both used.
      const answered = new Set<string>();
      for (let i = 0; i < 9; i++) {
        const r = await edge("site.example", "/");
        expect(r.status).toBe(200);
        answered.add(r.text.split(" ")[1].split(":")[0]);
      }
      expect([...answered].sort()).toEqual(["10.244.9.11", "10.244.9.12"]);
      expect(agent.seen.some((s) => s.ip === "10.244.9.13")).toBe(true);
      const last = agent.seen[agent.seen.length - 1];
      expect(last.headers).toContainEqual(["x-forwarded-host", "site.example"]);

      // Readiness changes which pods answer (within the routing table's second).
      await setPodStatus(ns, "api-1", "10.244.9.21", false);
      await setPodStatus(ns, "api-2", "10.244.9.22", true);
      await settle(ns);
      await eventually(async () => expect((await edge("site.example", "/shop/api")).text).toBe("GET 10.244.9.22:8080/shop/api"), () => settle(ns));
    } finally {
      agent.close();
    }
  });

  it("a LoadBalancer Service gets a hostname in status and answers at it; Ingresses get an ADDRESS", async () => {
    const ns = "edge-lb";
    await createNamespace(ns);
    const agent = await fakeAgent("edge-node-2");
    try {
      expect((await apiJson("POST", `/api/v1/namespaces/${ns}/services`, service("front", { type: "LoadBalancer" }))).status).toBe(201);
      expect((await apiJson("POST", `/api/v1/namespaces/${ns}/services`, service("inner"))).status).toBe(201);
      await runningPod(ns, "front-1", "front", "edge-node-2", "10.244.8.2");
      await runningPod(ns, "inner-1", "inner", "edge-node-2", "10.244.8.3");
      expect((await postIngress(ns, ingress("bare", [rule(undefined, [{ path: "/", service: "inner" }])]))).status).toBe(201);
      await settle(ns);
      const svc = await eventually(async () => {
        const s = (await apiJson("GET", `/api/v1/namespaces/${ns}/services/front`)).body;
        expect(s.status.loadBalancer.ingress).toEqual([{ hostname: "front.edge-lb.lb.edgeplane.localhost" }]);
        return s;
      }, () => settle(ns));
      expect(svc.spec.type).toBe("LoadBalancer");
      const ing = await eventually(async () => {
        const i = (await apiJson("GET", `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/bare`)).body;
        expect(i.status.loadBalancer.ingress).toEqual([{ hostname: "bare.edge-lb.ingress.edgeplane.localhost" }]);
        return i;
      }, () => settle(ns));
      expect(ing.metadata.name).toBe("bare");
      const table = await apiJson("GET", `/api/v1/namespaces/${ns}/services`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
      const row = table.body.rows.find((r: { cells: string[] }) => r.cells[0] === "front");
      expect(row.cells[3]).toBe("front.edge-lb.lb.edgeplane.localhost");

      const lb = await eventually(async () => {
        const r = await edge("front.edge-lb.lb.edgeplane.localhost:8443", "/hello");
        expect(r.text).toBe("GET 10.244.8.2:8080/hello");
        return r;
      });
      expect(lb.text).toBe("GET 10.244.8.2:8080/hello");
      // Flow control: what the client read is acknowledged to the agent in 256 KiB batches.
      const big = await edge("front.edge-lb.lb.edgeplane.localhost", "/big");
      expect(big.text.length).toBe(24 * 64 * 1024);
      await eventually(async () => expect(agent.acks.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 64 * 1024 - 256 * 1024));
      expect(Math.min(...agent.acks)).toBeGreaterThanOrEqual(256 * 1024);
      // A ClusterIP Service has no edge name.
      expect((await edge("inner.edge-lb.lb.edgeplane.localhost", "/")).status).toBe(404);
      // The Ingress's own name serves its rules without a host.
      expect((await edge("bare.edge-lb.ingress.edgeplane.localhost", "/x")).text).toBe("GET 10.244.8.3:8080/x");
      // Back to ClusterIP: the hostname goes from status.
      const back = await apiJson("PATCH", `/api/v1/namespaces/${ns}/services/front`, { spec: { type: "ClusterIP" } }, { contentType: "application/merge-patch+json" });
      expect(back.status).toBe(200);
      await settle(ns);
      await eventually(async () => {
        const s = (await apiJson("GET", `/api/v1/namespaces/${ns}/services/front`)).body;
        expect(s.status.loadBalancer).toEqual({});
      }, () => settle(ns));
    } finally {
      agent.close();
    }
  });
});
