import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { checkImmutable, enumField, isObj, required, subdomain } from "./validation.ts";

/**
 * storage.k8s.io/v1 StorageClass: which provisioner makes volumes for claims naming it, with
 * what reclaim policy and binding mode. The one marked with the
 * `storageclass.kubernetes.io/is-default-class: "true"` annotation is given to claims that name
 * none (DefaultStorageClass admission, src/store/claim-admission.ts). Edgeplane ships
 * `local-path` (src/controllers/bootstrap.ts), provisioned by its own scheduler-side provisioner
 * (src/scheduler/volume-binding.ts): node-local directories under each agent's data dir.
 */

export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
export const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";
export const LOCAL_PATH_PROVISIONER = "edgeplane.dev/local-path";
export const LOCAL_PATH_CLASS = "local-path";
/** Where a node agent keeps provisioned volumes (its Node's annotation; src/agent/claim-volumes.ts). */
export const LOCAL_PATH_ROOT_ANNOTATION = "edgeplane.dev/local-path-root";

export const isDefaultClass = (sc: KubeObject): boolean =>
  sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true" || sc.metadata.annotations?.[BETA_DEFAULT_CLASS_ANNOTATION] === "true";

/** The class Edgeplane creates at bootstrap: the default, WaitForFirstConsumer, Delete. */
export function localPathClass(): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: false,
  };
}

export const storageClassKind: ResourceKind = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "StorageClass",
  plural: "storageclasses",
  singular: "storageclass",
  namespaced: false,
  shortNames: ["sc"],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion", "volumeBindingMode", "allowedTopologies"],
  defaults: (sc) => {
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate: (sc, old) => {
    const errs: FieldError[] = [];
    if (typeof sc.provisioner !== "string" || !sc.provisioner) errs.push(required("provisioner"));
    else errs.push(...subdomain(sc.provisioner.replace(/\//g, "."), "provisioner"));
    enumField(errs, "reclaimPolicy", sc.reclaimPolicy, ["Delete", "Retain"]);
    enumField(errs, "volumeBindingMode", sc.volumeBindingMode, ["Immediate", "WaitForFirstConsumer"]);
    if (sc.parameters !== undefined && !isObj(sc.parameters)) errs.push(required("parameters", "must be a map of strings"));
    if (old) {
      checkImmutable(errs, "provisioner", sc.provisioner, old.provisioner);
      checkImmutable(errs, "parameters", sc.parameters ?? {}, old.parameters ?? {});
      checkImmutable(errs, "reclaimPolicy", sc.reclaimPolicy, old.reclaimPolicy);
      checkImmutable(errs, "volumeBindingMode", sc.volumeBindingMode, old.volumeBindingMode);
    }
    return errs;
  },
  columns: [
    {
      name: "Name",
      type: "string",
      format: "name",
      description: "Name must be unique within a namespace.",
      cell: (o) => `${o.metadata.name ?? ""}${isDefaultClass(o) ? " (default)" : ""}`,
    },
    { name: "Provisioner", type: "string", description: "Indicates the type of the provisioner.", cell: (o) => (o.provisioner as string) ?? "" },
    { name: "ReclaimPolicy", type: "string", description: "Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.", cell: (o) => (o.reclaimPolicy as string) ?? "" },
    { name: "VolumeBindingMode", type: "string", description: "VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.", cell: (o) => (o.volumeBindingMode as string) ?? "" },
    { name: "AllowVolumeExpansion", type: "string", description: "AllowVolumeExpansion shows whether the storage class allow volume expand.", cell: (o) => String(o.allowVolumeExpansion === true) },
    ageColumn,
  ],
};
