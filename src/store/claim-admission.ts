import { sql } from "drizzle-orm";
import { forbidden } from "../api/errors.ts";
import { storageClassOf } from "../resources/persistentvolume.ts";
import { compareQuantities } from "../resources/quantity.ts";
import { isDefaultClass } from "../resources/storageclass.ts";
import type { KubeObject } from "../resources/types.ts";
import { getRow, objectKey, type Db } from "./revision-log.ts";

/**
 * DefaultStorageClass admission for a PersistentVolumeClaim being created: a claim that names
 * no class (spec.storageClassName absent, not "") gets the default StorageClass's name, the
 * newest one when several are marked default, as Kubernetes' plugin does. No default class:
 * the claim is left as it is. One read of the StorageClasses, only for such claims.
 */
export async function admitClaimStorageClass(db: Db, pvc: KubeObject): Promise<void> {
  const spec = (pvc.spec ?? {}) as { storageClassName?: string | null };
  if (typeof spec.storageClassName === "string") return;
  if (pvc.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] !== undefined) return;
  const rows = await db.all<{ value: string }>(sql`SELECT value FROM objects WHERE resource = 'storage.k8s.io/storageclasses'`);
  const defaults = rows
    .map((r) => JSON.parse(r.value) as KubeObject)
    .filter(isDefaultClass)
    .sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  if (defaults.length === 0) return;
  spec.storageClassName = defaults[0].metadata.name;
  pvc.spec = spec;
}

/**
 * PersistentVolumeClaimResize admission for a claim being updated: its storage request may
 * grow only when it is bound and its StorageClass has `allowVolumeExpansion: true` (one read of
 * the class, only for a growing request); otherwise 403 with Kubernetes' message. Nothing here
 * expands a volume: with such a class the claim records the request, its capacity stays.
 */
export async function admitClaimResize(db: Db, pvc: KubeObject, old: KubeObject): Promise<void> {
  const request = (o: KubeObject) => (o.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests?.storage;
  if (!(compareQuantities(request(pvc), request(old)) > 0)) return;
  const cls = storageClassOf(old);
  const row = cls ? await getRow(db, objectKey("storage.k8s.io/storageclasses", "", cls)) : undefined;
  if (row && (JSON.parse(row.value) as { allowVolumeExpansion?: boolean }).allowVolumeExpansion === true) return;
  throw forbidden(
    `persistentvolumeclaims "${pvc.metadata.name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
  );
}
