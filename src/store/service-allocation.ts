import { sql } from "drizzle-orm";
import { ApiError, invalid } from "../api/errors.ts";
import type { Env } from "../env.ts";
import { NODE_PORT_RANGE } from "../resources/service.ts";
import type { KubeObject, ResourceKind } from "../resources/types.ts";
import { isIPv4 } from "../resources/validation.ts";
import type { Db, Write } from "./revision-log.ts";
import { claimScope, SHARED_CLAIM_SEPARATOR, sharedHeldByOthers, sharedPrefixes } from "./host-claims.ts";

/**
 * Cluster IPs and node ports of Services, as kube-apiserver's allocators hand them out, but
 * kept in D1's `allocations` table (one unique row per IP or port, owned by the Service's
 * object key). Picking a value reads the table; holding it is part of the Service's own commit
 * (revision-log.ts `claims`): the write fails when another Service holds any of its values, so
 * concurrent creates can pick the same free value but only one commits it; the other picks again.
 */

export const DEFAULT_SERVICE_CIDR = "10.96.0.0/16";
const ATTEMPTS = 8;
const CANDIDATES = 32;

export const isServiceKind = (kind: ResourceKind) => kind.group === "" && kind.kind === "Service";

export interface Range {
  cidr: string;
  /** First and last allocatable values, inclusive. */
  first: number;
  last: number;
  /** Values never handed out automatically (the `kubernetes` Service's .1). */
  reserved: number[];
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * An IPv4 service CIDR as an allocation range: the network address and (for prefixes up to
 * /30) the broadcast address are left out, and network+1 is reserved for the `kubernetes` Service.
 */
export function parseServiceCIDR(cidr: string): Range {
  const [ip, bitsText, ...rest] = cidr.trim().split("/");
  const bits = Number(bitsText);
  if (rest.length || !isIPv4(ip ?? "") || !/^\d{1,2}$/.test(bitsText ?? "") || bits < 8 || bits > 30)
    throw new Error(`SERVICE_CIDR must be an IPv4 CIDR from /8 to /30, got "${cidr}"`);
  const size = 2 ** (32 - bits);
  const base = ipToInt(ip) - (ipToInt(ip) % size);
  const normalized = `${intToIp(base)}/${bits}`;
  return { cidr: normalized, first: base + 1, last: base + size - 2, reserved: [base + 1] };
}

export const nodePortRange = (): Range => ({ cidr: "", first: NODE_PORT_RANGE.min, last: NODE_PORT_RANGE.max, reserved: [] });

export function serviceRange(env: Pick<Env, "SERVICE_CIDR">): Range {
  return parseServiceCIDR(env.SERVICE_CIDR || DEFAULT_SERVICE_CIDR);
}

export const ipClaim = (ip: string) => `ip:${ip}`;
export const portClaim = (port: number) => `nodeport:${port}`;

interface Spec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { port?: number; nodePort?: number; protocol?: string }[];
  allocateLoadBalancerNodePorts?: boolean;
}

const specOf = (svc: KubeObject): Spec => (svc.spec && typeof svc.spec === "object" ? (svc.spec as Spec) : {});
const portsOf = (svc: KubeObject) => (Array.isArray(specOf(svc).ports) ? specOf(svc).ports!.filter((p) => p && typeof p === "object") : []);
const needsNodePorts = (spec: Spec) => spec.type === "NodePort" || (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false);

/** What a Service holds: its cluster IPs and node ports, as allocation ids (sorted, unique). */
export function serviceClaims(svc: KubeObject): string[] {
  const spec = specOf(svc);
  if (spec.type === "ExternalName") return [];
  const out = new Set<string>();
  for (const ip of Array.isArray(spec.clusterIPs) ? spec.clusterIPs : []) if (typeof ip === "string" && ip && ip !== "None") out.add(ipClaim(ip));
  for (const p of portsOf(svc)) if (typeof p.nodePort === "number" && p.nodePort > 0) out.add(portClaim(p.nodePort));
  return [...out].sort();
}

/** Up to `n` distinct random values of the range that are not excluded (all of them for a small range). */
export function candidates(range: Range, exclude: Set<number>, n: number, random: () => number = Math.random): number[] {
  const size = range.last - range.first + 1;
  const skip = new Set([...range.reserved, ...exclude]);
  if (size <= n * 4) {
    const all: number[] = [];
    for (let v = range.first; v <= range.last; v++) if (!skip.has(v)) all.push(v);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, n);
  }
  const out = new Set<number>();
  for (let tries = 0; out.size < n && tries < n * 8; tries++) {
    const v = range.first + Math.floor(random() * size);
    if (!skip.has(v)) out.add(v);
  }
  return [...out];
}

/** Which of these allocation ids another owner than `owner` holds. */
export async function heldByOthers(db: Db, ids: string[], owner: string): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db.all<{ id: string }>(
    sql`SELECT id FROM allocations WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) AND owner != ${owner}`,
  );
  return rows.map((r) => r.id);
}

/** A free value of the range (random candidates, then a full read), or undefined when it is full. */
async function pickFree(db: Db, range: Range, id: (v: number) => string, exclude: Set<number>, prefix: string): Promise<number | undefined> {
  for (let round = 0; round < 3; round++) {
    const vs = candidates(range, exclude, CANDIDATES);
    if (vs.length === 0) return undefined;
    const taken = new Set(await heldByOthers(db, vs.map(id), ""));
    const free = vs.find((v) => !taken.has(id(v)));
    if (free !== undefined) return free;
    for (const v of vs) exclude.add(v);
  }
  // Nearly full: read what is held and take the first free value.
  const held = new Set((await db.all<{ id: string }>(sql`SELECT id FROM allocations WHERE id >= ${prefix} AND id < ${prefix + "\uffff"}`)).map((r) => r.id));
  for (let v = range.first; v <= range.last; v++) if (!range.reserved.includes(v) && !exclude.has(v) && !held.has(id(v))) return v;
  return undefined;
}

/** Lost a race for an allocation at commit time: these ids are held by another object now. */
export class AllocationRace extends ApiError {
  constructor(readonly ids: string[]) {
    super(409, "Conflict", `allocation of ${ids.join(", ")} raced with another object; please retry`);
  }
}

/** After a failed commit of a write with claims: throws AllocationRace if a claim is why. */
export async function explainClaimFailure(db: Db, w: Write): Promise<void> {
  if (!w.claims?.length || w.type === "DELETED") return;
  const row = await db.all<{ rev: number }>(sql`SELECT rev FROM objects WHERE key = ${w.key}`);
  // The compare-and-swap itself failed: the caller says so (AlreadyExists, Conflict, NotFound).
  if ((row[0]?.rev ?? null) !== w.expectedRev) return;
  const taken = await heldByOthers(db, w.claims.filter((id) => !id.includes(SHARED_CLAIM_SEPARATOR)), w.key);
  const shared = await sharedHeldByOthers(db, sharedPrefixes(w.claims), claimScope(w.key));
  if (taken.length || shared.length) throw new AllocationRace([...taken, ...shared.map((p) => p.slice(0, -1))]);
}

const cause = (field: string, value: string, message: string) => ({ reason: "FieldValueInvalid" as const, field, message: `Invalid value: ${value}: ${message}` });

/**
 * Fills a Service's cluster IP and node ports, as kube-apiserver does on create (and on an
 * update that needs new ones: ExternalName to ClusterIP, ClusterIP to NodePort, new ports).
 * Values the user chose must be in range and free (422 otherwise); values picked here are
 * remembered so `commit` can pick again after losing a race for them.
 */
export class ServiceAllocation {
  private readonly autoIP = new Set<string>();
  private readonly autoPorts = new Map<number, number>(); // port index -> nodePort picked here
  /** Values another Service took at commit time: never picked again by this allocation. */
  private readonly lost = new Set<string>();
  private readonly ipRange: Range;

  constructor(
    private readonly db: Db,
    env: Pick<Env, "SERVICE_CIDR">,
    private readonly svc: KubeObject,
    private readonly old: KubeObject | undefined,
    private readonly key: string,
  ) {
    this.ipRange = serviceRange(env);
  }

  private fail(causes: ReturnType<typeof cause>[]): never {
    throw invalid({ kind: "Service", plural: "services", group: "" }, this.svc.metadata.name ?? "", causes);
  }

  /** Picks what is missing and checks what was given. */
  async allocate(): Promise<void> {
    const spec = specOf(this.svc);
    if (spec.type === "ExternalName") return;
    const before = new Set(this.old ? serviceClaims(this.old) : []);
    const ip = spec.clusterIP;
    const families = (this.svc.spec as { ipFamilies?: unknown[] }).ipFamilies;
    if (!ip && Array.isArray(families) && families[0] === "IPv6")
      this.fail([cause("spec.ipFamilies[0]", '"IPv6"', "not configured on this cluster")]);
    if (!ip) {
      const taken = [...this.lost].filter((id) => id.startsWith("ip:")).map((id) => ipToInt(id.slice(3)));
      const v = await pickFree(this.db, this.ipRange, (n) => ipClaim(intToIp(n)), new Set(taken), "ip:");
      if (v === undefined) this.fail([cause("spec.clusterIPs", "[]string(nil)", `failed to allocate a serviceIP: range is full`)]);
      this.setIP(intToIp(v));
      this.autoIP.add(intToIp(v));
    } else if (ip !== "None" && !before.has(ipClaim(ip))) {
      const shown = `[]string{${JSON.stringify(ip)}}`;
      if (!isIPv4(ip)) this.fail([cause("spec.clusterIPs", shown, `failed to allocate IP ${ip}: IPv6 is not configured on this cluster`)]);
      const n = ipToInt(ip);
      if (n < this.ipRange.first || n > this.ipRange.last)
        this.fail([cause("spec.clusterIPs", shown, `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.ipRange.cidr}`)]);
      if ((await heldByOthers(this.db, [ipClaim(ip)], this.key)).length) this.fail([cause("spec.clusterIPs", shown, `failed to allocate IP ${ip}: provided IP is already allocated`)]);
    }
    if (!needsNodePorts(spec)) return;
    const ports = portsOf(this.svc);
    const mine = new Set(ports.map((p) => p.nodePort).filter((n): n is number => typeof n === "number" && n > 0));
    const given: { i: number; port: number }[] = [];
    for (const [i, p] of ports.entries()) {
      if (typeof p.nodePort === "number" && p.nodePort > 0) {
        if (!before.has(portClaim(p.nodePort))) given.push({ i, port: p.nodePort });
        continue;
      }
      const lostPorts = [...this.lost].filter((id) => id.startsWith("nodeport:")).map((id) => Number(id.slice(9)));
      const v = await pickFree(this.db, nodePortRange(), portClaim, new Set([...mine, ...lostPorts]), "nodeport:");
      if (v === undefined) this.fail([cause(`spec.ports[${i}].nodePort`, "0", "failed to allocate a nodePort: range is full")]);
      p.nodePort = v;
      mine.add(v);
      this.autoPorts.set(i, v);
    }
    const taken = new Set(await heldByOthers(this.db, given.map((g) => portClaim(g.port)), this.key));
    const errs = given.filter((g) => taken.has(portClaim(g.port))).map((g) => cause(`spec.ports[${g.i}].nodePort`, String(g.port), "provided port is already allocated"));
    if (errs.length) this.fail(errs);
  }

  private setIP(ip: string): void {
    const spec = this.svc.spec as Spec;
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }

  /**
   * Runs the commit; when it loses a race for values picked here, picks others and commits again.
   * A race for a value the user chose is the 422 Kubernetes gives for an allocated one.
   */
  async commit<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (e) {
        if (!(e instanceof AllocationRace)) throw e;
        for (const id of e.ids) this.lost.add(id);
        const spec = this.svc.spec as Spec;
        const userIP = e.ids.find((id) => id.startsWith("ip:") && !this.autoIP.has(id.slice(3)));
        if (userIP) this.fail([cause("spec.clusterIPs", `[]string{${JSON.stringify(userIP.slice(3))}}`, `failed to allocate IP ${userIP.slice(3)}: provided IP is already allocated`)]);
        const ports = portsOf(this.svc);
        const userPorts = ports
          .map((p, i) => ({ i, port: p.nodePort }))
          .filter((p) => typeof p.port === "number" && e.ids.includes(portClaim(p.port)) && this.autoPorts.get(p.i) !== p.port);
        if (userPorts.length) this.fail(userPorts.map((p) => cause(`spec.ports[${p.i}].nodePort`, String(p.port), "provided port is already allocated")));
        if (attempt >= ATTEMPTS) throw e;
        // Only values picked here lost: forget them and pick again.
        if (spec.clusterIP && e.ids.includes(ipClaim(spec.clusterIP))) {
          this.autoIP.delete(spec.clusterIP);
          delete spec.clusterIP;
          delete spec.clusterIPs;
        }
        for (const [i, v] of this.autoPorts) if (e.ids.includes(portClaim(v))) {
          delete ports[i].nodePort;
          this.autoPorts.delete(i);
        }
        await this.allocate();
      }
    }
  }
}
