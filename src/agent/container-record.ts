import type { ProbeSpec } from "./probe-state.ts";

/**
 * What the agent knows about one container of a pod (pure data, shared by every runtime):
 * the pod worker updates it as the runtime starts and reaps containers, and the pod's
 * status is computed from it.
 */

export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
  containerID?: string;
}

export type ContainerState =
  | { kind: "waiting"; reason: string; message?: string }
  | { kind: "running"; startedAt: string }
  | { kind: "terminated"; terminated: Terminated };

export interface ContainerRecord {
  name: string;
  image: string;
  init: boolean;
  state: ContainerState;
  /** The previous run's termination, once the container has been restarted. */
  lastTerminated?: Terminated;
  restartCount: number;
  containerID?: string;
  imageID?: string;
  /** The container was started at least once by this agent. */
  everStarted: boolean;
  /** Not to be started before this time (ms): a config error's retry, or the image pull back-off. */
  notBefore?: number;
  /** Image pulls failed in a row (ErrImagePull -> ImagePullBackOff, 10 s doubling to 5 min). */
  pullFailures?: number;
  /** When the last ErrImagePull was recorded (ms). */
  pullShownAt?: number;
  /** The running instance's probes: startup probe passed (undefined: no probes, started when running). */
  probeStarted?: boolean;
  /** The running instance's probes: started and readiness passed (undefined: no probes, ready when running). */
  probeReady?: boolean;
}

/** The container fields of a PodSpec the agent uses. */
export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { containerPort: number; protocol?: string; name?: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  imagePullPolicy?: string;
  securityContext?: SecurityContext;
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  /** Keep the container's stdin open (for attach); stdinOnce: close it when the first attach ends. */
  stdin?: boolean;
  stdinOnce?: boolean;
  /** Run the container on a terminal. */
  tty?: boolean;
}

/** The securityContext fields the runtimes apply (container values win over the pod's). */
export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
  };
}

export interface PodSpec {
  nodeName?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  initContainers?: ContainerSpec[];
  containers: ContainerSpec[];
  hostNetwork?: boolean;
  securityContext?: SecurityContext;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: PodSpec;
  status?: PodStatus;
}

export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  state: Record<string, unknown>;
  lastState: Record<string, unknown>;
  ready: boolean;
  restartCount: number;
  started: boolean;
}

export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
  qosClass?: string;
}

/** A fresh record for a container this agent has not started yet. */
export function newRecord(spec: ContainerSpec, init: boolean, restartCount = 0): ContainerRecord {
  return {
    name: spec.name,
    image: spec.image,
    init,
    state: { kind: "waiting", reason: init ? "PodInitializing" : "ContainerCreating" },
    restartCount,
    everStarted: false,
  };
}
