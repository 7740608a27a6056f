import type { Taint, Toleration } from "./types.ts";

/** Does a toleration tolerate a taint? An empty key with Exists tolerates everything; an empty effect every effect. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if ((t.operator || "Equal") === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

export function tolerationsOf(spec: Record<string, unknown>): Toleration[] {
  return (Array.isArray(spec.tolerations) ? spec.tolerations : []).filter(
    (t): t is Toleration => t !== null && typeof t === "object" && !Array.isArray(t),
  );
}

/** The first taint with one of `effects` that no toleration tolerates. */
export function firstUntolerated(taints: Taint[], tolerations: Toleration[], effects: string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !tolerations.some((t) => tolerates(t, taint)));
}
