import type { ContainerSpec, Pod } from "./container-record.ts";

/**
 * A container's environment as the kubelet builds it: envFrom (ConfigMaps, Secrets), then
 * env (literal, $(VAR) references to earlier variables, valueFrom fieldRef, configMapKeyRef,
 * secretKeyRef, resourceFieldRef), and command/args with $(VAR) expanded.
 */

/** Reads a ConfigMap's or Secret's data (Secret values decoded); undefined when it does not exist. */
export type DataSource = (kind: "configmap" | "secret", namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export class EnvError extends Error {}

/** Expands $(VAR) from `vars`; $$(VAR) stays literal $(VAR); unknown references stay as written. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === "$$") return "$";
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name] : m;
  });
}

export function fieldRef(pod: Pod, path: string, podIP: string, hostIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return ((pod.spec as { serviceAccountName?: string }).serviceAccountName ?? "default");
    case "status.podIP":
    case "status.podIPs":
      return podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return hostIP;
    default:
      throw new EnvError(`unsupported fieldRef ${path}`);
  }
}

/** What of a Service its pods' environment tells them. */
export interface ServiceInfo {
  metadata: { name: string; namespace?: string };
  spec?: { clusterIP?: string; ports?: { name?: string; port: number; protocol?: string }[] };
}

const envName = (s: string) => s.toUpperCase().replace(/-/g, "_");

/**
 * The kubelet's service environment: for the `kubernetes` Service of `default` always, and for
 * every Service of the pod's namespace with enableServiceLinks (default true), when it has a
 * cluster IP: `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` (first port), `<NAME>_SERVICE_PORT_<PORT NAME>`,
 * and the Docker link variables `<NAME>_PORT`, `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`.
 */
export function serviceEnv(services: ServiceInfo[], podNamespace: string, enableServiceLinks: boolean): Record<string, string> {
  const byName = new Map<string, ServiceInfo>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === "None" || !(svc.spec?.ports ?? []).length) continue;
    const ns = svc.metadata.namespace ?? podNamespace;
    if (ns === "default" && svc.metadata.name === "kubernetes") {
      if (!byName.has(svc.metadata.name)) byName.set(svc.metadata.name, svc);
    } else if (ns === podNamespace && enableServiceLinks) byName.set(svc.metadata.name, svc);
  }
  const env: Record<string, string> = {};
  for (const svc of [...byName.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const prefix = envName(svc.metadata.name);
    const ip = svc.spec!.clusterIP!;
    const ports = svc.spec!.ports!;
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) if (p.name) env[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const host = ip.includes(":") ? `[${ip}]` : ip;
    ports.forEach((p, i) => {
      const proto = (p.protocol || "TCP").toLowerCase();
      const url = `${proto}://${host}:${p.port}`;
      if (i === 0) env[`${prefix}_PORT`] = url;
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env[pp] = url;
      env[`${pp}_PROTO`] = proto;
      env[`${pp}_PORT`] = String(p.port);
      env[`${pp}_ADDR`] = ip;
    });
  }
  return env;
}

export async function containerEnv(
  pod: Pod,
  c: ContainerSpec,
  ctx: { podIP: string; hostIP: string; data: DataSource; services?: Record<string, string> },
): Promise<{ env: Record<string, string>; argv: string[] | undefined }> {
  const services = ctx.services ?? {};
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  const cache = new Map<string, Record<string, string> | undefined>();
  const read = async (kind: "configmap" | "secret", name: string, optional: boolean | undefined) => {
    const key = `${kind}/${name}`;
    if (!cache.has(key)) cache.set(key, await ctx.data(kind, ns, name));
    const data = cache.get(key);
    if (!data && !optional) throw new EnvError(`${kind} "${name}" not found`);
    return data;
  };
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const data = await read(from.configMapRef ? "configmap" : "secret", ref.name, ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) env[(from.prefix ?? "") + k] = v;
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom === undefined) {
      env[e.name] = expand(e.value ?? "", { ...services, ...env });
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) env[e.name] = fieldRef(pod, vf.fieldRef.fieldPath, ctx.podIP, ctx.hostIP);
    else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const kind = vf.configMapKeyRef ? "configmap" : "secret";
      const data = await read(kind, ref.name, ref.optional);
      const v = data?.[ref.key];
      if (v === undefined) {
        if (!ref.optional) throw new EnvError(`couldn't find key ${ref.key} in ${kind === "configmap" ? "ConfigMap" : "Secret"} ${ns}/${ref.name}`);
        continue;
      }
      env[e.name] = v;
    } else if (vf.resourceFieldRef) {
      const r = vf.resourceFieldRef;
      const [kind, res] = r.resource.split(".");
      env[e.name] = c.resources?.[kind as "limits" | "requests"]?.[res] ?? (kind === "limits" ? "0" : "0");
    }
  }
  // Service variables come last and never override the container's own (as the kubelet).
  for (const [k, v] of Object.entries(services)) if (!Object.hasOwn(env, k)) env[k] = v;
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(a, env));
  return { env, argv: argv.length ? argv : undefined };
}
