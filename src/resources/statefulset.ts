import { ageColumn, getPath } from "./columns.ts";
import { defaultPodTemplate, validateSelectorAndTemplate, validateWorkload, workloadWideColumns } from "./deployment.ts";
import { defaultClaim, validateClaimSpec } from "./persistentvolumeclaim.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { enumField, forbidden, invalid, isObj, jsonEqual, nonNegative, required, sub, subdomain, type Obj } from "./validation.ts";

/** Spec fields a StatefulSet update may change. */
const MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

function validateStatefulSet(sts: KubeObject, old?: KubeObject): FieldError[] {
  const errs = [...validateSelectorAndTemplate(sts), ...validateWorkload(sts, old, "StatefulSet")];
  const spec = sub(sts, "spec");
  enumField(errs, "spec.podManagementPolicy", spec.podManagementPolicy, ["OrderedReady", "Parallel"]);
  const strategy = sub(spec, "updateStrategy");
  enumField(errs, "spec.updateStrategy.type", strategy.type, ["OnDelete", "RollingUpdate"]);
  if (strategy.type === "OnDelete" && strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null)
    errs.push(invalid("spec.updateStrategy.rollingUpdate", strategy.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  nonNegative(errs, "spec.updateStrategy.rollingUpdate.partition", sub(strategy, "rollingUpdate").partition);
  const retention = sub(spec, "persistentVolumeClaimRetentionPolicy");
  enumField(errs, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", retention.whenDeleted, ["Retain", "Delete"]);
  enumField(errs, "spec.persistentVolumeClaimRetentionPolicy.whenScaled", retention.whenScaled, ["Retain", "Delete"]);
  nonNegative(errs, "spec.ordinals.start", sub(spec, "ordinals").start);
  if (Array.isArray(spec.volumeClaimTemplates))
    spec.volumeClaimTemplates.forEach((t, i) => {
      const at = `spec.volumeClaimTemplates[${i}]`;
      const name = getPath(t, "metadata.name");
      if (typeof name !== "string" || !name) errs.push(required(`${at}.metadata.name`));
      else errs.push(...subdomain(name, `${at}.metadata.name`));
      validateClaimSpec(errs, `${at}.spec`, sub(t, "spec"));
    });
  if (old) {
    const strip = (s: Obj) => Object.fromEntries(Object.entries(s).filter(([k]) => !MUTABLE.includes(k)));
    const prev = sub(old, "spec");
    const normalize = (v: Obj) => JSON.parse(JSON.stringify(strip(v)));
    if (!jsonEqual(normalize(spec), normalize(prev)))
      errs.push(
        forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

export const statefulSetKind: ResourceKind = {
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  plural: "statefulsets",
  singular: "statefulset",
  namespaced: true,
  shortNames: ["sts"],
  subresources: ["status", "scale"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  scale: { specReplicasPath: "spec.replicas", statusReplicasPath: "status.replicas", labelSelectorPath: "spec.selector" },
  defaults: (sts) => {
    defaultPodTemplate(sts);
    const spec = sts.spec as Obj;
    spec.podManagementPolicy ||= "OrderedReady";
    const strategy = (spec.updateStrategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {}) as Obj;
    if (!strategy.type) {
      strategy.type = "RollingUpdate";
      if (!isObj(strategy.rollingUpdate)) strategy.rollingUpdate = {};
    }
    if (strategy.type === "RollingUpdate" && isObj(strategy.rollingUpdate)) strategy.rollingUpdate.partition ??= 0;
    const retention = (spec.persistentVolumeClaimRetentionPolicy = isObj(spec.persistentVolumeClaimRetentionPolicy) ? spec.persistentVolumeClaimRetentionPolicy : {}) as Obj;
    retention.whenDeleted ||= "Retain";
    retention.whenScaled ||= "Retain";
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    if (Array.isArray(spec.volumeClaimTemplates))
      for (const t of spec.volumeClaimTemplates) {
        if (!isObj(t)) continue;
        t.apiVersion ??= "v1";
        t.kind ??= "PersistentVolumeClaim";
        defaultClaim(t);
      }
  },
  validate: validateStatefulSet,
  columns: [
    {
      name: "Ready",
      type: "string",
      description: "Number of the pod with ready state",
      cell: (o) => `${(getPath(o, "status.readyReplicas") as number | undefined) ?? 0}/${(getPath(o, "spec.replicas") as number | undefined) ?? 0}`,
    },
    ageColumn,
    ...workloadWideColumns().slice(0, 2),
  ],
};
