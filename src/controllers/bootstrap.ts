import type { Env } from "../env.ts";
import { ApiError } from "../api/errors.ts";
import { namespaceKind } from "../resources/namespace.ts";
import { localPathClass, storageClassKind } from "../resources/storageclass.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { ObjectStore } from "../store/object-store.ts";

/** The namespaces every cluster has, as kube-apiserver's bootstrap controller ensures. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

let ensured: Promise<void> | undefined;

/** Creates the object unless it exists (someone else creating it first is fine). */
async function ensureObject(store: ObjectStore, kind: ResourceKind, obj: KubeObject): Promise<void> {
  if (await store.tryGet(kind, "", obj.metadata.name!)) return;
  kind.defaults?.(obj);
  try {
    await store.create(kind, obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
}

/**
 * Creates the system namespaces and the `local-path` StorageClass if missing; once per isolate
 * (a failure is retried on the next request). A deleted local-path class comes back then.
 */
export function ensureSystemNamespaces(env: Env): Promise<void> {
  ensured ??= (async () => {
    const store = new ObjectStore(env);
    for (const name of SYSTEM_NAMESPACES) {
      await ensureObject(store, namespaceKind, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      // namespaces made before service accounts existed get their default one here
      await store.ensureDefaultServiceAccount(name);
    }
    await ensureObject(store, storageClassKind, localPathClass());
  })().catch((e: unknown) => {
    ensured = undefined;
    throw e;
  });
  return ensured;
}
