import type { KubeObject, ResourceKind } from "../resources/types.ts";

/**
 * StorageObjectInUseProtection admission, as Kubernetes' plugin of that name: a
 * PersistentVolumeClaim is created with the `kubernetes.io/pvc-protection` finalizer and a
 * PersistentVolume with `kubernetes.io/pv-protection`, so deleting one that is in use leaves
 * it Terminating until the protection controllers (src/controllers/pvc-protection.ts, the
 * cluster's volume controller) see it unused and remove the finalizer.
 */

export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";

/** The protection finalizer of a kind (undefined: not a storage object). */
export function protectionFinalizerOf(kind: ResourceKind): string | undefined {
  if (kind.group !== "") return undefined;
  if (kind.kind === "PersistentVolumeClaim") return PVC_PROTECTION_FINALIZER;
  if (kind.kind === "PersistentVolume") return PV_PROTECTION_FINALIZER;
  return undefined;
}

/** Adds the kind's protection finalizer to an object being created (once). */
export function admitStorageProtection(kind: ResourceKind, obj: KubeObject): void {
  const finalizer = protectionFinalizerOf(kind);
  if (!finalizer) return;
  const finalizers = obj.metadata.finalizers ?? [];
  if (!finalizers.includes(finalizer)) obj.metadata.finalizers = [...finalizers, finalizer];
}

/** The object without `finalizer` (a copy); the store deletes an object being deleted with its last finalizer. */
export function withoutFinalizer(obj: KubeObject, finalizer: string): KubeObject {
  const next = structuredClone(obj);
  next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  return next;
}

/** The object with `finalizer` added (a copy). */
export function withFinalizer(obj: KubeObject, finalizer: string): KubeObject {
  const next = structuredClone(obj);
  next.metadata.finalizers = [...(next.metadata.finalizers ?? []), finalizer];
  return next;
}
