import type { Env } from "../env.ts";
import { ApiError } from "../api/errors.ts";
import { namespaceKind } from "../resources/namespace.ts";
import { ObjectStore } from "../store/object-store.ts";

/** The namespaces every cluster has, as kube-apiserver's bootstrap controller ensures. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

let ensured: Promise<void> | undefined;

/** Creates the system namespaces if missing; once per isolate (a failure is retried on the next request). */
export function ensureSystemNamespaces(env: Env): Promise<void> {
  ensured ??= (async () => {
    const store = new ObjectStore(env);
    for (const name of SYSTEM_NAMESPACES) {
      if (await store.tryGet(namespaceKind, "", name)) continue;
      const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
      namespaceKind.defaults?.(ns);
      try {
        await store.create(namespaceKind, ns);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409)) throw e;
      }
    }
  })().catch((e: unknown) => {
    ensured = undefined;
    throw e;
  });
  return ensured;
}
