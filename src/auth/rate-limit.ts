import { tooManyRequests } from "../api/errors.ts";
import { numberSetting, type Env } from "../env.ts";
import type { UserInfo } from "./authn.ts";
import { isSuperuser } from "./authorizer.ts";
import { NODES_GROUP } from "./node-authorizer.ts";

/**
 * Abuse limits per identity (the authenticated user; after impersonation, the impersonated one):
 * a request rate (token bucket) and a number of open watches, both counted by the identity's
 * IdentityLimiter Durable Object so they hold across isolates. The hot path stays cheap: an isolate
 * takes tokens in grants of up to a tenth of a second's worth and spends them locally, so a busy
 * identity costs one limiter call per grant, not per request (unspent tokens lapse after a second).
 * The admin (system:masters) and nodes (system:nodes) are exempt. If the limiter cannot be reached
 * the request goes on (fail open) and the error is logged.
 */

export interface Limits {
  qps: number;
  burst: number;
  maxWatches: number;
}

export const limitsOf = (env: Env): Limits => ({
  qps: numberSetting(env.RATE_LIMIT_QPS, 100),
  burst: numberSetting(env.RATE_LIMIT_BURST, 1000),
  maxWatches: numberSetting(env.MAX_WATCHES_PER_IDENTITY, 100),
});

export const isExempt = (user: UserInfo) => isSuperuser(user) || user.groups.includes(NODES_GROUP);

/** How many tokens an isolate takes at once: at most a tenth of a second's rate or a twentieth of the burst. */
export const grantSize = (l: Limits) => Math.max(1, Math.min(Math.floor(l.burst / 20), Math.ceil(l.qps / 10)));

const GRANT_MS = 1000;
const MAX_GRANTS = 10_000;
/** The longest a watch may stay open (src/api/watch.ts caps timeoutSeconds at 3600) plus slack. */
export const WATCH_LEASE_MS = 3660 * 1000;

const grants = new Map<string, { tokens: number; until: number }>();

const limiterOf = (env: Env, user: UserInfo) => env.LIMITER.get(env.LIMITER.idFromName(`user:${user.username}`));

const refuse = (retryAfterMs: number) =>
  tooManyRequests(
    "Too many requests, please try again later: the request rate of this identity is above its limit",
    Math.max(1, Math.ceil(retryAfterMs / 1000)),
  );

/** Spends one request token of the user's; 429 TooManyRequests (with Retry-After) when none is left. */
export async function admitRequest(env: Env, user: UserInfo, now = Date.now()): Promise<void> {
  if (isExempt(user)) return;
  const local = grants.get(user.username);
  if (local && local.tokens > 0 && local.until > now) {
    local.tokens--;
    return;
  }
  const limits = limitsOf(env);
  let r: { granted: number; retryAfterMs: number };
  try {
    r = await limiterOf(env, user).take(grantSize(limits), limits.qps, limits.burst);
  } catch (e) {
    console.error("rate limit: limiter unreachable:", e instanceof Error ? e.message : String(e));
    return;
  }
  if (r.granted === 0) {
    grants.delete(user.username);
    throw refuse(r.retryAfterMs);
  }
  if (grants.size >= MAX_GRANTS) grants.clear();
  grants.set(user.username, { tokens: r.granted - 1, until: now + GRANT_MS });
}

/**
 * Counts one more open watch of the user's; 429 when the limit is reached. Returns the release
 * to call when the watch ends (undefined for exempt users).
 */
export async function admitWatch(env: Env, user: UserInfo): Promise<(() => void) | undefined> {
  if (isExempt(user)) return undefined;
  const limiter = limiterOf(env, user);
  const max = limitsOf(env).maxWatches;
  let lease: string | undefined;
  try {
    lease = await limiter.openWatch(max, WATCH_LEASE_MS);
  } catch (e) {
    console.error("watch limit: limiter unreachable:", e instanceof Error ? e.message : String(e));
    return undefined;
  }
  if (lease === undefined)
    throw tooManyRequests(`Too many requests: this identity already has ${max} watches open; close one or try again later`, 5);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    limiter.closeWatch(lease).catch(() => {});
  };
}

/**
 * The response with `release` called once its body ends, is cancelled by the client, or at
 * once when there is no body to stream (an error answer).
 */
export function releaseWhenDone(res: Response, release: () => void): Response {
  if (!res.body || res.status !== 200) {
    release();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        release();
        controller.error(e);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, headers: res.headers, encodeBody: "manual" });
}
