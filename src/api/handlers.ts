import type { Env } from "../env.ts";
import { getPath, setPath } from "../resources/columns.ts";
import { groupVersion, shownAs } from "../resources/index.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { ObjectStore, type DeleteOptions } from "../store/object-store.ts";
import { bindPod } from "../store/pod-binding.ts";
import { admitBody, defaultAndValidate, parseFieldValidation } from "./admission.ts";
import { decodeBody, expectObject, mediaType, readBody, readBodyBytes } from "./body.ts";
import { ApiError, badRequest, conflict, methodNotAllowed, notFound, successStatus, unavailable } from "./errors.ts";
import { evictPod } from "./eviction.ts";
import { applyPatch, PATCH_TYPES } from "./patch.ts";
import { parseFilter } from "./selectors.ts";
import { toTable, wantsTable } from "./table.ts";
import { resolveTarget, type Target } from "./target.ts";
import { podExec, podLog, podPortForward } from "./streaming.ts";
import { tokenRequest } from "./token-request.ts";
import { watchResponse } from "./watch.ts";

/** The REST verbs on resources: get, list, watch, create, update, patch, delete, deletecollection. */

/** What the caller's authorization adds to a request (see src/auth/). */
export interface RequestHooks {
  /** Lists and watches return only the objects this accepts (e.g. the namespaces a tenant may get). */
  listFilter?: (obj: KubeObject) => boolean;
  /** Called with every object about to be written by create, update or patch (after validation). */
  admit?: (obj: KubeObject, old?: KubeObject) => Promise<void>;
}

interface Call {
  env: Env;
  req: Request;
  q: URLSearchParams;
  target: Target;
  store: ObjectStore;
  dryRun: boolean;
  warnings: string[];
  hooks: RequestHooks;
}

export function json(body: unknown, status = 200, warnings: string[] = []): Response {
  const headers = new Headers({ "content-type": "application/json" });
  for (const w of warnings) headers.append("Warning", `299 - ${JSON.stringify(w)}`);
  return new Response(JSON.stringify(body), { status, headers });
}

function parseDryRun(q: URLSearchParams): boolean {
  const values = q.getAll("dryRun");
  for (const v of values) if (v !== "All") throw badRequest(`unsupported dryRun value "${v}"; the only supported value is "All"`);
  return values.length > 0;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export async function handleResource(
  env: Env,
  req: Request,
  group: string,
  version: string,
  rest: string[],
  hooks: RequestHooks = {},
): Promise<Response> {
  const q = new URL(req.url).searchParams;
  const target = resolveTarget(group, version, rest);
  const call: Call = { env, req, q, target, store: new ObjectStore(env), dryRun: false, warnings: [], hooks };
  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") call.dryRun = parseDryRun(q);
  const { name, subresource } = target;
  if (target.allNamespaces && (name || method !== "GET"))
    throw methodNotAllowed(`${target.kind.plural} are namespaced: name a namespace in the URL to ${method === "GET" ? "get one" : "change them"}`);
  if (!name) {
    if (method === "GET") return q.get("watch") === "true" || q.get("watch") === "1" ? watch(call) : list(call);
    if (method === "POST") return create(call);
    if (method === "DELETE") return deleteCollection(call);
    throw methodNotAllowed(`${method} is not supported on the ${target.kind.plural} collection`);
  }
  if (subresource === "scale") return scale(call, method);
  if (subresource === "binding") return binding(call, method);
  if (subresource === "eviction") return eviction(call, method);
  if (target.kind.plural === "pods" && target.kind.group === "" && subresource === "log") return podLog(env, call.store, target, method, q);
  if (target.kind.plural === "pods" && target.kind.group === "" && (subresource === "exec" || subresource === "attach"))
    return podExec(env, call.store, target, req, q, subresource);
  if (target.kind.plural === "pods" && target.kind.group === "" && subresource === "portforward") return podPortForward(env, call.store, target, req);
  if (target.kind.plural === "serviceaccounts" && target.kind.group === "" && subresource === "token")
    return tokenRequest(env, call.store, target, req, hooks.admit);
  if (subresource === "log" || subresource === "exec" || subresource === "attach" || subresource === "portforward" || subresource === "proxy") {
    // A missing object is a 404 first; only an existing one gets the "not available yet" answer.
    await call.store.get(target.kind, target.namespace, name);
    throw unavailable(`${target.kind.plural}/${subresource} is not available yet: only pods' log, exec, attach and portforward are served through node tunnels so far`);
  }
  if (subresource && subresource !== "status" && subresource !== "finalize")
    throw methodNotAllowed(`${target.kind.plural}/${subresource} is not supported yet`);
  switch (method) {
    case "GET":
      if (q.get("watch") === "true" || q.get("watch") === "1") return watch(call);
      return get(call);
    case "PUT":
      return update(call);
    case "PATCH":
      return patch(call);
    case "DELETE":
      return remove(call);
    default:
      throw methodNotAllowed(`${method} is not supported on ${target.kind.plural}${subresource ? `/${subresource}` : ""}`);
  }
}

function respondObjects(call: Call, stored: KubeObject[], listMeta: Record<string, unknown>, isList: boolean, status = 200): Response {
  const accept = call.req.headers.get("accept");
  // Tables are built from stored objects (a view shares its storage version's columns).
  if (wantsTable(accept)) return json(toTable(call.target.kind, stored, listMeta, call.q.get("includeObject")), status, call.warnings);
  const objects = stored.map((o) => shownAs(call.target.kind, o));
  if (isList)
    return json(
      { kind: `${call.target.kind.kind}List`, apiVersion: groupVersion(call.target.kind), metadata: listMeta, items: objects },
      status,
      call.warnings,
    );
  return json(objects[0], status, call.warnings);
}

async function get(call: Call): Promise<Response> {
  const { kind, namespace, name } = call.target;
  const obj = await call.store.get(kind, namespace, name!);
  return respondObjects(call, [obj], { resourceVersion: obj.metadata.resourceVersion }, false);
}

/** A list's resourceVersion and resourceVersionMatch, checked as kube-apiserver does. */
function checkListVersion(q: URLSearchParams): void {
  const rv = q.get("resourceVersion") ?? "";
  if (rv !== "" && !/^\d{1,19}$/.test(rv)) throw badRequest(`invalid resourceVersion "${rv.slice(0, 64)}": must be a revision number`);
  const match = q.get("resourceVersionMatch");
  if (match === null || match === "") return;
  if (match !== "Exact" && match !== "NotOlderThan")
    throw badRequest(`resourceVersionMatch: Unsupported value: "${match.slice(0, 64)}": supported values: "Exact", "NotOlderThan"`);
  if (rv === "") throw badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
}

async function list(call: Call): Promise<Response> {
  const { kind, namespace, allNamespaces } = call.target;
  checkListVersion(call.q);
  intParam(call.q, "timeoutSeconds");
  const result = await call.store.list(kind, allNamespaces ? undefined : namespace, {
    limit: intParam(call.q, "limit"),
    continue: call.q.get("continue") ?? undefined,
    resourceVersion: call.q.get("resourceVersion") ?? undefined,
    resourceVersionMatch: call.q.get("resourceVersionMatch") ?? undefined,
    filter: { ...parseFilter(call.q.get("labelSelector"), call.q.get("fieldSelector")), allow: call.hooks.listFilter },
  });
  const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion };
  if (result.continue) meta.continue = result.continue;
  for (const item of result.items) {
    item.apiVersion ??= groupVersion(kind);
    item.kind ??= kind.kind;
  }
  return respondObjects(call, result.items, meta, true);
}

function watch(call: Call): Promise<Response> {
  return watchResponse(call.env, call.target, call.q, {
    table: wantsTable(call.req.headers.get("accept")),
    includeObject: call.q.get("includeObject"),
    allow: call.hooks.listFilter,
  });
}

async function create(call: Call): Promise<Response> {
  const body = expectObject(await readBody(call.req));
  const obj = admitBody(call.target, body, { fieldValidation: parseFieldValidation(call.q.get("fieldValidation")), warnings: call.warnings });
  defaultAndValidate(call.target.kind, obj);
  await call.hooks.admit?.(obj);
  const created = await call.store.create(call.target.kind, obj, { dryRun: call.dryRun, warnings: call.warnings });
  return respondObjects(call, [created], {}, false, 201);
}

async function update(call: Call): Promise<Response> {
  const { kind, name, subresource } = call.target;
  const body = expectObject(await readBody(call.req));
  const obj = admitBody(call.target, body, {
    fieldValidation: parseFieldValidation(call.q.get("fieldValidation")),
    warnings: call.warnings,
    requireName: name,
  });
  // A write that names the revision it replaces may start from the copy of it this isolate last saw.
  const rv = obj.metadata.resourceVersion;
  const current = rv ? await call.store.current(kind, call.target.namespace, name!, rv) : await call.store.get(kind, call.target.namespace, name!);
  defaultAndValidate(kind, obj, current);
  await call.hooks.admit?.(obj, current);
  const updated = await call.store.update(kind, obj, {
    dryRun: call.dryRun,
    part: subresource === "status" ? "status" : "main",
    current,
  });
  return respondObjects(call, [updated], {}, false);
}

async function patch(call: Call): Promise<Response> {
  const { kind, namespace, name, subresource } = call.target;
  const type = mediaType(call.req.headers.get("content-type"));
  if (!(PATCH_TYPES as readonly string[]).includes(type))
    throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(", ")}`);
  const body = await readBody(call.req);
  const fieldValidation = parseFieldValidation(call.q.get("fieldValidation"));
  const apply = type === "application/apply-patch+yaml";
  if (apply && !call.q.get("fieldManager")) throw badRequest("PATCH with application/apply-patch+yaml requires a fieldManager query parameter");
  if (!apply && call.q.has("force")) throw badRequest("force is only allowed for server-side apply (application/apply-patch+yaml)");
  // Server-side apply creates what does not exist yet.
  if (apply && !(await call.store.tryGet(kind, namespace, name!))) {
    const obj = admitBody(call.target, expectObject(body), { fieldValidation, warnings: call.warnings, requireName: name });
    defaultAndValidate(kind, obj);
    await call.hooks.admit?.(obj);
    const created = await call.store.create(kind, obj, { dryRun: call.dryRun, warnings: call.warnings });
    return respondObjects(call, [created], {}, false, 201);
  }
  // A patch without a resourceVersion applies to whatever is current, so retry on races.
  const updated = await call.store.modify(
    kind,
    namespace,
    name!,
    async (current) => {
      // Patches are written against the version the client speaks.
      const patched = applyPatch(type, shownAs(kind, current), body, kind, { force: call.q.get("force") === "true" });
      const next = admitBody(call.target, expectObject(patched), { fieldValidation, warnings: [], requireName: name });
      defaultAndValidate(kind, next, current);
      await call.hooks.admit?.(next, current);
      // An explicit resourceVersion in the patch is a precondition.
      if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion)
        throw conflict(kind, name!, "the object has been modified; please apply your changes to the latest version and try again");
      return next;
    },
    { dryRun: call.dryRun, part: subresource === "status" ? "status" : "main", attempts: 5 },
  );
  return respondObjects(call, [updated], {}, false);
}

async function readDeleteOptions(call: Call): Promise<DeleteOptions> {
  const bytes = await readBodyBytes(call.req);
  const empty = new TextDecoder().decode(bytes).trim() === "";
  const body = empty ? {} : expectObject(decodeBody(bytes, call.req.headers.get("content-type")), "DeleteOptions object");
  const policy = (body.propagationPolicy as string | undefined) ?? call.q.get("propagationPolicy") ?? undefined;
  if (policy !== undefined && !["Orphan", "Background", "Foreground"].includes(policy))
    throw badRequest(`propagationPolicy must be one of Orphan, Background or Foreground, got "${policy}"`);
  const orphan = body.orphanDependents ?? (call.q.get("orphanDependents") === "true" ? true : undefined);
  const grace = (body.gracePeriodSeconds as number | undefined) ?? intParam(call.q, "gracePeriodSeconds");
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw badRequest("gracePeriodSeconds must be a non-negative integer");
  const dry = Array.isArray(body.dryRun) ? (body.dryRun as string[]).includes("All") : false;
  return {
    propagationPolicy: (policy as DeleteOptions["propagationPolicy"]) ?? (orphan === true ? "Orphan" : undefined),
    gracePeriodSeconds: grace,
    preconditions: body.preconditions as DeleteOptions["preconditions"],
    dryRun: call.dryRun || dry,
  };
}

async function remove(call: Call): Promise<Response> {
  const { kind, namespace, name } = call.target;
  const opts = await readDeleteOptions(call);
  const { object, deleted } = await call.store.delete(kind, namespace, name!, opts);
  if (deleted && kind.kind !== "Namespace")
    return respondObjects(call, [object], {}, false, 200);
  return respondObjects(call, [object], {}, false, deleted ? 200 : 202);
}

async function deleteCollection(call: Call): Promise<Response> {
  const { kind, namespace } = call.target;
  const opts = await readDeleteOptions(call);
  const result = await call.store.list(kind, namespace, {
    filter: parseFilter(call.q.get("labelSelector"), call.q.get("fieldSelector")),
  });
  const deleted: KubeObject[] = [];
  for (const item of result.items) {
    try {
      deleted.push((await call.store.delete(kind, namespace, item.metadata.name!, opts)).object);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
  return json({ kind: `${kind.kind}List`, apiVersion: groupVersion(kind), metadata: {}, items: deleted.map((o) => shownAs(kind, o)) }, 200, call.warnings);
}

/** The autoscaling/v1 Scale view of a kind with replicas. */
function toScale(kind: ResourceKind, obj: KubeObject) {
  const s = kind.scale!;
  const selector = getPath(obj, s.labelSelectorPath ?? "spec.selector");
  let selectorString = "";
  if (typeof selector === "string") selectorString = selector;
  else if (selector && typeof selector === "object") {
    const ml = (selector as { matchLabels?: Record<string, string> }).matchLabels ?? {};
    selectorString = Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(",");
  }
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: (getPath(obj, s.specReplicasPath) as number | undefined) ?? 0 },
    status: { replicas: (getPath(obj, s.statusReplicasPath) as number | undefined) ?? 0, selector: selectorString },
  };
}

async function scale(call: Call, method: string): Promise<Response> {
  const { kind, namespace, name } = call.target;
  if (!kind.scale) throw notFound(kind, `${name}/scale`);
  if (method === "GET") return json(toScale(kind, await call.store.get(kind, namespace, name!)));
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed(`${method} is not supported on ${kind.plural}/scale`);
  const type = mediaType(call.req.headers.get("content-type"));
  const body = await readBody(call.req);
  const updated = await call.store.modify(
    kind,
    namespace,
    name!,
    (current) => {
      const currentScale = toScale(kind, current);
      const wanted = (method === "PUT" ? expectObject(body) : applyPatch(type, currentScale as unknown as KubeObject, body, kind, {})) as {
        spec?: { replicas?: unknown };
        metadata?: { resourceVersion?: string };
      };
      const replicas = wanted.spec?.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
        throw badRequest(`Scale.spec.replicas must be a non-negative integer, got ${JSON.stringify(replicas)}`);
      if (wanted.metadata?.resourceVersion && wanted.metadata.resourceVersion !== current.metadata.resourceVersion)
        throw conflict(kind, name!, "the object has been modified; please apply your changes to the latest version and try again");
      setPath(current as unknown as Record<string, unknown>, kind.scale!.specReplicasPath, replicas);
      return current;
    },
    { dryRun: call.dryRun, part: "main" },
  );
  return json(toScale(kind, updated));
}

async function binding(call: Call, method: string): Promise<Response> {
  const { namespace, name } = call.target;
  if (method !== "POST") throw methodNotAllowed("pods/binding only supports create (POST)");
  const body = expectObject(await readBody(call.req));
  const nodeName = (body.target as { name?: unknown } | undefined)?.name;
  if (typeof nodeName !== "string" || !nodeName) throw badRequest("Binding.target.name (the node) is required");
  await bindPod(call.store, namespace, name!, nodeName, { dryRun: call.dryRun, uid: (body.metadata as { uid?: string } | undefined)?.uid });
  return json({ ...successStatus(), code: 201 }, 201);
}

async function eviction(call: Call, method: string): Promise<Response> {
  const { kind, namespace, name } = call.target;
  if (method !== "POST") throw methodNotAllowed("pods/eviction only supports create (POST)");
  const body = expectObject(await readBody(call.req));
  const opts = (body.deleteOptions ?? {}) as { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } };
  if (kind.kind !== "Pod") throw methodNotAllowed(`${kind.plural}/eviction is not supported`);
  await evictPod(call.store, namespace, name!, { gracePeriodSeconds: opts.gracePeriodSeconds, preconditions: opts.preconditions, dryRun: call.dryRun });
  return json({ ...successStatus(), code: 201 }, 201);
}
