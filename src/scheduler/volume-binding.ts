import { storageClassOf } from "../resources/persistentvolume.ts";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION } from "../resources/storageclass.ts";
import type { KubeObject } from "../resources/types.ts";

/**
 * The pure part of volume binding (kube-scheduler's VolumeBinding plugin plus a local-path
 * provisioner): what each PersistentVolumeClaim a pending pod uses means for placing it, and
 * the PersistentVolume provisioned for a claim once its first consumer has a node.
 *
 * - a claim bound to a PV with node affinity: only nodes matching it ("volume node affinity conflict");
 * - an unbound claim of a class whose provisioner is `edgeplane.dev/local-path` (WaitForFirstConsumer):
 *   any node; when the pod is bound, a PV `pvc-<claim uid>` is made on that node (a hostPath
 *   directory under the node's local-path root, node affinity to it) and the claim is bound to it;
 * - a missing claim, or an unbound claim nothing here provisions: the pod is unschedulable.
 */

export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/** The root on nodes that do not announce one (e.g. hollow nodes). */
export const DEFAULT_LOCAL_PATH_ROOT = "/var/lib/edgeplane/local-path";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

export interface ClaimState {
  /** Why no node fits (the pod is unschedulable). */
  error?: string;
  /** Node selector terms of the bound volume (or of the node chosen earlier in this round). */
  nodeTerms?: unknown[];
  /** The class that provisions it once a node is chosen. */
  provisionWith?: KubeObject;
}

export const claimKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** Names of the PersistentVolumeClaims a pod mounts. */
export function claimsOfPod(pod: KubeObject): string[] {
  const volumes = ((pod.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)?.volumes ?? []) as {
    persistentVolumeClaim?: { claimName?: string };
  }[];
  return volumes.map((v) => v?.persistentVolumeClaim?.claimName).filter((n): n is string => typeof n === "string" && n !== "");
}

/** What each claim means for scheduling, keyed "<namespace>/<name>" (pure). */
export function claimStates(claims: KubeObject[], volumes: KubeObject[], classes: KubeObject[], wanted: Iterable<string>): Map<string, ClaimState> {
  const byKey = new Map(claims.map((c) => [claimKey(c.metadata.namespace ?? "", c.metadata.name ?? ""), c]));
  const pvs = new Map(volumes.map((v) => [v.metadata.name ?? "", v]));
  const scs = new Map(classes.map((c) => [c.metadata.name ?? "", c]));
  const out = new Map<string, ClaimState>();
  for (const key of wanted) {
    const name = key.slice(key.indexOf("/") + 1);
    const pvc = byKey.get(key);
    if (!pvc) out.set(key, { error: `persistentvolumeclaim "${name}" not found` });
    else if (pvc.metadata.deletionTimestamp) out.set(key, { error: `persistentvolumeclaim "${name}" is being deleted` });
    else {
      const volumeName = (pvc.spec as { volumeName?: string } | undefined)?.volumeName;
      if (volumeName) {
        const pv = pvs.get(volumeName);
        if (!pv) out.set(key, { error: `persistentvolumeclaim "${name}" bound to non-existent persistentvolume "${volumeName}"` });
        else {
          const terms = (pv.spec as { nodeAffinity?: { required?: { nodeSelectorTerms?: unknown[] } } } | undefined)?.nodeAffinity?.required?.nodeSelectorTerms;
          out.set(key, Array.isArray(terms) ? { nodeTerms: terms } : {});
        }
      } else {
        const sc = scs.get(storageClassOf(pvc));
        out.set(key, sc?.provisioner === LOCAL_PATH_PROVISIONER ? { provisionWith: sc } : { error: "pod has unbound immediate PersistentVolumeClaims" });
      }
    }
  }
  return out;
}

/** The node affinity of a volume on one node. */
export function nodeTermsFor(node: KubeObject): unknown[] {
  const hostname = node.metadata.labels?.[HOSTNAME_LABEL];
  return hostname
    ? [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [hostname] }] }]
    : [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node.metadata.name] }] }];
}

/** The PersistentVolume provisioned for a claim on a node (pure). */
export function provisionedVolume(pvc: KubeObject, sc: KubeObject, node: KubeObject): KubeObject {
  const m = pvc.metadata;
  const spec = (pvc.spec ?? {}) as { accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeMode?: string };
  const name = `pvc-${m.uid}`;
  const root = (node.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION] ?? DEFAULT_LOCAL_PATH_ROOT).replace(/\/+$/, "");
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      annotations: { "pv.kubernetes.io/provisioned-by": LOCAL_PATH_PROVISIONER },
      labels: {},
    },
    spec: {
      capacity: { storage: spec.resources?.requests?.storage ?? "0" },
      accessModes: spec.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: (sc.reclaimPolicy as string | undefined) ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: spec.volumeMode ?? "Filesystem",
      hostPath: { path: `${root}/${name}_${m.namespace}_${m.name}`, type: "DirectoryOrCreate" },
      nodeAffinity: { required: { nodeSelectorTerms: nodeTermsFor(node) } },
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion },
    },
    status: { phase: "Bound" },
  };
}

/** The claim bound to a volume: spec.volumeName and the binding annotations (pure; status separately). */
export function bindClaim(pvc: KubeObject, pv: KubeObject, nodeName: string): KubeObject {
  const next = structuredClone(pvc);
  next.metadata.annotations = {
    ...next.metadata.annotations,
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.kubernetes.io/storage-provisioner": LOCAL_PATH_PROVISIONER,
    [SELECTED_NODE_ANNOTATION]: nodeName,
  };
  (next.spec as Record<string, unknown>).volumeName = pv.metadata.name;
  return next;
}

/** A bound claim's status: Bound, with the volume's access modes and capacity. */
export function boundClaimStatus(pv: KubeObject): Record<string, unknown> {
  const spec = pv.spec as { accessModes?: string[]; capacity?: Record<string, string> };
  return { phase: "Bound", accessModes: spec.accessModes, capacity: spec.capacity };
}
