import { groupVersion, storageResource } from "../resources/index.ts";
import type { KubeObject } from "../resources/types.ts";
import type { Env } from "../env.ts";
import { hubName, type WatchSpec } from "../store/hub.ts";
import { badRequest } from "./errors.ts";
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
  const name = target.allNamespaces ? hubName("") : hubName(target.namespace);
  const stub = env.HUB.get(env.HUB.idFromName(name));
  const upstream = await stub.fetch(`https://hub/watch?hub=${encodeURIComponent(name)}`, {
    method: "POST",
    body: JSON.stringify(spec),
  });
  let body = upstream.body!;
  if (opts.allow) body = body.pipeThrough(filterEvents(opts.allow));
  if (opts.table) body = body.pipeThrough(tableEvents(target, opts.includeObject));
  // encodeBody "manual": the runtime would otherwise gzip the stream for clients that
  // accept it (client-go does) and hold events back until the buffer fills.
  return new Response(body, {
    headers: { "content-type": "application/json", "cache-control": "no-cache, private", "content-encoding": "identity" },
    encodeBody: "manual",
  });
}

/** Rewrites each event's object as a one-row Table, as `kubectl get -w` asks. */
function tableEvents(target: Target, includeObject: string | null): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const convert = (line: string) => {
    const event = JSON.parse(line) as { type: string; object: KubeObject };
    if (event.type === "ERROR" || event.type === "BOOKMARK") return line;
    const table = toTable(target.kind, [event.object], {}, includeObject);
    return JSON.stringify({ type: event.type, object: table });
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const end = buffer.lastIndexOf("\n");
      if (end < 0) return;
      const lines = buffer.slice(0, end).split("\n").filter((l) => l.trim());
      buffer = buffer.slice(end + 1);
      // One chunk in, one chunk out: the hub already sends a commit's events together.
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.map(convert).join("\n") + "\n"));
    },
  });
}

/** Drops the events of objects the caller may not see (fixed when the watch starts); BOOKMARK and ERROR pass. */
function filterEvents(allow: (obj: KubeObject) => boolean): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const keep = (line: string) => {
    const event = JSON.parse(line) as { type: string; object: KubeObject };
    return event.type === "ERROR" || event.type === "BOOKMARK" || allow(event.object);
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const end = buffer.lastIndexOf("\n");
      if (end < 0) return;
      const lines = buffer.slice(0, end).split("\n").filter((l) => l.trim() && keep(l));
      buffer = buffer.slice(end + 1);
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
    },
  });
}
