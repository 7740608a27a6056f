import { Agent, type AgentOptions, type RequestOptions } from "node:https";
import type { Duplex } from "node:stream";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { proxyFor } from "./proxy-env.ts";

/**
 * HTTPS through an HTTP proxy: each connection is a CONNECT tunnel through the proxy
 * (`CONNECT host:port`, Proxy-Authorization from the proxy URL's user:password), then TLS to
 * the API server inside it, so the proxy sees only the host and port. Used for the agent's API
 * calls and its tunnel WebSocket when proxy-env.ts picks a proxy.
 */

/** Opens a CONNECT tunnel through `proxy` to host:port; resolves with the raw socket once the proxy said 200. */
export function connectTunnel(proxy: URL, host: string, port: number, timeoutMs = 15_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const proxyPort = Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80));
    const socket: Socket =
      proxy.protocol === "https:" ? tlsConnect({ host: proxy.hostname, port: proxyPort, servername: proxy.hostname }) : netConnect({ host: proxy.hostname, port: proxyPort });
    const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}\r\n` : "";
    let head = Buffer.alloc(0);
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`proxy ${proxy.host}: CONNECT ${target} timed out`)));
    socket.once("error", (e) => fail(new Error(`proxy ${proxy.host}: ${e.message}`)));
    socket.once(proxy.protocol === "https:" ? "secureConnect" : "connect", () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`));
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 16_384) fail(new Error(`proxy ${proxy.host}: answer to CONNECT too long`));
        return;
      }
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.removeAllListeners("error");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString("latin1"));
      if (status?.[1] !== "200") return fail(new Error(`proxy ${proxy.host}: CONNECT ${target}: ${head.subarray(0, end).toString("latin1").split("\r\n")[0]}`));
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** An https.Agent whose connections go through a CONNECT tunnel. */
export class ProxyAgent extends Agent {
  constructor(
    readonly proxy: URL,
    opts: AgentOptions,
  ) {
    super(opts);
  }

  override createConnection(req: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const options = req as ConnectionOptions & { host?: string; port?: number; servername?: string };
    const host = options.host ?? "localhost";
    connectTunnel(this.proxy, host, Number(options.port ?? 443)).then(
      (raw) => {
        const servername = options.servername || (/^[\d.]+$|:/.test(host) ? undefined : host);
        const tls = tlsConnect({ ...options, socket: raw, ...(servername ? { servername } : {}) });
        callback?.(null, tls);
      },
      (e: Error) => callback?.(e, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** An agent for this https target: through the environment's proxy when one applies, else a plain one. */
export function httpsAgentFor(target: URL, opts: AgentOptions, env: Record<string, string | undefined> = process.env): Agent {
  const proxy = proxyFor(target, env);
  return proxy ? new ProxyAgent(proxy, opts) : new Agent(opts);
}
