import { selectorMatches } from "../resources/deployment.ts";
import type { KubeObject } from "../resources/types.ts";
import {
  byCreation,
  byName,
  canonicalJson,
  computeTemplateHash,
  controllerUid,
  intOr,
  isBeingDeleted,
  minDelay,
  msUntilAvailable,
  parseTime,
  podPhase,
  POD_TEMPLATE_HASH_LABEL,
  rfc3339,
  templatesEqualIgnoringHash,
} from "./pod-utils.ts";
import { effectiveSelector, minReadySecondsOf, replicasOf } from "./replicaset.ts";
import { controllerRef, type Action, type Observed, type ReconcileResult } from "./types.ts";

/**
 * The Deployment controller as a pure reconciler: it manages ReplicaSets only (the
 * ReplicaSet reconciler manages pods) and writes the Deployment's status and its
 * revision annotation. It follows Kubernetes' documented rollout behaviour:
 *
 *  - ReplicaSets are claimed by the Deployment's selector (orphans adopted, owned
 *    ones that stop matching released). The "new" ReplicaSet is the oldest whose
 *    template equals the Deployment's ignoring the pod-template-hash label; it is
 *    named `<deployment>-<hash>` when created, the hash (see computeTemplateHash)
 *    added to its selector, template labels and labels.
 *  - Revisions: a new or reused new ReplicaSet gets revision max(old) + 1 (reuse is
 *    what `kubectl rollout undo` relies on; the previous number goes to
 *    deployment.kubernetes.io/revision-history); the Deployment's own
 *    deployment.kubernetes.io/revision follows its new ReplicaSet. The Deployment's
 *    other annotations are copied to the new ReplicaSet (change-cause shows in
 *    `kubectl rollout history`). desired-replicas / max-replicas annotations record
 *    the size a ReplicaSet was scaled for.
 *  - Paused deployments and scaling events (an active ReplicaSet annotated with a
 *    different desired size) only scale, proportionally across active ReplicaSets;
 *    otherwise RollingUpdate (surge rounds up, unavailable rounds down, both 0 means
 *    unavailable 1) or Recreate (scale old to 0, wait until their pods are gone,
 *    then scale the new one up) makes one step per pass.
 *  - Old ReplicaSets with zero replicas beyond revisionHistoryLimit are deleted,
 *    oldest revision first, once a rollout is complete (or while paused).
 *  - Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
 *    availableReplicas, unavailableReplicas (zero counts omitted, as Kubernetes
 *    does), collisionCount, conditions Available and Progressing (with
 *    progressDeadlineSeconds; ProgressDeadlineExceeded when no progress is seen in
 *    time; requeueAfterMs to check the deadline) and ReplicaFailure copied from a
 *    ReplicaSet.
 *
 * One pass changes each ReplicaSet with a single update (compare-and-swap on the
 * observed resourceVersion). The Deployment itself gets at most one update per pass:
 * the status update when the status changed, otherwise the metadata update that sets
 * the revision annotation (a second update would fail its resourceVersion check).
 *
 * Events on the Deployment: ScalingReplicaSet "Scaled up|down replica set <name>
 * from <old> to <new>" (the wording of Kubernetes 1.32).
 */

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
const SKIP_COPY_ANNOTATIONS = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  "deprecated.deployment.rollback.to",
]);
const MAX_REVISION_HISTORY_CHARS = 2000;
const MAX_INT32 = 2147483647;

export const AVAILABLE = "Available";
export const PROGRESSING = "Progressing";
export const REPLICA_FAILURE = "ReplicaFailure";
export const Reasons = {
  MinimumReplicasAvailable: "MinimumReplicasAvailable",
  MinimumReplicasUnavailable: "MinimumReplicasUnavailable",
  NewReplicaSetCreated: "NewReplicaSetCreated",
  FoundNewReplicaSet: "FoundNewReplicaSet",
  ReplicaSetUpdated: "ReplicaSetUpdated",
  NewReplicaSetAvailable: "NewReplicaSetAvailable",
  ProgressDeadlineExceeded: "ProgressDeadlineExceeded",
  DeploymentPaused: "DeploymentPaused",
  DeploymentResumed: "DeploymentResumed",
} as const;

export interface DeploymentCondition {
  type: string;
  status: "True" | "False" | "Unknown" | string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
  [key: string]: unknown;
}

const COUNT_FIELDS = ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"] as const;

// ---------------------------------------------------------------------------
// Spec helpers

interface DeploymentSpec {
  replicas?: number;
  paused?: boolean;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  selector?: unknown;
  template?: { metadata?: { labels?: Record<string, string> }; [k: string]: unknown };
  strategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } };
}

const specOf = (d: KubeObject) => (d.spec ?? {}) as DeploymentSpec;
const isRollingUpdate = (d: KubeObject) => (specOf(d).strategy?.type ?? "RollingUpdate") === "RollingUpdate";

/** An int-or-percent resolved against `total`; percentages round up or down. */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "string") {
    const s = v.trim();
    if (s.endsWith("%")) {
      const pct = Number.parseInt(s.slice(0, -1), 10);
      if (Number.isNaN(pct)) return 0;
      const x = (pct * total) / 100;
      return roundUp ? Math.ceil(x) : Math.floor(x);
    }
    const n = Number.parseInt(s, 10);
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
}

/** maxSurge and maxUnavailable for the Deployment's size; both 0 resolves unavailable to 1. */
export function resolveFenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const ru = specOf(d).strategy?.rollingUpdate ?? {};
  const desired = replicasOf(d);
  const surge = scaledValue(ru.maxSurge ?? "25%", desired, true);
  let unavailable = scaledValue(ru.maxUnavailable ?? "25%", desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).surge : 0;
}

export function maxUnavailable(d: KubeObject): number {
  const desired = replicasOf(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, desired);
}

function hasProgressDeadline(d: KubeObject): boolean {
  const p = specOf(d).progressDeadlineSeconds;
  return typeof p === "number" && p !== MAX_INT32;
}

function revisionHistoryLimit(d: KubeObject): number | undefined {
  const l = specOf(d).revisionHistoryLimit;
  return typeof l === "number" && l !== MAX_INT32 ? l : undefined;
}

/** A ReplicaSet's revision number (0 when absent or unparsable). */
export function revisionOf(rs: KubeObject): number {
  const v = rs.metadata.annotations?.[REVISION_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  return Number(v);
}

function intAnnotation(rs: KubeObject, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

const rsStatus = (rs: KubeObject) => (rs.status ?? {}) as { replicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number; conditions?: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }[] };
const statusCount = (rs: KubeObject, f: "replicas" | "readyReplicas" | "availableReplicas") => intOr(rsStatus(rs)[f], 0);

// ---------------------------------------------------------------------------
// Conditions (Kubernetes' semantics: same status and reason is a no-op; a changed
// reason keeps lastTransitionTime when the status is unchanged; the changed
// condition moves to the end)

export function getCondition(status: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

function newCondition(type: string, status: string, reason: string, message: string, now: string): DeploymentCondition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  if (current && current.status === cond.status) cond.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), cond];
}

function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

// ---------------------------------------------------------------------------
// Pass state

/** A ReplicaSet as observed (`orig`) and as this pass wants it (`cur`). */
interface RSRef {
  orig?: KubeObject; // undefined when created in this pass
  cur: KubeObject;
  deleted?: boolean;
  emitted?: boolean;
}

interface Pass {
  observed: Observed;
  now: string;
  refs: RSRef[];
  /** ReplicaSets adopted or released in this pass (no second Deployment may touch them). */
  touched: Set<string>;
  actions: Action[];
  requeue?: number;
}

class DeploymentSync {
  readonly d: KubeObject;
  /** The Deployment's status as this pass has changed it so far (conditions, collisionCount). */
  readonly status: DeploymentStatus;
  rsList: RSRef[] = [];
  created?: RSRef;
  events: Action[] = [];
  deletes: Action[] = [];
  /** The revision the Deployment's annotation should carry, once known. */
  revision?: string;
  /** The status to write (undefined: leave status alone). */
  finalStatus?: DeploymentStatus;
  /** Check the progress deadline for requeueing. */
  checkDeadline = false;

  constructor(
    readonly pass: Pass,
    d: KubeObject,
  ) {
    this.d = d;
    this.status = structuredClone((d.status ?? {}) as DeploymentStatus);
  }

  get replicas(): number {
    return replicasOf(this.d);
  }

  event(reason: string, message: string): void {
    this.events.push({ type: "event", involved: this.d, eventType: "Normal", reason, message });
  }
}

// ---------------------------------------------------------------------------
// Entry point

export function reconcile(observed: Observed): ReconcileResult {
  const pass: Pass = {
    observed,
    now: rfc3339(observed.now),
    refs: [...observed.replicaSets].sort(byName).map((rs) => ({ orig: rs, cur: structuredClone(rs) })),
    touched: new Set(),
    actions: [],
  };
  for (const d of [...observed.deployments].sort(byName)) syncDeployment(pass, d);
  return pass.requeue === undefined ? { actions: pass.actions } : { actions: pass.actions, requeueAfterMs: pass.requeue };
}

function syncDeployment(pass: Pass, d: KubeObject): void {
  const selector = effectiveSelector(specOf(d).selector);
  if (!selector) return; // validation requires one; selecting everything would be wrong
  const ds = new DeploymentSync(pass, d);
  ds.rsList = claimReplicaSets(pass, d, selector);

  if (isBeingDeleted(d)) {
    // Status only: the garbage collector removes the ReplicaSets.
    const newRS = findNewReplicaSet(d, ds.rsList);
    ds.finalStatus = calculateStatus(ds, ds.rsList, newRS);
  } else {
    checkPausedConditions(ds);
    if (specOf(d).paused) syncScaleOnly(ds);
    else {
      const { newRS, oldRSs } = syncRevision(ds, false)!;
      if (isScalingEvent(ds, newRS, oldRSs)) syncScaleOnly(ds);
      else if (isRollingUpdate(d)) rolloutRolling(ds);
      else rolloutRecreate(ds);
    }
  }
  finish(ds, selector);
}

/** Adopt matching orphans, release owned ReplicaSets that stopped matching; the Deployment's ReplicaSets. */
function claimReplicaSets(pass: Pass, d: KubeObject, selector: unknown): RSRef[] {
  const uid = d.metadata.uid!;
  const list: RSRef[] = [];
  for (const ref of pass.refs) {
    if (!ref.orig || pass.touched.has(ref.orig.metadata.uid!)) continue;
    const rs = ref.cur;
    const ctrl = controllerUid(rs);
    const matches = selectorMatches(selector, rs.metadata.labels);
    if (ctrl === uid) {
      if (matches) list.push(ref);
      else if (!isBeingDeleted(rs)) {
        const refs = (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        if (refs.length) rs.metadata.ownerReferences = refs;
        else delete rs.metadata.ownerReferences;
        pass.touched.add(rs.metadata.uid!);
      }
    } else if (ctrl === undefined && matches && !isBeingDeleted(rs) && !isBeingDeleted(d)) {
      rs.metadata.ownerReferences = [...(rs.metadata.ownerReferences ?? []), controllerRef(d)];
      pass.touched.add(rs.metadata.uid!);
      list.push(ref);
    }
  }
  return list;
}

function findNewReplicaSet(d: KubeObject, list: RSRef[]): RSRef | undefined {
  const template = specOf(d).template;
  return [...list]
    .sort((a, b) => byCreation(a.cur, b.cur))
    .find((r) => templatesEqualIgnoringHash((r.cur.spec as { template?: unknown } | undefined)?.template, template));
}

// ---------------------------------------------------------------------------
// Revisions and the new ReplicaSet

/**
 * Finds the new ReplicaSet and brings its revision and annotations up to date, or
 * (with `create`) creates it. Returns undefined when the name is taken by another
 * ReplicaSet (a hash collision: collisionCount is bumped and the pass stops).
 */
function syncRevision(ds: DeploymentSync, create: boolean): { newRS?: RSRef; oldRSs: RSRef[] } | undefined {
  const d = ds.d;
  const newRS = ds.created ?? findNewReplicaSet(d, ds.rsList);
  const oldRSs = ds.rsList.filter((r) => r !== newRS);
  const maxOld = Math.max(0, ...oldRSs.map((r) => revisionOf(r.cur)));
  const newRevision = String(maxOld + 1);

  if (newRS) {
    if (!ds.created) {
      setNewReplicaSetAnnotations(d, newRS.cur, newRevision, true);
      const want = Math.max(0, intOr(specOf(d).minReadySeconds, 0));
      if (minReadySecondsOf(newRS.cur) !== want) {
        const spec = (newRS.cur.spec ??= {}) as Record<string, unknown>;
        if (want > 0) spec.minReadySeconds = want;
        else delete spec.minReadySeconds;
      }
      ds.revision = newRS.cur.metadata.annotations?.[REVISION_ANNOTATION];
      if (hasProgressDeadline(d) && !getCondition(ds.status, PROGRESSING))
        setCondition(ds.status, newCondition(PROGRESSING, "True", Reasons.FoundNewReplicaSet, `Found new replica set "${newRS.cur.metadata.name}"`, ds.pass.now));
    }
    return { newRS, oldRSs };
  }
  if (!create) return { oldRSs };

  const hash = computeTemplateHash(specOf(d).template, ds.status.collisionCount);
  const name = `${d.metadata.name}-${hash}`;
  if (ds.pass.observed.replicaSets.some((rs) => rs.metadata.name === name)) {
    ds.status.collisionCount = (ds.status.collisionCount ?? 0) + 1;
    return undefined;
  }
  const template = structuredClone(specOf(d).template ?? {});
  const tmeta = (template.metadata ??= {});
  tmeta.labels = { ...(tmeta.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const selector = structuredClone(specOf(d).selector) as { matchLabels?: Record<string, string> };
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const minReadySeconds = Math.max(0, intOr(specOf(d).minReadySeconds, 0));
  const rs: KubeObject = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: ds.pass.observed.namespace, labels: { ...tmeta.labels }, ownerReferences: [controllerRef(d)] },
    spec: { replicas: 0, ...(minReadySeconds > 0 ? { minReadySeconds } : {}), selector, template },
  };
  const ref: RSRef = { cur: rs };
  const replicas = newRSNewReplicas(d, [...oldRSs, ref], ref);
  (rs.spec as { replicas: number }).replicas = replicas;
  setNewReplicaSetAnnotations(d, rs, newRevision, false);
  ds.created = ref;
  if (replicas > 0) ds.event("ScalingReplicaSet", `Scaled up replica set ${name} from 0 to ${replicas}`);
  ds.revision = newRevision;
  if (hasProgressDeadline(d))
    setCondition(ds.status, newCondition(PROGRESSING, "True", Reasons.NewReplicaSetCreated, `Created new replica set "${name}"`, ds.pass.now));
  return { newRS: ref, oldRSs };
}

function setNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, newRevision: string, exists: boolean): void {
  const ann = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIP_COPY_ANNOTATIONS.has(k) && ann[k] !== v) ann[k] = v;
  const had = Object.hasOwn(ann, REVISION_ANNOTATION);
  const oldRevision = ann[REVISION_ANNOTATION] ?? "";
  const parsable = oldRevision === "" || /^\d+$/.test(oldRevision);
  if (parsable && (oldRevision === "" ? 0 : Number(oldRevision)) < Number(newRevision)) {
    ann[REVISION_ANNOTATION] = newRevision;
    if (had && oldRevision !== "") appendRevisionHistory(ann, oldRevision);
  }
  if (!exists) setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d));
  if (Object.keys(ann).length === 0) delete rs.metadata.annotations;
}

function appendRevisionHistory(ann: Record<string, string>, oldRevision: string): void {
  const existing = ann[REVISION_HISTORY_ANNOTATION] ?? "";
  if (existing === "") {
    ann[REVISION_HISTORY_ANNOTATION] = oldRevision;
    return;
  }
  const revisions = existing.split(",");
  // Drop the oldest entries until the new list fits.
  while (revisions.length && [...revisions, oldRevision].join(",").length > MAX_REVISION_HISTORY_CHARS) revisions.shift();
  ann[REVISION_HISTORY_ANNOTATION] = [...revisions, oldRevision].join(",");
}

function replicasAnnotationsNeedUpdate(rs: KubeObject, desired: number, max: number): boolean {
  const ann = rs.metadata.annotations ?? {};
  return ann[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || ann[MAX_REPLICAS_ANNOTATION] !== String(max);
}

function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): void {
  const ann = (rs.metadata.annotations ??= {});
  ann[DESIRED_REPLICAS_ANNOTATION] = String(desired);
  ann[MAX_REPLICAS_ANNOTATION] = String(max);
}

// ---------------------------------------------------------------------------
// Scaling ReplicaSets

const isActive = (r: RSRef | undefined): r is RSRef => !!r && replicasOf(r.cur) > 0;
const sumSpec = (list: RSRef[]) => list.reduce((n, r) => n + replicasOf(r.cur), 0);
const sumStatus = (list: RSRef[], f: "replicas" | "readyReplicas" | "availableReplicas") => list.reduce((n, r) => n + statusCount(r.cur, f), 0);
const creationOrder = (a: RSRef, b: RSRef) => byCreation(a.cur, b.cur);

/** Sets a ReplicaSet's size and replica annotations; records an event when the size changes. */
function scaleReplicaSet(ds: DeploymentSync, ref: RSRef, newScale: number): boolean {
  const d = ds.d;
  const oldScale = replicasOf(ref.cur);
  const max = ds.replicas + maxSurge(d);
  const sizeChanges = oldScale !== newScale;
  if (!sizeChanges && !replicasAnnotationsNeedUpdate(ref.cur, ds.replicas, max)) return false;
  ((ref.cur.spec ??= {}) as Record<string, unknown>).replicas = newScale;
  setReplicasAnnotations(ref.cur, ds.replicas, max);
  if (!sizeChanges) return false;
  ds.event("ScalingReplicaSet", `Scaled ${oldScale < newScale ? "up" : "down"} replica set ${ref.cur.metadata.name} from ${oldScale} to ${newScale}`);
  return true;
}

function scaleIfNeeded(ds: DeploymentSync, ref: RSRef, newScale: number): boolean {
  return replicasOf(ref.cur) === newScale ? false : scaleReplicaSet(ds, ref, newScale);
}

/** How many replicas the new ReplicaSet may have now. */
function newRSNewReplicas(d: KubeObject, all: RSRef[], newRS: RSRef): number {
  const desired = replicasOf(d);
  if (!isRollingUpdate(d)) return desired;
  const maxTotal = desired + maxSurge(d);
  const current = sumSpec(all);
  const have = replicasOf(newRS.cur);
  if (current >= maxTotal) return have;
  return have + Math.max(0, Math.min(maxTotal - current, desired - have));
}

function isScalingEvent(ds: DeploymentSync, newRS: RSRef | undefined, oldRSs: RSRef[]): boolean {
  for (const r of [...oldRSs, newRS].filter(isActive)) {
    const desired = intAnnotation(r.cur, DESIRED_REPLICAS_ANNOTATION);
    if (desired !== undefined && desired !== ds.replicas) return true;
  }
  return false;
}

function isSaturated(d: KubeObject, rs: RSRef | undefined): boolean {
  if (!rs) return false;
  const desired = intAnnotation(rs.cur, DESIRED_REPLICAS_ANNOTATION);
  const want = replicasOf(d);
  return desired !== undefined && replicasOf(rs.cur) === want && desired === want && statusCount(rs.cur, "availableReplicas") === want;
}

/** The only active ReplicaSet, or the newest one when none is active; undefined when several are active. */
function findActiveOrLatest(newRS: RSRef | undefined, oldRSs: RSRef[]): RSRef | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort(creationOrder).reverse();
  const active = [...newestFirst, newRS].filter(isActive);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

/** Scales for a changed Deployment size (or while paused): proportionally across active ReplicaSets. */
function scale(ds: DeploymentSync, newRS: RSRef | undefined, oldRSs: RSRef[]): void {
  const d = ds.d;
  const only = findActiveOrLatest(newRS, oldRSs);
  if (only) {
    // Also refreshes stale replica annotations when the size is already right.
    scaleReplicaSet(ds, only, ds.replicas);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of oldRSs.filter(isActive)) scaleIfNeeded(ds, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const active = [...oldRSs, newRS].filter(isActive);
  const allowed = ds.replicas > 0 ? ds.replicas + maxSurge(d) : 0;
  const toAdd = allowed - sumSpec(active);
  // Larger first; on equal sizes newer first when growing, older first when shrinking.
  if (toAdd > 0) active.sort((a, b) => replicasOf(b.cur) - replicasOf(a.cur) || -creationOrder(a, b));
  else if (toAdd < 0) active.sort((a, b) => replicasOf(b.cur) - replicasOf(a.cur) || creationOrder(a, b));
  const sizes = new Map<RSRef, number>();
  let added = 0;
  for (const r of active) {
    const p = toAdd !== 0 ? proportion(r, ds, toAdd, added) : 0;
    sizes.set(r, replicasOf(r.cur) + p);
    added += p;
  }
  active.forEach((r, i) => {
    let size = sizes.get(r)!;
    if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
    scaleReplicaSet(ds, r, size);
  });
}

function proportion(r: RSRef, ds: DeploymentSync, toAdd: number, added: number): number {
  const size = replicasOf(r.cur);
  if (size === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(r, ds);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(r: RSRef, ds: DeploymentSync): number {
  const size = replicasOf(r.cur);
  if (ds.replicas === 0) return -size;
  const maxNow = ds.replicas + maxSurge(ds.d);
  let maxBefore = intAnnotation(r.cur, MAX_REPLICAS_ANNOTATION) ?? 0;
  if (maxBefore === 0) maxBefore = intOr((ds.d.status as DeploymentStatus | undefined)?.replicas, 0);
  if (maxBefore === 0) return 0;
  return roundHalfAwayFromZero((size * maxNow) / maxBefore) - size;
}

function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

// ---------------------------------------------------------------------------
// Strategies

function syncScaleOnly(ds: DeploymentSync): void {
  const { newRS, oldRSs } = syncRevision(ds, false)!;
  scale(ds, newRS, oldRSs);
  if (specOf(ds.d).paused) cleanupOldReplicaSets(ds, oldRSs);
  ds.finalStatus = calculateStatus(ds, withNew(oldRSs, newRS), newRS);
}

const withNew = (oldRSs: RSRef[], newRS: RSRef | undefined) => (newRS ? [...oldRSs, newRS] : oldRSs);

function rolloutRolling(ds: DeploymentSync): void {
  const r = syncRevision(ds, true);
  if (!r) return collided(ds);
  const newRS = r.newRS!;
  const all = [...r.oldRSs, newRS];
  if (reconcileNewReplicaSet(ds, all, newRS) || reconcileOldReplicaSets(ds, all, r.oldRSs.filter(isActive), newRS)) {
    syncRolloutStatus(ds, all, newRS);
    return;
  }
  if (deploymentComplete(ds.d, ds.status)) cleanupOldReplicaSets(ds, r.oldRSs);
  syncRolloutStatus(ds, all, newRS);
}

function reconcileNewReplicaSet(ds: DeploymentSync, all: RSRef[], newRS: RSRef): boolean {
  const have = replicasOf(newRS.cur);
  if (have === ds.replicas) return false;
  if (have > ds.replicas) return scaleIfNeeded(ds, newRS, ds.replicas);
  return scaleIfNeeded(ds, newRS, newRSNewReplicas(ds.d, all, newRS));
}

function reconcileOldReplicaSets(ds: DeploymentSync, all: RSRef[], activeOld: RSRef[], newRS: RSRef): boolean {
  if (sumSpec(activeOld) === 0) return false;
  const minAvailable = ds.replicas - maxUnavailable(ds.d);
  const newUnavailable = replicasOf(newRS.cur) - statusCount(newRS.cur, "availableReplicas");
  const maxScaledDown = sumSpec(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;

  // First scale away unhealthy (unavailable) old replicas: that costs no availability.
  const oldest = [...activeOld].sort(creationOrder);
  let cleaned = 0;
  for (const r of oldest) {
    if (cleaned >= maxScaledDown) break;
    const size = replicasOf(r.cur);
    const unhealthy = size - statusCount(r.cur, "availableReplicas");
    if (size === 0 || unhealthy <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    scaleIfNeeded(ds, r, size - n);
    cleaned += n;
  }

  // Then scale down old replicas as far as availability allows.
  let scaled = 0;
  const available = sumStatus(all, "availableReplicas");
  if (available > minAvailable) {
    const budget = available - minAvailable;
    for (const r of oldest) {
      if (scaled >= budget) break;
      const size = replicasOf(r.cur);
      if (size === 0) continue;
      const n = Math.min(size, budget - scaled);
      scaleIfNeeded(ds, r, size - n);
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

function rolloutRecreate(ds: DeploymentSync): void {
  let { newRS, oldRSs } = syncRevision(ds, false)!;
  let scaledDown = false;
  for (const r of oldRSs.filter(isActive)) if (scaleIfNeeded(ds, r, 0)) scaledDown = true;
  if (scaledDown || oldPodsRunning(ds, newRS, oldRSs)) {
    syncRolloutStatus(ds, withNew(oldRSs, newRS), newRS);
    return;
  }
  if (!newRS) {
    const r = syncRevision(ds, true);
    if (!r) return collided(ds);
    ({ newRS, oldRSs } = r);
  }
  scaleIfNeeded(ds, newRS!, ds.replicas);
  if (deploymentComplete(ds.d, ds.status)) cleanupOldReplicaSets(ds, oldRSs);
  syncRolloutStatus(ds, withNew(oldRSs, newRS), newRS);
}

/** Do old ReplicaSets still report replicas, or still have pods not yet finished? */
function oldPodsRunning(ds: DeploymentSync, newRS: RSRef | undefined, oldRSs: RSRef[]): boolean {
  if (sumStatus(oldRSs, "replicas") > 0) return true;
  const oldUids = new Set(oldRSs.map((r) => r.cur.metadata.uid));
  const selector = specOf(ds.d).selector;
  return ds.pass.observed.pods.some((p) => {
    const c = controllerUid(p);
    if (c === undefined || !oldUids.has(c) || c === newRS?.cur.metadata.uid) return false;
    if (!selectorMatches(selector, p.metadata.labels)) return false;
    const phase = podPhase(p);
    return phase !== "Succeeded" && phase !== "Failed";
  });
}

function collided(ds: DeploymentSync): void {
  // Only the bumped collisionCount (and any condition change) is written; the next pass uses a new hash.
  ds.finalStatus = ds.status;
}

/** Deletes the oldest fully scaled-down old ReplicaSets beyond revisionHistoryLimit. */
function cleanupOldReplicaSets(ds: DeploymentSync, oldRSs: RSRef[]): void {
  const limit = revisionHistoryLimit(ds.d);
  if (limit === undefined) return;
  const alive = oldRSs.filter((r) => r.orig && !isBeingDeleted(r.cur));
  const excess = alive.length - limit;
  if (excess <= 0) return;
  alive.sort((a, b) => revisionOf(a.cur) - revisionOf(b.cur) || creationOrder(a, b));
  for (const r of alive.slice(0, excess)) {
    const rs = r.cur;
    const st = rsStatus(rs);
    if (intOr(st.replicas, 0) !== 0 || replicasOf(rs) !== 0) continue;
    if (intOr(rs.metadata.generation, 0) > intOr(st.observedGeneration, 0)) continue;
    if (canonicalJson(rs) !== canonicalJson(r.orig)) continue; // changed in this pass
    r.deleted = true;
    ds.deletes.push({
      type: "delete",
      resource: "apps/replicasets",
      name: rs.metadata.name!,
      uid: rs.metadata.uid,
      resourceVersion: rs.metadata.resourceVersion,
      propagationPolicy: "Background",
    });
  }
}

// ---------------------------------------------------------------------------
// Status

function checkPausedConditions(ds: DeploymentSync): void {
  const d = ds.d;
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(ds.status, PROGRESSING);
  if (cond?.reason === Reasons.ProgressDeadlineExceeded) return;
  const pausedCond = cond?.reason === Reasons.DeploymentPaused;
  if (specOf(d).paused && !pausedCond)
    setCondition(ds.status, newCondition(PROGRESSING, "Unknown", Reasons.DeploymentPaused, "Deployment is paused", ds.pass.now));
  else if (!specOf(d).paused && pausedCond)
    setCondition(ds.status, newCondition(PROGRESSING, "Unknown", Reasons.DeploymentResumed, "Deployment is resumed", ds.pass.now));
}

function calculateStatus(ds: DeploymentSync, all: RSRef[], newRS: RSRef | undefined): DeploymentStatus {
  const d = ds.d;
  const available = sumStatus(all, "availableReplicas");
  const status: DeploymentStatus = {
    ...structuredClone(ds.status),
    observedGeneration: intOr(d.metadata.generation, 0),
    replicas: sumStatus(all, "replicas"),
    updatedReplicas: newRS ? statusCount(newRS.cur, "replicas") : 0,
    readyReplicas: sumStatus(all, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpec(all) - available),
  };
  if (available >= ds.replicas - maxUnavailable(d))
    setCondition(status, newCondition(AVAILABLE, "True", Reasons.MinimumReplicasAvailable, "Deployment has minimum availability.", ds.pass.now));
  else setCondition(status, newCondition(AVAILABLE, "False", Reasons.MinimumReplicasUnavailable, "Deployment does not have minimum availability.", ds.pass.now));
  return status;
}

const count = (s: DeploymentStatus, f: (typeof COUNT_FIELDS)[number]) => intOr(s[f], 0);

function deploymentComplete(d: KubeObject, s: DeploymentStatus): boolean {
  const want = replicasOf(d);
  return count(s, "updatedReplicas") === want && count(s, "replicas") === want && count(s, "availableReplicas") === want && count(s, "observedGeneration") >= intOr(d.metadata.generation, 0);
}

function deploymentProgressing(old: DeploymentStatus, next: DeploymentStatus): boolean {
  return (
    count(next, "updatedReplicas") > count(old, "updatedReplicas") ||
    count(next, "replicas") - count(next, "updatedReplicas") < count(old, "replicas") - count(old, "updatedReplicas") ||
    count(next, "readyReplicas") > count(old, "readyReplicas") ||
    count(next, "availableReplicas") > count(old, "availableReplicas")
  );
}

function progressDeadlineMs(d: KubeObject, cond: DeploymentCondition): number | undefined {
  const from = parseTime(cond.lastUpdateTime);
  return from === undefined ? undefined : from + (specOf(d).progressDeadlineSeconds ?? 0) * 1000;
}

function deploymentTimedOut(d: KubeObject, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s, PROGRESSING);
  if (!cond || cond.reason === Reasons.NewReplicaSetAvailable) return false;
  if (cond.reason === Reasons.ProgressDeadlineExceeded) return true;
  const deadline = progressDeadlineMs(d, cond);
  return deadline !== undefined && deadline < now;
}

function syncRolloutStatus(ds: DeploymentSync, all: RSRef[], newRS: RSRef | undefined): void {
  const d = ds.d;
  const next = calculateStatus(ds, all, newRS);
  if (!hasProgressDeadline(d)) removeCondition(next, PROGRESSING);
  const current = getCondition(ds.status, PROGRESSING);
  const alreadyComplete = count(next, "replicas") === count(next, "updatedReplicas") && current?.reason === Reasons.NewReplicaSetAvailable;
  const what = newRS ? `ReplicaSet "${newRS.cur.metadata.name}"` : `Deployment "${d.metadata.name}"`;
  if (hasProgressDeadline(d) && !alreadyComplete) {
    if (deploymentComplete(d, next)) {
      setCondition(next, newCondition(PROGRESSING, "True", Reasons.NewReplicaSetAvailable, `${what} has successfully progressed.`, ds.pass.now));
    } else if (deploymentProgressing(ds.status, next)) {
      // Progress refreshes lastUpdateTime even when the reason stays the same.
      const cond = newCondition(PROGRESSING, "True", Reasons.ReplicaSetUpdated, `${what} is progressing.`, ds.pass.now);
      if (current?.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
      removeCondition(next, PROGRESSING);
      setCondition(next, cond);
    } else if (deploymentTimedOut(d, next, ds.pass.observed.now)) {
      setCondition(next, newCondition(PROGRESSING, "False", Reasons.ProgressDeadlineExceeded, `${what} has timed out progressing.`, ds.pass.now));
    }
  }
  const failure = replicaFailure(all, newRS);
  if (failure) setCondition(next, failure);
  else removeCondition(next, REPLICA_FAILURE);
  ds.finalStatus = next;
  ds.checkDeadline = true;
}

/** A ReplicaSet's ReplicaFailure condition (the new ReplicaSet's first), as a Deployment condition. */
function replicaFailure(all: RSRef[], newRS: RSRef | undefined): DeploymentCondition | undefined {
  const order = newRS ? [newRS, ...all.filter((r) => r !== newRS)] : all;
  for (const r of order) {
    const c = rsStatus(r.cur).conditions?.find((x) => x.type === REPLICA_FAILURE);
    if (c) return { type: REPLICA_FAILURE, status: c.status, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message };
  }
  return undefined;
}

/** The status as written: zero counts and empty conditions omitted, like Kubernetes' JSON. */
function shapeStatus(s: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = { ...s };
  for (const f of COUNT_FIELDS) if (intOr(out[f], 0) === 0) delete out[f];
  if (!out.conditions?.length) delete out.conditions;
  if (out.collisionCount === undefined) delete out.collisionCount;
  return out;
}

function sameStatus(a: unknown, b: DeploymentStatus): boolean {
  const norm = (s: unknown) => canonicalJson(shapeStatus((s ?? {}) as DeploymentStatus));
  return norm(a) === norm(b);
}

// ---------------------------------------------------------------------------
// Emitting the pass's actions for one Deployment

function finish(ds: DeploymentSync, selector: unknown): void {
  const { pass, d } = ds;
  const out = pass.actions;
  if (ds.created) out.push({ type: "create", resource: "apps/replicasets", object: ds.created.cur });
  for (const r of pass.refs) {
    if (!r.orig || r.emitted || r.deleted) continue;
    if (canonicalJson(r.cur) === canonicalJson(r.orig)) continue;
    r.emitted = true;
    out.push({ type: "update", resource: "apps/replicasets", object: r.cur });
  }
  out.push(...ds.deletes);

  const status = ds.finalStatus ? shapeStatus(ds.finalStatus) : undefined;
  if (status && !sameStatus(d.status, status)) {
    out.push({ type: "update", resource: "apps/deployments", subresource: "status", object: { ...d, status } });
  } else if (ds.revision !== undefined && d.metadata.annotations?.[REVISION_ANNOTATION] !== ds.revision) {
    out.push({
      type: "update",
      resource: "apps/deployments",
      object: { ...d, metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: ds.revision } } },
    });
  }
  out.push(...ds.events);

  // Wake for the progress deadline while a rollout is under way.
  if (ds.checkDeadline && status && hasProgressDeadline(d) && !deploymentComplete(d, status)) {
    const cond = getCondition(status, PROGRESSING);
    if (cond && cond.reason !== Reasons.ProgressDeadlineExceeded && cond.reason !== Reasons.NewReplicaSetAvailable) {
      const deadline = progressDeadlineMs(d, cond);
      if (deadline !== undefined) pass.requeue = minDelay(pass.requeue, Math.max(0, deadline - pass.observed.now) + 1000);
    }
  }
  // Wake when pods of its ReplicaSets pass minReadySeconds.
  for (const r of ds.rsList) {
    const uid = r.cur.metadata.uid;
    const minReady = minReadySecondsOf(r.cur);
    if (minReady === 0) continue;
    for (const p of pass.observed.pods)
      if (controllerUid(p) === uid && selectorMatches(selector, p.metadata.labels)) pass.requeue = minDelay(pass.requeue, msUntilAvailable(p, minReady, pass.observed.now));
  }
}
