import { sql } from "drizzle-orm";
import { isDefaultClass } from "../resources/storageclass.ts";
import type { KubeObject } from "../resources/types.ts";
import type { Db } from "./revision-log.ts";

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
