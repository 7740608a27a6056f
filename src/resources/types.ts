/** Shapes shared by every kind's definition file. */

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A field-level validation failure; becomes a `details.causes` entry of a 422. */
export interface FieldError {
  field: string;
  message: string;
  reason?: "FieldValueRequired" | "FieldValueInvalid" | "FieldValueNotSupported" | "FieldValueDuplicate" | "FieldValueForbidden" | "FieldValueTooLong";
}

export type ColumnType = "string" | "integer" | "number" | "boolean" | "date";

export interface TableColumn {
  name: string;
  type: ColumnType;
  format?: string;
  description?: string;
  /** 0: shown by default; 1: only with `-o wide`. */
  priority?: 0 | 1;
  cell: (obj: KubeObject, now: number) => string | number | boolean | null;
}

/** Where a kind keeps its replica counts, for the `scale` subresource. */
export interface ScaleSpec {
  specReplicasPath: string; // e.g. "spec.replicas"
  statusReplicasPath: string; // e.g. "status.replicas"
  labelSelectorPath?: string; // e.g. "status.selector" or "spec.selector"
}

export interface ResourceKind {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources served: "status", "scale", "binding", "eviction", "log", ... */
  subresources?: string[];
  /** Verbs the collection and items support; defaults to the full CRUD set. */
  verbs?: string[];
  /** Whether spec changes bump metadata.generation (kinds with a spec). */
  generation?: boolean;
  /** How long objects live before the store expires them (Events). */
  ttlMs?: number;
  scale?: ScaleSpec;
  /** Fill defaults the way the Kubernetes API server does, in place, on create and update. */
  defaults?: (obj: KubeObject) => void;
  /** Kind-specific checks beyond metadata; `old` is set on update. */
  validate?: (obj: KubeObject, old?: KubeObject) => FieldError[];
  /** Table columns after NAME (and NAMESPACE for -A); AGE is appended unless a column is named "Age". */
  columns?: TableColumn[];
  /**
   * Kubernetes prints no AGE column for this kind (Events show LAST SEEN, LimitRanges
   * CREATED AT): the table should not append one.
   */
  noAgeColumn?: boolean;
  /** Top-level fields that are known for Strict field validation (besides apiVersion, kind, metadata). */
  fields?: string[];
  /**
   * Another version of a stored kind (autoscaling/v1 of autoscaling/v2 HPAs): objects are
   * stored as `storage` and converted at the API's edge; defaults, validation and table
   * columns are the storage version's.
   */
  view?: { storage: ResourceKind; toStorage(obj: KubeObject): KubeObject; fromStorage(obj: KubeObject): KubeObject };
}

export const FULL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
