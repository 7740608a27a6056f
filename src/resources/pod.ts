import { ageColumn, getPath } from "./columns.ts";
import { validatePodScheduling } from "./pod-scheduling.ts";
import { defaultPodServiceAccount } from "./pod-service-account.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number; signal?: number } };
}

/** The STATUS column as kubectl shows it: a waiting/terminated reason beats the phase. */
export function podDisplayStatus(pod: KubeObject): string {
  const status = (pod.status ?? {}) as { phase?: string; reason?: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  let reason = status.reason || status.phase || "Pending";
  const inits = status.initContainerStatuses ?? [];
  const initCount = ((getPath(pod, "spec.initContainers") as unknown[]) ?? []).length;
  let initializing = false;
  inits.forEach((c, i) => {
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return;
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing") reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
  });
  if (!initializing) {
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      const w = c.state?.waiting?.reason;
      const t = c.state?.terminated;
      if (w) reason = w;
      else if (t?.reason) reason = t.reason;
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
    }
  }
  if (pod.metadata.deletionTimestamp) reason = "Terminating";
  return reason;
}

function readyCell(pod: KubeObject): string {
  const total = ((getPath(pod, "spec.containers") as unknown[]) ?? []).length;
  const statuses = (getPath(pod, "status.containerStatuses") as ContainerStatus[]) ?? [];
  return `${statuses.filter((c) => c.ready).length}/${total}`;
}

function restartsCell(pod: KubeObject): string {
  const statuses = (getPath(pod, "status.containerStatuses") as ContainerStatus[]) ?? [];
  return String(statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0));
}

const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];

/** Defaults of a PodSpec, shared with every kind that embeds a pod template. */
export function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const list of ["initContainers", "containers"]) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers as Record<string, unknown>[]) {
      if (!c || typeof c !== "object") continue;
      const image = typeof c.image === "string" ? c.image : "";
      const tag = image.includes("@") ? "digest" : image.split("/").pop()?.split(":")[1];
      c.imagePullPolicy ??= !tag || tag === "latest" ? "Always" : "IfNotPresent";
      c.terminationMessagePath ??= "/dev/termination-log";
      c.terminationMessagePolicy ??= "File";
      c.resources ??= {};
      if (Array.isArray(c.ports)) for (const p of c.ports as Record<string, unknown>[]) if (p && typeof p === "object") p.protocol ??= "TCP";
    }
  }
}

/**
 * The DefaultTolerationSeconds admission plugin: a pod that does not tolerate
 * `node.kubernetes.io/not-ready|unreachable:NoExecute` gets a toleration for each with
 * tolerationSeconds 300, so it is evicted 5 minutes after its node is lost.
 */
export function defaultTolerationSeconds(spec: Record<string, unknown>, seconds = 300): void {
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Record<string, unknown>[]) : [];
  const added: Record<string, unknown>[] = [];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const tolerated = tolerations.some(
      (t) => t && typeof t === "object" && (!t.effect || t.effect === "NoExecute") && (t.key === key || (!t.key && t.operator === "Exists")),
    );
    if (!tolerated) added.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds });
  }
  if (added.length > 0 && (spec.tolerations === undefined || Array.isArray(spec.tolerations))) spec.tolerations = [...tolerations, ...added];
}

/** Validation of a PodSpec at `field`, shared with every kind that embeds a pod template. */
export function validatePodSpec(spec: unknown, field: string): FieldError[] {
  if (!spec || typeof spec !== "object") return [{ field, reason: "FieldValueRequired", message: "Required value" }];
  const s = spec as Record<string, unknown>;
  const errs: FieldError[] = [];
  if (!Array.isArray(s.containers) || s.containers.length === 0)
    errs.push({ field: `${field}.containers`, reason: "FieldValueRequired", message: "Required value" });
  const names = new Set<string>();
  for (const list of ["initContainers", "containers"]) {
    const containers = s[list];
    if (containers === undefined) continue;
    if (!Array.isArray(containers)) {
      errs.push({ field: `${field}.${list}`, reason: "FieldValueInvalid", message: "must be a list" });
      continue;
    }
    containers.forEach((c: Record<string, unknown>, i) => {
      const at = `${field}.${list}[${i}]`;
      if (!c || typeof c !== "object") return errs.push({ field: at, reason: "FieldValueInvalid", message: "must be an object" });
      if (typeof c.name !== "string" || !c.name) errs.push({ field: `${at}.name`, reason: "FieldValueRequired", message: "Required value" });
      else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(c.name) || c.name.length > 63)
        errs.push({ field: `${at}.name`, reason: "FieldValueInvalid", message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
      else if (names.has(c.name)) errs.push({ field: `${at}.name`, reason: "FieldValueDuplicate", message: `Duplicate value: "${c.name}"` });
      else names.add(c.name);
      if (typeof c.image !== "string" || !c.image.trim()) errs.push({ field: `${at}.image`, reason: "FieldValueRequired", message: "Required value" });
      if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy as string))
        errs.push({ field: `${at}.imagePullPolicy`, reason: "FieldValueNotSupported", message: `Unsupported value: "${c.imagePullPolicy}": supported values: "Always", "IfNotPresent", "Never"` });
      for (const f of ["command", "args"])
        if (c[f] !== undefined && (!Array.isArray(c[f]) || (c[f] as unknown[]).some((x) => typeof x !== "string")))
          errs.push({ field: `${at}.${f}`, reason: "FieldValueInvalid", message: "must be a list of strings" });
      if (Array.isArray(c.ports))
        (c.ports as Record<string, unknown>[]).forEach((p, j) => {
          const port = p?.containerPort;
          if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
            errs.push({ field: `${at}.ports[${j}].containerPort`, reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive` });
        });
      if (Array.isArray(c.env))
        (c.env as Record<string, unknown>[]).forEach((e, j) => {
          if (!e || typeof e.name !== "string" || !e.name) errs.push({ field: `${at}.env[${j}].name`, reason: "FieldValueRequired", message: "Required value" });
        });
    });
  }
  if (s.restartPolicy !== undefined && !RESTART_POLICIES.includes(s.restartPolicy as string))
    errs.push({ field: `${field}.restartPolicy`, reason: "FieldValueNotSupported", message: `Unsupported value: "${s.restartPolicy}": supported values: "Always", "OnFailure", "Never"` });
  errs.push(...validatePodScheduling(s, field));
  return errs;
}

export const podKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Pod",
  plural: "pods",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward", "proxy", "ephemeralcontainers"],
  fields: ["spec", "status"],
  defaults: (pod) => {
    pod.spec ??= {};
    defaultPodSpec(pod.spec as Record<string, unknown>);
    defaultTolerationSeconds(pod.spec as Record<string, unknown>);
    defaultPodServiceAccount(pod.spec as Record<string, unknown>);
    pod.status ??= { phase: "Pending", qosClass: "BestEffort" };
  },
  validate: (pod) => validatePodSpec(pod.spec, "spec"),
  columns: [
    { name: "Ready", type: "string", description: "The number of ready containers over all containers", cell: readyCell },
    { name: "Status", type: "string", description: "The aggregate readiness state of this pod", cell: podDisplayStatus },
    { name: "Restarts", type: "string", description: "The number of times the containers in this pod have been restarted", cell: restartsCell },
    ageColumn,
    { name: "IP", type: "string", priority: 1, cell: (p) => (getPath(p, "status.podIP") as string) || "<none>" },
    { name: "Node", type: "string", priority: 1, cell: (p) => (getPath(p, "spec.nodeName") as string) || "<none>" },
    { name: "Nominated Node", type: "string", priority: 1, cell: (p) => (getPath(p, "status.nominatedNodeName") as string) || "<none>" },
    { name: "Readiness Gates", type: "string", priority: 1, cell: (p) => {
      const gates = (getPath(p, "spec.readinessGates") as unknown[]) ?? [];
      return gates.length ? `0/${gates.length}` : "<none>";
    } },
  ],
};
