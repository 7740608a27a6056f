/**
 * Which proxy, if any, the agent uses for a URL, from the environment as curl and most tools
 * read it: HTTPS_PROXY / https_proxy for https:// and wss:// targets (HTTP_PROXY / http_proxy for
 * http://), unless NO_PROXY / no_proxy excludes the host: `*` excludes everything; each other
 * entry is a host name (matching it and its subdomains; a leading "." or "*." is the same),
 * an IP address, or an IPv4 CIDR, with an optional `:port`. Loopback is not excluded by itself
 * (list it in NO_PROXY). A proxy without a scheme is http://.
 */

export type Env = Record<string, string | undefined>;

const pick = (env: Env, name: string) => env[name.toUpperCase()] || env[name.toLowerCase()] || undefined;

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Whether a NO_PROXY entry covers this host and port. */
export function noProxyMatches(entry: string, host: string, port: string): boolean {
  let e = entry.trim().toLowerCase();
  if (!e) return false;
  if (e === "*") return true;
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(e);
  if (cidr) {
    const net = ipv4(cidr[1]);
    const ip = ipv4(h);
    const bits = Number(cidr[2]);
    if (net === undefined || ip === undefined || bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((net & mask) >>> 0) === ((ip & mask) >>> 0);
  }
  const portMatch = /^(.*[^:\]]):(\d+)$/.exec(e);
  if (portMatch && !e.startsWith("[")) {
    if (portMatch[2] !== port) return false;
    e = portMatch[1];
  }
  e = e.replace(/^\*?\./, "").replace(/^\[|\]$/g, "");
  return h === e || h.endsWith(`.${e}`);
}

/** The proxy for a target URL, or undefined to connect directly. */
export function proxyFor(target: URL, env: Env): URL | undefined {
  const secure = target.protocol === "https:" || target.protocol === "wss:";
  const raw = secure ? pick(env, "https_proxy") : pick(env, "http_proxy");
  if (!raw) return undefined;
  const port = target.port || (secure ? "443" : "80");
  const noProxy = pick(env, "no_proxy") ?? "";
  if (noProxy.split(",").some((e) => noProxyMatches(e, target.hostname, port))) return undefined;
  const proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  if (proxy.protocol !== "http:" && proxy.protocol !== "https:") throw new Error(`proxy ${raw}: only http:// and https:// proxies are supported`);
  return proxy;
}
