import { describe, expect, it } from "vitest";
import { buildNodeStatus, nodeLabels, nodeStatusChanged, parseLabels, shouldReportNodeStatus, type HostFacts } from "../../src/agent/node-status.ts";

const host: HostFacts = {
  hostname: "box",
  internalIP: "192.0.2.7",
  cpu: "2",
  memory: "4000000Ki",
  ephemeralStorage: "100000000Ki",
  pods: "110",
  os: "linux",
  arch: "amd64",
  kernelVersion: "6.1.0",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  machineID: "m",
  systemUUID: "u",
  bootID: "b",
};
const T0 = Date.parse("2026-01-01T00:00:00Z");
const runtime = { version: "process://0.1.0", warnings: [] as string[] };

describe("agent node status", () => {
  it("capacity, allocatable, conditions, addresses and node info from the host", () => {
    const s = buildNodeStatus(host, runtime, T0);
    expect(s.capacity).toEqual({ cpu: "2", memory: "4000000Ki", pods: "110", "ephemeral-storage": "100000000Ki" });
    expect(s.allocatable).toEqual(s.capacity);
    expect(s.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual([
      "MemoryPressure=False:KubeletHasSufficientMemory",
      "DiskPressure=False:KubeletHasNoDiskPressure",
      "PIDPressure=False:KubeletHasSufficientPID",
      "Ready=True:KubeletReady",
    ]);
    expect(s.conditions[3].lastHeartbeatTime).toBe("2026-01-01T00:00:00Z");
    expect(s.addresses).toEqual([
      { type: "InternalIP", address: "192.0.2.7" },
      { type: "Hostname", address: "box" },
    ]);
    expect(s.nodeInfo).toMatchObject({ containerRuntimeVersion: "process://0.1.0", kubeletVersion: "v1.32.0-edgeplane", operatingSystem: "linux", architecture: "amd64" });
  });

  it("says what the runtime lacks in a RuntimeDegraded condition", () => {
    const s = buildNodeStatus(host, { version: "process://0.1.0", warnings: ["images are not pulled", "no limits"] }, T0);
    expect(s.conditions[4]).toMatchObject({ type: "RuntimeDegraded", status: "True", message: "images are not pulled; no limits" });
  });

  it("keeps lastTransitionTime while a condition holds; only heartbeats move", () => {
    const first = buildNodeStatus(host, runtime, T0);
    const later = buildNodeStatus(host, runtime, T0 + 10_000, first);
    expect(later.conditions[3].lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    expect(later.conditions[3].lastHeartbeatTime).toBe("2026-01-01T00:00:10Z");
    expect(nodeStatusChanged(first, later)).toBe(false);
  });

  it("reports on change or when the report frequency has passed, not on heartbeats alone", () => {
    const first = buildNodeStatus(host, runtime, T0);
    const same = buildNodeStatus(host, runtime, T0 + 10_000, first);
    expect(shouldReportNodeStatus(undefined, 0, first, T0, 300_000)).toBe(true);
    expect(shouldReportNodeStatus(first, T0, same, T0 + 10_000, 300_000)).toBe(false);
    expect(shouldReportNodeStatus(first, T0, same, T0 + 300_000, 300_000)).toBe(true);
    const changed = buildNodeStatus({ ...host, cpu: "4" }, runtime, T0 + 10_000, first);
    expect(shouldReportNodeStatus(first, T0, changed, T0 + 10_000, 300_000)).toBe(true);
  });

  it("labels: hostname, os, arch, then --labels; bad --labels are refused", () => {
    expect(nodeLabels("n1", host, parseLabels("zone=a, tier=web"))).toEqual({
      "kubernetes.io/hostname": "n1",
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/os": "linux",
      "beta.kubernetes.io/arch": "amd64",
      zone: "a",
      tier: "web",
    });
    expect(() => parseLabels("novalue")).toThrow(/key=value/);
  });
});
