import type { ResourceKind } from "../resources/types.ts";

/**
 * How strategic merge patch and server-side apply treat each field of the built-in kinds:
 * the `patchStrategy` / `patchMergeKey` tags of the Kubernetes API types (k8s.io/api), and
 * for server-side apply the `listMapKey`s where they differ from the merge key.
 *
 * A schema is a tree of field names; lists are transparent (the `fields` of a list field
 * describe each element). Anything not named here is a plain field: maps are merged key by
 * key, lists are atomic (replaced whole), scalars are replaced.
 */

export interface ListKey {
  field: string;
  /** The value an element has when it omits the field (the API server's default). */
  default?: string | number;
}

export interface FieldStrategy {
  /**
   * "merge": the list is merged element by element, by `mergeKey` (lists of objects) or as
   * a set (lists of scalars, e.g. finalizers). "replace": the map is replaced whole.
   */
  strategy?: "merge" | "replace";
  /** The patch may carry `$retainKeys` (only informational: the directive drives it). */
  retainKeys?: boolean;
  /** The element field identifying list elements (patchMergeKey). */
  mergeKey?: string;
  /** Server-side apply's keys of an associative list, when more than the merge key. */
  applyKeys?: ListKey[];
  /** The fields of this map, or of each element of this list. */
  fields?: Schema;
}

export type Schema = { readonly [field: string]: FieldStrategy };

const merge = (mergeKey: string, fields?: Schema, extra: Partial<FieldStrategy> = {}): FieldStrategy => ({
  strategy: "merge",
  mergeKey,
  ...(fields ? { fields } : {}),
  ...extra,
});
const nested = (fields: Schema): FieldStrategy => ({ fields });
const conditions = merge("type");

const objectMeta: Schema = {
  ownerReferences: merge("uid"),
  finalizers: { strategy: "merge" }, // a set of strings
};

const container: Schema = {
  ports: merge("containerPort", undefined, { applyKeys: [{ field: "containerPort" }, { field: "protocol", default: "TCP" }] }),
  env: merge("name"),
  volumeMounts: merge("mountPath"),
  volumeDevices: merge("devicePath"),
};

const podSpec: Schema = {
  volumes: merge("name", undefined, { retainKeys: true }),
  initContainers: merge("name", container),
  containers: merge("name", container),
  ephemeralContainers: merge("name", container),
  imagePullSecrets: merge("name"),
  hostAliases: merge("ip"),
  topologySpreadConstraints: merge("topologyKey", undefined, {
    applyKeys: [{ field: "topologyKey" }, { field: "whenUnsatisfiable" }],
  }),
  schedulingGates: merge("name"),
  resourceClaims: merge("name", undefined, { retainKeys: true }),
};

const podTemplate: Schema = { metadata: nested(objectMeta), spec: nested(podSpec) };

const podStatus: Schema = {
  conditions,
  podIPs: merge("ip"),
  hostIPs: merge("ip"),
  resourceClaimStatuses: merge("name", undefined, { retainKeys: true }),
};

const withMeta = (rest: Schema): Schema => ({ metadata: nested(objectMeta), ...rest });
const statusConditions = nested({ conditions });

const workload = (specExtra: Schema = {}): Schema =>
  withMeta({ spec: nested({ template: nested(podTemplate), ...specExtra }), status: statusConditions });

const jobSpec: Schema = { template: nested(podTemplate) };

const SCHEMAS: Record<string, Schema> = {
  "/Pod": withMeta({ spec: nested(podSpec), status: nested(podStatus) }),
  "/Service": withMeta({
    spec: nested({
      ports: merge("port", undefined, { applyKeys: [{ field: "port" }, { field: "protocol", default: "TCP" }] }),
    }),
    status: statusConditions,
  }),
  "/Node": withMeta({
    spec: nested({ podCIDRs: { strategy: "merge" } }),
    status: nested({ conditions, addresses: merge("type") }),
  }),
  "/Namespace": withMeta({ status: statusConditions }),
  "/PersistentVolumeClaim": withMeta({ status: statusConditions }),
  "/ServiceAccount": withMeta({ secrets: merge("name") }),
  "apps/Deployment": workload({ strategy: { retainKeys: true } }),
  "apps/ReplicaSet": workload(),
  "apps/StatefulSet": workload(),
  "apps/DaemonSet": workload(),
  "batch/Job": withMeta({ spec: nested(jobSpec), status: statusConditions }),
  "batch/CronJob": withMeta({
    spec: nested({ jobTemplate: nested({ metadata: nested(objectMeta), spec: nested(jobSpec) }) }),
  }),
  "policy/PodDisruptionBudget": withMeta({ spec: nested({ selector: { strategy: "replace" } }), status: statusConditions }),
  "autoscaling/HorizontalPodAutoscaler": withMeta({ status: statusConditions }),
};

/** Only metadata is special: any other kind, and subresource views such as Scale. */
const GENERIC: Schema = withMeta({});

/** The patch schema of a kind; `objectKind` names what is actually being patched when it is a view (Scale). */
export function schemaFor(kind: Pick<ResourceKind, "group" | "kind">, objectKind?: string): Schema {
  if (objectKind !== undefined && objectKind !== kind.kind) return GENERIC;
  return SCHEMAS[`${kind.group}/${kind.kind}`] ?? GENERIC;
}

/** The strategy of one field of a map described by `schema` (undefined: a plain field). */
export function fieldStrategy(schema: Schema | undefined, field: string): FieldStrategy | undefined {
  return schema && Object.hasOwn(schema, field) ? schema[field] : undefined;
}
