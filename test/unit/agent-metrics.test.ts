import { describe, expect, it } from "vitest";
import { cpuRate, memoryQuantity, nodeMetrics, podMetrics } from "../../src/agent/metrics.ts";
import { groupUsage, parseNodeUsage, parseProcCgroup, parseProcStat } from "../../src/agent/proc-stats.ts";
import { nodeRule } from "../../src/auth/node-authorizer.ts";

describe("proc stats", () => {
  it("parses /proc/<pid>/stat, with spaces and parentheses in the command", () => {
    const line = "4242 (sh (x) y) S 1 4240 4240 0 -1 4194560 120 0 0 0 250 50 0 0 20 0 1 0 100 5000000 300 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ pid: 4242, pgrp: 4240, cpuSeconds: 3, rssBytes: 300 * 4096, startTime: 100 });
    expect(parseProcStat("garbage")).toBeUndefined();
  });

  it("sums a process group", () => {
    const ps = [
      { pid: 1, pgrp: 1, cpuSeconds: 1, rssBytes: 10, startTime: 0 },
      { pid: 2, pgrp: 2, cpuSeconds: 2, rssBytes: 20, startTime: 0 },
      { pid: 3, pgrp: 2, cpuSeconds: 0.5, rssBytes: 5, startTime: 0 },
    ];
    expect(groupUsage(ps, 2)).toEqual({ cpuSeconds: 2.5, memoryBytes: 25 });
  });

  it("finds a process's cgroup directories (v1 controllers, or v2)", () => {
    const v1 = "9:name=systemd:/\n4:memory:/libpod_parent/libpod-abc\n2:cpu,cpuacct:/libpod_parent/libpod-abc\n0::/\n";
    expect(parseProcCgroup(v1)).toEqual({
      cpu: "/sys/fs/cgroup/cpu,cpuacct/libpod_parent/libpod-abc",
      memory: "/sys/fs/cgroup/memory/libpod_parent/libpod-abc",
      unified: "/sys/fs/cgroup/",
    });
    expect(parseProcCgroup("0::/machine.slice/libpod-abc.scope\n")).toEqual({ unified: "/sys/fs/cgroup/machine.slice/libpod-abc.scope" });
  });

  it("reads the node's busy CPU and memory in use", () => {
    const stat = "cpu  100 20 30 1000 50 5 5 0 0 0\ncpu0 1 2 3 4\n";
    const meminfo = "MemTotal:        8000 kB\nMemFree:         1000 kB\nMemAvailable:    6000 kB\n";
    expect(parseNodeUsage(stat, meminfo)).toEqual({ cpuSeconds: 1.6, memoryBytes: 2000 * 1024 });
  });
});

describe("metrics objects", () => {
  const at = Date.parse("2026-01-01T00:00:15Z");
  const prev = { cpuSeconds: 10, memoryBytes: 0, at: at - 15_000 };
  const next = { cpuSeconds: 11.5, memoryBytes: 3 * 1024 * 1024, at };

  it("computes CPU as a rate in nanocores, and nothing without an earlier sample or after a reset", () => {
    expect(cpuRate(prev, next)).toBe("100000000n");
    expect(cpuRate(undefined, next)).toBeUndefined();
    expect(cpuRate({ ...prev, cpuSeconds: 20 }, next)).toBeUndefined();
    expect(memoryQuantity(3 * 1024 * 1024)).toBe("3072Ki");
  });

  it("builds PodMetrics owned by the pod, and NodeMetrics", () => {
    expect(podMetrics({ namespace: "ns", name: "p", uid: "u1" }, [{ name: "c", prev, next }, { name: "new", next }])).toEqual({
      apiVersion: "metrics.k8s.io/v1beta1",
      kind: "PodMetrics",
      metadata: { name: "p", namespace: "ns", ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "p", uid: "u1" }] },
      timestamp: "2026-01-01T00:00:15Z",
      window: "15s",
      containers: [{ name: "c", usage: { cpu: "100000000n", memory: "3072Ki" } }],
    });
    expect(podMetrics({ namespace: "ns", name: "p", uid: "u1" }, [{ name: "new", next }])).toBeUndefined();
    expect(nodeMetrics("n1", prev, next)).toMatchObject({ kind: "NodeMetrics", metadata: { name: "n1" }, usage: { cpu: "100000000n", memory: "3072Ki" } });
  });
});

describe("node authorizer: metrics", () => {
  const attrs = (verb: string, resource: string, name?: string, namespace?: string) => ({ resourceRequest: true, verb, apiGroup: "metrics.k8s.io", resource, name, namespace }) as Parameters<typeof nodeRule>[1];
  it("lets a node write its own NodeMetrics and PodMetrics of its pods only", () => {
    expect(nodeRule("n1", attrs("create", "nodes"), null)).toBe("own-name-on-create");
    expect(nodeRule("n1", attrs("update", "nodes", "n1"), null)).toBe("allow");
    expect(nodeRule("n1", attrs("update", "nodes", "n2"), null)).toBe("no-opinion");
    expect(nodeRule("n1", attrs("create", "pods", undefined, "ns"), null)).toBe("own-pod-on-create");
    expect(nodeRule("n1", attrs("update", "pods", "p", "ns"), null)).toBe("own-pod");
    expect(nodeRule("n1", attrs("delete", "pods", "p", "ns"), null)).toBe("own-or-gone-pod");
    expect(nodeRule("n1", attrs("list", "pods", undefined, "ns"), null)).toBe("no-opinion");
  });
});
