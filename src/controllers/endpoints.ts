import type { KubeObject } from "../resources/types.ts";
import { byName, canonicalJson, isBeingDeleted, isPodReady, podPhase } from "./pod-utils.ts";
import { controllerRef, type Action, type Observed, type ReconcileResult } from "./types.ts";

/**
 * The endpoints and endpointslice controllers as one pure reconciler.
 *
 * For every Service with a non-empty selector (not ExternalName), from the namespace's pods
 * whose labels carry every selector pair and that have a pod IP and are not finished
 * (Succeeded/Failed):
 *  - core/v1 Endpoints named like the Service: Ready pods (or every pod with
 *    publishNotReadyAddresses) in `addresses`, the others in `notReadyAddresses`; pods being
 *    deleted are left out. Addresses with the same resolved ports share a subset. Labelled
 *    `endpoints.kubernetes.io/managed-by: endpoint-controller` (as Kubernetes 1.33+), plus the
 *    Service's labels and `service.kubernetes.io/headless` for clusterIP None.
 *  - discovery.k8s.io/v1 EndpointSlices (generateName `<service>-`, owned by the Service,
 *    labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`): one
 *    endpoint per pod with conditions ready (ready, or publishNotReadyAddresses; never for a
 *    terminating pod without it), serving (ready) and terminating (being deleted); endpoints
 *    grouped by address type and resolved ports, at most 100 a slice; a Service without
 *    endpoints keeps one empty slice, as Kubernetes does.
 * A targetPort given by name is resolved per pod from its containers' ports (same name and
 * protocol); a pod without that port lacks it (and lands in another subset/slice).
 * `spec.hostname` is published when the pod's `spec.subdomain` is the Service's name.
 *
 * Services without a selector are left alone: their Endpoints are the user's. Endpoints and
 * slices this controller manages are deleted when their Service is gone, has lost its selector
 * or became ExternalName. Nothing is written when what is stored is already right.
 */

export const MANAGED_BY_ENDPOINTS_LABEL = "endpoints.kubernetes.io/managed-by";
export const ENDPOINTS_MANAGER = "endpoint-controller";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_SLICE_LABEL = "endpointslice.kubernetes.io/managed-by";
export const SLICE_MANAGER = "endpointslice-controller.k8s.io";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
/** At most this many endpoints in one EndpointSlice (kube-controller-manager's --max-endpoints-per-slice). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

interface ServiceSpec {
  type?: string;
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  ipFamilies?: string[];
  publishNotReadyAddresses?: boolean;
}

/** A resolved port of one pod for one service port (the shape of an EndpointPort). */
interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

const specOf = (svc: KubeObject): ServiceSpec => ((svc.spec && typeof svc.spec === "object" ? svc.spec : {}) as ServiceSpec);

/** The selector when the Service has one (non-empty map), else undefined. */
function selectorOf(svc: KubeObject): Record<string, string> | undefined {
  const sel = specOf(svc).selector;
  return sel && typeof sel === "object" && Object.keys(sel).length > 0 ? sel : undefined;
}

/** Services whose endpoints this controller keeps: a selector, and not ExternalName. */
export function isManagedService(svc: KubeObject): boolean {
  return selectorOf(svc) !== undefined && specOf(svc).type !== "ExternalName";
}

function podIPs(pod: KubeObject): string[] {
  const st = (pod.status ?? {}) as { podIP?: string; podIPs?: { ip?: string }[] };
  const ips = Array.isArray(st.podIPs) ? st.podIPs.map((p) => p?.ip).filter((ip): ip is string => typeof ip === "string" && ip !== "") : [];
  if (ips.length === 0 && typeof st.podIP === "string" && st.podIP) ips.push(st.podIP);
  return ips;
}

const familyOf = (ip: string) => (ip.includes(":") ? "IPv6" : "IPv4");

function serviceFamilies(svc: KubeObject): string[] {
  const f = specOf(svc).ipFamilies;
  return Array.isArray(f) && f.length > 0 ? f.filter((x) => x === "IPv4" || x === "IPv6") : ["IPv4"];
}

/** The pod's port for a service port: a number as is, a name from the pod's containers (same protocol). */
export function resolveTargetPort(pod: KubeObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === "number") return target;
  if (typeof target !== "string" || target === "") return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? "TCP";
  const spec = (pod.spec ?? {}) as { containers?: { ports?: ContainerPort[] }[] };
  for (const c of spec.containers ?? [])
    for (const p of c?.ports ?? []) if (p?.name === target && (p.protocol ?? "TCP") === protocol && typeof p.containerPort === "number") return p.containerPort;
  return undefined;
}

function endpointPorts(svc: KubeObject, pod: KubeObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of specOf(svc).ports ?? []) {
    if (!sp || typeof sp !== "object") continue;
    const port = resolveTargetPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { port, protocol: sp.protocol ?? "TCP" };
    if (sp.name) ep.name = sp.name;
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function selects(sel: Record<string, string>, pod: KubeObject): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** Pods that may be endpoints: selected, with an IP, not finished. */
function candidatePods(svc: KubeObject, pods: KubeObject[]): KubeObject[] {
  const sel = selectorOf(svc)!;
  return pods.filter((p) => selects(sel, p) && podIPs(p).length > 0 && podPhase(p) !== "Succeeded" && podPhase(p) !== "Failed");
}

function hostnameFor(svc: KubeObject, pod: KubeObject): string | undefined {
  const spec = (pod.spec ?? {}) as { hostname?: string; subdomain?: string };
  return spec.hostname && spec.subdomain === svc.metadata.name ? spec.hostname : undefined;
}

const targetRef = (pod: KubeObject) => ({ kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid });

function managedLabels(svc: KubeObject, extra: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), ...extra };
  if (specOf(svc).clusterIP === "None") labels[HEADLESS_LABEL] = "";
  else delete labels[HEADLESS_LABEL];
  return labels;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------
// core/v1 Endpoints

interface Address {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: ReturnType<typeof targetRef>;
}

/** The subsets of a Service's Endpoints for these pods, sorted (addresses by IP, subsets by ports). */
export function endpointsSubsets(svc: KubeObject, pods: KubeObject[]): Record<string, unknown>[] {
  const family = serviceFamilies(svc)[0];
  const tolerateUnready = specOf(svc).publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: EndpointPort[]; addresses: Address[]; notReadyAddresses: Address[] }>();
  const headlessWithoutPorts = specOf(svc).clusterIP === "None" && (specOf(svc).ports ?? []).length === 0;
  for (const pod of candidatePods(svc, pods)) {
    if (isBeingDeleted(pod) && !tolerateUnready) continue;
    const ip = podIPs(pod).find((i) => familyOf(i) === family);
    if (!ip) continue;
    const ports = endpointPorts(svc, pod);
    if (ports.length === 0 && !headlessWithoutPorts) continue;
    const address: Address = { ip, targetRef: targetRef(pod) };
    const hostname = hostnameFor(svc, pod);
    if (hostname) address.hostname = hostname;
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (nodeName) address.nodeName = nodeName;
    const key = canonicalJson(ports);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ports, addresses: [], notReadyAddresses: [] }));
    (tolerateUnready || isPodReady(pod) ? group.addresses : group.notReadyAddresses).push(address);
  }
  const byIP = (a: Address, b: Address) => cmp(a.ip, b.ip) || cmp(a.targetRef.name ?? "", b.targetRef.name ?? "");
  return [...groups.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([, g]) => {
      const subset: Record<string, unknown> = {};
      if (g.addresses.length) subset.addresses = g.addresses.sort(byIP);
      if (g.notReadyAddresses.length) subset.notReadyAddresses = g.notReadyAddresses.sort(byIP);
      if (g.ports.length) subset.ports = g.ports;
      return subset;
    });
}

function reconcileEndpoints(svc: KubeObject, pods: KubeObject[], existing: KubeObject | undefined): Action[] {
  const subsets = endpointsSubsets(svc, pods);
  const labels = managedLabels(svc, { [MANAGED_BY_ENDPOINTS_LABEL]: ENDPOINTS_MANAGER });
  if (!existing) {
    const object: KubeObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: svc.metadata.name, labels } };
    if (subsets.length) object.subsets = subsets;
    return [{ type: "create", resource: "core/endpoints", object }];
  }
  if (canonicalJson(existing.subsets) === canonicalJson(subsets) && canonicalJson(existing.metadata.labels) === canonicalJson(labels)) return [];
  const object: KubeObject = { ...existing, metadata: { ...existing.metadata, labels } };
  if (subsets.length) object.subsets = subsets;
  else delete object.subsets;
  return [{ type: "update", resource: "core/endpoints", object }];
}

// ---------------------------------------------------------------------------
// discovery.k8s.io/v1 EndpointSlices

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef: ReturnType<typeof targetRef>;
}

/** One slice's content: what is compared with, and written to, a stored slice. */
export interface DesiredSlice {
  addressType: string;
  ports: EndpointPort[];
  endpoints: SliceEndpoint[];
}

/** The slices a Service should have for these pods, in a stable order. */
export function desiredSlices(svc: KubeObject, pods: KubeObject[]): DesiredSlice[] {
  const families = serviceFamilies(svc);
  const tolerateUnready = specOf(svc).publishNotReadyAddresses === true;
  const groups = new Map<string, DesiredSlice>();
  for (const pod of candidatePods(svc, pods)) {
    // A slice's port always has a name ("" when unnamed), as Kubernetes writes it (kubectl describe relies on it).
    const ports = endpointPorts(svc, pod).map((p) => ({ ...p, name: p.name ?? "" }));
    const serving = isPodReady(pod);
    const terminating = isBeingDeleted(pod);
    const ready = tolerateUnready || (serving && !terminating);
    for (const ip of podIPs(pod)) {
      const addressType = familyOf(ip);
      if (!families.includes(addressType)) continue;
      const key = `${addressType} ${canonicalJson(ports)}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { addressType, ports, endpoints: [] }));
      const ep: SliceEndpoint = { addresses: [ip], conditions: { ready, serving, terminating }, targetRef: targetRef(pod) };
      const hostname = hostnameFor(svc, pod);
      if (hostname) ep.hostname = hostname;
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName) ep.nodeName = nodeName;
      group.endpoints.push(ep);
    }
  }
  const out: DesiredSlice[] = [];
  for (const [, g] of [...groups.entries()].sort(([a], [b]) => cmp(a, b))) {
    g.endpoints.sort((a, b) => cmp(a.addresses[0], b.addresses[0]) || cmp(a.targetRef.name ?? "", b.targetRef.name ?? ""));
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE)
      out.push({ addressType: g.addressType, ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
  }
  // No endpoints at all: one empty slice (Kubernetes' placeholder), of the primary family.
  if (out.length === 0) out.push({ addressType: families[0] ?? "IPv4", ports: [], endpoints: [] });
  return out;
}

const sliceKey = (s: object) => `${String((s as DesiredSlice).addressType)} ${canonicalJson((s as DesiredSlice).ports ?? [])}`;
const sameContent = (slice: KubeObject, d: DesiredSlice) =>
  slice.addressType === d.addressType && canonicalJson(slice.ports ?? []) === canonicalJson(d.ports) && canonicalJson(slice.endpoints ?? []) === canonicalJson(d.endpoints);

function reconcileSlices(svc: KubeObject, pods: KubeObject[], existing: KubeObject[]): Action[] {
  const desired = desiredSlices(svc, pods);
  const labels = managedLabels(svc, { [SERVICE_NAME_LABEL]: svc.metadata.name!, [MANAGED_BY_SLICE_LABEL]: SLICE_MANAGER });
  const owner = [controllerRef(svc)];
  const unused = [...existing].sort(byName);
  const pairs: [DesiredSlice, KubeObject | undefined][] = [];
  const unmatched: DesiredSlice[] = [];
  // First keep slices holding exactly what is wanted, then those of the same address type and ports.
  for (const d of desired) {
    const i = unused.findIndex((s) => sameContent(s, d));
    if (i >= 0) pairs.push([d, unused.splice(i, 1)[0]]);
    else unmatched.push(d);
  }
  const rest: DesiredSlice[] = [];
  for (const d of unmatched) {
    const i = unused.findIndex((s) => sliceKey(s) === sliceKey(d));
    if (i >= 0) pairs.push([d, unused.splice(i, 1)[0]]);
    else rest.push(d);
  }
  // Then reuse any slice of the address type (its ports change), then create.
  for (const d of rest) {
    const i = unused.findIndex((s) => s.addressType === d.addressType);
    pairs.push([d, i >= 0 ? unused.splice(i, 1)[0] : undefined]);
  }
  const actions: Action[] = [];
  for (const [d, slice] of pairs) {
    if (!slice) {
      actions.push({
        type: "create",
        resource: "discovery.k8s.io/endpointslices",
        object: {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { generateName: `${svc.metadata.name}-`, labels, ownerReferences: owner },
          addressType: d.addressType,
          endpoints: d.endpoints,
          ports: d.ports,
        },
      });
      continue;
    }
    const sameMeta = canonicalJson(slice.metadata.labels) === canonicalJson(labels) && canonicalJson(slice.metadata.ownerReferences) === canonicalJson(owner);
    if (sameMeta && sameContent(slice, d)) continue;
    actions.push({
      type: "update",
      resource: "discovery.k8s.io/endpointslices",
      object: { ...slice, metadata: { ...slice.metadata, labels, ownerReferences: owner }, endpoints: d.endpoints, ports: d.ports },
    });
  }
  for (const slice of unused) actions.push(deleteAction("discovery.k8s.io/endpointslices", slice));
  return actions;
}

const deleteAction = (resource: "core/endpoints" | "discovery.k8s.io/endpointslices", obj: KubeObject): Action => ({
  type: "delete",
  resource,
  name: obj.metadata.name!,
  uid: obj.metadata.uid,
  resourceVersion: obj.metadata.resourceVersion,
});

export function reconcile(observed: Observed): ReconcileResult {
  const actions: Action[] = [];
  const services = [...(observed.services ?? [])].sort(byName);
  const byService = new Map(services.map((s) => [s.metadata.name!, s]));
  const endpoints = new Map((observed.endpoints ?? []).map((e) => [e.metadata.name!, e]));
  const slicesOf = new Map<string, KubeObject[]>();
  for (const slice of observed.endpointSlices ?? []) {
    const labels = slice.metadata.labels ?? {};
    if (labels[MANAGED_BY_SLICE_LABEL] !== SLICE_MANAGER || !labels[SERVICE_NAME_LABEL]) continue;
    const list = slicesOf.get(labels[SERVICE_NAME_LABEL]) ?? [];
    list.push(slice);
    slicesOf.set(labels[SERVICE_NAME_LABEL], list);
  }
  for (const svc of services) {
    if (!isManagedService(svc)) continue;
    actions.push(...reconcileEndpoints(svc, observed.pods, endpoints.get(svc.metadata.name!)));
    actions.push(...reconcileSlices(svc, observed.pods, slicesOf.get(svc.metadata.name!) ?? []));
  }
  // What this controller wrote for Services that are gone or no longer selector-based.
  const unmanaged = (name: string) => {
    const svc = byService.get(name);
    return !svc || !isManagedService(svc);
  };
  for (const ep of [...(observed.endpoints ?? [])].sort(byName))
    if (ep.metadata.labels?.[MANAGED_BY_ENDPOINTS_LABEL] === ENDPOINTS_MANAGER && unmanaged(ep.metadata.name!)) actions.push(deleteAction("core/endpoints", ep));
  for (const [name, slices] of [...slicesOf.entries()].sort(([a], [b]) => cmp(a, b)))
    if (unmanaged(name)) for (const slice of [...slices].sort(byName)) actions.push(deleteAction("discovery.k8s.io/endpointslices", slice));
  return { actions };
}
