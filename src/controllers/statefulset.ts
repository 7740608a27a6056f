import { getPath } from "../resources/columns.ts";
import { selectorMatches } from "../resources/deployment.ts";
import type { KubeObject, OwnerReference } from "../resources/types.ts";
import { controllerOf, controllerRef, type Action, type Observed, type ReconcileResult } from "./types.ts";

/**
 * StatefulSet controller. Pods get stable names `<set>-<ordinal>`, stable storage
 * (one PVC per volumeClaimTemplate and ordinal, created before the pod and kept after
 * it) and, with OrderedReady, strictly ordered creation (ordinal i only once 0..i-1 are
 * Running and Ready) and deletion (highest ordinal first, one at a time, each waited
 * for). Updates replace pods from the highest ordinal down to the partition, one at a
 * time. Revisions are hashes of spec.template (no ControllerRevision objects):
 * status.updateRevision is the template's, status.currentRevision the one pods were
 * at when the last rollout completed (for OnDelete too, unlike Kubernetes, whose
 * currentRevision never advances with OnDelete). A pod below the partition that has to
 * be recreated gets the current revision's template, recovered from a sibling pod
 * still at that revision (the new template if there is none).
 *
 * Events: SuccessfulCreate "create Pod <pod> in StatefulSet <set> successful" and
 * "create Claim <claim> Pod <pod> in StatefulSet <set> success", SuccessfulDelete
 * "delete Pod <pod> in StatefulSet <set> successful", SuccessfulUpdate (identity
 * labels put back), Warning FailedCreate while a pod name is taken or a claim is
 * being deleted.
 */

type Obj = Record<string, unknown>;

export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
export const REVISION_LABEL = "controller-revision-hash";

// ---------------------------------------------------------------------------
// Helpers shared with the DaemonSet controller.

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** JSON with object keys sorted, so equal values always serialize alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (isObj(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** Characters that never spell words (the alphabet Kubernetes' generated names use). */
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/** A short, stable hash of a pod template (FNV-1a over its canonical JSON). */
export function templateHash(template: unknown): string {
  const bytes = new TextEncoder().encode(canonicalJson(template ?? {}));
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join("");
}

const conditionOf = (pod: KubeObject, type: string) => {
  const conds = getPath(pod, "status.conditions");
  return Array.isArray(conds) ? (conds as Obj[]).find((c) => isObj(c) && c.type === type) : undefined;
};

export const phaseOf = (pod: KubeObject) => (getPath(pod, "status.phase") as string | undefined) ?? "";
export const isTerminating = (o: KubeObject) => !!o.metadata.deletionTimestamp;
export const isPodReady = (pod: KubeObject) => conditionOf(pod, "Ready")?.status === "True";
export const isRunningAndReady = (pod: KubeObject) => phaseOf(pod) === "Running" && isPodReady(pod);

/**
 * Milliseconds until a ready pod counts as available (ready for minReadySeconds):
 * 0 if it already is, undefined if it is not ready at all.
 */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const ready = conditionOf(pod, "Ready");
  if (ready?.status !== "True") return undefined;
  if (minReadySeconds <= 0) return 0;
  const since = Date.parse(String(ready.lastTransitionTime ?? ""));
  if (Number.isNaN(since)) return minReadySeconds * 1000;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

export const isPodAvailable = (pod: KubeObject, minReadySeconds: number, now: number) => msUntilAvailable(pod, minReadySeconds, now) === 0;

export const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);

export const intOr = (v: unknown, fallback: number) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

export const minDefined = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** The object with `ownerReferences` replaced (dropped when empty). */
export function withOwnerRefs(obj: KubeObject, refs: OwnerReference[]): KubeObject {
  const next = clone(obj);
  if (refs.length) next.metadata.ownerReferences = refs;
  else delete next.metadata.ownerReferences;
  return next;
}

export const podDelete = (pod: KubeObject): Action => ({
  type: "delete",
  resource: "core/pods",
  name: pod.metadata.name!,
  uid: pod.metadata.uid,
  resourceVersion: pod.metadata.resourceVersion,
});

/**
 * Adoption and release, as Kubernetes controllers claim pods: an orphan pod the
 * selector (and `extra`) matches is adopted, an owned pod that no longer matches is
 * released. Neither happens while the owner or the pod is being deleted.
 */
export function claimPods(owner: KubeObject, pods: KubeObject[], extra: (pod: KubeObject) => boolean = () => true): Action[] {
  if (isTerminating(owner)) return [];
  const selector = getPath(owner, "spec.selector");
  const actions: Action[] = [];
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    const ref = controllerOf(pod);
    const matches = selectorMatches(selector, pod.metadata.labels) && extra(pod);
    const refs = pod.metadata.ownerReferences ?? [];
    if (!ref && matches) {
      actions.push({ type: "update", resource: "core/pods", object: withOwnerRefs(pod, [...refs, controllerRef(owner)]) });
    } else if (ref && ref.uid === owner.metadata.uid && !matches) {
      actions.push({ type: "update", resource: "core/pods", object: withOwnerRefs(pod, refs.filter((r) => r.uid !== owner.metadata.uid)) });
    }
  }
  return actions;
}

// ---------------------------------------------------------------------------
// StatefulSet.

interface ClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
}

interface SetInfo {
  sts: KubeObject;
  name: string;
  namespace: string;
  replicas: number;
  start: number;
  monotonic: boolean;
  rollingUpdate: boolean;
  partition: number;
  minReadySeconds: number;
  updateRevision: string;
  currentRevision: string;
  claimTemplates: ClaimTemplate[];
  whenDeleted: string;
  whenScaled: string;
  pvcs: Map<string, KubeObject>;
}

/** The ordinal of a pod named `<set>-<n>`, or -1. */
export function ordinalOf(pod: KubeObject, setName: string): number {
  const name = pod.metadata.name ?? "";
  const prefix = `${setName}-`;
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  if (!/^(0|[1-9][0-9]*)$/.test(rest)) return -1;
  const n = Number(rest);
  return Number.isSafeInteger(n) ? n : -1;
}

const revisionOf = (pod: KubeObject) => pod.metadata.labels?.[REVISION_LABEL] ?? "";

const claimName = (set: SetInfo, tpl: ClaimTemplate, ordinal: number) => `${tpl.metadata?.name ?? ""}-${set.name}-${ordinal}`;

/** The owner references a claim should have under the retention policy. */
function retentionRefs(set: SetInfo, claim: KubeObject | undefined, pod: KubeObject | undefined, condemned: boolean): OwnerReference[] {
  const setUid = set.sts.metadata.uid;
  const podUid = pod?.metadata.uid;
  const scaledAway = set.whenScaled === "Delete" && condemned;
  const wantSet = set.whenDeleted === "Delete" && !scaledAway;
  const wantPod = scaledAway && !!podUid;
  let refs = [...(claim?.metadata.ownerReferences ?? [])];
  const hasSet = refs.some((r) => r.uid === setUid);
  if (wantSet && !hasSet) refs.push({ apiVersion: set.sts.apiVersion, kind: set.sts.kind, name: set.name, uid: setUid! });
  if (!wantSet && hasSet) refs = refs.filter((r) => r.uid !== setUid);
  if (podUid) {
    const hasPod = refs.some((r) => r.uid === podUid);
    if (wantPod && !hasPod) refs.push({ apiVersion: "v1", kind: "Pod", name: pod!.metadata.name!, uid: podUid });
    if (!wantPod && hasPod) refs = refs.filter((r) => r.uid !== podUid);
  }
  return refs;
}

function newClaim(set: SetInfo, tpl: ClaimTemplate, ordinal: number): KubeObject {
  const matchLabels = (getPath(set.sts, "spec.selector.matchLabels") as Record<string, string> | undefined) ?? {};
  const metadata: KubeObject["metadata"] = {
    name: claimName(set, tpl, ordinal),
    namespace: set.namespace,
    labels: { ...(tpl.metadata?.labels ?? {}), ...matchLabels },
  };
  if (tpl.metadata?.annotations) metadata.annotations = clone(tpl.metadata.annotations);
  const refs = retentionRefs(set, undefined, undefined, false);
  if (refs.length) metadata.ownerReferences = refs;
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata, spec: clone(tpl.spec ?? {}) };
}

/**
 * The pod template of the current revision when it is not the update revision: the
 * template is not stored anywhere (no ControllerRevisions), so it is recovered from a
 * pod still at that revision, minus what the controller and the scheduler added.
 */
function currentTemplate(set: SetInfo, owned: KubeObject[]): Obj | undefined {
  const donor = owned
    .filter((p) => revisionOf(p) === set.currentRevision && ordinalOf(p, set.name) >= 0)
    .sort((a, b) => ordinalOf(a, set.name) - ordinalOf(b, set.name))[0];
  if (!donor) return undefined;
  const labels = { ...(donor.metadata.labels ?? {}) };
  for (const k of [POD_NAME_LABEL, POD_INDEX_LABEL, REVISION_LABEL]) delete labels[k];
  const metadata: Obj = { labels };
  if (donor.metadata.annotations) metadata.annotations = clone(donor.metadata.annotations);
  const spec = clone((donor.spec ?? {}) as Obj);
  delete spec.nodeName;
  delete spec.hostname;
  delete spec.subdomain;
  const claimVolumes = new Set(set.claimTemplates.map((t) => t.metadata?.name));
  if (Array.isArray(spec.volumes)) {
    spec.volumes = (spec.volumes as Obj[]).filter((v) => !claimVolumes.has(v?.name as string));
    if ((spec.volumes as Obj[]).length === 0) delete spec.volumes;
  }
  return { metadata, spec };
}

function newPod(set: SetInfo, ordinal: number, template: Obj, revision: string): KubeObject {
  const tmeta = (isObj(template.metadata) ? template.metadata : {}) as { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  const name = `${set.name}-${ordinal}`;
  const metadata: KubeObject["metadata"] = {
    name,
    namespace: set.namespace,
    labels: { ...(tmeta.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [REVISION_LABEL]: revision },
  };
  if (tmeta.annotations) metadata.annotations = clone(tmeta.annotations);
  if (tmeta.finalizers?.length) metadata.finalizers = [...tmeta.finalizers];
  metadata.ownerReferences = [controllerRef(set.sts)];
  const spec = clone((isObj(template.spec) ? template.spec : {}) as Obj);
  spec.hostname = name;
  const serviceName = getPath(set.sts, "spec.serviceName");
  if (typeof serviceName === "string" && serviceName) spec.subdomain = serviceName;
  if (set.claimTemplates.length) {
    const names = new Set(set.claimTemplates.map((t) => t.metadata?.name));
    const claimVolumes = set.claimTemplates.map((t) => ({ name: t.metadata?.name, persistentVolumeClaim: { claimName: claimName(set, t, ordinal) } }));
    const others = Array.isArray(spec.volumes) ? (spec.volumes as Obj[]).filter((v) => !names.has(v?.name as string)) : [];
    spec.volumes = [...claimVolumes, ...others];
  }
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

const event = (set: SetInfo, reason: string, message: string, warning = false): Action => ({
  type: "event",
  involved: set.sts,
  eventType: warning ? "Warning" : "Normal",
  reason,
  message,
});

function deletePod(set: SetInfo, pod: KubeObject): Action[] {
  return [podDelete(pod), event(set, "SuccessfulDelete", `delete Pod ${pod.metadata.name} in StatefulSet ${set.name} successful`)];
}

/**
 * Claims of an ordinal, checked before its pod is created: missing ones are created
 * (with events). `blocked` says the pod must wait: a claim is being deleted, or is
 * stale (still owned by a pod scaled away earlier, so the garbage collector is about
 * to delete it).
 */
function ensureClaims(set: SetInfo, ordinal: number, podName: string, forNewPod: boolean): { actions: Action[]; blocked?: string } {
  const actions: Action[] = [];
  for (const tpl of set.claimTemplates) {
    const name = claimName(set, tpl, ordinal);
    const existing = set.pvcs.get(name);
    if (existing) {
      if (forNewPod && isTerminating(existing)) return { actions: [], blocked: `pvc ${name} is being deleted` };
      if (forNewPod && existing.metadata.ownerReferences?.some((r) => r.kind === "Pod" && r.apiVersion === "v1")) return { actions: [], blocked: "" };
      continue;
    }
    actions.push({ type: "create", resource: "core/persistentvolumeclaims", object: newClaim(set, tpl, ordinal) });
    actions.push(event(set, "SuccessfulCreate", `create Claim ${name} Pod ${podName} in StatefulSet ${set.name} success`));
  }
  return { actions };
}

/** Updates of an existing pod's claims whose owner references disagree with the retention policy. */
function fixClaimRefs(set: SetInfo, pod: KubeObject, ordinal: number, condemned: boolean): Action[] {
  const actions: Action[] = [];
  for (const tpl of set.claimTemplates) {
    const claim = set.pvcs.get(claimName(set, tpl, ordinal));
    if (!claim || isTerminating(claim)) continue;
    const refs = retentionRefs(set, claim, pod, condemned);
    if (sameJson(refs, claim.metadata.ownerReferences ?? [])) continue;
    actions.push({ type: "update", resource: "core/persistentvolumeclaims", object: withOwnerRefs(claim, refs) });
  }
  return actions;
}

/** The StatefulSet status for the observed pods (counts ignore pods created or deleted this round). */
function computeStatus(set: SetInfo, pods: KubeObject[], now: number): Obj {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of pods) {
    replicas++;
    if (isRunningAndReady(pod)) {
      ready++;
      if (isPodAvailable(pod, set.minReadySeconds, now)) available++;
    }
    if (!isTerminating(pod)) {
      if (revisionOf(pod) === set.currentRevision) current++;
      if (revisionOf(pod) === set.updateRevision) updated++;
    }
  }
  let currentRevision = set.currentRevision;
  // The rollout is complete once every pod is at the update revision and ready.
  if (updated === replicas && ready === replicas) {
    currentRevision = set.updateRevision;
    current = updated;
  }
  const old = (isObj(set.sts.status) ? set.sts.status : {}) as Obj;
  const status: Obj = { ...old };
  const generation = set.sts.metadata.generation;
  if (generation !== undefined) status.observedGeneration = generation;
  status.replicas = replicas;
  const optional = { readyReplicas: ready, currentReplicas: current, updatedReplicas: updated };
  for (const [k, v] of Object.entries(optional)) {
    if (v) status[k] = v;
    else delete status[k];
  }
  status.currentRevision = currentRevision;
  status.updateRevision = set.updateRevision;
  status.collisionCount = intOr(old.collisionCount, 0);
  status.availableReplicas = available;
  return status;
}

/** One slot of the ordinal range: the pod there, or the one created for it this round. */
interface Slot {
  ordinal: number;
  pod?: KubeObject;
  created?: string; // revision of the pod created this round
}

function reconcileSet(sts: KubeObject, observed: Observed): ReconcileResult {
  const spec = (isObj(sts.spec) ? sts.spec : {}) as Obj;
  const name = sts.metadata.name!;
  const strategy = (getPath(sts, "spec.updateStrategy.type") as string | undefined) ?? "RollingUpdate";
  const updateRevision = `${name}-${templateHash(spec.template)}`;
  const storedCurrent = getPath(sts, "status.currentRevision");
  const set: SetInfo = {
    sts,
    name,
    namespace: observed.namespace,
    replicas: Math.max(0, intOr(spec.replicas, 1)),
    start: Math.max(0, intOr(getPath(sts, "spec.ordinals.start"), 0)),
    monotonic: spec.podManagementPolicy !== "Parallel",
    rollingUpdate: strategy !== "OnDelete",
    partition: Math.max(0, intOr(getPath(sts, "spec.updateStrategy.rollingUpdate.partition"), 0)),
    minReadySeconds: Math.max(0, intOr(spec.minReadySeconds, 0)),
    updateRevision,
    currentRevision: typeof storedCurrent === "string" && storedCurrent ? storedCurrent : updateRevision,
    claimTemplates: (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).filter(isObj) as ClaimTemplate[],
    whenDeleted: (getPath(sts, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted") as string | undefined) ?? "Retain",
    whenScaled: (getPath(sts, "spec.persistentVolumeClaimRetentionPolicy.whenScaled") as string | undefined) ?? "Retain",
    pvcs: new Map(observed.persistentVolumeClaims.map((c) => [c.metadata.name!, c])),
  };

  // Adopt orphans that are members of the set; release pods that no longer match.
  const claims = claimPods(sts, observed.pods, (p) => ordinalOf(p, name) >= 0);
  if (claims.length) return { actions: claims };

  const owned = observed.pods.filter((p) => controllerOf(p)?.uid === sts.metadata.uid);
  const slots: Slot[] = Array.from({ length: set.replicas }, (_, i) => ({ ordinal: set.start + i }));
  const condemned: KubeObject[] = [];
  for (const pod of owned) {
    const ord = ordinalOf(pod, name);
    if (ord < 0) continue;
    if (ord >= set.start && ord < set.start + set.replicas) slots[ord - set.start].pod = pod;
    else condemned.push(pod);
  }
  condemned.sort((a, b) => ordinalOf(b, name) - ordinalOf(a, name));
  const counted = [...slots.flatMap((s) => (s.pod ? [s.pod] : [])), ...condemned];

  const actions: Action[] = [];
  let requeue: number | undefined;
  const deleted = new Set<string>();
  const gone = (pod: KubeObject) => isTerminating(pod) || deleted.has(pod.metadata.name!);
  const healthy = (pod: KubeObject) => isRunningAndReady(pod) && !gone(pod);
  const waitAvailable = (pod: KubeObject) => {
    const ms = msUntilAvailable(pod, set.minReadySeconds, observed.now);
    if (ms) requeue = minDefined(requeue, ms);
    return ms !== 0;
  };
  const finish = (): ReconcileResult => {
    const status = computeStatus(set, counted, observed.now);
    if (!sameJson(status, sts.status ?? {})) actions.push({ type: "update", resource: "apps/statefulsets", subresource: "status", object: { ...clone(sts), status } });
    for (const pod of counted) {
      if (isRunningAndReady(pod) && !isTerminating(pod)) {
        const ms = msUntilAvailable(pod, set.minReadySeconds, observed.now);
        if (ms) requeue = minDefined(requeue, ms);
      }
    }
    return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
  };

  // A set being deleted only reports status; the garbage collector removes its pods.
  if (isTerminating(sts)) return finish();

  let oldTemplate: Obj | undefined | null = null;
  const templateFor = (index: number): { template: Obj; revision: string } => {
    if (set.rollingUpdate && index < set.partition && set.currentRevision !== set.updateRevision) {
      if (oldTemplate === null) oldTemplate = currentTemplate(set, owned);
      if (oldTemplate) return { template: oldTemplate, revision: set.currentRevision };
    }
    return { template: (isObj(spec.template) ? spec.template : {}) as Obj, revision: set.updateRevision };
  };

  // 1. The ordinal range, lowest first.
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i];
    const podName = `${name}-${slot.ordinal}`;
    const pod = slot.pod;
    if (pod && (phaseOf(pod) === "Failed" || phaseOf(pod) === "Succeeded")) {
      // Finished pods are deleted and recreated once they are gone.
      if (!isTerminating(pod)) {
        actions.push(...deletePod(set, pod));
        deleted.add(podName);
      }
      if (set.monotonic) return finish();
      continue;
    }
    if (!pod) {
      const squatter = observed.pods.find((p) => p.metadata.name === podName);
      if (squatter) {
        // A pod of that name that is not ours (or is still being deleted): wait for it to go.
        if (!isTerminating(squatter))
          actions.push(event(set, "FailedCreate", `create Pod ${podName} in StatefulSet ${name} failed error: pods "${podName}" already exists`, true));
        if (set.monotonic) return finish();
        continue;
      }
      const storage = ensureClaims(set, slot.ordinal, podName, true);
      if (storage.blocked !== undefined) {
        if (storage.blocked) actions.push(event(set, "FailedCreate", `create Pod ${podName} in StatefulSet ${name} failed error: ${storage.blocked}`, true));
        if (set.monotonic) return finish();
        continue;
      }
      actions.push(...storage.actions);
      const { template, revision } = templateFor(i);
      actions.push({ type: "create", resource: "core/pods", object: newPod(set, slot.ordinal, template, revision) });
      actions.push(event(set, "SuccessfulCreate", `create Pod ${podName} in StatefulSet ${name} successful`));
      slot.created = revision;
      if (set.monotonic) return finish();
      continue;
    }
    if (!isTerminating(pod) && (phaseOf(pod) === "" || phaseOf(pod) === "Pending")) actions.push(...ensureClaims(set, slot.ordinal, podName, false).actions);
    if (set.monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || waitAvailable(pod))) return finish();
    if (isTerminating(pod)) continue;
    // Identity labels a user removed are put back; claims follow the retention policy.
    const labels = pod.metadata.labels ?? {};
    if (labels[POD_NAME_LABEL] !== podName || labels[POD_INDEX_LABEL] !== String(slot.ordinal)) {
      const next = clone(pod);
      next.metadata.labels = { ...labels, [POD_NAME_LABEL]: podName, [POD_INDEX_LABEL]: String(slot.ordinal) };
      actions.push({ type: "update", resource: "core/pods", object: next });
      actions.push(event(set, "SuccessfulUpdate", `update Pod ${podName} in StatefulSet ${name} successful`));
    }
    actions.push(...fixClaimRefs(set, pod, slot.ordinal, false));
  }

  // 2. Pods above the range: their claims first take the scale-down retention policy...
  for (const pod of condemned) if (!gone(pod)) actions.push(...fixClaimRefs(set, pod, ordinalOf(pod, name), true));

  // ...then they go, highest ordinal first (one at a time and healthy first with OrderedReady).
  // (A missing or unhealthy pod in the range comes first; then condemned ones, highest first.)
  const rangeHealthy = slots.every((s) => s.pod && healthy(s.pod));
  const firstUnhealthy = rangeHealthy ? condemned.find((p) => !healthy(p)) : undefined;
  for (const pod of condemned) {
    if (gone(pod)) {
      if (set.monotonic) return finish();
      continue;
    }
    if (set.monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || waitAvailable(pod))) return finish();
    actions.push(...deletePod(set, pod));
    deleted.add(pod.metadata.name!);
    if (set.monotonic) return finish();
  }

  // 3. Rolling update: from the highest ordinal down to the partition, one pod at a time.
  if (!set.rollingUpdate) return finish();
  for (let i = slots.length - 1; i >= set.partition; i--) {
    const slot = slots[i];
    if (!slot.pod) return finish(); // being created (Parallel) or blocked: not healthy yet
    if (revisionOf(slot.pod) !== set.updateRevision && !gone(slot.pod)) {
      actions.push(...deletePod(set, slot.pod));
      deleted.add(slot.pod.metadata.name!);
      return finish();
    }
    if (!healthy(slot.pod) || waitAvailable(slot.pod)) return finish();
  }
  return finish();
}

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  let requeue: number | undefined;
  for (const sts of [...observed.statefulSets].sort(byName)) {
    const r = reconcileSet(sts, observed);
    actions.push(...r.actions);
    requeue = minDefined(requeue, r.requeueAfterMs);
  }
  return requeue === undefined ? { actions } : { actions, requeueAfterMs: requeue };
}
