import { sql } from "drizzle-orm";
import type { Env } from "../env.ts";
import { kindForStorage } from "../resources/index.ts";
import { namespaceKind } from "../resources/namespace.ts";
import type { KubeObject } from "../resources/types.ts";
import { materialize } from "../store/hub.ts";
import { ObjectStore } from "../store/object-store.ts";
import { openDb } from "../store/revision-log.ts";
import { reconcileNamespace } from "./namespace-lifecycle.ts";
import { ApiError } from "../api/errors.ts";

/**
 * Cluster-scoped controller work, driven by the cluster hub's alarm: observe the
 * terminating namespaces, reconcile each, act. Says whether it acted (so the hub
 * runs again at once) or is waiting for others (objects with finalizers: retry soon).
 */
export async function reconcileTerminatingNamespaces(env: Env): Promise<{ acted: boolean; waiting: boolean }> {
  const db = openDb(env.DB);
  const store = new ObjectStore(env);
  const rows = await db.all<{ rev: number; value: string }>(sql`SELECT rev, value FROM objects
    WHERE resource = 'core/namespaces' AND json_extract(value, '$.metadata.deletionTimestamp') IS NOT NULL`);
  let waiting = false;
  let acted = false;
  for (const row of rows) {
    const namespace = materialize(row.value, row.rev);
    const name = namespace.metadata.name!;
    const contents = (
      await db.all<{ key: string; rev: number; value: string; resource: string }>(
        sql`SELECT key, rev, value, resource FROM objects WHERE namespace = ${name} ORDER BY key LIMIT 200`,
      )
    ).map((r) => ({ key: r.key, rev: r.rev, resource: r.resource, object: materialize(r.value, r.rev) }));
    for (const action of reconcileNamespace({ namespace, contents, now: Date.now() })) {
      if (action.type !== "wait") acted = true;
      try {
        switch (action.type) {
          case "mark-terminating":
            await store.modify(namespaceKind, "", name, (ns) => {
              ns.status = { ...((ns.status as object) ?? {}), phase: "Terminating" };
              return ns;
            }, { part: "all" });
            break;
          case "delete-object": {
            const c = contents.find((x) => x.key === action.key)!;
            const kind = kindForStorage(c.resource);
            if (kind) await store.delete(kind, name, c.object.metadata.name!, { gracePeriodSeconds: 0 });
            break;
          }
          case "remove-namespace":
            await store.modify(namespaceKind, "", name, (ns) => {
              (ns.spec as { finalizers?: string[] } | undefined)?.finalizers?.splice(0);
              ns.metadata.finalizers = [];
              return ns;
            }, { part: "all" });
            break;
          case "wait":
            waiting = true;
            break;
        }
      } catch (e) {
        // Someone else changed or removed it first: the next round sees the new state.
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
        waiting = true;
      }
    }
  }
  return { acted, waiting };
}

export type { KubeObject };
