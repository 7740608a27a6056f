import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeFrame, decodeJson, encodeFrame, encodeJson, FrameType, type LogRequest } from "../../src/tunnel/frames.ts";
import { ADMIN_TOKEN, BASE, apiJson, api, createNamespace } from "./helpers.ts";

const worker = () => (exports as unknown as { default: Fetcher }).default;

const pod = (name: string, nodeName?: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    containers: [
      { name: "main", image: "busybox", command: ["sleep", "3600"] },
      { name: "side", image: "busybox", command: ["sleep", "3600"] },
    ],
  },
});

/** Opens a node's tunnel as its agent would; returns the accepted client end. */
async function connect(node: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; ws?: WebSocket; body?: any }> {
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await worker().fetch(`${BASE}/tunnel/nodes/${node}`, { headers });
  if (res.status !== 101) return { status: res.status, body: await res.json() };
  const ws = res.webSocket!;
  ws.accept();
  return { status: 101, ws };
}

describe("pods/log and pods/exec through node tunnels", () => {
  it("answers 503 quickly when the pod's node has no tunnel", async () => {
    await createNamespace("tl1");
    await apiJson("POST", "/api/v1/namespaces/tl1/pods", pod("p", "offline-node"));
    const r = await apiJson("GET", "/api/v1/namespaces/tl1/pods/p/log?container=main");
    expect(r.status).toBe(503);
    expect(r.body.reason).toBe("ServiceUnavailable");
    expect(r.body.message).toBe('node "offline-node" is not connected: its agent has no tunnel to the control plane (the node may be offline)');
  });

  it("refuses a missing container with 400 and the pod's containers, an unscheduled pod, bad parameters", async () => {
    await createNamespace("tl2");
    await apiJson("POST", "/api/v1/namespaces/tl2/pods", pod("p", "n1"));
    await apiJson("POST", "/api/v1/namespaces/tl2/pods", pod("q"));
    const missing = await apiJson("GET", "/api/v1/namespaces/tl2/pods/p/log?container=nope");
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("container nope is not valid for pod p");
    expect(missing.body.details.causes.map((c: { message: string }) => c.message)).toEqual(["container main is valid", "container side is valid"]);
    const unnamed = await apiJson("GET", "/api/v1/namespaces/tl2/pods/p/log");
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.message).toBe("a container name must be specified for pod p, choose one of: [main side]");
    const execMissing = await apiJson("GET", "/api/v1/namespaces/tl2/pods/p/exec?container=nope&command=true&stdout=true");
    expect(execMissing.status).toBe(400);
    expect(execMissing.body.message).toBe("container nope is not valid for pod p");
    const unscheduled = await apiJson("GET", "/api/v1/namespaces/tl2/pods/q/log?container=main");
    expect(unscheduled.status).toBe(400);
    expect(unscheduled.body.message).toBe("pod q does not have a host assigned");
    const tail = await apiJson("GET", "/api/v1/namespaces/tl2/pods/p/log?container=main&tailLines=-1");
    expect(tail.status).toBe(400);
    expect(tail.body.message).toBe('tailLines must be an integer >= 0, got "-1"');
    const gone = await apiJson("GET", "/api/v1/namespaces/tl2/pods/nope/log");
    expect(gone.status).toBe(404);
  });

  it("lets only the admin or the node itself open a node's tunnel", async () => {
    expect((await connect("n-auth", null)).status).toBe(401);
    const plain = await apiJson("POST", "/edgeplane/v1/tenants", { name: "tunnel-tenant", namespaces: ["tunnel-tenant-ns"] });
    expect(plain.status).toBe(201);
    const tenantToken = (plain.body as { token: string }).token;
    const refused = await connect("n-auth", tenantToken);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/a node may only open its own tunnel/);
    const notUpgrade = await api("GET", "/tunnel/nodes/n-auth");
    expect(notUpgrade.status).toBe(400);
  });

  it("serves a log through a connected agent, and relays the agent's refusal as the Status", async () => {
    await createNamespace("tl3");
    await apiJson("POST", "/api/v1/namespaces/tl3/pods", pod("p", "n-live"));
    const { ws } = await connect("n-live");
    const seen: LogRequest[] = [];
    let queue = Promise.resolve();
    ws!.addEventListener("message", (e) => {
      queue = queue.then(async () => {
      // The client end of a WebSocket here delivers binary messages as Blobs.
      const data = e.data instanceof Blob ? await e.data.arrayBuffer() : (e.data as ArrayBuffer);
      const f = decodeFrame(data);
      if (f.type !== FrameType.Open) return;
      const req = decodeJson<LogRequest>(f.payload);
      seen.push(req);
      if (req.pod.container === "side") {
        ws!.send(encodeJson(FrameType.Reject, f.stream, { code: 400, reason: "BadRequest", message: 'container "side" in pod "p" is waiting to start: ContainerCreating' }));
        return;
      }
      ws!.send(encodeFrame(FrameType.Accept, f.stream));
      ws!.send(encodeFrame(FrameType.Data, f.stream, new TextEncoder().encode("line 1\n")));
      ws!.send(encodeFrame(FrameType.Data, f.stream, new TextEncoder().encode("line 2\n")));
      ws!.send(encodeFrame(FrameType.End, f.stream));
    });
    });
    const res = await api("GET", "/api/v1/namespaces/tl3/pods/p/log?container=main&tailLines=2&timestamps=true&sinceSeconds=60");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("line 1\nline 2\n");
    expect(seen[0].pod).toMatchObject({ namespace: "tl3", name: "p", container: "main" });
    expect(seen[0].options).toMatchObject({ follow: false, previous: false, timestamps: true, tailLines: 2 });
    expect(typeof seen[0].options.sinceMs).toBe("number");
    const refused = await apiJson("GET", "/api/v1/namespaces/tl3/pods/p/log?container=side");
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('container "side" in pod "p" is waiting to start: ContainerCreating');
    ws!.close(1000, "done");
  });

  it("authorizes exec, attach and port-forward upgrades as create; a refusal is a plain response, never a half-open socket", async () => {
    await createNamespace("tl4");
    const created = await apiJson("POST", "/api/v1/namespaces/tl4/pods", pod("p", "offline-node-4"));
    const running = { ...created.body, status: { phase: "Running", podIP: "10.0.0.9" } };
    expect((await apiJson("PUT", "/api/v1/namespaces/tl4/pods/p/status", running)).status).toBe(200);
    const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/tl4";
    const role = (name: string, verbs: string[]) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name },
      rules: [{ apiGroups: [""], resources: ["pods", "pods/exec", "pods/attach", "pods/portforward"], verbs }],
    });
    const binding = (name: string, user: string) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
    for (const [name, verbs, user] of [["readers", ["get"], "reader"], ["streamers", ["get", "create"], "streamer"]] as const) {
      expect((await apiJson("POST", `${rbac}/roles`, role(name, [...verbs]))).status).toBe(201);
      expect((await apiJson("POST", `${rbac}/rolebindings`, binding(name, user))).status).toBe(201);
    }
    const upgrade = (user: string, path: string, protocol: string) =>
      worker().fetch(`${BASE}/api/v1/namespaces/tl4/pods/p/${path}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "impersonate-user": user, upgrade: "websocket", "sec-websocket-protocol": protocol },
      });
    const sessions = [
      ["exec?container=main&command=sh&stdout=true", "v5.channel.k8s.io"],
      ["attach?container=main&stdout=true", "v5.channel.k8s.io"],
      ["portforward", "SPDY/3.1+portforward.k8s.io"],
    ];
    for (const [path, protocol] of sessions) {
      const denied = await upgrade("reader", path, protocol);
      expect(denied.status).toBe(403);
      expect(denied.webSocket).toBeNull();
      expect(((await denied.json()) as { reason: string }).reason).toBe("Forbidden");
      const allowed = await upgrade("streamer", path, protocol);
      expect(allowed.status).toBe(503); // past authorization: the node is not connected
      expect(allowed.webSocket).toBeNull();
      expect(((await allowed.json()) as { message: string }).message).toMatch(/node "offline-node-4" is not connected/);
    }
    const wrongProtocol = await upgrade("streamer", "portforward", "v4.channel.k8s.io");
    expect(wrongProtocol.status).toBe(400);
    expect(wrongProtocol.webSocket).toBeNull();
  });
});
