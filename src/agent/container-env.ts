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

export async function containerEnv(
  pod: Pod,
  c: ContainerSpec,
  ctx: { podIP: string; hostIP: string; data: DataSource },
): Promise<{ env: Record<string, string>; argv: string[] | undefined }> {
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
      env[e.name] = expand(e.value ?? "", env);
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
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(a, env));
  return { env, argv: argv.length ? argv : undefined };
}
