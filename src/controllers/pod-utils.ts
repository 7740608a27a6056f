import type { KubeObject } from "../resources/types.ts";
import { controllerRef } from "./types.ts";

/**
 * Helpers shared by the workload reconcilers: pod readiness and availability,
 * active/terminating pods, semantic equality of templates, the pod-template-hash,
 * and building pods from templates. All pure.
 */

export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

// ---------------------------------------------------------------------------
// Small object helpers

export function isBeingDeleted(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** The uid of the object's controller (ownerReference with controller=true), if any. */
export function controllerUid(obj: KubeObject): string | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined. */
export function parseTime(ts: unknown): number | undefined {
  if (typeof ts !== "string" || ts === "") return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

/** RFC 3339 with second precision, as Kubernetes serializes metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Orders by creationTimestamp (oldest first), then name. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = parseTime(a.metadata.creationTimestamp) ?? 0;
  const tb = parseTime(b.metadata.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  return byName(a, b);
}

export function byName(a: KubeObject, b: KubeObject): number {
  const na = a.metadata.name ?? "";
  const nb = b.metadata.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Non-negative integer field or the fallback (used for replica counts). */
export function intOr(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : fallback;
}

// ---------------------------------------------------------------------------
// Pods

export function podPhase(pod: KubeObject): string {
  return ((pod.status as { phase?: string } | undefined)?.phase ?? "") as string;
}

export function isPodTerminating(pod: KubeObject): boolean {
  return isBeingDeleted(pod);
}

/** Active: not being deleted and not finished (Succeeded/Failed). Only active pods count as replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return !isPodTerminating(pod) && phase !== "Succeeded" && phase !== "Failed";
}

interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

export function podCondition(pod: KubeObject, type: string): PodCondition | undefined {
  const conds = (pod.status as { conditions?: PodCondition[] } | undefined)?.conditions;
  return Array.isArray(conds) ? conds.find((c) => c && c.type === type) : undefined;
}

/** Ready: the pod's Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, "Ready")?.status === "True";
}

/** When the pod last became ready (the Ready condition's lastTransitionTime), if it is ready. */
export function podReadySince(pod: KubeObject): number | undefined {
  const c = podCondition(pod, "Ready");
  return c?.status === "True" ? parseTime(c.lastTransitionTime) : undefined;
}

/**
 * Available: ready, and (with minReadySeconds > 0) ready for strictly longer than
 * minReadySeconds, judged by the Ready condition's lastTransitionTime.
 */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!(minReadySeconds > 0)) return true;
  const since = podReadySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 < now;
}

/**
 * Milliseconds until a ready-but-not-yet-available pod becomes available (so a
 * reconciler can ask to be woken), or undefined if that will not happen by waiting.
 */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  if (!(minReadySeconds > 0) || !isPodReady(pod) || isPodAvailable(pod, minReadySeconds, now)) return undefined;
  const since = podReadySince(pod);
  if (since === undefined) return undefined;
  return Math.max(1, since + minReadySeconds * 1000 - now + 1);
}

/** The earliest of several optional delays. */
export function minDelay(...delays: (number | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const d of delays) if (d !== undefined && (best === undefined || d < best)) best = d;
  return best;
}

/** Highest restart count of the pod's containers. */
export function maxContainerRestarts(pod: KubeObject): number {
  const statuses = (pod.status as { containerStatuses?: { restartCount?: number }[] } | undefined)?.containerStatuses ?? [];
  let max = 0;
  for (const s of statuses) max = Math.max(max, intOr(s?.restartCount, 0));
  return max;
}

/** A pod built from a workload's pod template, owned (controller) by `owner`. */
export function podFromTemplate(template: unknown, owner: KubeObject, namespace: string): KubeObject {
  const t = (template ?? {}) as { metadata?: Record<string, unknown>; spec?: unknown };
  const tm = t.metadata ?? {};
  const metadata: KubeObject["metadata"] = {
    generateName: `${owner.metadata.name}-`,
    namespace,
    labels: { ...((tm.labels as Record<string, string>) ?? {}) },
  };
  const annotations = tm.annotations as Record<string, string> | undefined;
  if (annotations && Object.keys(annotations).length) metadata.annotations = { ...annotations };
  const finalizers = tm.finalizers as string[] | undefined;
  if (Array.isArray(finalizers) && finalizers.length) metadata.finalizers = [...finalizers];
  metadata.ownerReferences = [controllerRef(owner)];
  return { apiVersion: "v1", kind: "Pod", metadata, spec: structuredClone(t.spec ?? {}) };
}

// ---------------------------------------------------------------------------
// Semantic equality and hashing

/**
 * The canonical form used for equality and hashing: keys sorted, and null/undefined,
 * empty objects and empty arrays dropped (Kubernetes' semantic equality treats an
 * empty map or list like an absent one; `creationTimestamp: null` in templates is common).
 * Returns undefined for values that vanish entirely.
 */
export function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    // Array elements keep their positions: a vanishing element becomes null.
    return value.map((v) => {
      const c = canonical(v);
      return c === undefined ? null : c;
    });
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const c = canonical((value as Record<string, unknown>)[key]);
      if (c !== undefined) out[key] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value) ?? null);
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function withoutHashLabel(template: unknown): unknown {
  if (!template || typeof template !== "object") return template;
  const t = template as { metadata?: { labels?: Record<string, string> } };
  const labels = t.metadata?.labels;
  if (!labels || !(POD_TEMPLATE_HASH_LABEL in labels)) return template;
  const rest = { ...labels };
  delete rest[POD_TEMPLATE_HASH_LABEL];
  return { ...t, metadata: { ...t.metadata, labels: rest } };
}

/** Are two pod templates equal, ignoring the pod-template-hash label? */
export function templatesEqualIgnoringHash(a: unknown, b: unknown): boolean {
  return semanticEqual(withoutHashLabel(a), withoutHashLabel(b));
}

/** FNV-1a, 32 bits, over bytes. */
export function fnv1a32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Kubernetes' "safe" alphabet for generated name parts: no vowels, no confusable characters. */
export const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Maps each character to the safe alphabet by its code (as Kubernetes renders hash values). */
export function safeEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/**
 * The pod-template-hash of a template: FNV-1a 32 over the canonical JSON of the
 * template (pod-template-hash label ignored), then, if set, the collision count as
 * 4 little-endian bytes; the decimal value rendered in the safe alphabet.
 */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  let h = fnv1a32(new TextEncoder().encode(canonicalJson(withoutHashLabel(template))));
  if (collisionCount !== undefined && collisionCount !== null) {
    const c = collisionCount >>> 0;
    h = fnv1a32(new Uint8Array([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, (c >>> 24) & 0xff]), h);
  }
  return safeEncode(String(h));
}
