import { ageColumn, getPath } from "./columns.ts";
import { defaultPodTemplate, validateSelectorAndTemplate, validateWorkload, workloadWideColumns } from "./deployment.ts";
import type { ResourceKind } from "./types.ts";

const num = (o: unknown, path: string) => (getPath(o, path) as number | undefined) ?? 0;

export const replicaSetKind: ResourceKind = {
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  plural: "replicasets",
  singular: "replicaset",
  namespaced: true,
  shortNames: ["rs"],
  subresources: ["status", "scale"],
  generation: true,
  categories: ["all"],
  fields: ["spec", "status"],
  scale: { specReplicasPath: "spec.replicas", statusReplicasPath: "status.replicas", labelSelectorPath: "spec.selector" },
  defaults: (rs) => {
    defaultPodTemplate(rs);
    (rs.spec as Record<string, unknown>).replicas ??= 1;
  },
  validate: (rs, old) => [...validateSelectorAndTemplate(rs), ...validateWorkload(rs, old, "ReplicaSet")],
  columns: [
    { name: "Desired", type: "integer", description: "Replicas is the number of desired pods.", cell: (o) => num(o, "spec.replicas") },
    { name: "Current", type: "integer", description: "Replicas is the most recently observed number of replicas.", cell: (o) => num(o, "status.replicas") },
    { name: "Ready", type: "integer", description: "The number of ready replicas for this replica set.", cell: (o) => num(o, "status.readyReplicas") },
    ageColumn,
    ...workloadWideColumns(),
  ],
};
