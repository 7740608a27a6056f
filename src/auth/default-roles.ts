import { ALL, RBAC_GROUP, type Binding, type PolicyRule, type Role } from "./rbac.ts";

/**
 * The built-in ClusterRoles and ClusterRoleBindings, after Kubernetes' bootstrap policy:
 * cluster-admin, admin, edit and view (the user-facing roles, their aggregated rules
 * written out), system:basic-user (self reviews) and system:discovery. They are part of
 * the authorizer, not stored objects, so they always exist and cannot be edited; stored
 * ClusterRoles with these names are refused.
 */

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];

const viewRules: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: [
      "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "pods/log", "pods/status",
      "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status", "serviceaccounts", "services",
      "services/status", "bindings", "events", "limitranges", "namespaces", "namespaces/status", "resourcequotas", "resourcequotas/status",
    ],
    verbs: READ,
  },
  {
    apiGroups: ["apps"],
    resources: [
      "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
      "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status",
    ],
    verbs: READ,
  },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], verbs: READ },
  { apiGroups: ["batch"], resources: ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], verbs: READ },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets", "poddisruptionbudgets/status"], verbs: READ },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingresses/status", "networkpolicies"], verbs: READ },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: READ },
  { apiGroups: ["metrics.k8s.io"], resources: ["pods"], verbs: READ },
];

const editRules: PolicyRule[] = [
  ...viewRules,
  {
    apiGroups: [""],
    resources: ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
    verbs: WRITE,
  },
  { apiGroups: [""], resources: ["pods/eviction", "serviceaccounts/token"], verbs: ["create"] },
  { apiGroups: [""], resources: ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], verbs: READ },
  {
    apiGroups: [""],
    resources: ["configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"],
    verbs: WRITE,
  },
  {
    apiGroups: ["apps"],
    resources: ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"],
    verbs: WRITE,
  },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: WRITE },
  { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: WRITE },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: WRITE },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: WRITE },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: [...READ, ...WRITE] },
];

const adminRules: PolicyRule[] = [
  ...editRules,
  { apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews"], verbs: ["create"] },
  { apiGroups: [RBAC_GROUP], resources: ["rolebindings", "roles"], verbs: [...READ, ...WRITE] },
];

export const BUILTIN_CLUSTER_ROLES: Role[] = [
  { kind: "ClusterRole", name: "cluster-admin", namespace: "", rules: [{ apiGroups: [ALL], resources: [ALL], verbs: [ALL] }, { nonResourceURLs: [ALL], verbs: [ALL] }] },
  { kind: "ClusterRole", name: "admin", namespace: "", rules: adminRules },
  { kind: "ClusterRole", name: "edit", namespace: "", rules: editRules },
  { kind: "ClusterRole", name: "view", namespace: "", rules: viewRules },
  {
    kind: "ClusterRole",
    name: "system:basic-user",
    namespace: "",
    rules: [
      { apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], verbs: ["create"] },
      { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
    ],
  },
  {
    kind: "ClusterRole",
    name: "system:discovery",
    namespace: "",
    rules: [{ nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/", "/healthz", "/livez", "/readyz"], verbs: ["get"] }],
  },
];

const rbacRef = (name: string) => ({ apiGroup: RBAC_GROUP, kind: "ClusterRole", name });
const group = (name: string) => ({ kind: "Group", apiGroup: RBAC_GROUP, name });

export const BUILTIN_CLUSTER_ROLE_BINDINGS: Binding[] = [
  { kind: "ClusterRoleBinding", name: "cluster-admin", namespace: "", subjects: [group("system:masters")], roleRef: rbacRef("cluster-admin") },
  { kind: "ClusterRoleBinding", name: "system:basic-user", namespace: "", subjects: [group("system:authenticated")], roleRef: rbacRef("system:basic-user") },
  { kind: "ClusterRoleBinding", name: "system:discovery", namespace: "", subjects: [group("system:authenticated")], roleRef: rbacRef("system:discovery") },
];

export const BUILTIN_CLUSTER_ROLE_NAMES = new Set(BUILTIN_CLUSTER_ROLES.map((r) => r.name));
export const BUILTIN_CLUSTER_ROLE_BINDING_NAMES = new Set(BUILTIN_CLUSTER_ROLE_BINDINGS.map((b) => b.name));
