import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fieldRef, type DataSource } from "./container-env.ts";
import type { ContainerSpec, Pod } from "./container-record.ts";
import { checkHostPath, HostPathError } from "./host-path.ts";
import type { TokenSource } from "./service-account-token.ts";

/**
 * Pod volumes on the node: emptyDir (a per-pod directory; medium Memory is a tmpfs where this
 * agent may mount one, else a directory and a warning), configMap and secret (one file per key,
 * or the `items` chosen, with defaultMode/mode), downwardAPI (labels, annotations, name,
 * namespace, uid, ...), projected (configMap, secret, downwardAPI and serviceAccountToken sources
 * in one directory; the token comes from a TokenRequest bound to the pod, refreshed before it
 * expires; the `kube-root-ca.crt` ConfigMap, when it does not exist, is the CA the agent trusts,
 * or empty). A configMap/secret that does not exist (and is not optional) is a
 * VolumeError: the pod waits in ContainerCreating and the worker retries until it appears.
 * The files are made under the pod's volume directory; runtimes mount them at each
 * container's mountPath (podman -v; the process runtime bind-mounts in its mount namespace).
 * hostPath volumes mount the host's path after the kubelet's type checks (host-path.ts);
 * persistentVolumeClaim volumes mount the directory of the claim's bound volume (`claims`).
 */

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface VolumeSpec {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  downwardAPI?: {
    items?: { path: string; fieldRef?: { fieldPath: string }; resourceFieldRef?: { containerName?: string; resource: string }; mode?: number }[];
    defaultMode?: number;
  };
  hostPath?: { path: string; type?: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  projected?: { sources?: ProjectedSource[]; defaultMode?: number };
  [other: string]: unknown;
}

/** The host directory of a claim's bound volume; throws VolumeError while it is missing or unbound. */
export type ClaimResolver = (namespace: string, claimName: string, volume: string) => Promise<string>;

export interface ProjectedSource {
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: VolumeSpec["downwardAPI"];
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

/** What projected volumes read besides ConfigMaps and Secrets. */
export interface ProjectionContext {
  data: DataSource;
  podIP: string;
  hostIP: string;
  tokens?: TokenSource;
  /** PEM of the cluster CA this agent trusts (for `kube-root-ca.crt`). */
  caCert?: string;
}

const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/** A host path mounted into a container. */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export class VolumeError extends Error {}

export interface VolumeFile {
  path: string;
  data: string;
  mode: number;
}

const SUPPORTED = ["emptyDir", "configMap", "secret", "downwardAPI", "hostPath", "persistentVolumeClaim", "projected"];

/** A host path after its type check, as a volume directory; a failed check is a VolumeError (FailedMount). */
function hostDir(volume: string, path: string, type: string | undefined, createMode?: number): string {
  try {
    return checkHostPath(path, type ?? "", createMode);
  } catch (e) {
    if (e instanceof HostPathError) throw new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${e.message}`);
    throw e;
  }
}

/** Which kind of volume this is (the first source field set). */
export function volumeKind(v: VolumeSpec): string {
  return Object.keys(v).find((k) => k !== "name" && v[k] !== undefined && v[k] !== null) ?? "emptyDir";
}

/** A relative path that stays inside the volume (no absolute paths, no `..`). */
function safeRelative(p: string, volume: string): string {
  const n = normalize(p);
  if (!p || p.startsWith("/") || n.startsWith("..") || n.split("/").includes(".."))
    throw new VolumeError(`volume "${volume}": invalid path "${p}" (must be relative, without "..")`);
  return n;
}

/** The files of a configMap/secret volume from the object's data (pure); undefined data: the object does not exist. */
export function keyFiles(
  v: VolumeSpec,
  what: "configmap" | "secret",
  objName: string,
  data: Record<string, string> | undefined,
  items: KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
): VolumeFile[] {
  const mode = defaultMode ?? 0o644;
  if (!data) {
    if (optional) return [];
    throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${what} "${objName}" not found`);
  }
  if (!items?.length) return Object.keys(data).sort().map((k) => ({ path: safeRelative(k, v.name), data: data[k], mode }));
  const out: VolumeFile[] = [];
  for (const it of items) {
    if (!Object.hasOwn(data, it.key)) {
      if (optional) continue;
      throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : configmap references non-existent config key: ${it.key}`.replace("configmap", what));
    }
    out.push({ path: safeRelative(it.path, v.name), data: data[it.key], mode: it.mode ?? mode });
  }
  return out;
}

const formatMap = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join("\n");

/** The files of a downwardAPI volume (pure). */
export function downwardFiles(pod: Pod, v: VolumeSpec, ctx: { podIP: string; hostIP: string }): VolumeFile[] {
  const d = v.downwardAPI ?? {};
  const mode = d.defaultMode ?? 0o644;
  return (d.items ?? []).map((it) => {
    let data: string;
    if (it.fieldRef) {
      const f = it.fieldRef.fieldPath;
      if (f === "metadata.labels") data = formatMap(pod.metadata.labels);
      else if (f === "metadata.annotations") data = formatMap(pod.metadata.annotations);
      else {
        try {
          data = fieldRef(pod, f, ctx.podIP, ctx.hostIP);
        } catch (e) {
          throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${(e as Error).message}`);
        }
      }
    } else if (it.resourceFieldRef) {
      const r = it.resourceFieldRef;
      const c = pod.spec.containers.find((x) => x.name === r.containerName) ?? pod.spec.containers[0];
      const [kind, res] = r.resource.split(".");
      data = c?.resources?.[kind as "limits" | "requests"]?.[res] ?? "0";
    } else data = "";
    return { path: safeRelative(it.path, v.name), data, mode: it.mode ?? mode };
  });
}

/** The files of a projected volume: every source's files in one directory, the volume's defaultMode for all. */
export async function projectedFiles(pod: Pod, v: VolumeSpec, ctx: ProjectionContext): Promise<VolumeFile[]> {
  const mode = v.projected?.defaultMode ?? 0o644;
  const ns = pod.metadata.namespace;
  const out: VolumeFile[] = [];
  for (const src of v.projected?.sources ?? []) {
    if (src.configMap) {
      const c = src.configMap;
      let data = await ctx.data("configmap", ns, c.name);
      if (!data && c.name === ROOT_CA_CONFIGMAP) data = { "ca.crt": ctx.caCert ?? "" };
      out.push(...keyFiles(v, "configmap", c.name, data, c.items, mode, c.optional));
    } else if (src.secret) {
      const s = src.secret;
      out.push(...keyFiles(v, "secret", s.name, await ctx.data("secret", ns, s.name), s.items, mode, s.optional));
    } else if (src.downwardAPI) {
      out.push(...downwardFiles(pod, { name: v.name, downwardAPI: { ...src.downwardAPI, defaultMode: mode } }, ctx));
    } else if (src.serviceAccountToken) {
      const t = src.serviceAccountToken;
      const serviceAccount = (pod.spec as { serviceAccountName?: string }).serviceAccountName || "default";
      if (!ctx.tokens) throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : this node cannot request service account tokens`);
      let token: string;
      try {
        token = await ctx.tokens(pod, { serviceAccount, audience: t.audience, expirationSeconds: t.expirationSeconds });
      } catch (e) {
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : failed to fetch token: ${(e as Error).message}`);
      }
      out.push({ path: safeRelative(t.path, v.name), data: token, mode });
    }
  }
  return out;
}

/** A container's mounts from its volumeMounts and the pod's prepared volume directories (pure). */
export function containerMounts(c: ContainerSpec & { volumeMounts?: VolumeMount[] }, volumes: Map<string, { dir: string; readOnly: boolean }>): Mount[] {
  return (c.volumeMounts ?? []).map((m) => {
    const v = volumes.get(m.name);
    if (!v) throw new VolumeError(`volume "${m.name}" of container "${c.name}" is not a volume of the pod (or is not supported on this node)`);
    const hostPath = m.subPath ? join(v.dir, safeRelative(m.subPath, m.name)) : v.dir;
    return { hostPath, containerPath: m.mountPath, readOnly: v.readOnly || !!m.readOnly };
  });
}

function run(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 10_000 }, (err, _o, stderr) => resolve(err ? (stderr || err.message).trim() : undefined)));
}

export interface PreparedVolumes {
  byName: Map<string, { dir: string; readOnly: boolean }>;
  /** What could not be done as asked (events, e.g. a Memory emptyDir that is a plain directory). */
  warnings: string[];
}

/**
 * Makes the pod's volumes under `root` (idempotent: files are rewritten, so a changed
 * ConfigMap/Secret shows up on the next call). Throws VolumeError when a source is missing.
 */
export async function prepareVolumes(
  pod: Pod,
  root: string,
  ctx: ProjectionContext & { tmpfs: Set<string>; claims?: ClaimResolver },
): Promise<PreparedVolumes> {
  const byName = new Map<string, { dir: string; readOnly: boolean }>();
  const warnings: string[] = [];
  const volumes = ((pod.spec as { volumes?: VolumeSpec[] }).volumes ?? []) as VolumeSpec[];
  const ns = pod.metadata.namespace;
  // Read every source first: nothing is written while one is missing.
  const files = new Map<string, VolumeFile[]>();
  const claimDirs = new Map<string, string>();
  for (const v of volumes) {
    const kind = volumeKind(v);
    if (kind === "persistentVolumeClaim" && ctx.claims) claimDirs.set(v.name, await ctx.claims(ns, v.persistentVolumeClaim!.claimName, v.name));
    if (kind === "configMap") {
      const s = v.configMap!;
      files.set(v.name, keyFiles(v, "configmap", s.name, await ctx.data("configmap", ns, s.name), s.items, s.defaultMode, s.optional));
    } else if (kind === "secret") {
      const s = v.secret!;
      files.set(v.name, keyFiles(v, "secret", s.secretName, await ctx.data("secret", ns, s.secretName), s.items, s.defaultMode, s.optional));
    } else if (kind === "downwardAPI") files.set(v.name, downwardFiles(pod, v, ctx));
    else if (kind === "projected") files.set(v.name, await projectedFiles(pod, v, ctx));
  }
  for (const v of volumes) {
    const kind = volumeKind(v);
    if (!SUPPORTED.includes(kind)) {
      warnings.push(`volume "${v.name}": ${kind} volumes are not supported on this node; containers mounting it cannot start`);
      continue;
    }
    if (kind === "hostPath") {
      byName.set(v.name, { dir: hostDir(v.name, v.hostPath!.path, v.hostPath!.type), readOnly: false });
      continue;
    }
    if (kind === "persistentVolumeClaim") {
      const path = claimDirs.get(v.name);
      if (path === undefined) {
        warnings.push(`volume "${v.name}": persistentVolumeClaim volumes are not supported on this node; containers mounting it cannot start`);
        continue;
      }
      // A provisioned volume's directory is made on first use, writable by any user (as local-path does).
      byName.set(v.name, { dir: hostDir(v.name, path, "DirectoryOrCreate", 0o777), readOnly: !!v.persistentVolumeClaim!.readOnly });
      continue;
    }
    const dir = join(root, kind, v.name);
    if (kind === "emptyDir") {
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      if (v.emptyDir?.medium === "Memory" && !ctx.tmpfs.has(dir)) {
        const size = v.emptyDir.sizeLimit ? `,size=${v.emptyDir.sizeLimit.replace(/i$/, "")}` : "";
        const err = process.getuid?.() === 0 ? await run("mount", ["-t", "tmpfs", "-o", `mode=0777${size}`, "tmpfs", dir]) : "mounting a tmpfs needs root";
        if (err === undefined) ctx.tmpfs.add(dir);
        else warnings.push(`volume "${v.name}": emptyDir medium Memory is a plain directory on this node (${err})`);
      }
      byName.set(v.name, { dir, readOnly: false });
      continue;
    }
    mkdirSync(dir, { recursive: true });
    for (const f of files.get(v.name) ?? []) {
      const path = join(dir, f.path);
      mkdirSync(dirname(path), { recursive: true });
      let same = false;
      try {
        same = readFileSync(path, "utf8") === f.data;
      } catch {
        /* new */
      }
      if (!same) writeFileSync(path, f.data);
      chmodSync(path, f.mode & 0o777);
    }
    byName.set(v.name, { dir, readOnly: true });
  }
  return { byName, warnings };
}

/** Unmounts the pod's tmpfs volumes and removes its volume directory. */
export async function removeVolumes(root: string, tmpfs: Set<string>): Promise<void> {
  for (const dir of [...tmpfs]) {
    if (!dir.startsWith(root)) continue;
    await run("umount", [dir]);
    tmpfs.delete(dir);
  }
  rmSync(root, { recursive: true, force: true });
}
