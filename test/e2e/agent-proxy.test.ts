import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { noProxyMatches, proxyFor } from "../../src/agent/proxy-env.ts";
import { PROJECT_ROOT, type LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, ok, startCluster, waitForObject as waitFor, waitForOutput } from "./cluster.ts";

/**
 * The agent behind an HTTP proxy: the environment's choice of proxy (pure), then an agent
 * process started with HTTPS_PROXY pointing at a tiny CONNECT proxy in this test (loopback; it
 * counts tunnels and the targets asked for): the node registers, a pod runs, `kubectl logs`
 * comes through the agent's tunnel WebSocket, and every connection the agent made went through
 * the proxy to the API server's host:port. With NO_PROXY naming the host, none does.
 */

describe("proxy environment (pure)", () => {
  it("HTTPS_PROXY / https_proxy for https and wss, NO_PROXY hosts, domains, IPs, CIDRs and ports", () => {
    const env = { HTTPS_PROXY: "proxy.local:3128", NO_PROXY: "internal.example,10.0.0.0/8,.svc,api.example:8443" };
    assert.equal(proxyFor(new URL("https://api.example.com"), env)?.href, "http://proxy.local:3128/");
    assert.equal(proxyFor(new URL("wss://api.example.com/tunnel"), env)?.host, "proxy.local:3128");
    assert.equal(proxyFor(new URL("http://api.example.com"), env), undefined, "HTTP_PROXY is not set");
    assert.equal(proxyFor(new URL("https://internal.example"), env), undefined);
    assert.equal(proxyFor(new URL("https://a.b.internal.example"), env), undefined, "subdomains of a NO_PROXY host");
    assert.equal(proxyFor(new URL("https://10.3.4.5:6443"), env), undefined, "CIDR");
    assert.equal(proxyFor(new URL("https://11.3.4.5"), env)?.hostname, "proxy.local");
    assert.equal(proxyFor(new URL("https://x.svc"), env), undefined);
    assert.equal(proxyFor(new URL("https://api.example:8443"), env), undefined, "host:port entry, same port");
    assert.equal(proxyFor(new URL("https://api.example:9443"), env)?.hostname, "proxy.local", "host:port entry, other port");
    assert.equal(proxyFor(new URL("https://127.0.0.1:8443"), { https_proxy: "http://u:p@127.0.0.1:1" })?.username, "u", "lower case, loopback not excluded by itself");
    assert.equal(proxyFor(new URL("https://anything"), { HTTPS_PROXY: "http://p:1", no_proxy: "*" }), undefined);
    assert.equal(noProxyMatches("example.com", "notexample.com", "443"), false);
    assert.equal(noProxyMatches("*.example.com", "a.example.com", "443"), true);
    assert.throws(() => proxyFor(new URL("https://x"), { HTTPS_PROXY: "socks5://p:1" }), /only http:\/\/ and https:\/\/ proxies/);
  });
});

/** A CONNECT-only proxy on loopback that counts tunnels by target. */
function startProxy(): Promise<{ server: Server; port: number; targets: string[] }> {
  const targets: string[] = [];
  const server = createServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      const m = /^CONNECT (\S+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString("latin1"));
      if (!m) return void client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      targets.push(`${m[1]}:${m[2]}`);
      const upstream = connect(Number(m[2]), m[1], () => {
        client.write("HTTP/1.1 200 Connection established\r\n\r\n");
        const rest = head.subarray(end + 4);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    };
    client.on("data", onData);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port, targets })));
}

describe("node agent behind an HTTP proxy", () => {
  let cluster: LocalCluster;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const agents: ChildProcess[] = [];

  const startAgentProcess = (name: string, env: Record<string, string>) => {
    const child = spawn(
      join(PROJECT_ROOT, "node_modules", ".bin", "node"),
      ["--import", "tsx", join(PROJECT_ROOT, "src", "cli", "main.ts"), "agent", "--server", cluster.url, "--token", cluster.token, "--name", name, "--runtime", "process", "--data-dir", mkdtempSync(join(tmpdir(), "edgeplane-proxy-"))],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, HTTPS_PROXY: "", https_proxy: "", NO_PROXY: "", no_proxy: "", ...env } },
    );
    agents.push(child);
    return child;
  };

  before(async () => {
    proxy = await startProxy();
    cluster = await startCluster();
  });

  after(async () => {
    await Promise.all(
      agents.map((a) => {
        const exited = new Promise((r) => a.once("exit", r));
        a.kill("SIGTERM");
        return exited;
      }),
    );
    await cluster?.stop();
    proxy?.server.close();
  });

  it("registers, runs a pod and serves its logs through the proxy; NO_PROXY bypasses it", async () => {
    const api = new URL(cluster.url).host;
    startAgentProcess("proxied", { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` });
    await waitFor(cluster, ["node", "proxied"], (n) => n?.status?.conditions?.some((c: Record<string, string>) => c.type === "Ready" && c.status === "True"), "proxied node Ready", 60_000);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "hello" }, spec: { nodeName: "proxied", restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "echo through-the-proxy"] }] } };
    assert.equal((await kubectl(cluster, ["apply", "-f", "-"], { input: JSON.stringify(pod) })).code, 0);
    await waitFor(cluster, ["pod", "hello"], (o) => o?.status?.phase === "Succeeded", "hello Succeeded", 60_000);
    // kubectl logs goes from the Worker to the agent through its tunnel WebSocket, which went through the proxy.
    await waitForOutput(cluster, ["logs", "hello"], (o) => o === "through-the-proxy\n", 30_000);
    assert.ok(proxy.targets.length >= 2, `API calls and the tunnel went through the proxy (${proxy.targets.length} tunnels)`);
    assert.deepEqual([...new Set(proxy.targets)], [api], "every tunnel was to the API server");

    const before = proxy.targets.length;
    startAgentProcess("direct", { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: "localhost,127.0.0.1" });
    await waitFor(cluster, ["node", "direct"], (n) => n?.status?.conditions?.some((c: Record<string, string>) => c.type === "Ready" && c.status === "True"), "direct node Ready", 60_000);
    assert.ok(ok(await kubectl(cluster, ["get", "node", "direct"])).includes("Ready"));
    assert.equal(proxy.targets.length, before, "NO_PROXY: no tunnel through the proxy");
  });
});
