/**
 * One line of `podman events --format json` (podman 4): what the agent acts on. A container's
 * `died` event carries its exit code; `remove` says a container (or, for the stream's readiness
 * probe, a volume) is gone.
 */
export type PodmanEvent =
  | { kind: "died"; id: string; name: string; exitCode: number; time: string; labels: Record<string, string> }
  | { kind: "removed"; id: string; name: string; time: string }
  | { kind: "volume-removed"; name: string; time: string };

export function parsePodmanEvent(line: string): PodmanEvent | undefined {
  let e: { Type?: unknown; Status?: unknown; ID?: unknown; Name?: unknown; ContainerExitCode?: unknown; Time?: unknown; Attributes?: unknown };
  try {
    e = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!e || typeof e !== "object") return undefined;
  const time = typeof e.Time === "string" ? e.Time : "";
  const name = typeof e.Name === "string" ? e.Name : "";
  if (e.Type === "volume" && e.Status === "remove" && name) return { kind: "volume-removed", name, time };
  if (e.Type !== "container" || typeof e.ID !== "string" || !/^[0-9a-f]{12,64}$/.test(e.ID)) return undefined;
  if (e.Status === "remove") return { kind: "removed", id: e.ID, name, time };
  if (e.Status !== "died") return undefined;
  const labels: Record<string, string> = {};
  if (e.Attributes && typeof e.Attributes === "object")
    for (const [k, v] of Object.entries(e.Attributes as Record<string, unknown>)) if (typeof v === "string") labels[k] = v;
  // podman leaves the exit code out when it is 0 (omitempty).
  const exitCode = typeof e.ContainerExitCode === "number" && Number.isInteger(e.ContainerExitCode) ? e.ContainerExitCode : 0;
  return { kind: "died", id: e.ID, name, exitCode, time, labels };
}
