import { ApiError, alreadyExists, badRequest, conflict, forbidden, gone, isStaleObject, notFound, staleObject, unavailable } from "../api/errors.ts";
import { isEmptyFilter, matchesFilter, type ObjectFilter } from "../api/selectors.ts";
import { storageResource } from "../resources/index.ts";
import { namespaceKind } from "../resources/namespace.ts";
import { AUDIT_ANNOTATION, podSecurityDecision, podTemplateOf } from "../auth/pod-security.ts";
import { forgetBoundObject } from "../auth/bound-token-cache.ts";
import { DEFAULT_SERVICE_ACCOUNT, defaultServiceAccount, serviceAccountKind } from "../resources/serviceaccount.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { numberSetting, type Env } from "../env.ts";
import { generateSuffix } from "./generate-name.ts";
import { hubName, materialize } from "./hub.ts";
import { admitPodPriority } from "./pod-priority.ts";
import { admitClaimResize, admitClaimStorageClass } from "./claim-admission.ts";
import { admitStorageProtection } from "./storage-protection.ts";
import { openRows, openSecret, primaryKeyId, SECRETS_RESOURCE } from "./secret-box.ts";
import { explainClaimFailure, isServiceKind, serviceClaims, ServiceAllocation } from "./service-allocation.ts";
import { admitIngressHosts, ingressClaims, isIngressKind } from "./host-claims.ts";
import { RecentObjects } from "./recent-objects.ts";
import { addUsage, getRow, listPage, objectKey, openDb, type D1Usage, type Db, type Write, type WriteResult } from "./revision-log.ts";

/**
 * Kubernetes object semantics over the revision log: uid, generation, timestamps,
 * optimistic concurrency, finalizers and graceful deletion. Reads go straight to D1;
 * writes go through the namespace's hub, which group-commits them.
 */

export interface ListOptions {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  filter?: ObjectFilter;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

interface ContinueToken {
  v: 1;
  rv: number;
  ns: string;
  name: string;
}

const encodeContinue = (t: ContinueToken) => btoa(JSON.stringify(t)).replace(/=+$/, "");

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(atob(s)) as ContinueToken;
    if (t.v === 1 && Number.isInteger(t.rv) && typeof t.ns === "string" && typeof t.name === "string") return t;
  } catch {
    /* fall through */
  }
  throw badRequest("continue key is not valid: the token is malformed; start the list again without it");
}

export { generateSuffix };

/** Namespaces this isolate saw active, until when (ms); see checkNamespace. */
const activeNamespaces = new Map<string, { until: number; labels?: Record<string, string> }>();
const ACTIVE_NAMESPACE_TTL_MS = 2000;

/** A generated name is the prefix cut to 58 characters plus 5 random ones: 63, a DNS label. */
const MAX_GENERATE_NAME_PREFIX = 58;

/** Strips what the store owns and derives from the revision, before serializing. */
function serialize(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What this isolate last read or wrote, where a compare-and-swapped write may start from (see recent-objects.ts). */
const recent = new RecentObjects(8 << 20);
/** Objects served from `recent`: a write based on one that would change nothing is checked against D1 first. */
const fromRecent = new WeakSet<KubeObject>();
/** Secrets are stored sealed and objects with a TTL expire without a write: neither is kept. */
const keepsRecent = (kind: ResourceKind) => kind.ttlMs === undefined && storageResource(kind) !== SECRETS_RESOURCE;

/** Commits writes of one hub; a hub passes its own commit so it does not call itself through a stub. */
export type Committer = (hub: string, writes: Write[]) => Promise<WriteResult[]>;

export class ObjectStore {
  readonly db: Db;

  /** `local.usage`, when given, accumulates the D1 work of this store's reads and of its writes' commits. */
  constructor(
    private readonly env: Env,
    private readonly local?: { hub: string; commit: Committer; usage?: D1Usage },
  ) {
    this.db = openDb(env.DB, local?.usage);
  }

  private key(kind: ResourceKind, namespace: string, name: string): string {
    return objectKey(storageResource(kind), kind.namespaced ? namespace : "", name);
  }

  async get(kind: ResourceKind, namespace: string, name: string): Promise<KubeObject> {
    const obj = await this.tryGet(kind, namespace, name);
    if (!obj) throw notFound(kind, name);
    return obj;
  }

  async tryGet(kind: ResourceKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    const key = this.key(kind, namespace, name);
    const row = await getRow(this.db, key);
    if (!row) {
      recent.forget(key);
      return undefined;
    }
    if (keepsRecent(kind)) recent.put(key, row.rev, row.value);
    // Secrets are stored encrypted (secret-box.ts); every read serves them in the clear.
    if (storageResource(kind) === SECRETS_RESOURCE) row.value = await openSecret(this.env, row.key, row.value);
    return materialize(row.value, row.rev);
  }

  /**
   * The object a write replaces: the one this isolate last saw when it is at `resourceVersion`
   * (any revision when none is given), else read from D1. The write's compare-and-swap on that
   * revision is what makes a recent copy safe to start from.
   */
  async current(kind: ResourceKind, namespace: string, name: string, resourceVersion?: string): Promise<KubeObject> {
    const seen = keepsRecent(kind) ? recent.get(this.key(kind, namespace, name)) : undefined;
    if (!seen || (resourceVersion !== undefined && resourceVersion !== String(seen.rev))) return this.get(kind, namespace, name);
    const obj = materialize(seen.value, seen.rev);
    fromRecent.add(obj);
    return obj;
  }

  /** Remembers what a commit stored (or that it deleted). */
  private committed(kind: ResourceKind, w: Write, result: WriteResult): void {
    if (!result.ok) return;
    if (w.type === "DELETED" || !keepsRecent(kind)) recent.forget(w.key);
    else recent.put(w.key, result.rev, result.value ?? w.value);
  }

  /** A list, in pages of `limit` matching objects, every page consistent with the first page's revision. */
  async list(kind: ResourceKind, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult> {
    const limit = opts.limit && opts.limit > 0 ? Math.min(opts.limit, 10_000) : undefined;
    const filter = opts.filter;
    let after: [string, string] | undefined;
    let atRevision: number | undefined;
    if (opts.continue) {
      const t = decodeContinue(opts.continue);
      after = [t.ns, t.name];
      atRevision = t.rv;
    } else if (opts.resourceVersionMatch === "Exact" && opts.resourceVersion) {
      atRevision = Number(opts.resourceVersion);
      if (!Number.isInteger(atRevision) || atRevision < 0) throw badRequest(`invalid resourceVersion "${opts.resourceVersion}"`);
    }
    const items: KubeObject[] = [];
    const pageSize = Math.max(limit ?? 0, 500);
    for (;;) {
      const page = await listPage(this.db, {
        resource: storageResource(kind),
        namespace: kind.namespaced ? namespace : "",
        after,
        limit: pageSize,
        atRevision,
      });
      if (atRevision !== undefined && atRevision < page.compacted) {
        throw opts.continue
          ? gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
          : gone(`too old resource version: ${atRevision} (${page.compacted})`);
      }
      atRevision = page.revision;
      await openRows(this.env, page.rows, storageResource(kind));
      for (let i = 0; i < page.rows.length; i++) {
        const row = page.rows[i];
        const obj = materialize(row.value, row.rev);
        if (filter && !isEmptyFilter(filter) && !matchesFilter(filter, obj)) continue;
        items.push(obj);
        if (limit !== undefined && items.length === limit) {
          const more = i < page.rows.length - 1 || page.rows.length === pageSize;
          return {
            items,
            resourceVersion: String(atRevision),
            ...(more ? { continue: encodeContinue({ v: 1, rv: atRevision, ns: row.namespace, name: row.name }) } : {}),
          };
        }
      }
      if (page.rows.length < pageSize) break;
      const last = page.rows[page.rows.length - 1];
      after = [last.namespace, last.name];
    }
    return { items, resourceVersion: String(atRevision ?? 0) };
  }

  /** Commits writes of one namespace (or "" for cluster scope) through its hub. */
  private async commit(namespace: string, writes: Write[]): Promise<WriteResult[]> {
    if (writes.some((w) => w.resource === SECRETS_RESOURCE) && !(await primaryKeyId(this.env)))
      throw unavailable("Secrets cannot be stored: the server has no SECRETS_ENCRYPTION_KEY configured");
    const name = hubName(namespace);
    const results =
      this.local?.hub === name ? await this.local.commit(name, writes) : await this.env.HUB.get(this.env.HUB.idFromName(name)).commit(name, writes);
    const usage = this.local?.usage;
    if (usage) for (const r of results) if (r.d1) addUsage(usage, r.d1);
    return results;
  }

  /** `prev` (the state being replaced) lets watchers with selectors see objects leave or enter them. */
  private write(kind: ResourceKind, type: Write["type"], obj: KubeObject, expectedRev: number | null, prev?: KubeObject): Write {
    const namespace = kind.namespaced ? (obj.metadata.namespace ?? "") : "";
    const name = obj.metadata.name!;
    const ttl = kind.ttlMs !== undefined ? numberSetting(this.env.EVENT_TTL_SECONDS, kind.ttlMs / 1000) * 1000 : undefined;
    return {
      type,
      key: this.key(kind, namespace, name),
      resource: storageResource(kind),
      namespace,
      name,
      value: serialize(obj),
      expectedRev,
      expiresAt: ttl !== undefined ? Date.now() + ttl : null,
      ...(prev ? { prevValue: serialize(prev) } : {}),
      // A Service holds its cluster IPs and node ports in the same commit (released by its deletion).
      ...(isServiceKind(kind) ? { claims: type === "DELETED" ? [] : serviceClaims(obj) } : {}),
      // An Ingress holds its hosts (shared with its namespace's other Ingresses) the same way.
      ...(isIngressKind(kind) ? { claims: type === "DELETED" ? [] : ingressClaims(obj, this.key(kind, namespace, name)) } : {}),
    };
  }

  /** Commits one write; on a lost race, reports why in Kubernetes terms. */
  private async commitOne(kind: ResourceKind, w: Write, obj: KubeObject): Promise<KubeObject> {
    const [result] = await this.commit(w.namespace, [w]);
    this.committed(kind, w, result);
    if (result.ok) {
      // The hub's admission may have changed it (LimitRange defaults): then its stored value is what was created.
      if (result.value !== undefined) return materialize(result.value, result.rev);
      obj.metadata.resourceVersion = String(result.rev);
      return obj;
    }
    if (result.denied) throw forbidden(result.denied); // a ResourceQuota or LimitRange, checked by the hub as it commits
    await explainClaimFailure(this.db, w);
    if (w.expectedRev === null) throw alreadyExists(kind, w.name);
    const now = await getRow(this.db, w.key);
    if (!now) throw notFound(kind, w.name);
    throw staleObject(kind, w.name);
  }

  /**
   * Many writes of one namespace's objects in one call to its hub, committed in its batches:
   * how the scheduler binds a round's pods and records their events without a call (and a
   * wait) per object. For server-made objects only: creates get their metadata filled, updates
   * keep their current object's immutable metadata; there is no admission beyond the hub's own
   * (quota). Each write succeeds or fails on its own CAS: a failure is the ApiError a single
   * write would throw (409 AlreadyExists or Conflict), without the reads that explain it further.
   */
  async commitMany(kind: ResourceKind, items: { obj: KubeObject; current?: KubeObject }[]): Promise<(KubeObject | ApiError)[]> {
    if (items.length === 0) return [];
    const namespace = kind.namespaced ? (items[0].obj.metadata.namespace ?? "") : "";
    const writes = items.map(({ obj, current }) => {
      const m = obj.metadata;
      if ((kind.namespaced ? (m.namespace ?? "") : "") !== namespace) throw new Error("commitMany: writes of one namespace only");
      delete m.resourceVersion;
      if (!current) {
        m.uid ??= crypto.randomUUID();
        m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        if (kind.generation) m.generation = 1;
        return this.write(kind, "ADDED", obj, null);
      }
      m.uid = current.metadata.uid;
      m.creationTimestamp = current.metadata.creationTimestamp;
      return this.write(kind, "MODIFIED", obj, Number(current.metadata.resourceVersion), current);
    });
    const results = await this.commit(namespace, writes);
    return results.map((r, i) => {
      this.committed(kind, writes[i], r);
      const { obj, current } = items[i];
      if (r.ok) {
        if (r.value !== undefined) return materialize(r.value, r.rev);
        obj.metadata.resourceVersion = String(r.rev);
        return obj;
      }
      if (r.denied) return forbidden(r.denied);
      return current ? staleObject(kind, obj.metadata.name!) : alreadyExists(kind, obj.metadata.name!);
    });
  }

  /**
   * Namespace admission: the namespace must exist and not be terminating. An active namespace
   * is remembered for a moment (as Kubernetes' admission reads an informer cache): a create
   * that slips in as a namespace starts terminating is removed by the namespace lifecycle loop.
   */
  private async checkNamespace(kind: ResourceKind, namespace: string, name: string): Promise<Record<string, string> | undefined> {
    if (!kind.namespaced) return undefined;
    const known = activeNamespaces.get(namespace);
    if (known && known.until > Date.now()) return known.labels;
    const row = await getRow(this.db, objectKey("core/namespaces", "", namespace));
    if (!row) throw new ApiError(404, "NotFound", `namespaces "${namespace}" not found`, { name: namespace, kind: "namespaces" });
    const ns = JSON.parse(row.value) as KubeObject;
    if (ns.metadata.deletionTimestamp || (ns.status as { phase?: string } | undefined)?.phase === "Terminating")
      throw forbidden(`${kind.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`);
    activeNamespaces.set(namespace, { until: Date.now() + ACTIVE_NAMESPACE_TTL_MS, labels: ns.metadata.labels });
    return ns.metadata.labels;
  }

  /**
   * Pod Security admission (src/auth/pod-security.ts) with the namespace's labels: a pod that
   * violates the enforce level is refused (403); warnings go to `warnings`; the audit level's
   * violations are noted on the pod. Workload templates only ever get warnings.
   */
  private admitPodSecurity(kind: ResourceKind, obj: KubeObject, labels: Record<string, string> | undefined, warnings?: string[]): void {
    if (!labels || !Object.keys(labels).some((k) => k.startsWith("pod-security.kubernetes.io/"))) return;
    const isPod = kind.kind === "Pod" && kind.group === "";
    const target = isPod ? { metadata: obj.metadata, spec: (obj.spec ?? {}) as Record<string, unknown> } : podTemplateOf(obj);
    if (!target) return;
    const decision = podSecurityDecision(labels, target.metadata, target.spec, isPod);
    if (decision.deny) throw forbidden(`${kind.plural} "${obj.metadata.name ?? obj.metadata.generateName ?? ""}" is forbidden: ${decision.deny}`);
    warnings?.push(...decision.warnings);
    if (decision.audit && isPod) obj.metadata.annotations = { ...obj.metadata.annotations, [AUDIT_ANNOTATION]: decision.audit };
  }

  /** Create: fills uid, timestamps and generation; `obj` is already defaulted and validated. */
  async create(kind: ResourceKind, obj: KubeObject, opts: { dryRun?: boolean; warnings?: string[] } = {}): Promise<KubeObject> {
    const m = obj.metadata;
    const labels = await this.checkNamespace(kind, m.namespace ?? "", m.name ?? m.generateName ?? "");
    this.admitPodSecurity(kind, obj, labels, opts.warnings);
    if (kind.kind === "Pod" && kind.group === "") await admitPodPriority(this.db, obj);
    if (kind.kind === "PersistentVolumeClaim" && kind.group === "") await admitClaimStorageClass(this.db, obj);
    admitStorageProtection(kind, obj);
    // Like Kubernetes, the prefix is cut so the generated name stays within 63 characters.
    if (!m.name && m.generateName) m.name = m.generateName.slice(0, MAX_GENERATE_NAME_PREFIX) + generateSuffix();
    m.uid ??= crypto.randomUUID(); // admission assigns it before defaulting
    m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    if (kind.generation) m.generation = 1;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    const allocation = isServiceKind(kind) ? new ServiceAllocation(this.db, this.env, obj, undefined, this.key(kind, m.namespace ?? "", m.name!)) : undefined;
    await allocation?.allocate();
    if (isIngressKind(kind)) await admitIngressHosts(this.db, this.env, obj, this.key(kind, m.namespace ?? "", m.name!));
    if (opts.dryRun) {
      const existing = await this.tryGet(kind, m.namespace ?? "", m.name!);
      if (existing) throw alreadyExists(kind, m.name!);
      return kind.namespaced ? this.admitDryRun(kind, obj) : obj;
    }
    if (allocation) return allocation.commit(() => this.commitOne(kind, this.write(kind, "ADDED", obj, null), obj));
    const created = await this.commitOne(kind, this.write(kind, "ADDED", obj, null), obj);
    if (kind === namespaceKind) await this.ensureDefaultServiceAccount(m.name!);
    return created;
  }

  /** Every namespace has a ServiceAccount "default" (Kubernetes' service account controller makes it). */
  async ensureDefaultServiceAccount(namespace: string): Promise<void> {
    if (await this.tryGet(serviceAccountKind, namespace, DEFAULT_SERVICE_ACCOUNT)) return;
    try {
      await this.create(serviceAccountKind, defaultServiceAccount(namespace));
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
  }

  /** A dry-run create goes through its namespace hub's admission (ResourceQuota, LimitRange) without being written. */
  private async admitDryRun(kind: ResourceKind, obj: KubeObject): Promise<KubeObject> {
    const w = this.write(kind, "ADDED", obj, null);
    const name = hubName(w.namespace);
    const [result] = await this.env.HUB.get(this.env.HUB.idFromName(name)).admitDryRun(name, [w]);
    if (!result.ok) throw forbidden(result.denied ?? `${kind.plural} "${w.name}" is forbidden`);
    if (result.value === undefined) return obj;
    const admitted = JSON.parse(result.value) as KubeObject;
    delete admitted.metadata.resourceVersion;
    return admitted;
  }

  /**
   * Update with compare-and-swap. `next` carries the resourceVersion the client read
   * (or none: unconditional, against the current one). `part` says which half a
   * subresource may change: "status" keeps the old spec, "main" keeps the old status.
   */
  async update(
    kind: ResourceKind,
    next: KubeObject,
    opts: { dryRun?: boolean; part?: "main" | "status" | "all"; current?: KubeObject } = {},
  ): Promise<KubeObject> {
    const namespace = next.metadata.namespace ?? "";
    const name = next.metadata.name!;
    const current = opts.current ?? (await this.get(kind, namespace, name));
    const wanted = next.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== "" && wanted !== current.metadata.resourceVersion) throw staleObject(kind, name);
    const old = current;
    const m = next.metadata;
    // Immutable and server-owned metadata.
    m.uid = old.metadata.uid;
    m.creationTimestamp = old.metadata.creationTimestamp;
    m.deletionTimestamp = old.metadata.deletionTimestamp;
    m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    if (!m.deletionTimestamp) delete m.deletionTimestamp;
    if (m.deletionGracePeriodSeconds === undefined) delete m.deletionGracePeriodSeconds;
    const part = opts.part ?? "all";
    if (kind === namespaceKind) activeNamespaces.delete(name); // its labels (Pod Security levels) may change
    const hasStatus = kind.subresources?.includes("status");
    if (hasStatus && part === "main") {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    if (part === "status") {
      for (const f of Object.keys(next)) if (!["apiVersion", "kind", "metadata", "status"].includes(f)) delete next[f];
      for (const f of Object.keys(old)) if (!["apiVersion", "kind", "metadata", "status"].includes(f)) next[f] = old[f];
    }
    if (kind.generation) {
      m.generation = (old.metadata.generation ?? 1) + (sameJson(old.spec, next.spec) ? 0 : 1);
    }
    if (m.deletionTimestamp) {
      // The last finalizer's removal deletes, unless a graceful deletion is still running:
      // then the node agent's delete with grace 0 finishes it (as Kubernetes does).
      if ((!m.finalizers || m.finalizers.length === 0) && !m.deletionGracePeriodSeconds) {
        delete m.finalizers;
        if (opts.dryRun) return next;
        return this.commitOne(kind, this.write(kind, "DELETED", next, Number(old.metadata.resourceVersion)), next);
      }
    }
    const oldRev = Number(old.metadata.resourceVersion);
    if (sameJson({ ...old, metadata: { ...old.metadata, resourceVersion: undefined } }, { ...next, metadata: { ...m, resourceVersion: undefined } })) {
      // A recent copy may be out of date: nothing to write only if it is still the stored revision.
      if (fromRecent.has(old)) {
        const row = await getRow(this.db, this.key(kind, namespace, name));
        if (!row) throw notFound(kind, name);
        if (row.rev !== oldRev) throw staleObject(kind, name);
      }
      // No-op updates do not write (as in Kubernetes: the resourceVersion stays).
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      return next;
    }
    if (kind.kind === "PersistentVolumeClaim" && kind.group === "" && part !== "status") await admitClaimResize(this.db, next, old);
    // A Service that needs new addresses (to NodePort, from ExternalName, new ports) gets them here.
    const allocation = isServiceKind(kind) && part !== "status" ? new ServiceAllocation(this.db, this.env, next, old, this.key(kind, namespace, name)) : undefined;
    await allocation?.allocate();
    if (isIngressKind(kind) && part !== "status") await admitIngressHosts(this.db, this.env, next, this.key(kind, namespace, name));
    if (opts.dryRun) {
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      return next;
    }
    if (allocation) return allocation.commit(() => this.commitOne(kind, this.write(kind, "MODIFIED", next, oldRev, old), next));
    return this.commitOne(kind, this.write(kind, "MODIFIED", next, oldRev, old), next);
  }

  /**
   * Delete. Objects with finalizers (or a Foreground/Orphan policy, which the
   * garbage collector finishes) get a deletionTimestamp; pods bound to a node
   * are deleted gracefully (the node's agent confirms); everything else goes now.
   */
  async delete(kind: ResourceKind, namespace: string, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deleteOnce(kind, namespace, name, opts);
      } catch (e) {
        // Without a resourceVersion precondition a delete is of whatever is current: a write that
        // raced it (a controller's status) is no reason to fail it, as in Kubernetes.
        if (isStaleObject(e) && !opts.preconditions?.resourceVersion && attempt < 16) continue;
        throw e;
      }
    }
  }

  private async deleteOnce(kind: ResourceKind, namespace: string, name: string, opts: DeleteOptions): Promise<{ object: KubeObject; deleted: boolean }> {
    // tokens bound to a ServiceAccount or pod stop working with it (in this isolate at once)
    if (kind === serviceAccountKind || (kind.kind === "Pod" && kind.group === "")) forgetBoundObject(namespace, name);
    const current = await this.get(kind, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid)
      throw conflict(kind, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
      throw conflict(kind, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    const next = structuredClone(current);
    const m = next.metadata;
    const finalizers = new Set(m.finalizers ?? []);
    if (opts.propagationPolicy === "Foreground") finalizers.add("foregroundDeletion");
    if (opts.propagationPolicy === "Orphan") finalizers.add("orphan");
    const graceful = kind.kind === "Pod" && kind.group === "" && opts.gracePeriodSeconds !== 0 && (await this.podIsOnLiveNode(current));
    const isNamespace = kind.kind === "Namespace" && kind.group === "";
    if (finalizers.size > 0 || graceful || isNamespace) {
      if (m.deletionTimestamp) {
        // Already being deleted: only a shorter grace period (the agent's confirmation,
        // or `--grace-period=0 --force`) changes anything.
        const grace = opts.gracePeriodSeconds;
        if (grace === undefined || grace >= (m.deletionGracePeriodSeconds ?? 0)) return { object: current, deleted: false };
        m.deletionGracePeriodSeconds = grace;
        if (opts.dryRun) return { object: next, deleted: false };
        const object = await this.commitOne(kind, this.write(kind, "MODIFIED", next, Number(current.metadata.resourceVersion), current), next);
        return { object, deleted: false };
      }
      m.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      m.deletionGracePeriodSeconds = graceful
        ? (opts.gracePeriodSeconds ?? ((current.spec as { terminationGracePeriodSeconds?: number })?.terminationGracePeriodSeconds ?? 30))
        : 0;
      if (finalizers.size > 0) m.finalizers = [...finalizers];
      if (kind.generation) m.generation = (m.generation ?? 1) + 1;
      // Namespaces are emptied by the namespace lifecycle loop (cluster hub), then removed.
      if (isNamespace) {
        next.status = { ...((next.status as object) ?? {}), phase: "Terminating" };
        activeNamespaces.delete(name);
      }
      if (opts.dryRun) return { object: next, deleted: false };
      const object = await this.commitOne(kind, this.write(kind, "MODIFIED", next, Number(current.metadata.resourceVersion), current), next);
      if (isNamespace) await this.env.HUB.get(this.env.HUB.idFromName(hubName(""))).namespaceDeleted();
      return { object, deleted: false };
    }
    if (opts.dryRun) return { object: current, deleted: true };
    const object = await this.commitOne(kind, this.write(kind, "DELETED", current, Number(current.metadata.resourceVersion)), current);
    return { object, deleted: true };
  }

  /** A running pod on an existing node is deleted gracefully: its node's agent confirms. */
  private async podIsOnLiveNode(pod: KubeObject): Promise<boolean> {
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (!nodeName || phase === "Succeeded" || phase === "Failed") return false;
    return (await getRow(this.db, objectKey("core/nodes", "", nodeName))) !== undefined;
  }

  /**
   * Read-modify-write with retries on conflicts, for server-side callers
   * (subresources, controllers). `mutate` returns the new object or undefined for "no change".
   */
  async modify(
    kind: ResourceKind,
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>,
    opts: { part?: "main" | "status" | "all"; dryRun?: boolean; attempts?: number } = {},
  ): Promise<KubeObject> {
    // The first attempt starts from this isolate's recent copy, when it has one (not for dry runs:
    // they do not reach the compare-and-swap); whatever that attempt concludes other than a
    // successful write is concluded again from D1 (and that is not counted as a retry).
    let copyFirst = !opts.dryRun;
    for (let attempt = 0; ; attempt++) {
      const current = copyFirst ? await this.current(kind, namespace, name) : await this.get(kind, namespace, name);
      const fromCopy = copyFirst && fromRecent.has(current);
      copyFirst = false;
      if (fromCopy) attempt--;
      try {
        const next = await mutate(structuredClone(current));
        if (!next) {
          if (fromCopy) continue;
          return current;
        }
        next.metadata.resourceVersion = current.metadata.resourceVersion;
        return await this.update(kind, next, { ...opts, current });
      } catch (e) {
        if (fromCopy) continue;
        if (e instanceof ApiError && e.code === 409 && attempt < (opts.attempts ?? 5)) continue;
        throw e;
      }
    }
  }
}
