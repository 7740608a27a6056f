import { ageColumn, getPath } from "./columns.ts";
import { canonicalQuantity } from "./quantity.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import {
  canonicalizeResourceList,
  checkImmutable,
  enumField,
  forbidden,
  invalid,
  isObj,
  jsonEqual,
  notSupported,
  required,
  sub,
  subdomain,
  validateNodeSelectorTerms,
  validateResourceList,
  type Obj,
} from "./validation.ts";

export const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

/** "RWO,ROX,RWX,RWOP" in Kubernetes' fixed order, duplicates removed. */
export function accessModesString(modes: unknown): string {
  const m = Array.isArray(modes) ? modes : [];
  const out: string[] = [];
  if (m.includes("ReadWriteOnce")) out.push("RWO");
  if (m.includes("ReadOnlyMany")) out.push("ROX");
  if (m.includes("ReadWriteMany")) out.push("RWX");
  if (m.includes("ReadWriteOncePod")) out.push("RWOP");
  return out.join(",");
}

/** Access modes: at least one (unless allowed empty), each supported, ReadWriteOncePod alone. */
export function validateAccessModes(errs: FieldError[], field: string, modes: unknown, requiredDetail: string): void {
  if (!Array.isArray(modes) || modes.length === 0) return void errs.push(required(field, requiredDetail));
  modes.forEach((m) => {
    if (!ACCESS_MODES.includes(m as string)) errs.push(notSupported(field, m, ACCESS_MODES));
  });
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) errs.push(forbidden(field, "may not use ReadWriteOncePod with other access modes"));
}

/** hostPath types (Kubernetes' HostPathType; "" skips the check). */
export const HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];

/** A path may not step up (Kubernetes' validatePathNoBacksteps). */
function noBacksteps(errs: FieldError[], field: string, path: unknown): void {
  if (String(path).split("/").includes("..")) errs.push(invalid(field, path, "must not contain '..'"));
}

/** The volume sources a PersistentVolume may name (exactly one). */
export const PV_SOURCES = [
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "hostPath",
  "glusterfs",
  "nfs",
  "rbd",
  "quobyte",
  "cinder",
  "cephfs",
  "iscsi",
  "fc",
  "flexVolume",
  "azureFile",
  "vsphereVolume",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "local",
  "storageos",
  "csi",
];

/** The storage class of a PV or PVC: the beta annotation wins over the field. */
export function storageClassOf(o: KubeObject): string {
  return o.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ?? ((getPath(o, "spec.storageClassName") as string | undefined) || "");
}

export const persistentVolumeKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "PersistentVolume",
  plural: "persistentvolumes",
  singular: "persistentvolume",
  namespaced: false,
  shortNames: ["pv"],
  subresources: ["status"],
  generation: false,
  categories: [],
  fields: ["spec", "status"],
  defaults: (pv) => {
    const spec = (pv.spec = isObj(pv.spec) ? pv.spec : {}) as Obj;
    spec.persistentVolumeReclaimPolicy ||= "Retain";
    spec.volumeMode ||= "Filesystem";
    canonicalizeResourceList(spec.capacity);
    const status = (pv.status = isObj(pv.status) ? pv.status : {}) as Obj;
    status.phase ||= "Pending";
  },
  validate: (pv, old) => {
    const errs: FieldError[] = [];
    const spec = sub(pv, "spec");
    const capacity = spec.capacity;
    if (!isObj(capacity) || Object.keys(capacity).length === 0) errs.push(required("spec.capacity"));
    if (!isObj(capacity) || !Object.hasOwn(capacity, "storage") || Object.keys(capacity).length > 1) errs.push(notSupported("spec.capacity", capacity ?? null, ["storage"]));
    validateResourceList(errs, "spec.capacity", capacity, { positive: true });
    validateAccessModes(errs, "spec.accessModes", spec.accessModes, "");
    const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
    if (sources.length === 0) errs.push(required("spec", "must specify a volume type"));
    for (const s of sources.slice(1)) errs.push(forbidden(`spec.${s}`, "may not specify more than 1 volume type"));
    if (isObj(spec.hostPath)) {
      if (!spec.hostPath.path) errs.push(required("spec.hostPath.path"));
      else noBacksteps(errs, "spec.hostPath.path", spec.hostPath.path);
      if (spec.hostPath.type !== undefined && spec.hostPath.type !== null) enumField(errs, "spec.hostPath.type", spec.hostPath.type, HOST_PATH_TYPES);
    }
    if (isObj(spec.local)) {
      if (!spec.local.path) errs.push(required("spec.local.path"));
      else noBacksteps(errs, "spec.local.path", spec.local.path);
      if (!isObj(spec.nodeAffinity)) errs.push(required("spec.nodeAffinity", "Local volume requires node affinity"));
    }
    if (isObj(spec.nfs)) {
      if (!spec.nfs.server) errs.push(required("spec.nfs.server"));
      if (!spec.nfs.path) errs.push(required("spec.nfs.path"));
      else if (!String(spec.nfs.path).startsWith("/")) errs.push(invalid("spec.nfs.path", spec.nfs.path, "must be an absolute path"));
    }
    if (isObj(spec.csi)) {
      if (!spec.csi.driver) errs.push(required("spec.csi.driver"));
      if (!spec.csi.volumeHandle) errs.push(required("spec.csi.volumeHandle"));
    }
    if (isObj(spec.nodeAffinity)) {
      const req = spec.nodeAffinity.required;
      if (!isObj(req)) errs.push(required("spec.nodeAffinity.required"));
      else validateNodeSelectorTerms(errs, "spec.nodeAffinity.required.nodeSelectorTerms", req.nodeSelectorTerms);
    }
    enumField(errs, "spec.persistentVolumeReclaimPolicy", spec.persistentVolumeReclaimPolicy, ["Delete", "Recycle", "Retain"]);
    enumField(errs, "spec.volumeMode", spec.volumeMode, ["Block", "Filesystem"]);
    if (spec.storageClassName) errs.push(...subdomain(String(spec.storageClassName), "spec.storageClassName"));
    if (isObj(spec.claimRef) && !spec.claimRef.name) errs.push(required("spec.claimRef.name"));
    enumField(errs, "status.phase", sub(pv, "status").phase, ["Pending", "Available", "Bound", "Released", "Failed"]);
    if (old) {
      const prev = sub(old, "spec");
      const source = (s: Obj) => Object.fromEntries(PV_SOURCES.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
      if (!jsonEqual(source(spec), source(prev))) errs.push(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
      checkImmutable(errs, "spec.volumeMode", spec.volumeMode, prev.volumeMode);
      if (prev.nodeAffinity !== undefined) checkImmutable(errs, "spec.nodeAffinity", spec.nodeAffinity, prev.nodeAffinity);
    }
    return errs;
  },
  columns: [
    { name: "Capacity", type: "string", description: "capacity is the description of the persistent volume's resources and capacity.", cell: (o) => canonicalQuantity(getPath(o, "spec.capacity.storage")) ?? "0" },
    { name: "Access Modes", type: "string", description: "accessModes contains all ways the volume can be mounted.", cell: (o) => accessModesString(getPath(o, "spec.accessModes")) },
    { name: "Reclaim Policy", type: "string", description: "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.", cell: (o) => (getPath(o, "spec.persistentVolumeReclaimPolicy") as string) ?? "" },
    { name: "Status", type: "string", description: "phase indicates if a volume is available, bound to a claim, or released by a claim.", cell: (o) => (o.metadata.deletionTimestamp ? "Terminating" : ((getPath(o, "status.phase") as string) ?? "")) },
    {
      name: "Claim",
      type: "string",
      description: "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
      cell: (o) => {
        const ref = getPath(o, "spec.claimRef");
        return isObj(ref) ? `${ref.namespace ?? ""}/${ref.name ?? ""}` : "";
      },
    },
    { name: "StorageClass", type: "string", description: "StorageClass of the pv", cell: storageClassOf },
    { name: "VolumeAttributesClass", type: "string", description: "VolumeAttributesClass of the pv", cell: (o) => (getPath(o, "spec.volumeAttributesClassName") as string | undefined) ?? "<unset>" },
    { name: "Reason", type: "string", description: "reason is a brief CamelCase string that describes any failure.", cell: (o) => (getPath(o, "status.reason") as string) ?? "" },
    ageColumn,
    { name: "VolumeMode", type: "string", priority: 1, description: "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", cell: (o) => (getPath(o, "spec.volumeMode") as string | undefined) ?? "<unset>" },
  ],
};
