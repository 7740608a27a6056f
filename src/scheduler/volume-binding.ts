import { storageClassOf } from "../resources/persistentvolume.ts";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION } from "../resources/storageclass.ts";
import type { KubeObject } from "../resources/types.ts";
import { findMatchingVolume, isVolumeBoundToClaim } from "./volume-match.ts";

/**
 * The pure part of volume binding (kube-scheduler's VolumeBinding plugin plus a local-path
 * provisioner): what each PersistentVolumeClaim a pending pod uses means for placing it, and
 * the PersistentVolume provisioned for a claim once its first consumer has a node.
 *
 * - a claim bound to a PV with node affinity: only nodes matching it ("volume node affinity conflict");
 * - an unbound claim of a WaitForFirstConsumer class: nodes where an existing Available volume
 *   matches it (volume-match.ts, node affinity included; the smallest is taken), else, if its
 *   class's provisioner is `edgeplane.dev/local-path`, any node: when the pod is bound, a PV
 *   `pvc-<claim uid>` is made on that node (a hostPath directory under the node's local-path
 *   root, node affinity to it) and the claim is bound to it; elsewhere "node(s) didn't find
 *   available persistent volumes to bind";
 * - an unbound claim of an Immediate class (or of none): the volume controller binds it; until
 *   then the pod is unschedulable, as is a pod whose claim is missing.
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
  /** An unbound claim waiting for its first consumer, and the static volumes that may serve it on some node. */
  claim?: KubeObject;
  candidates?: KubeObject[];
}

export const NO_VOLUME_TO_BIND = "node(s) didn't find available persistent volumes to bind";

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
          const terms = volumeNodeTerms(pv);
          out.set(key, terms ? { nodeTerms: terms } : {});
        }
      } else {
        const sc = scs.get(storageClassOf(pvc));
        if (sc?.volumeBindingMode !== "WaitForFirstConsumer") out.set(key, { error: "pod has unbound immediate PersistentVolumeClaims" });
        else {
          // Volumes that match on everything but the node (each node is checked by chooseVolumes).
          const candidates = volumes.filter((pv) => findMatchingVolume(pvc, [pv]) !== undefined);
          out.set(key, { claim: pvc, candidates, ...(sc.provisioner === LOCAL_PATH_PROVISIONER ? { provisionWith: sc } : {}) });
        }
      }
    }
  }
  return out;
}

/**
 * For unbound claims waiting for their first consumer, what each gets on a node (pure): the
 * smallest matching static volume whose node affinity admits it (none taken twice, nor one in
 * `taken`), else "provision" when its class provisions here, else undefined (no fit). A volume
 * already bound to the claim (provisioned in an earlier round whose binding did not finish, or
 * pre-bound by its creator) is the only choice: on a node it does not admit, nothing fits.
 */
export function chooseVolumes(states: ClaimState[], node: { labels: Record<string, string>; name: string }, taken: ReadonlySet<string> = new Set()): (KubeObject | "provision" | undefined)[] {
  const used = new Set(taken);
  return states.map((s) => {
    const pv = s.claim ? findMatchingVolume(s.claim, s.candidates ?? [], { node, taken: used }) : undefined;
    if (pv) {
      used.add(pv.metadata.name!);
      return pv;
    }
    // A volume already made for (or pre-bound to) the claim elsewhere: nothing else will do.
    if (s.claim && s.candidates?.some((v) => isVolumeBoundToClaim(v, s.claim!))) return undefined;
    return s.provisionWith ? "provision" : undefined;
  });
}

/** Node selector terms of a volume's node affinity (undefined: any node). */
export function volumeNodeTerms(pv: KubeObject): unknown[] | undefined {
  const terms = (pv.spec as { nodeAffinity?: { required?: { nodeSelectorTerms?: unknown[] } } } | undefined)?.nodeAffinity?.required?.nodeSelectorTerms;
  return Array.isArray(terms) ? terms : undefined;
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

export const BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed";
export const BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller";
export const STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner";

/**
 * The claim bound to a volume: spec.volumeName and the binding annotations (pure; status
 * separately): bind-completed, bound-by-controller when the controller (not the user) chose
 * the volume, the node and provisioner when the scheduler provisioned it.
 */
export function bindClaim(pvc: KubeObject, pv: KubeObject, opts: { selectedNode?: string; provisioner?: string } = {}): KubeObject {
  const next = structuredClone(pvc);
  const spec = (next.spec ??= {}) as Record<string, unknown>;
  const annotations: Record<string, string> = { ...next.metadata.annotations, [BIND_COMPLETED_ANNOTATION]: "yes" };
  if (spec.volumeName !== pv.metadata.name) annotations[BOUND_BY_CONTROLLER_ANNOTATION] = "yes";
  if (opts.provisioner) annotations[STORAGE_PROVISIONER_ANNOTATION] = opts.provisioner;
  if (opts.selectedNode) annotations[SELECTED_NODE_ANNOTATION] = opts.selectedNode;
  next.metadata.annotations = annotations;
  spec.volumeName = pv.metadata.name;
  return next;
}

/**
 * The volume bound to a claim (pure; status separately): claimRef to the claim with its uid,
 * and bound-by-controller unless the volume was already (pre-)bound to it by its creator.
 */
export function bindVolume(pv: KubeObject, pvc: KubeObject): KubeObject {
  const next = structuredClone(pv);
  const spec = (next.spec ??= {}) as Record<string, unknown>;
  const ref = spec.claimRef as { name?: string; namespace?: string; uid?: string } | undefined;
  const m = pvc.metadata;
  const preBound = !!ref?.name && ref.name === m.name && (ref.namespace ?? "") === (m.namespace ?? "") && (!ref.uid || ref.uid === m.uid);
  if (!preBound) next.metadata.annotations = { ...next.metadata.annotations, [BOUND_BY_CONTROLLER_ANNOTATION]: "yes" };
  if (!ref || ref.name !== m.name || ref.namespace !== m.namespace || ref.uid !== m.uid)
    spec.claimRef = { kind: "PersistentVolumeClaim", namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: "v1", resourceVersion: m.resourceVersion };
  return next;
}

/** A bound claim's status: Bound, with the volume's access modes and capacity. */
export function boundClaimStatus(pv: KubeObject): Record<string, unknown> {
  const spec = pv.spec as { accessModes?: string[]; capacity?: Record<string, string> };
  return { phase: "Bound", accessModes: spec.accessModes, capacity: spec.capacity };
}
