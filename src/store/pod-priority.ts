import { forbidden } from "../api/errors.ts";
import { SYSTEM_PRIORITY_CLASSES } from "../resources/priorityclass.ts";
import type { KubeObject } from "../resources/types.ts";
import { getRow, objectKey, type Db } from "./revision-log.ts";

/**
 * Priority admission for a pod being created: spec.priorityClassName becomes
 * spec.priority (and the class's preemptionPolicy), as Kubernetes' Priority plugin does.
 * A pod naming no class keeps the priority it has (0 when none). One read, and only
 * for pods that name a class.
 */
export async function admitPodPriority(db: Db, pod: KubeObject): Promise<void> {
  const spec = (pod.spec ?? {}) as { priorityClassName?: string; priority?: number; preemptionPolicy?: string };
  const name = spec.priorityClassName;
  if (!name) return;
  let value = SYSTEM_PRIORITY_CLASSES[name];
  let policy = "PreemptLowerPriority";
  if (value === undefined) {
    const row = await getRow(db, objectKey("scheduling.k8s.io/priorityclasses", "", name));
    if (!row) throw forbidden(`pods "${pod.metadata.name ?? pod.metadata.generateName ?? ""}" is forbidden: no PriorityClass with name ${name} was found`);
    const pc = JSON.parse(row.value) as { value: number; preemptionPolicy?: string };
    value = pc.value;
    policy = pc.preemptionPolicy ?? policy;
  }
  if (spec.priority !== undefined && spec.priority !== value)
    throw forbidden(`pods "${pod.metadata.name ?? ""}" is forbidden: the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
  spec.priority = value;
  spec.preemptionPolicy ??= policy;
  pod.spec = spec;
}
