import type { ResourceKind } from "../resources/types.ts";

/**
 * Schemas for the OpenAPI v3 documents: the shared apimachinery types, and for each
 * kind a truthful but permissive structural schema. Only the first level of each kind
 * (and of the pod template) is modelled; everything below is an object marked
 * `x-kubernetes-preserve-unknown-fields`, so no valid manifest is ever contradicted.
 */

export type Schema = Record<string, unknown>;

export const REF_PREFIX = "#/components/schemas/";
export const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
export const OBJECT_META = `${META}.ObjectMeta`;
export const LIST_META = `${META}.ListMeta`;
export const STATUS = `${META}.Status`;
export const DELETE_OPTIONS = `${META}.DeleteOptions`;
export const PATCH = `${META}.Patch`;
export const WATCH_EVENT = `${META}.WatchEvent`;
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const LABEL_SELECTOR = `${META}.LabelSelector`;
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const POD_TEMPLATE_SPEC = "io.k8s.api.core.v1.PodTemplateSpec";
const POD_SPEC = "io.k8s.api.core.v1.PodSpec";
const CONTAINER = "io.k8s.api.core.v1.Container";

/** The package part of a schema name: "" -> core, "networking.k8s.io" -> networking. */
export function schemaPackage(group: string): string {
  return group === "" ? "core" : group.split(".")[0];
}

/** "io.k8s.api.apps.v1.Deployment" */
export function schemaName(group: string, version: string, kind: string): string {
  return `io.k8s.api.${schemaPackage(group)}.${version}.${kind}`;
}

// ---- small builders -------------------------------------------------------

const PRESERVE = { "x-kubernetes-preserve-unknown-fields": true } as const;

export const ref = (name: string, description?: string): Schema =>
  description === undefined ? { $ref: REF_PREFIX + name } : { description, allOf: [{ $ref: REF_PREFIX + name }] };
const str = (description: string): Schema => ({ type: "string", description });
const int32 = (description: string): Schema => ({ type: "integer", format: "int32", description });
const int64 = (description: string): Schema => ({ type: "integer", format: "int64", description });
const bool = (description: string): Schema => ({ type: "boolean", description });
/** An object whose fields this server does not model. */
const obj = (description: string): Schema => ({ type: "object", description, ...PRESERVE });
/** A list of objects whose fields this server does not model. */
const objs = (description: string): Schema => ({ type: "array", description, items: { type: "object", ...PRESERVE } });
const strs = (description: string): Schema => ({ type: "array", description, items: { type: "string" } });
const strMap = (description: string): Schema => ({ type: "object", description, additionalProperties: { type: "string" } });
const bytesMap = (description: string): Schema => ({ type: "object", description, additionalProperties: { type: "string", format: "byte" } });
const quantityMap = (description: string): Schema => ({ type: "object", description, additionalProperties: ref(QUANTITY) });
const refs = (name: string, description: string): Schema => ({ type: "array", description, items: ref(name) });
const time = (description: string) => ref(TIME, description);
const microTime = (description: string) => ref(MICRO_TIME, description);
const intOrString = (description: string) => ref(INT_OR_STRING, description);
const selector = (description: string) => ref(LABEL_SELECTOR, description);
const podTemplate = (description: string) => ref(POD_TEMPLATE_SPEC, description);

/** An object with some modelled fields; unmodelled ones are kept, never rejected. */
function struct(description: string, properties: Record<string, Schema>, required?: string[]): Schema {
  return { type: "object", description, properties, ...(required?.length ? { required } : {}), ...PRESERVE };
}

const API_VERSION_DESC =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.";
const KIND_DESC =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.";
const METADATA_DESC = "Standard object's metadata.";
const LIST_METADATA_DESC = "Standard list metadata.";
const STATUS_DESC = "Most recently observed status. Populated by the system. Read-only.";

// ---- shared schemas ---------------------------------------------------------

/** Shared schemas by name; documents include the ones they reference. */
export const SHARED_SCHEMAS: Record<string, Schema> = {
  [TIME]: { type: "string", format: "date-time", description: "A timestamp in RFC 3339 form, with second precision." },
  [MICRO_TIME]: { type: "string", format: "date-time", description: "A timestamp in RFC 3339 form, with microsecond precision." },
  [INT_OR_STRING]: {
    format: "int-or-string",
    "x-kubernetes-int-or-string": true,
    description: "A value that is either an integer or a string (for example 3 or \"25%\").",
  },
  [QUANTITY]: {
    format: "quantity",
    "x-kubernetes-int-or-string": true,
    description: "A fixed-point amount such as 100m, 1.5, 128Mi or 2G; a plain number is accepted too.",
  },
  [`${META}.OwnerReference`]: struct(
    "Identifies an object that owns this one; the owner must be in the same namespace or cluster-scoped.",
    {
      apiVersion: str("API version of the referent."),
      kind: str("Kind of the referent."),
      name: str("Name of the referent."),
      uid: str("UID of the referent."),
      controller: bool("If true, this reference points to the managing controller."),
      blockOwnerDeletion: bool("If true, the owner cannot be deleted from the key-value store until this reference is removed (foreground deletion)."),
    },
    ["apiVersion", "kind", "name", "uid"],
  ),
  [`${META}.ManagedFieldsEntry`]: struct("Records the fields a field manager owns, and which operation set them.", {
    apiVersion: str("Version of the schema the fieldsV1 refer to."),
    fieldsType: str("The format of fieldsV1; the only value is \"FieldsV1\"."),
    fieldsV1: obj("The set of fields owned, in the FieldsV1 format."),
    manager: str("Identifier of the workflow managing these fields."),
    operation: str("The operation that led to this entry: Apply or Update."),
    subresource: str("The subresource used to update the object, if any."),
    time: time("When this entry was last changed."),
  }),
  [OBJECT_META]: {
    type: "object",
    description: "Metadata that all persisted resources must have, which includes all objects users must create.",
    properties: {
      name: str("Unique name of the object within its namespace (or the cluster, for cluster-scoped kinds). Cannot be updated."),
      generateName: str("Optional prefix from which the server generates a unique name when name is not set."),
      namespace: str("The namespace the object lives in; empty for cluster-scoped kinds. Cannot be updated."),
      selfLink: str("Deprecated; not set by the system."),
      uid: str("Unique identifier of this object in time and space, set by the server on creation. Read-only."),
      resourceVersion: str("Opaque value identifying the internal version of this object, for optimistic concurrency and watches. Read-only."),
      generation: int64("A sequence number representing a specific generation of the desired state. Read-only."),
      creationTimestamp: time("When the object was created. Read-only."),
      deletionTimestamp: time("When the object will be deleted; set when a graceful deletion is requested. Read-only."),
      deletionGracePeriodSeconds: int64("Seconds allowed for the object to terminate gracefully before removal. Read-only."),
      labels: strMap("Map of string keys and values used to organize and select objects."),
      annotations: strMap("Unstructured key-value map for arbitrary metadata that is not queryable."),
      ownerReferences: {
        ...refs(`${META}.OwnerReference`, "Objects this object depends on; when all owners are gone the object is garbage collected."),
        "x-kubernetes-patch-merge-key": "uid",
        "x-kubernetes-patch-strategy": "merge",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["uid"],
      },
      finalizers: {
        ...strs("Must be empty before the object is deleted from the store; each entry names a party responsible for cleanup."),
        "x-kubernetes-patch-strategy": "merge",
        "x-kubernetes-list-type": "set",
      },
      managedFields: refs(`${META}.ManagedFieldsEntry`, "Which field manager owns which fields. Maintained by the server."),
    },
  },
  [LIST_META]: {
    type: "object",
    description: "Metadata that synthetic resources (lists) have.",
    properties: {
      resourceVersion: str("The revision of the store this list was read at."),
      continue: str("Token for fetching the next page, set when the list was limited and more items remain."),
      remainingItemCount: int64("Approximate number of items after this page, when known."),
      selfLink: str("Deprecated; not set by the system."),
    },
  },
  [`${META}.StatusCause`]: struct("More information about a failure.", {
    field: str("The field of the resource that caused the error, if any."),
    message: str("Human-readable description of the cause."),
    reason: str("Machine-readable description of the cause."),
  }),
  [`${META}.StatusDetails`]: struct("Additional data about a Status.", {
    causes: refs(`${META}.StatusCause`, "The causes of a failure."),
    group: str("The group of the resource."),
    kind: str("The kind of the resource."),
    name: str("The name of the resource."),
    retryAfterSeconds: int32("Seconds the client should wait before retrying."),
    uid: str("The UID of the resource."),
  }),
  [STATUS]: {
    type: "object",
    description: "The return value for calls that don't return other objects.",
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(LIST_META, LIST_METADATA_DESC),
      code: int32("Suggested HTTP return code."),
      details: ref(`${META}.StatusDetails`, "Extended data associated with the reason."),
      message: str("Human-readable description of the status."),
      reason: str("Machine-readable description of why the operation is in the Failure status."),
      status: str("Success or Failure."),
    },
    "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Status" }],
  },
  [`${META}.Preconditions`]: struct("Conditions that must be met before a deletion is carried out.", {
    resourceVersion: str("The target resourceVersion."),
    uid: str("The target UID."),
  }),
  [DELETE_OPTIONS]: {
    type: "object",
    description: "Options for a deletion.",
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      dryRun: strs("When present, the deletion is not persisted. The only value is All."),
      gracePeriodSeconds: int64("Seconds before the object should be deleted; zero means delete immediately."),
      orphanDependents: bool("Deprecated: use propagationPolicy. Whether dependents are orphaned."),
      preconditions: ref(`${META}.Preconditions`, "Must be fulfilled before the deletion is carried out."),
      propagationPolicy: str("Whether and how garbage collection is performed: Orphan, Background or Foreground."),
    },
  },
  [PATCH]: { type: "object", description: "The body of a PATCH request; its format is given by the Content-Type." },
  [WATCH_EVENT]: {
    type: "object",
    description: "An event in a watch stream.",
    required: ["type", "object"],
    properties: {
      type: str("ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."),
      object: obj("The object: for ADDED and MODIFIED its new state, for DELETED its last state, for BOOKMARK only its resourceVersion, for ERROR a Status."),
    },
  },
  [LABEL_SELECTOR]: {
    type: "object",
    description: "A label query over a set of resources. matchLabels and matchExpressions are ANDed; an empty selector matches everything.",
    properties: {
      matchLabels: strMap("Map of {key,value} pairs; each is equivalent to a matchExpressions entry with operator In and that single value."),
      matchExpressions: objs("A list of label selector requirements ({key, operator: In|NotIn|Exists|DoesNotExist, values})."),
    },
    "x-kubernetes-map-type": "atomic",
  },
  [POD_TEMPLATE_SPEC]: {
    type: "object",
    description: "Describes the data a pod should have when created from a template.",
    properties: {
      metadata: ref(OBJECT_META, METADATA_DESC),
      spec: ref(POD_SPEC, "Specification of the desired behavior of the pod."),
    },
  },
  [POD_SPEC]: struct(
    "A description of a pod.",
    {
      containers: refs(CONTAINER, "Containers in the pod; there must be at least one."),
      initContainers: refs(CONTAINER, "Containers run to completion, in order, before the regular containers start."),
      ephemeralContainers: objs("Ephemeral containers run in this pod for debugging; added through the ephemeralcontainers subresource."),
      volumes: objs("Volumes that the pod's containers can mount."),
      restartPolicy: str("Restart policy for all containers: Always, OnFailure or Never. Defaults to Always."),
      terminationGracePeriodSeconds: int64("Seconds the pod is given to terminate gracefully. Defaults to 30."),
      activeDeadlineSeconds: int64("Seconds the pod may be active before the system actively tries to stop it."),
      dnsPolicy: str("DNS policy: ClusterFirstWithHostNet, ClusterFirst, Default or None."),
      nodeSelector: strMap("Labels a node must have for the pod to be scheduled on it."),
      serviceAccountName: str("Name of the ServiceAccount the pod runs as."),
      serviceAccount: str("Deprecated alias for serviceAccountName."),
      automountServiceAccountToken: bool("Whether a service account token should be mounted automatically."),
      nodeName: str("Requests the pod be scheduled onto this specific node."),
      hostNetwork: bool("Use the host's network namespace."),
      hostPID: bool("Use the host's PID namespace."),
      hostIPC: bool("Use the host's IPC namespace."),
      shareProcessNamespace: bool("Share a single process namespace among the pod's containers."),
      securityContext: obj("Pod-level security attributes and common container settings."),
      imagePullSecrets: objs("References to Secrets in the same namespace used to pull the images."),
      hostname: str("The pod's hostname; defaults to a system-defined value."),
      subdomain: str("The pod's subdomain; the FQDN is <hostname>.<subdomain>.<namespace>.svc.<cluster domain>."),
      affinity: obj("Scheduling constraints: node affinity, pod affinity and anti-affinity."),
      schedulerName: str("The scheduler that places this pod."),
      tolerations: objs("Tolerations of node taints."),
      hostAliases: objs("Entries added to the pod's hosts file."),
      priorityClassName: str("Name of the PriorityClass that gives the pod its priority."),
      priority: int32("Priority value, resolved from priorityClassName."),
      dnsConfig: obj("DNS parameters merged with those generated from dnsPolicy."),
      readinessGates: objs("Additional conditions evaluated for pod readiness."),
      runtimeClassName: str("Name of the RuntimeClass used to run this pod."),
      enableServiceLinks: bool("Whether information about services is injected into environment variables. Defaults to true."),
      preemptionPolicy: str("Policy for preempting lower-priority pods: PreemptLowerPriority or Never."),
      overhead: quantityMap("Resource overhead of running this pod's sandbox."),
      topologySpreadConstraints: objs("How pods are spread across topology domains."),
      setHostnameAsFQDN: bool("Set the pod's hostname to its fully qualified domain name."),
      os: obj("The operating system the containers are built for."),
      hostUsers: bool("Use the host's user namespace. Defaults to true."),
      schedulingGates: objs("Gates that must all be removed before the pod is scheduled."),
      resourceClaims: objs("Resource claims the pod's containers may use."),
      resources: obj("Total resources for the pod as a whole."),
    },
    ["containers"],
  ),
  [CONTAINER]: struct(
    "A single application container that runs in a pod.",
    {
      name: str("Name of the container, a DNS label unique within the pod. Cannot be updated."),
      image: str("Container image name."),
      imagePullPolicy: str("Always, Never or IfNotPresent. Defaults to Always for :latest tags, IfNotPresent otherwise."),
      command: strs("Entrypoint array; replaces the image's ENTRYPOINT. Not run in a shell."),
      args: strs("Arguments to the entrypoint; replace the image's CMD."),
      workingDir: str("The container's working directory."),
      ports: objs("Ports exposed by the container ({name, containerPort, protocol, hostPort, hostIP})."),
      env: objs("Environment variables to set ({name, value} or {name, valueFrom})."),
      envFrom: objs("Sources (ConfigMaps, Secrets) whose keys become environment variables."),
      resources: obj("Compute resources: requests and limits."),
      resizePolicy: objs("How the container's resources may be resized."),
      restartPolicy: str("Restart behaviour of an individual container; only Always, for sidecar init containers."),
      volumeMounts: objs("Volumes to mount into the container's filesystem."),
      volumeDevices: objs("Block devices used by the container."),
      livenessProbe: obj("Periodic probe of liveness; the container is restarted if it fails."),
      readinessProbe: obj("Periodic probe of readiness; the pod leaves service endpoints if it fails."),
      startupProbe: obj("Probe that must succeed before the other probes start."),
      lifecycle: obj("Actions taken in response to container lifecycle events."),
      terminationMessagePath: str("Path of the file whose contents become the termination message."),
      terminationMessagePolicy: str("How the termination message is populated: File or FallbackToLogsOnError."),
      securityContext: obj("Security options the container runs with."),
      stdin: bool("Allocate a buffer for stdin."),
      stdinOnce: bool("Close stdin after the first attach session ends."),
      tty: bool("Allocate a TTY; requires stdin."),
    },
    ["name"],
  ),
  "io.k8s.api.autoscaling.v1.Scale": {
    type: "object",
    description: "Scale represents a scaling request for a resource.",
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(OBJECT_META, METADATA_DESC),
      spec: struct("The desired scale.", { replicas: int32("Desired number of instances.") }),
      status: struct("The current scale. Read-only.", {
        replicas: int32("Actual number of observed instances."),
        selector: str("Label query over the pods counted in replicas, in the string form of a label selector."),
      }),
    },
    "x-kubernetes-group-version-kind": [{ group: "autoscaling", version: "v1", kind: "Scale" }],
  },
  "io.k8s.api.core.v1.Binding": {
    type: "object",
    description: "Binding ties one object to another; for example, a pod is bound to a node by a scheduler.",
    required: ["target"],
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(OBJECT_META, METADATA_DESC),
      target: obj("The object to bind to (for pods: a Node reference)."),
    },
    "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Binding" }],
  },
  "io.k8s.api.policy.v1.Eviction": {
    type: "object",
    description: "Eviction evicts a pod from its node, subject to disruption budgets.",
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(OBJECT_META, "Names the pod to evict."),
      deleteOptions: ref(DELETE_OPTIONS, "Options for the deletion of the pod."),
    },
    "x-kubernetes-group-version-kind": [{ group: "policy", version: "v1", kind: "Eviction" }],
  },
  "io.k8s.api.authentication.v1.TokenRequest": {
    type: "object",
    description: "TokenRequest requests a token for a given service account.",
    required: ["spec"],
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(OBJECT_META, METADATA_DESC),
      spec: struct("The parameters of the requested token.", {
        audiences: strs("Intended audiences of the token."),
        expirationSeconds: int64("Requested duration of validity."),
        boundObjectRef: obj("An object the token is bound to."),
      }),
      status: struct("The issued token. Read-only.", {
        token: str("The opaque bearer token."),
        expirationTimestamp: time("When the token expires."),
      }),
    },
    "x-kubernetes-group-version-kind": [{ group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" }],
  },
};

// ---- per-kind descriptions and fields --------------------------------------

interface KindDoc {
  description: string;
  /** Top-level fields besides apiVersion, kind and metadata. */
  fields: Record<string, Schema>;
  required?: string[];
}

const spec = (description: string, properties: Record<string, Schema>, required?: string[]) => struct(description, properties, required);
const status = (properties: Record<string, Schema> = {}) => struct(STATUS_DESC, properties);

const replicas = int32("Number of desired pods. Defaults to 1.");
const minReadySeconds = int32("Seconds a new pod must be ready, without any container crashing, to count as available. Defaults to 0.");
const revisionHistoryLimit = int32("Number of old revisions kept to allow rollback. Defaults to 10.");
const conditions = objs("The latest available observations of the object's state.");
const observedGeneration = int64("The generation observed by the controller.");

const KIND_DOCS: Record<string, KindDoc> = {
  "/v1/Namespace": {
    description: "Namespace provides a scope for names. Names of namespaced resources need to be unique within a namespace.",
    fields: {
      spec: spec("Defines the behavior of the namespace.", { finalizers: strs("Finalizers that must be empty before the namespace is removed.") }),
      status: status({ phase: str("Active or Terminating."), conditions }),
    },
  },
  "/v1/Pod": {
    description: "Pod is a collection of containers that can run on a host. Created by clients and scheduled onto hosts.",
    fields: {
      spec: ref(POD_SPEC, "Specification of the desired behavior of the pod."),
      status: status({
        phase: str("Pending, Running, Succeeded, Failed or Unknown."),
        conditions,
        hostIP: str("IP address of the node the pod is assigned to."),
        podIP: str("IP address allocated to the pod."),
        podIPs: objs("IP addresses allocated to the pod."),
        startTime: time("When the pod was acknowledged by the node."),
        containerStatuses: objs("Status of each container."),
        initContainerStatuses: objs("Status of each init container."),
        qosClass: str("Quality of service class: Guaranteed, Burstable or BestEffort."),
        message: str("Human-readable message about why the pod is in this state."),
        reason: str("Brief CamelCase reason for the pod being in this state."),
      }),
    },
  },
  "/v1/ConfigMap": {
    description: "ConfigMap holds configuration data for pods to consume.",
    fields: {
      data: strMap("Configuration data as UTF-8 strings; keys consist of alphanumerics, '-', '_' or '.'."),
      binaryData: bytesMap("Binary configuration data, base64-encoded; keys must not overlap with data."),
      immutable: bool("If true, the data cannot be updated (only the object's metadata can)."),
    },
  },
  "/v1/Secret": {
    description: "Secret holds secret data of a certain type. The total bytes of the values in the data field must be less than 1 MiB.",
    fields: {
      data: bytesMap("Secret data, base64-encoded; keys consist of alphanumerics, '-', '_' or '.'."),
      stringData: strMap("Write-only convenience: non-binary values merged into data on write; never output when reading."),
      type: str("Used to facilitate programmatic handling of secret data, e.g. Opaque or kubernetes.io/tls."),
      immutable: bool("If true, the data cannot be updated (only the object's metadata can)."),
    },
  },
  "/v1/Service": {
    description: "Service is a named abstraction of software service (for example, mysql) consisting of local port that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.",
    fields: {
      spec: spec("Defines the behavior of the service.", {
        type: str("How the service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName."),
        selector: strMap("Routes traffic to pods whose labels match this selector."),
        ports: objs("Ports exposed by the service ({name, protocol, port, targetPort, nodePort, appProtocol})."),
        clusterIP: str("IP address of the service; None makes a headless service."),
        clusterIPs: strs("IP addresses of the service, at most one per IP family."),
        externalIPs: strs("IP addresses for which nodes also accept traffic for this service."),
        externalName: str("DNS name returned as a CNAME record, for type ExternalName."),
        sessionAffinity: str("ClientIP or None. Defaults to None."),
        sessionAffinityConfig: obj("Configuration of session affinity."),
        loadBalancerIP: str("Deprecated. Requested load balancer IP."),
        loadBalancerSourceRanges: strs("Client IP ranges allowed through a cloud load balancer."),
        loadBalancerClass: str("The class of the load balancer implementation."),
        externalTrafficPolicy: str("Cluster or Local: how traffic from external sources is routed."),
        internalTrafficPolicy: str("Cluster or Local: how traffic from in-cluster sources is routed."),
        healthCheckNodePort: int32("Health check node port for type LoadBalancer with Local external traffic policy."),
        publishNotReadyAddresses: bool("Publish addresses of pods that are not ready."),
        ipFamilies: strs("IP families (IPv4, IPv6) assigned to the service."),
        ipFamilyPolicy: str("SingleStack, PreferDualStack or RequireDualStack."),
        allocateLoadBalancerNodePorts: bool("Whether node ports are allocated for type LoadBalancer. Defaults to true."),
        trafficDistribution: str("Preference for how traffic is distributed to endpoints."),
      }),
      status: status({ loadBalancer: obj("Status of the load balancer, if any."), conditions }),
    },
  },
  "/v1/Endpoints": {
    description: "Endpoints is a collection of endpoints that implement the actual service.",
    fields: { subsets: objs("Sets of addresses and ports that comprise the service.") },
  },
  "discovery.k8s.io/v1/EndpointSlice": {
    description:
      "EndpointSlice represents a subset of the endpoints that implement a service. For a given service there may be multiple EndpointSlice objects, selected by labels, which must be joined to produce the full set of endpoints.",
    required: ["addressType", "endpoints"],
    fields: {
      addressType: str("The type of address carried by this EndpointSlice: IPv4, IPv6 or FQDN. Immutable."),
      endpoints: objs("Unique endpoints in this slice ({addresses, conditions {ready, serving, terminating}, hostname, nodeName, targetRef, zone, hints})."),
      ports: objs("Network ports exposed by each endpoint in this slice ({name, protocol, port, appProtocol})."),
    },
  },
  "/v1/Node": {
    description: "Node is a worker in the cluster.",
    fields: {
      spec: spec("Defines the behavior of the node.", {
        podCIDR: str("The pod IP range assigned to the node."),
        podCIDRs: strs("The pod IP ranges assigned to the node."),
        providerID: str("ID of the node assigned by the provider."),
        unschedulable: bool("Whether new pods may be scheduled onto the node."),
        taints: objs("Taints that repel pods without matching tolerations."),
      }),
      status: status({
        capacity: quantityMap("Total resources of the node."),
        allocatable: quantityMap("Resources available for scheduling."),
        conditions,
        addresses: objs("Addresses reachable to the node."),
        nodeInfo: obj("General information about the node."),
      }),
    },
  },
  "/v1/Event": {
    description: "Event is a report of an event somewhere in the cluster.",
    required: ["metadata", "involvedObject"],
    fields: {
      involvedObject: obj("The object this event is about."),
      reason: str("Short, machine-understandable reason for the transition into the object's current status."),
      message: str("Human-readable description of the status of this operation."),
      source: obj("The component reporting this event."),
      firstTimestamp: time("When the event was first recorded."),
      lastTimestamp: time("When the most recent occurrence was recorded."),
      count: int32("How many times this event has occurred."),
      type: str("Normal or Warning."),
      eventTime: microTime("When this event was first observed."),
      series: obj("Data about the event series, if this is one."),
      action: str("What action was taken or failed regarding the object."),
      related: obj("A secondary object for more complex actions."),
      reportingComponent: str("Name of the controller that emitted the event."),
      reportingInstance: str("ID of the controller instance."),
    },
  },
  "/v1/ServiceAccount": {
    description: "ServiceAccount binds together a name, understood by users and perhaps by peripheral systems, for an identity, and a principal that can be authenticated and authorized.",
    fields: {
      automountServiceAccountToken: bool("Whether pods running as this account get an API token mounted automatically."),
      imagePullSecrets: objs("References to Secrets used to pull images for pods using this account."),
      secrets: objs("Secrets that pods running as this account may use."),
    },
  },
  "/v1/PersistentVolume": {
    description: "PersistentVolume is a storage resource provisioned by an administrator.",
    fields: {
      spec: spec("Defines the volume.", {
        capacity: quantityMap("The volume's capacity."),
        accessModes: strs("Ways the volume can be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod."),
        persistentVolumeReclaimPolicy: str("What happens when the claim is released: Retain, Delete or Recycle."),
        storageClassName: str("Name of the StorageClass this volume belongs to."),
        mountOptions: strs("Mount options."),
        volumeMode: str("Filesystem or Block."),
        claimRef: obj("The claim bound to this volume."),
        nodeAffinity: obj("Constrains the nodes this volume can be accessed from."),
      }),
      status: status({ phase: str("Available, Bound, Released or Failed."), message: str("Human-readable message."), reason: str("Brief reason.") }),
    },
  },
  "/v1/PersistentVolumeClaim": {
    description: "PersistentVolumeClaim is a user's request for and claim to a persistent volume.",
    fields: {
      spec: spec("The desired characteristics of a volume.", {
        accessModes: strs("Desired access modes."),
        selector: selector("A label query over volumes to consider for binding."),
        resources: obj("Minimum (requests) and maximum (limits) resources the volume should have."),
        volumeName: str("The binding reference to a PersistentVolume."),
        storageClassName: str("Name of the StorageClass required by the claim."),
        volumeMode: str("Filesystem or Block."),
        dataSource: obj("A data source to populate the volume from."),
        dataSourceRef: obj("An object to populate the volume from."),
        volumeAttributesClassName: str("Name of the VolumeAttributesClass."),
      }),
      status: status({ phase: str("Pending, Bound or Lost."), accessModes: strs("Actual access modes."), capacity: quantityMap("Actual resources."), conditions }),
    },
  },
  "/v1/ResourceQuota": {
    description: "ResourceQuota sets aggregate quota restrictions enforced per namespace.",
    fields: {
      spec: spec("The desired quota.", {
        hard: quantityMap("Hard limits for each named resource."),
        scopes: strs("Filters that must match each object tracked by the quota."),
        scopeSelector: obj("A collection of filters like scopes, expressed as selector requirements."),
      }),
      status: status({ hard: quantityMap("Enforced hard limits."), used: quantityMap("Current observed usage.") }),
    },
  },
  "/v1/LimitRange": {
    description: "LimitRange sets resource usage limits for each kind of resource in a namespace.",
    fields: { spec: spec("The limits enforced.", { limits: objs("Limit range items to enforce.") }, ["limits"]) },
  },
  "apps/v1/Deployment": {
    description: "Deployment enables declarative updates for Pods and ReplicaSets.",
    fields: {
      spec: spec(
        "Specification of the desired behavior of the Deployment.",
        {
          replicas,
          selector: selector("Label selector for pods. Existing ReplicaSets whose pods match it are affected by this deployment. Must match the pod template's labels."),
          template: podTemplate("Template describes the pods that will be created. The only allowed template.spec.restartPolicy value is Always."),
          strategy: obj("The deployment strategy used to replace existing pods with new ones: type Recreate or RollingUpdate (with maxSurge and maxUnavailable)."),
          minReadySeconds,
          revisionHistoryLimit,
          paused: bool("Indicates that the deployment is paused."),
          progressDeadlineSeconds: int32("Maximum seconds for the deployment to make progress before it is considered failed. Defaults to 600."),
        },
        ["selector", "template"],
      ),
      status: status({
        observedGeneration,
        replicas: int32("Total number of non-terminating pods targeted by this deployment."),
        updatedReplicas: int32("Non-terminating pods that have the desired template spec."),
        readyReplicas: int32("Pods targeted by this deployment with a Ready condition."),
        availableReplicas: int32("Available pods (ready for at least minReadySeconds)."),
        unavailableReplicas: int32("Pods still required for the deployment to have 100% available capacity."),
        conditions,
        collisionCount: int32("Count of hash collisions, used when naming the newest ReplicaSet."),
      }),
    },
  },
  "apps/v1/ReplicaSet": {
    description: "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
    fields: {
      spec: spec(
        "Defines the specification of the desired behavior of the ReplicaSet.",
        { replicas, minReadySeconds, selector: selector("Label query over pods that should match the replica count. Must match the template's labels."), template: podTemplate("The object that describes the pod created if insufficient replicas are detected.") },
        ["selector"],
      ),
      status: status({
        replicas: int32("The most recently observed number of replicas."),
        fullyLabeledReplicas: int32("Pods that have labels matching the pod template's labels."),
        readyReplicas: int32("Pods targeted by this ReplicaSet with a Ready condition."),
        availableReplicas: int32("Available pods (ready for at least minReadySeconds)."),
        observedGeneration,
        conditions,
      }),
    },
  },
  "apps/v1/StatefulSet": {
    description: "StatefulSet represents a set of pods with consistent identities: network names and storage that persist across rescheduling.",
    fields: {
      spec: spec(
        "Defines the desired identities of pods in this set.",
        {
          replicas,
          selector: selector("Label query over pods that should match the replica count. Must match the template's labels."),
          template: podTemplate("The object that describes the pod created if insufficient replicas are detected."),
          serviceName: str("Name of the service that governs this StatefulSet and gives its pods their network identity."),
          volumeClaimTemplates: objs("Claims that pods may reference; each pod gets its own claim from each template."),
          podManagementPolicy: str("OrderedReady (default) or Parallel."),
          updateStrategy: obj("How pods are updated when the template changes: RollingUpdate (default) or OnDelete."),
          revisionHistoryLimit,
          minReadySeconds,
          persistentVolumeClaimRetentionPolicy: obj("What happens to claims created from volumeClaimTemplates when the set is deleted or scaled down."),
          ordinals: obj("Controls the numbering of replica indices."),
        },
        ["selector", "template"],
      ),
      status: status({
        observedGeneration,
        replicas: int32("Number of pods created by the controller."),
        readyReplicas: int32("Pods with a Ready condition."),
        currentReplicas: int32("Pods at the current revision."),
        updatedReplicas: int32("Pods at the update revision."),
        availableReplicas: int32("Available pods."),
        currentRevision: str("Revision used for the current pods."),
        updateRevision: str("Revision used for the updated pods."),
        collisionCount: int32("Count of hash collisions."),
        conditions,
      }),
    },
  },
  "apps/v1/DaemonSet": {
    description: "DaemonSet represents the configuration of a daemon set: a pod on each eligible node.",
    fields: {
      spec: spec(
        "The desired behavior of this daemon set.",
        {
          selector: selector("Label query over pods managed by the daemon set. Must match the template's labels."),
          template: podTemplate("The object that describes the pod created on each node."),
          updateStrategy: obj("How pods are replaced when the template changes: RollingUpdate (default) or OnDelete."),
          minReadySeconds,
          revisionHistoryLimit,
        },
        ["selector", "template"],
      ),
      status: status({
        currentNumberScheduled: int32("Nodes running at least one daemon pod that should."),
        numberMisscheduled: int32("Nodes running a daemon pod that should not."),
        desiredNumberScheduled: int32("Nodes that should run the daemon pod."),
        numberReady: int32("Nodes whose daemon pod is ready."),
        updatedNumberScheduled: int32("Nodes running the updated daemon pod."),
        numberAvailable: int32("Nodes whose daemon pod is available."),
        numberUnavailable: int32("Nodes whose daemon pod is not available."),
        observedGeneration,
        collisionCount: int32("Count of hash collisions."),
        conditions,
      }),
    },
  },
  "batch/v1/Job": {
    description: "Job represents the configuration of a single job: pods that run to completion.",
    fields: {
      spec: spec(
        "Specification of the desired behavior of a job.",
        {
          parallelism: int32("Maximum number of pods running at any time. Defaults to 1."),
          completions: int32("Number of successfully finished pods the job needs."),
          activeDeadlineSeconds: int64("Seconds the job may be active before the system tries to terminate it."),
          backoffLimit: int32("Retries before marking the job failed. Defaults to 6."),
          backoffLimitPerIndex: int32("Retries per index, for Indexed jobs."),
          maxFailedIndexes: int32("Failed indexes allowed before the job fails, for Indexed jobs."),
          podFailurePolicy: obj("How failed pods count towards backoffLimit."),
          successPolicy: obj("When an Indexed job can be declared succeeded."),
          selector: selector("Label query over pods that should match the pod count. Normally set by the system."),
          manualSelector: bool("Whether selector is set by the user rather than generated."),
          template: podTemplate("The pod that will be created when executing the job. restartPolicy must be Never or OnFailure."),
          ttlSecondsAfterFinished: int32("Seconds after the job finishes before it is deleted automatically."),
          completionMode: str("NonIndexed (default) or Indexed."),
          suspend: bool("Whether the controller should create pods."),
          podReplacementPolicy: str("When replacement pods are created: TerminatingOrFailed or Failed."),
          managedBy: str("The controller that manages the job."),
        },
        ["template"],
      ),
      status: status({
        conditions,
        startTime: time("When the job controller started processing the job."),
        completionTime: time("When the job completed."),
        active: int32("Pending and running pods."),
        succeeded: int32("Pods that reached phase Succeeded."),
        failed: int32("Pods that reached phase Failed."),
        terminating: int32("Pods that are terminating."),
        ready: int32("Active pods with a Ready condition."),
        completedIndexes: str("Completed indexes, for Indexed jobs."),
        failedIndexes: str("Failed indexes, for Indexed jobs."),
        uncountedTerminatedPods: obj("Finished pods not yet counted."),
      }),
    },
  },
  "batch/v1/CronJob": {
    description: "CronJob represents the configuration of a single cron job: jobs created on a schedule.",
    fields: {
      spec: spec(
        "Specification of the desired behavior of a cron job, including the schedule.",
        {
          schedule: str("The schedule in Cron format."),
          timeZone: str("Time zone name for the schedule; defaults to the controller's time zone."),
          startingDeadlineSeconds: int64("Deadline in seconds for starting a job that missed its scheduled time."),
          concurrencyPolicy: str("How concurrent executions are treated: Allow (default), Forbid or Replace."),
          suspend: bool("Suspend subsequent executions. Defaults to false."),
          jobTemplate: obj("The job that will be created when executing the cron job ({metadata, spec})."),
          successfulJobsHistoryLimit: int32("Successful finished jobs to retain. Defaults to 3."),
          failedJobsHistoryLimit: int32("Failed finished jobs to retain. Defaults to 1."),
        },
        ["schedule", "jobTemplate"],
      ),
      status: status({
        active: objs("Pointers to currently running jobs."),
        lastScheduleTime: time("When the job was last scheduled."),
        lastSuccessfulTime: time("When the job last completed successfully."),
      }),
    },
  },
  "networking.k8s.io/v1/Ingress": {
    description: "Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend.",
    fields: {
      spec: spec("The desired state of the Ingress.", {
        ingressClassName: str("Name of the IngressClass that implements this Ingress."),
        defaultBackend: obj("Backend for requests that match no rule."),
        tls: objs("TLS configuration: hosts and the Secret holding their certificate."),
        rules: objs("Host rules; each maps paths under a host to backends."),
      }),
      status: status({ loadBalancer: obj("Status of the load balancer.") }),
    },
  },
  "networking.k8s.io/v1/IngressClass": {
    description: "IngressClass represents the class of the Ingress, referenced by the Ingress spec.",
    fields: {
      spec: spec("The desired state of the IngressClass.", {
        controller: str("Name of the controller that should handle this class, e.g. example.com/ingress-controller."),
        parameters: obj("A link to a custom resource with additional configuration for the controller."),
      }),
    },
  },
  "storage.k8s.io/v1/StorageClass": {
    description: "StorageClass describes the parameters for a class of storage for which PersistentVolumes can be dynamically provisioned.",
    fields: {
      provisioner: str("The type of the provisioner."),
      parameters: strMap("Parameters for the provisioner that should create volumes of this storage class."),
      reclaimPolicy: str("Delete or Retain: what happens to dynamically provisioned PersistentVolumes when their claim goes."),
      mountOptions: strs("Mount options of dynamically provisioned PersistentVolumes."),
      allowVolumeExpansion: bool("Whether the storage class allows volume expansion."),
      volumeBindingMode: str("Immediate or WaitForFirstConsumer: when claims are provisioned and bound."),
      allowedTopologies: objs("Topologies where volumes can be dynamically provisioned."),
    },
  },
  "scheduling.k8s.io/v1/PriorityClass": {
    description: "PriorityClass defines mapping from a priority class name to the priority integer value.",
    fields: {
      value: int32("The actual integer value that this class represents."),
      globalDefault: bool("Whether this class should be considered as the default priority for pods without a priorityClassName."),
      description: str("An arbitrary string, meant to tell users when this class should be used."),
      preemptionPolicy: str("PreemptLowerPriority (default) or Never."),
    },
  },
  "coordination.k8s.io/v1/Lease": {
    description: "Lease defines a lease concept.",
    fields: {
      spec: spec("Specification of the Lease.", {
        holderIdentity: str("Identity of the holder of the current lease."),
        leaseDurationSeconds: int32("Duration candidates must wait to force-acquire the lease, measured against the last renewal."),
        acquireTime: microTime("When the current lease was acquired."),
        renewTime: microTime("When the current holder last renewed the lease."),
        leaseTransitions: int32("Number of transitions of the lease between holders."),
        strategy: str("Strategy for picking the leader, for coordinated leader election."),
        preferredHolder: str("Signals to the holder that it should give up the lease."),
      }),
    },
  },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    description: "HorizontalPodAutoscaler automatically manages the replica count of any resource implementing the scale subresource, based on the metrics specified.",
    fields: {
      spec: spec(
        "The behaviour of the autoscaler.",
        {
          scaleTargetRef: obj("The resource to scale ({apiVersion, kind, name})."),
          minReplicas: int32("Lower limit for the number of replicas. Defaults to 1."),
          maxReplicas: int32("Upper limit for the number of replicas."),
          metrics: objs("The metrics used to compute the desired replica count."),
          behavior: obj("Scaling behaviour in the up and down directions."),
        },
        ["scaleTargetRef", "maxReplicas"],
      ),
      status: status({
        observedGeneration,
        lastScaleTime: time("When the autoscaler last scaled."),
        currentReplicas: int32("Current number of replicas."),
        desiredReplicas: int32("Desired number of replicas."),
        currentMetrics: objs("Last read state of the metrics."),
        conditions,
      }),
    },
  },
  "autoscaling/v1/HorizontalPodAutoscaler": {
    description: "configuration of a horizontal pod autoscaler.",
    fields: {
      spec: spec(
        "The behaviour of the autoscaler.",
        {
          scaleTargetRef: obj("The resource to scale ({apiVersion, kind, name})."),
          minReplicas: int32("Lower limit for the number of replicas. Defaults to 1."),
          maxReplicas: int32("Upper limit for the number of replicas."),
          targetCPUUtilizationPercentage: int32("Target average CPU utilization over all the pods, in percent of the requested CPU."),
        },
        ["scaleTargetRef", "maxReplicas"],
      ),
      status: status({
        observedGeneration,
        lastScaleTime: time("When the autoscaler last scaled."),
        currentReplicas: int32("Current number of replicas."),
        desiredReplicas: int32("Desired number of replicas."),
        currentCPUUtilizationPercentage: int32("Current average CPU utilization over all pods, in percent of the requested CPU."),
      }),
    },
  },
  "events.k8s.io/v1/Event": {
    description: "Event is a report of an event somewhere in the cluster.",
    required: ["eventTime"],
    fields: {
      eventTime: microTime("When this event was first observed. Required."),
      series: obj("Data about the event series, if this is one."),
      reportingController: str("Name of the controller that emitted this event."),
      reportingInstance: str("ID of the controller instance."),
      action: str("What action was taken or failed regarding the regarding object."),
      reason: str("Why the action was taken."),
      regarding: obj("The object this event is about."),
      related: obj("A secondary object for more complex actions."),
      note: str("Human-readable description of the status of this operation."),
      type: str("Normal or Warning."),
      deprecatedSource: obj("Deprecated field kept for compatibility with core/v1 Event."),
      deprecatedFirstTimestamp: time("Deprecated field kept for compatibility with core/v1 Event."),
      deprecatedLastTimestamp: time("Deprecated field kept for compatibility with core/v1 Event."),
      deprecatedCount: int32("Deprecated field kept for compatibility with core/v1 Event."),
    },
  },
  "policy/v1/PodDisruptionBudget": {
    description: "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods.",
    fields: {
      spec: spec("Specification of the desired behavior of the PodDisruptionBudget.", {
        minAvailable: intOrString("Pods that must remain available after an eviction (a number or a percentage)."),
        maxUnavailable: intOrString("Pods that can be unavailable after an eviction (a number or a percentage)."),
        selector: selector("Label query over pods whose evictions are managed by this budget."),
        unhealthyPodEvictionPolicy: str("When unhealthy running pods may be evicted: IfHealthyBudget or AlwaysAllow."),
      }),
      status: status({
        observedGeneration,
        disruptionsAllowed: int32("Pod disruptions currently allowed."),
        currentHealthy: int32("Current number of healthy pods."),
        desiredHealthy: int32("Minimum desired number of healthy pods."),
        expectedPods: int32("Total number of pods counted by this budget."),
        conditions,
      }),
    },
  },
};

const gvkOf = (k: ResourceKind, kind = k.kind) => ({ group: k.group, version: k.version, kind });

/**
 * The schemas of one kind: the kind itself with the modelled fields (plus any field the
 * server knows that the table lacks), and its modelled spec and status as named schemas
 * (io.k8s.api.apps.v1.DeploymentSpec), which is how `kubectl explain` names their types.
 */
export function kindSchemas(k: ResourceKind): Record<string, Schema> {
  const name = schemaName(k.group, k.version, k.kind);
  const doc = KIND_DOCS[`${k.group}/${k.version}/${k.kind}`];
  const out: Record<string, Schema> = {};
  const fields: Record<string, Schema> = {};
  for (const [f, schema] of Object.entries(doc?.fields ?? {})) {
    if ((f === "spec" || f === "status") && schema.properties) {
      const { description, ...rest } = schema;
      const named = `${name}${f === "spec" ? "Spec" : "Status"}`;
      out[named] = rest;
      fields[f] = ref(named, description as string);
    } else fields[f] = schema;
  }
  if (!doc && !k.fields) {
    fields.spec = obj("Specification of the desired behavior.");
    fields.status = obj(STATUS_DESC);
  }
  for (const f of k.fields ?? []) fields[f] ??= { description: `The ${f} of the ${k.kind}.`, ...PRESERVE };
  out[name] = {
    type: "object",
    description: doc?.description ?? `${k.kind} is served by this API server.`,
    ...(doc?.required ? { required: doc.required } : {}),
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      metadata: ref(OBJECT_META, METADATA_DESC),
      ...fields,
    },
    "x-kubernetes-group-version-kind": [gvkOf(k)],
  };
  out[`${name}List`] = listSchema(k);
  return out;
}

/** The schema of a kind's list. */
function listSchema(k: ResourceKind): Schema {
  return {
    type: "object",
    description: `${k.kind}List is a list of ${k.kind} objects.`,
    required: ["items"],
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      items: refs(schemaName(k.group, k.version, k.kind), `The list of ${k.kind} objects.`),
      metadata: ref(LIST_META, LIST_METADATA_DESC),
    },
    "x-kubernetes-group-version-kind": [gvkOf(k, `${k.kind}List`)],
  };
}
