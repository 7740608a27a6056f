import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ApiStatusError, type ApiClient } from "./api-client.ts";
import { VolumeError, type ClaimResolver } from "./volumes.ts";

/**
 * PersistentVolumeClaims on the node (the kubelet's side of local-path provisioning):
 * a pod's claim resolves to its bound PersistentVolume's directory (hostPath or local
 * path), which volumes.ts makes on first use and mounts. Until the claim is bound the pod
 * waits in ContainerCreating (FailedMount, retried). The node's provisioned directories
 * live under its local-path root (`<data-dir>/agent/local-path`, announced in the Node's
 * `edgeplane.dev/local-path-root` annotation), one per volume, named `<pv>_<ns>_<claim>`;
 * `sweepLocalPaths` removes those whose PersistentVolume is gone (reclaimPolicy Delete).
 */

export { LOCAL_PATH_ROOT_ANNOTATION } from "../resources/storageclass.ts";

interface ClaimObject {
  metadata: { deletionTimestamp?: string };
  spec?: { volumeName?: string };
  status?: { phase?: string };
}

interface VolumeObject {
  spec?: { hostPath?: { path?: string }; local?: { path?: string } };
}

async function getOrUndefined<T>(api: ApiClient, path: string): Promise<T | undefined> {
  try {
    return await api.get<T>(path);
  } catch (e) {
    if (e instanceof ApiStatusError && e.status === 404) return undefined;
    throw e;
  }
}

export function claimResolver(api: ApiClient): ClaimResolver {
  return async (namespace, claimName, volume) => {
    const fail = (why: string) => new VolumeError(`MountVolume.SetUp failed for volume "${volume}" : ${why}`);
    const claim = await getOrUndefined<ClaimObject>(api, `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${encodeURIComponent(claimName)}`);
    if (!claim) throw fail(`persistentvolumeclaim "${claimName}" not found`);
    if (claim.metadata.deletionTimestamp) throw fail(`persistentvolumeclaim "${claimName}" is being deleted`);
    const pvName = claim.spec?.volumeName;
    if (!pvName || claim.status?.phase !== "Bound") throw fail(`persistentvolumeclaim "${claimName}" is not bound yet`);
    const pv = await getOrUndefined<VolumeObject>(api, `/api/v1/persistentvolumes/${encodeURIComponent(pvName)}`);
    if (!pv) throw fail(`persistentvolume "${pvName}" not found`);
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw fail(`persistentvolume "${pvName}" is neither hostPath nor local: not supported on this node`);
    return path;
  };
}

/** The PersistentVolume a directory under the local-path root belongs to (`<pv>_<ns>_<claim>`). */
export const volumeOfDir = (dir: string): string => dir.split("_")[0];

/** Removes the directories of volumes that no longer exist; returns their names. */
export async function sweepLocalPaths(api: ApiClient, root: string): Promise<string[]> {
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const d of dirs) {
    const pv = volumeOfDir(d);
    if (!pv) continue;
    if (await getOrUndefined(api, `/api/v1/persistentvolumes/${encodeURIComponent(pv)}`)) continue;
    rmSync(join(root, d), { recursive: true, force: true });
    removed.push(d);
  }
  return removed;
}
