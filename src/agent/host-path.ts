import { chmodSync, closeSync, mkdirSync, openSync, statSync, type Stats } from "node:fs";
import { isAbsolute, normalize } from "node:path";

/**
 * hostPath volumes: the kubelet's type checks of spec.volumes[].hostPath.type before a
 * mount. `""` checks nothing; DirectoryOrCreate / FileOrCreate make what is missing (a
 * directory 0755, an empty file 0644; parents of a file are not made, as in Kubernetes);
 * Directory, File, Socket, CharDevice and BlockDevice must exist as that. A failed check
 * is a HostPathError with the kubelet's message ("hostPath type check failed: /x is not a
 * directory"): the pod stays ContainerCreating with a FailedMount event and is retried.
 */

export const HOST_PATH_TYPES = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];

export class HostPathError extends Error {}

function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

const failed = (path: string, what: string) => new HostPathError(`hostPath type check failed: ${path} is not ${what}`);

/** Checks (and for the *OrCreate types makes) a host path; returns the normalized path. */
export function checkHostPath(path: string, type = "", createMode?: number): string {
  if (!path || !isAbsolute(path)) throw new HostPathError(`hostPath "${path}" must be an absolute path`);
  const p = normalize(path);
  if (!HOST_PATH_TYPES.includes(type)) throw new HostPathError(`hostPath type "${type}" is not supported (one of ${HOST_PATH_TYPES.filter(Boolean).join(", ")})`);
  let s = stat(p);
  if (type === "DirectoryOrCreate" && !s) {
    mkdirSync(p, { recursive: true, mode: createMode ?? 0o755 });
    if (createMode !== undefined) chmodSync(p, createMode);
    s = stat(p);
  }
  if (type === "FileOrCreate" && !s) {
    try {
      closeSync(openSync(p, "a", createMode ?? 0o644));
    } catch (e) {
      throw new HostPathError(`hostPath type check failed: ${p} could not be created: ${(e as Error).message}`);
    }
    s = stat(p);
  }
  switch (type) {
    case "DirectoryOrCreate":
    case "Directory":
      if (!s?.isDirectory()) throw failed(p, "a directory");
      break;
    case "FileOrCreate":
    case "File":
      if (!s?.isFile()) throw failed(p, "a file");
      break;
    case "Socket":
      if (!s?.isSocket()) throw failed(p, "a socket file");
      break;
    case "CharDevice":
      if (!s?.isCharacterDevice()) throw failed(p, "a character device");
      break;
    case "BlockDevice":
      if (!s?.isBlockDevice()) throw failed(p, "a block device");
      break;
  }
  return p;
}

