import { groupVersion } from "../resources/index.ts";
import { FULL_VERBS, type ResourceKind } from "../resources/types.ts";
import { SERVER_VERSION } from "./discovery.ts";
import {
  DELETE_OPTIONS,
  kindSchemas,
  PATCH,
  REF_PREFIX,
  ref,
  schemaName,
  SHARED_SCHEMAS,
  STATUS,
  WATCH_EVENT,
  type Schema,
} from "./openapi-schemas.ts";

/**
 * Builds the OpenAPI 3.0 document of one group-version from KINDS: a path for every
 * collection, item and subresource, operations carrying x-kubernetes-action and
 * x-kubernetes-group-version-kind, the query parameters the server honours, and
 * components.schemas for every kind, its list and everything they reference.
 *
 * kubectl reads these documents to learn that the server validates fields itself (the
 * fieldValidation parameter on a kind's PATCH operation), for `kubectl explain`, and,
 * when a PATCH operation accepts application/strategic-merge-patch+json, to compute
 * strategic merge patches from the schemas. Our schemas do not model nested fields nor
 * carry patch merge keys, so that content type is deliberately not listed: kubectl
 * then computes strategic merge patches from its compiled-in types, which are exact
 * for every built-in kind.
 */

type Param = Schema;
type Operation = Schema;
type GVK = { group: string; version: string; kind: string };

const qp = (name: string, type: string, description: string): Param => ({ name, in: "query", description, schema: { type } });

/**
 * Parameters kubectl looks for (dryRun, fieldManager, fieldValidation, force) are written
 * inline in each operation, which is where client-go's QueryParamVerifierV3 reads them.
 * The rest are shared through components.parameters, which keeps the documents small.
 */
const SHARED_PARAMS: Record<string, Param> = {};
const shared = (p: Param): Param => {
  SHARED_PARAMS[p.name as string] = p;
  return { $ref: `#/components/parameters/${p.name as string}` };
};

const PRETTY = shared(qp("pretty", "string", "If 'true', then the output is pretty printed."));
const DRY_RUN = qp(
  "dryRun",
  "string",
  "When present, modifications are not persisted. The only valid value is All (process all dry run stages).",
);
const FIELD_MANAGER = qp(
  "fieldManager",
  "string",
  "Name of the actor making these changes (at most 128 printable characters). Required for apply patches.",
);
const FIELD_VALIDATION = qp(
  "fieldValidation",
  "string",
  "How the server treats unknown or duplicate fields in the body: Ignore (drop them), Warn (drop them with a Warning header; the default) or Strict (fail with BadRequest).",
);
const FORCE = qp("force", "boolean", "Force re-acquires fields owned by other managers in an apply patch. Must be unset for other patch types.");
const WATCH_PARAMS: Param[] = [
  shared(qp("allowWatchBookmarks", "boolean", "Requests watch events of type BOOKMARK. Servers may ignore it.")),
  shared(qp("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update and remove notifications.")),
];
/** Parameters of list calls that deletecollection shares. */
const SELECTION_PARAMS: Param[] = [
  shared(qp("continue", "string", "The continue token from a previous, limited list call, to fetch the next page.")),
  shared(qp("fieldSelector", "string", "A selector restricting the returned objects by their fields. Defaults to everything.")),
  shared(qp("labelSelector", "string", "A selector restricting the returned objects by their labels. Defaults to everything.")),
  shared(qp("limit", "integer", "The maximum number of objects to return; a continue token is returned when more remain.")),
  shared(qp("resourceVersion", "string", "Constrains which resource versions a request may be served from.")),
  shared(qp("resourceVersionMatch", "string", "How resourceVersion is applied to list calls: Exact or NotOlderThan.")),
  shared(qp("sendInitialEvents", "boolean", "With watch=true, starts the stream with synthetic ADDED events for the current state.")),
  shared(qp("timeoutSeconds", "integer", "Timeout for the list or watch call.")),
];
const LIST_PARAMS: Param[] = [...WATCH_PARAMS, ...SELECTION_PARAMS];
const DELETE_PARAMS: Param[] = [
  DRY_RUN,
  shared(qp("gracePeriodSeconds", "integer", "Seconds before the object should be deleted; zero means delete immediately.")),
  shared(qp("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "Deletes objects that cannot be read from the store. Unsafe.")),
  shared(qp("orphanDependents", "boolean", "Deprecated: use propagationPolicy.")),
  shared(qp("propagationPolicy", "string", "Whether and how garbage collection is performed: Orphan, Background or Foreground.")),
];
const pathParam = (name: string, description: string): Param => ({ name, in: "path", description, required: true, schema: { type: "string" } });
const NAMESPACE_PARAM = shared(pathParam("namespace", "object name and auth scope, such as for teams and projects"));

const JSON_TYPES = ["application/json"];
const BODY_TYPES = ["application/json", "application/yaml"];
/** application/strategic-merge-patch+json deliberately absent: see the comment at the top. */
const PATCH_BODY_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

const content = (types: string[], schema: Schema) => Object.fromEntries(types.map((t) => [t, { schema }]));
const body = (types: string[], schema: Schema) => ({ content: content(types, schema), required: true });
const okResponses = (codes: string[], schema: Schema, types = JSON_TYPES) => ({
  ...Object.fromEntries(codes.map((c) => [c, { description: c === "201" ? "Created" : c === "202" ? "Accepted" : "OK", content: content(types, schema) }])),
  "401": { description: "Unauthorized" },
});
const textResponse = () => ({ "200": { description: "OK", content: { "text/plain": { schema: { type: "string" } } } }, "401": { description: "Unauthorized" } });

function camel(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join("");
}

function op(
  action: string,
  gvk: GVK,
  fields: { id: string; description: string; tag: string; parameters?: Param[]; requestBody?: unknown; responses: unknown },
): Operation {
  return {
    tags: [fields.tag],
    description: fields.description,
    operationId: fields.id,
    ...(fields.parameters?.length ? { parameters: fields.parameters } : {}),
    ...(fields.requestBody ? { requestBody: fields.requestBody } : {}),
    responses: fields.responses,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
  };
}

/** A subresource's schema kind, GVK and operations. */
interface SubresourceShape {
  gvk?: GVK; // defaults to the parent kind
  schema?: string; // defaults to the parent kind's schema
  ops: Array<"get" | "put" | "patch" | "post" | "connect">;
  text?: boolean; // plain-text response (log)
  params?: Param[]; // extra query parameters
}

const CONNECT_STREAMS = [
  qp("container", "string", "The container in which to run, if there is more than one."),
  qp("stderr", "boolean", "Redirect standard error."),
  qp("stdin", "boolean", "Redirect standard input."),
  qp("stdout", "boolean", "Redirect standard output."),
  qp("tty", "boolean", "Allocate a terminal."),
];

function subresourceShape(k: ResourceKind, sub: string): SubresourceShape | undefined {
  const core = (kind: string): GVK => ({ group: "", version: "v1", kind });
  switch (sub) {
    case "status":
      return { ops: ["get", "put", "patch"] };
    case "scale":
      return { gvk: { group: "autoscaling", version: "v1", kind: "Scale" }, schema: "io.k8s.api.autoscaling.v1.Scale", ops: ["get", "put", "patch"] };
    case "finalize":
      return { ops: ["put"] };
    case "ephemeralcontainers":
      return { ops: ["get", "put", "patch"] };
    case "binding":
      return { gvk: core("Binding"), schema: "io.k8s.api.core.v1.Binding", ops: ["post"] };
    case "eviction":
      return { gvk: { group: "policy", version: "v1", kind: "Eviction" }, schema: "io.k8s.api.policy.v1.Eviction", ops: ["post"] };
    case "token":
      return {
        gvk: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" },
        schema: "io.k8s.api.authentication.v1.TokenRequest",
        ops: ["post"],
      };
    case "log":
      return {
        ops: ["get"],
        text: true,
        params: [
          qp("container", "string", "The container whose logs to stream; defaults to the only container."),
          qp("follow", "boolean", "Follow the log stream."),
          qp("insecureSkipTLSVerifyBackend", "boolean", "Skip verifying the serving certificate of the backend."),
          qp("limitBytes", "integer", "Bytes to read from the server before terminating the output."),
          qp("previous", "boolean", "Return the logs of the previous terminated container."),
          qp("sinceSeconds", "integer", "Relative time in seconds before now from which to show logs."),
          qp("sinceTime", "string", "RFC 3339 timestamp from which to show logs."),
          qp("stream", "string", "The log stream to return: All, Stdout or Stderr."),
          qp("tailLines", "integer", "Lines from the end of the log to show."),
          qp("timestamps", "boolean", "Prefix each line with an RFC 3339 timestamp."),
        ],
      };
    case "exec":
      return { gvk: core("PodExecOptions"), ops: ["connect"], params: [qp("command", "string", "The command to execute."), ...CONNECT_STREAMS] };
    case "attach":
      return { gvk: core("PodAttachOptions"), ops: ["connect"], params: CONNECT_STREAMS };
    case "portforward":
      return { gvk: core("PodPortForwardOptions"), ops: ["connect"], params: [qp("ports", "integer", "Ports to forward.")] };
    case "proxy":
      return { gvk: core(`${k.kind}ProxyOptions`), ops: ["connect"], params: [qp("path", "string", "The path to proxy to.")] };
    default:
      return undefined;
  }
}

export interface GroupVersionDoc {
  key: string; // "api/v1" or "apis/<group>/<version>"
  doc: Schema;
}

/** The document of every group-version served by `kinds`, keyed as in the /openapi/v3 root. */
export function buildGroupVersionDocs(kinds: ResourceKind[]): GroupVersionDoc[] {
  const byGv = new Map<string, ResourceKind[]>();
  for (const k of kinds) {
    const gv = groupVersion(k);
    byGv.set(gv, [...(byGv.get(gv) ?? []), k]);
  }
  return [...byGv].map(([gv, ks]) => ({ key: ks[0].group ? `apis/${gv}` : `api/${gv}`, doc: buildDoc(ks) }));
}

function buildDoc(kinds: ResourceKind[]): Schema {
  const { group, version } = kinds[0];
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const tag = group ? `${group.split(".")[0]}_${version}` : `core_${version}`;
  const idGv = group ? camel(group.replace(/\.k8s\.io$/, "")) + camel(version) : `Core${camel(version)}`;
  const paths: Record<string, Schema> = {};
  const schemas: Record<string, Schema> = {};
  // Schemas the operations refer to; walking the finished paths for $refs would cost far more.
  const used = new Set<string>();
  const use = (n: string) => (used.add(n), ref(n));

  for (const k of kinds) {
    const gvk: GVK = { group: k.group, version: k.version, kind: k.kind };
    const name = schemaName(k.group, k.version, k.kind);
    const list = `${name}List`;
    Object.assign(schemas, kindSchemas(k));
    const verbs = new Set(k.verbs ?? FULL_VERBS);
    const ns = k.namespaced ? "Namespaced" : "";
    const base = k.namespaced ? `${prefix}/namespaces/{namespace}/${k.plural}` : `${prefix}/${k.plural}`;
    const scopeParams = k.namespaced ? [NAMESPACE_PARAM] : [];
    const nameParam = pathParam("name", `name of the ${k.kind}`);
    const id = (verb: string, suffix = "") => `${verb}${idGv}${ns}${k.kind}${suffix}`;

    // Collection.
    const collection: Schema = { parameters: [...scopeParams, PRETTY] };
    if (verbs.has("list"))
      collection.get = op("list", gvk, {
        id: id("list"),
        tag,
        description: `list or watch objects of kind ${k.kind}`,
        parameters: LIST_PARAMS,
        responses: {
          "200": { description: "OK", content: { "application/json": { schema: use(list) }, "application/json;stream=watch": { schema: use(WATCH_EVENT) } } },
          "401": { description: "Unauthorized" },
        },
      });
    if (verbs.has("create"))
      collection.post = op("post", gvk, {
        id: id("create"),
        tag,
        description: `create a ${k.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: body(BODY_TYPES, use(name)),
        responses: okResponses(["200", "201", "202"], use(name)),
      });
    if (verbs.has("deletecollection"))
      collection.delete = op("deletecollection", gvk, {
        id: id("deleteCollection"),
        tag,
        description: `delete collection of ${k.kind}`,
        parameters: [...DELETE_PARAMS, ...SELECTION_PARAMS],
        requestBody: { content: content(JSON_TYPES, use(DELETE_OPTIONS)) },
        responses: okResponses(["200"], use(STATUS)),
      });
    if (Object.keys(collection).length > 1) paths[base] = collection;

    // Across all namespaces.
    if (k.namespaced && verbs.has("list"))
      paths[`${prefix}/${k.plural}`] = {
        parameters: [PRETTY],
        get: op("list", gvk, {
          id: `list${idGv}${k.kind}ForAllNamespaces`,
          tag,
          description: `list or watch objects of kind ${k.kind} in all namespaces`,
          parameters: LIST_PARAMS,
          responses: {
            "200": { description: "OK", content: { "application/json": { schema: use(list) }, "application/json;stream=watch": { schema: use(WATCH_EVENT) } } },
            "401": { description: "Unauthorized" },
          },
        }),
      };

    // Item.
    const item: Schema = { parameters: [nameParam, ...scopeParams, PRETTY] };
    if (verbs.has("get")) item.get = op("get", gvk, { id: id("read"), tag, description: `read the specified ${k.kind}`, responses: okResponses(["200"], use(name)) });
    if (verbs.has("update"))
      item.put = op("put", gvk, {
        id: id("replace"),
        tag,
        description: `replace the specified ${k.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        requestBody: body(BODY_TYPES, use(name)),
        responses: okResponses(["200", "201"], use(name)),
      });
    if (verbs.has("patch"))
      item.patch = op("patch", gvk, {
        id: id("patch"),
        tag,
        description: `partially update the specified ${k.kind}`,
        parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
        requestBody: body(PATCH_BODY_TYPES, use(PATCH)),
        responses: okResponses(["200", "201"], use(name)),
      });
    if (verbs.has("delete"))
      item.delete = op("delete", gvk, {
        id: id("delete"),
        tag,
        description: `delete a ${k.kind}`,
        parameters: DELETE_PARAMS,
        requestBody: { content: content(JSON_TYPES, use(DELETE_OPTIONS)) },
        responses: okResponses(["200", "202"], use(name)),
      });
    if (Object.keys(item).length > 1) paths[`${base}/{name}`] = item;

    // Subresources.
    for (const sub of k.subresources ?? []) {
      const shape = subresourceShape(k, sub);
      if (!shape) continue;
      const subGvk = shape.gvk ?? gvk;
      const subSchema = shape.schema ?? name;
      const suffix = camel(sub);
      const entry: Schema = { parameters: [nameParam, ...scopeParams, PRETTY] };
      for (const o of shape.ops) {
        if (o === "get")
          entry.get = op("get", subGvk, {
            id: id("read", suffix),
            tag,
            description: `read ${sub} of the specified ${k.kind}`,
            parameters: shape.params,
            responses: shape.text ? textResponse() : okResponses(["200"], use(subSchema)),
          });
        else if (o === "put")
          entry.put = op("put", subGvk, {
            id: id("replace", suffix),
            tag,
            description: `replace ${sub} of the specified ${k.kind}`,
            parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
            requestBody: body(BODY_TYPES, use(subSchema)),
            responses: okResponses(["200", "201"], use(subSchema)),
          });
        else if (o === "patch")
          entry.patch = op("patch", subGvk, {
            id: id("patch", suffix),
            tag,
            description: `partially update ${sub} of the specified ${k.kind}`,
            parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
            requestBody: body(PATCH_BODY_TYPES, use(PATCH)),
            responses: okResponses(["200", "201"], use(subSchema)),
          });
        else if (o === "post")
          entry.post = op("post", subGvk, {
            id: id("create", suffix),
            tag,
            description: `create ${sub} of a ${k.kind}`,
            parameters: [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
            requestBody: body(BODY_TYPES, use(subSchema)),
            responses: okResponses(["200", "201", "202"], use(subSchema)),
          });
        else {
          // connect: streaming subresources answer GET and POST (and, for proxy, every method).
          const methods = sub === "proxy" ? ["get", "put", "post", "patch", "delete"] : ["get", "post"];
          for (const m of methods)
            entry[m] = op("connect", subGvk, {
              id: `connect${camel(m)}${idGv}${ns}${k.kind}${suffix}`,
              tag,
              description: `connect ${m.toUpperCase()} requests to ${sub} of ${k.kind}`,
              parameters: shape.params,
              responses: textResponse(),
            });
        }
      }
      paths[`${base}/{name}/${sub}`] = entry;
      if (sub === "proxy") {
        const withPath = structuredClone(entry);
        withPath.parameters = [nameParam, ...scopeParams, pathParam("path", "path to the resource"), PRETTY];
        for (const m of ["get", "put", "post", "patch", "delete"]) {
          const o = withPath[m] as Schema;
          o.operationId = `${o.operationId as string}WithPath`;
          delete o.parameters; // the path is part of the URL here
        }
        paths[`${base}/{name}/proxy/{path}`] = withPath;
      }
    }
  }

  // Everything referenced, transitively.
  const pending = [...used, ...collectRefs(schemas)];
  while (pending.length > 0) {
    const n = pending.pop()!;
    if (schemas[n]) continue;
    const s = SHARED_SCHEMAS[n];
    if (!s) throw new Error(`openapi: schema ${n} is referenced but not defined`);
    schemas[n] = s;
    pending.push(...collectRefs(s));
  }

  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
    components: {
      schemas: Object.fromEntries(Object.keys(schemas).sort().map((n) => [n, schemas[n]])),
      parameters: SHARED_PARAMS,
      securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    },
    security: [{ BearerToken: [] }],
  };
}

function collectRefs(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, out);
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith(REF_PREFIX)) out.add(v.slice(REF_PREFIX.length));
      else collectRefs(v, out);
    }
  return out;
}
