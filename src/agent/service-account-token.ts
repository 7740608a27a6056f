import type { ApiClient } from "./api-client.ts";
import type { Pod } from "./container-record.ts";

/**
 * Service-account tokens for projected volumes, as the kubelet gets them: a TokenRequest with the
 * node's credential, bound to the pod (the node authorizer allows only pods bound to this node).
 * A token is kept until 80% of its lifetime has passed (at most 24 h), then requested anew,
 * so the file a container reads is refreshed well before the token expires.
 */

export interface TokenWant {
  serviceAccount: string;
  audience?: string;
  expirationSeconds?: number;
}

export type TokenSource = (pod: Pod, want: TokenWant) => Promise<string>;

interface Held {
  token: string;
  refreshAt: number;
}

/** When a token issued at `issuedAt` that expires at `expiresAt` is refreshed (pure). */
export function refreshTime(issuedAt: number, expiresAt: number): number {
  const life = Math.max(0, expiresAt - issuedAt);
  return issuedAt + Math.min(life * 0.8, 24 * 3600 * 1000);
}

export function tokenSource(api: ApiClient, clock: () => number = Date.now): { get: TokenSource; forget: (podUid: string) => void } {
  const held = new Map<string, Held>();
  const get: TokenSource = async (pod, want) => {
    const key = `${pod.metadata.uid}/${want.serviceAccount}/${want.audience ?? ""}/${want.expirationSeconds ?? ""}`;
    const now = clock();
    const h = held.get(key);
    if (h && now < h.refreshAt) return h.token;
    const { namespace, name, uid } = pod.metadata;
    const r = await api.call<{ status: { token: string; expirationTimestamp: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${want.serviceAccount}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          ...(want.audience ? { audiences: [want.audience] } : {}),
          ...(want.expirationSeconds ? { expirationSeconds: want.expirationSeconds } : {}),
          boundObjectRef: { kind: "Pod", apiVersion: "v1", name, uid },
        },
      },
    );
    held.set(key, { token: r.status.token, refreshAt: refreshTime(now, Date.parse(r.status.expirationTimestamp)) });
    return r.status.token;
  };
  const forget = (podUid: string) => {
    for (const k of held.keys()) if (k.startsWith(`${podUid}/`)) held.delete(k);
  };
  return { get, forget };
}
