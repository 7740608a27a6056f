import { generateSuffix } from "../store/generate-name.ts";
import { DEFAULT_SERVICE_ACCOUNT } from "./serviceaccount.ts";

/**
 * The ServiceAccount admission plugin's defaults for a pod: `serviceAccountName` (and its
 * deprecated alias `serviceAccount`) default to "default"; unless `automountServiceAccountToken`
 * is false, a projected volume `kube-api-access-<5 chars>` (a bound token at `token`, the
 * cluster CA at `ca.crt`, the namespace at `namespace`) is added and mounted read-only at
 * SERVICE_ACCOUNT_MOUNT_PATH in every container that does not mount something there already.
 * Idempotent: a pod that has the volume keeps it.
 */

export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const API_ACCESS_VOLUME_PREFIX = "kube-api-access-";
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
/** Kubernetes asks for 3607 s (1 h plus a margin); the kubelet refreshes at 80% of the lifetime. */
export const PROJECTED_TOKEN_SECONDS = 3607;

type Obj = Record<string, unknown>;

export function apiAccessVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: PROJECTED_TOKEN_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}

const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === "object") : []);

export function defaultPodServiceAccount(spec: Obj, suffix: () => string = () => generateSuffix()): void {
  const name = (typeof spec.serviceAccountName === "string" && spec.serviceAccountName) || (typeof spec.serviceAccount === "string" && spec.serviceAccount) || DEFAULT_SERVICE_ACCOUNT;
  spec.serviceAccountName = name;
  spec.serviceAccount = name;
  if (spec.automountServiceAccountToken === false) return;
  if (spec.volumes !== undefined && !Array.isArray(spec.volumes)) return; // validation reports it
  const volumes = objects(spec.volumes);
  let volume = volumes.find((v) => typeof v.name === "string" && v.name.startsWith(API_ACCESS_VOLUME_PREFIX));
  const containers = [...objects(spec.initContainers), ...objects(spec.containers)];
  const mountsPath = (c: Obj) => objects(c.volumeMounts).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH);
  if (!volume) {
    if (containers.every(mountsPath)) return; // every container brings its own credentials
    volume = apiAccessVolume(API_ACCESS_VOLUME_PREFIX + suffix());
    spec.volumes = [...(spec.volumes as Obj[] | undefined ?? []), volume];
  }
  for (const c of containers) {
    if (mountsPath(c) || (c.volumeMounts !== undefined && !Array.isArray(c.volumeMounts))) continue;
    c.volumeMounts = [...objects(c.volumeMounts), { name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
  }
}
