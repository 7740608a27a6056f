/**
 * Service-account tokens whose bound objects (ServiceAccount, pod) were found alive, remembered
 * per isolate for a few seconds, as opaque tokens' lookups are (authn.ts): a busy workload costs
 * no D1 read per request. Deleting a ServiceAccount or pod forgets its entries in this isolate at
 * once (ObjectStore.delete); other isolates notice within BOUND_CACHE_MS. No imports: the store uses it.
 */

export const BOUND_CACHE_MS = 10_000;
const MAX_ENTRIES = 10_000;
const alive = new Map<string, number>();

const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** The cache key of a token's bound objects ("ns/sa@uid" and "ns/pod@uid"). */
export const boundKey = (namespace: string, sa: { name: string; uid: string }, pod?: { name: string; uid: string }) =>
  [`${objectKey(namespace, sa.name)}@${sa.uid}`, ...(pod ? [`${objectKey(namespace, pod.name)}@${pod.uid}`] : [])].join(" ");

export function isKnownAlive(key: string, now: number): boolean {
  const until = alive.get(key);
  return until !== undefined && until > now;
}

export function rememberAlive(key: string, now: number): void {
  if (alive.size >= MAX_ENTRIES) alive.clear();
  alive.set(key, now + BOUND_CACHE_MS);
}

/** Forgets every entry naming this ServiceAccount or pod (its deletion revokes its tokens here at once). */
export function forgetBoundObject(namespace: string, name: string): void {
  const needle = `${objectKey(namespace, name)}@`;
  for (const key of alive.keys()) if (key.split(" ").some((part) => part.startsWith(needle))) alive.delete(key);
}
