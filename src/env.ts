import type { NamespaceHub } from "./store/hub.ts";
import type { IdentityLimiter } from "./auth/identity-limiter.ts";
import type { NodeTunnel } from "./tunnel/node-tunnel.ts";

/** Bindings and settings of the Worker (wrangler.toml, `--var`, secrets). */
export interface Env {
  DB: D1Database;
  HUB: DurableObjectNamespace<NamespaceHub>;
  /** One per node ("node:<name>"): the end of its agent's tunnel. */
  TUNNEL: DurableObjectNamespace<NodeTunnel>;
  /** One per rate-limited identity ("user:<name>"): its request token bucket and open watches. */
  LIMITER: DurableObjectNamespace<IdentityLimiter>;
  /** SHA-256 (hex) of the bootstrap admin bearer token. */
  ADMIN_TOKEN_SHA256?: string;
  /** AES-256-GCM key (base64, 32 bytes) Secrets are encrypted with at rest; a Worker secret when hosted. */
  SECRETS_ENCRYPTION_KEY?: string;
  /** Earlier keys (comma-separated base64), still accepted for reads until Secrets are re-encrypted. */
  SECRETS_ENCRYPTION_OLD_KEYS?: string;
  /** ES256 key (PKCS#8, base64 DER or PEM) service-account tokens are signed with; a Worker secret when hosted. */
  SERVICE_ACCOUNT_SIGNING_KEY?: string;
  /** Retired signing keys (comma-separated, same format): still verify tokens and are published in the JWKS. */
  SERVICE_ACCOUNT_OLD_KEYS?: string;
  /** The `iss` of service-account tokens and the API's audience (default https://kubernetes.default.svc.cluster.local). */
  SERVICE_ACCOUNT_ISSUER?: string;
  /** The IPv4 range Services' cluster IPs come from (default 10.96.0.0/16; .1 is kept for the `kubernetes` Service). */
  SERVICE_CIDR?: string;
  /** Seconds between compactions of the revision log (default 300). */
  COMPACTION_INTERVAL_SECONDS?: string;
  /** How long Events live (default 3600). */
  EVENT_TTL_SECONDS?: string;
  /** The scheduler's scoring: "MostAllocated" (bin packing, default) or "LeastAllocated" (spread). */
  SCHEDULER_SCORING_STRATEGY?: string;
  /** Pods placed per scheduling round at most (default 2000; the rest go in the next round at once). */
  SCHEDULER_MAX_PODS_PER_ROUND?: string;
  /** Seconds without a node heartbeat (Lease renewal) before the node is Unknown and tainted unreachable (default 40). */
  NODE_MONITOR_GRACE_SECONDS?: string;
  /** Seconds between the node lifecycle controller's checks of the node leases (default 5). */
  NODE_MONITOR_PERIOD_SECONDS?: string;
  /** The edge's domain: LoadBalancer Services answer at <svc>.<ns>.lb.<domain> (default edgeplane.localhost). */
  EDGE_DOMAIN?: string;
  /** Host names (comma-separated) that are only the API's; unset: API paths reach the API on every host. */
  API_HOSTS?: string;
  /** "off": no audit log is written (for measuring its cost; default on). */
  AUDIT_LOG?: string;
  /** How long audit log entries are kept (default 604800, 7 days). */
  AUDIT_TTL_SECONDS?: string;
  /** Sustained requests per second per identity (admin and nodes are exempt; default 100). */
  RATE_LIMIT_QPS?: string;
  /** Requests an identity may make at once above the sustained rate (the bucket's size; default 1000). */
  RATE_LIMIT_BURST?: string;
  /** Watches one identity may hold open at once (admin and nodes are exempt; default 100). */
  MAX_WATCHES_PER_IDENTITY?: string;
}

export function numberSetting(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
}
