import { ageColumn, getPath } from "./columns.ts";
import { accessModesString, storageClassOf, validateAccessModes } from "./persistentvolume.ts";
import { canonicalQuantity } from "./quantity.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  canonicalizeResourceList,
  compareQuantities,
  enumField,
  forbidden,
  isObj,
  jsonEqual,
  required,
  sub,
  subdomain,
  validateLabelSelector,
  validateResourceList,
  type Obj,
} from "./validation.ts";

/** The spec of a PVC (also the volumeClaimTemplates of StatefulSets) at `field`. */
export function validateClaimSpec(errs: FieldError[], field: string, spec: Obj): void {
  validateAccessModes(errs, `${field}.accessModes`, spec.accessModes, "at least 1 access mode is required");
  validateLabelSelector(errs, `${field}.selector`, spec.selector);
  const resources = isObj(spec.resources) ? spec.resources : {};
  const requests = isObj(resources.requests) ? resources.requests : {};
  if (!Object.hasOwn(requests, "storage")) errs.push(required(`${field}.resources[storage]`));
  validateResourceList(errs, `${field}.resources.requests`, resources.requests, { positive: true });
  validateResourceList(errs, `${field}.resources.limits`, resources.limits, { positive: true });
  enumField(errs, `${field}.volumeMode`, spec.volumeMode, ["Block", "Filesystem"]);
  if (spec.storageClassName) errs.push(...subdomain(String(spec.storageClassName), `${field}.storageClassName`));
  if (isObj(spec.dataSource) && !spec.dataSource.name) errs.push(required(`${field}.dataSource.name`));
}

/** Defaults of a PVC (also applied to StatefulSet volumeClaimTemplates). */
export function defaultClaim(pvc: Obj): void {
  const spec = (pvc.spec = isObj(pvc.spec) ? pvc.spec : {}) as Obj;
  spec.volumeMode ||= "Filesystem";
  const resources = isObj(spec.resources) ? spec.resources : undefined;
  if (resources) {
    canonicalizeResourceList(resources.requests);
    canonicalizeResourceList(resources.limits);
  }
  const status = (pvc.status = isObj(pvc.status) ? pvc.status : {}) as Obj;
  status.phase ||= "Pending";
}

/**
 * A claim's spec is fixed after creation (Kubernetes' ValidatePersistentVolumeClaimUpdate):
 * volumeName may go from "" to a name (binding), volumeAttributesClassName may change, and a
 * bound claim's storage request may change but not below its status.capacity (growing it is
 * then up to admission: src/store/claim-admission.ts).
 */
function validateClaimUpdate(errs: FieldError[], pvc: KubeObject, old: KubeObject): void {
  const spec = sub(pvc, "spec");
  const prev = sub(old, "spec");
  const bound = sub(old, "status").phase === "Bound";
  const strip = (s: Obj) => {
    const resources = sub(s, "resources");
    const copy: Obj = { ...s, resources: bound ? { ...resources, requests: { ...sub(resources, "requests"), storage: undefined } } : resources };
    delete copy.volumeAttributesClassName;
    if (!prev.volumeName) delete copy.volumeName;
    return copy;
  };
  if (!jsonEqual(JSON.parse(JSON.stringify(strip(spec))), JSON.parse(JSON.stringify(strip(prev)))))
    errs.push(forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
  else if (bound) {
    const size = getPath(pvc, "spec.resources.requests.storage");
    const capacity = getPath(old, "status.capacity.storage");
    if (compareQuantities(size, getPath(old, "spec.resources.requests.storage")) < 0 && capacity !== undefined && compareQuantities(size, capacity) <= 0)
      errs.push(forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"));
  }
}

function claimCapacity(o: KubeObject): string {
  if (!getPath(o, "spec.volumeName")) return "";
  return canonicalQuantity(getPath(o, "status.capacity.storage")) ?? "0";
}

export const persistentVolumeClaimKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  namespaced: true,
  shortNames: ["pvc"],
  subresources: ["status"],
  generation: false,
  categories: [],
  fields: ["spec", "status"],
  defaults: (pvc) => defaultClaim(pvc),
  validate: (pvc, old) => {
    const errs: FieldError[] = [];
    validateClaimSpec(errs, "spec", sub(pvc, "spec"));
    enumField(errs, "status.phase", sub(pvc, "status").phase, ["Pending", "Bound", "Lost"]);
    if (old) validateClaimUpdate(errs, pvc, old);
    return errs;
  },
  columns: [
    { name: "Status", type: "string", description: "phase represents the current phase of PersistentVolumeClaim.", cell: (o) => (o.metadata.deletionTimestamp ? "Terminating" : ((getPath(o, "status.phase") as string) ?? "")) },
    { name: "Volume", type: "string", description: "volumeName is the binding reference to the PersistentVolume backing this claim.", cell: (o) => (getPath(o, "spec.volumeName") as string) ?? "" },
    { name: "Capacity", type: "string", description: "capacity represents the actual resources of the underlying volume.", cell: claimCapacity },
    { name: "Access Modes", type: "string", description: "accessModes contains the actual access modes the volume backing the PVC has.", cell: (o) => (getPath(o, "spec.volumeName") ? accessModesString(getPath(o, "status.accessModes")) : "") },
    { name: "StorageClass", type: "string", description: "StorageClass of the pvc", cell: storageClassOf },
    { name: "VolumeAttributesClass", type: "string", description: "VolumeAttributesClass of the pvc", cell: (o) => (getPath(o, "spec.volumeAttributesClassName") as string | undefined) ?? "<unset>" },
    ageColumn,
    { name: "VolumeMode", type: "string", priority: 1, description: "volumeMode defines what type of volume is required by the claim.", cell: (o) => (getPath(o, "spec.volumeMode") as string | undefined) ?? "<unset>" },
  ],
};
