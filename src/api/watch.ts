import { groupVersion, shownAs, storageResource } from "../resources/index.ts";
import type { KubeObject } from "../resources/types.ts";
import type { Env } from "../env.ts";
import { hubName, type WatchSpec } from "../store/hub.ts";
import { badRequest } from "./errors.ts";
import { parseFilter } from "./selectors.ts";
import { toTable } from "./table.ts";
import type { Target } from "./target.ts";

/** GET ...?watch=1: the stream comes from the namespace's hub (or the cluster hub for -A). */

export async function watchResponse(
  env: Env,
  target: Target,
  q: URLSearchParams,
  opts: { table: boolean; includeObject: string | null; allow?: (obj: KubeObject) => boolean },
): Promise<Response> {
  const timeoutRaw = q.get("timeoutSeconds");
  let timeoutSeconds = 1800 + Math.floor(Math.random() * 1800);
  if (timeoutRaw !== null) {
    const t = Number(timeoutRaw);
    if (!Number.isInteger(t) || t < 0) throw badRequest(`timeoutSeconds must be a non-negative integer, got "${timeoutRaw}"`);
    if (t > 0) timeoutSeconds = Math.min(t, 3600);
  }
  const rv = q.get("resourceVersion") ?? "";
  if (rv !== "" && !/^\d+$/.test(rv)) throw badRequest(`invalid resourceVersion "${rv}": must be a number`);
  const kind = target.kind;
  const spec: WatchSpec = {
    resource: storageResource(kind),
    namespace: target.allNamespaces ? undefined : target.namespace,
    labelSelector: q.get("labelSelector") ?? undefined,
    fieldSelector: q.get("fieldSelector") ?? undefined,
    resourceVersion: rv,
    allowBookmarks: q.get("allowWatchBookmarks") === "true",
    timeoutSeconds,
    apiVersion: groupVersion(kind),
    kind: kind.kind,
  };
  if (target.name) spec.fieldSelector = [spec.fieldSelector, `metadata.name=${target.name}`].filter(Boolean).join(",");
  // Bad selectors are refused here, before a stream exists (the hub would only fail inside it).
  parseFilter(spec.labelSelector, spec.fieldSelector);
  const name = target.allNamespaces ? hubName("") : hubName(target.namespace);
  const stub = env.HUB.get(env.HUB.idFromName(name));
  const upstream = await stub.fetch(`https://hub/watch?hub=${encodeURIComponent(name)}`, {
    method: "POST",
    body: JSON.stringify(spec),
  });
  let body = upstream.body!;
  if (opts.allow) body = body.pipeThrough(filterEvents(opts.allow));
  if (opts.table) body = body.pipeThrough(tableEvents(target, opts.includeObject));
  else if (target.kind.view) body = body.pipeThrough(mapEvents((e) => ({ type: e.type, object: shownAs(target.kind, e.object) })));
  // encodeBody "manual": the runtime would otherwise gzip the stream for clients that
  // accept it (client-go does) and hold events back until the buffer fills.
  return new Response(body, {
    headers: { "content-type": "application/json", "cache-control": "no-cache, private", "content-encoding": "identity" },
    encodeBody: "manual",
  });
}

interface WatchEvent {
  type: string;
  object: KubeObject;
}

const passes = (e: WatchEvent) => e.type === "ERROR" || e.type === "BOOKMARK";

/**
 * Rewrites or drops the newline-delimited events of a watch stream, one chunk in, one chunk
 * out (the hub already sends a commit's events together). BOOKMARK and ERROR pass untouched.
 */
function mapEvents(fn: (e: WatchEvent) => WatchEvent | undefined): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const each = (line: string): string | undefined => {
    const event = JSON.parse(line) as WatchEvent;
    if (passes(event)) return line;
    const out = fn(event);
    return out && JSON.stringify(out);
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const end = buffer.lastIndexOf("\n");
      if (end < 0) return;
      const lines = buffer
        .slice(0, end)
        .split("\n")
        .filter((l) => l.trim())
        .map(each)
        .filter((l): l is string => l !== undefined);
      buffer = buffer.slice(end + 1);
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
    },
  });
}

/** Each event's object as a one-row Table, as `kubectl get -w` asks. */
const tableEvents = (target: Target, includeObject: string | null) =>
  mapEvents((e) => ({ type: e.type, object: toTable(target.kind, [e.object], {}, includeObject) as unknown as KubeObject }));

/** Drops the events of objects the caller may not see (fixed when the watch starts). */
const filterEvents = (allow: (obj: KubeObject) => boolean) => mapEvents((e) => (allow(e.object) ? e : undefined));
