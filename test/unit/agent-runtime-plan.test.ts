import { describe, expect, it } from "vitest";
import type { Pod } from "../../src/agent/container-record.ts";
import { imagePullBackoffMs } from "../../src/agent/pod-worker.ts";
import { allocateHost, containerName, entrypointArgs, netnsName, nodeTag, podNetworkPlan, pullPolicy, runFlags, vethName } from "../../src/agent/runtime-plan.ts";

const pod = (spec: Partial<Pod["spec"]> = {}): Pod => ({
  metadata: { name: "web", namespace: "default", uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
  spec: { containers: [{ name: "main", image: "localhost/busybox:latest" }], ...spec },
});

describe("agent runtime plan", () => {
  it("names: a 5-hex node tag; netns, veth (<= 15 chars) and container names carry it", () => {
    const tag = nodeTag("node-a");
    expect(tag).toMatch(/^[0-9a-f]{5}$/);
    expect(nodeTag("node-a")).toBe(tag);
    expect(nodeTag("node-b")).not.toBe(tag);
    const uid = pod().metadata.uid;
    expect(netnsName(tag, uid)).toBe(`ep-${tag}-0f1e2d3c`);
    expect(vethName(tag, uid)).toBe(`v${tag}0f1e2d3c`);
    expect(vethName(tag, uid).length).toBeLessThanOrEqual(15);
    expect(containerName(tag, pod(), "main", 3)).toBe(`ep_${tag}_default_web_main_3`);
  });

  it("pod CIDR: a /24 in 10.244.0.0/16 from the node name, or the one given; bad ones refused", () => {
    const p = podNetworkPlan("node-a");
    expect(p.prefix).toMatch(/^10\.244\.(\d+)$/);
    const third = Number(p.prefix.split(".")[2]);
    expect(third).toBeGreaterThanOrEqual(1);
    expect(third).toBeLessThanOrEqual(254);
    expect(p.bridge).toBe(`ep${nodeTag("node-a")}`);
    expect(podNetworkPlan("node-a", "10.99.7.0/24").prefix).toBe("10.99.7");
    expect(() => podNetworkPlan("node-a", "10.99.7.0/16")).toThrow(/must be a \/24/);
    expect(() => podNetworkPlan("node-a", "10.299.7.0/24")).toThrow(/must be a \/24/);
  });

  it("host numbers: the lowest free in 2..254, none when full", () => {
    expect(allocateHost([])).toBe(2);
    expect(allocateHost([2, 3, 5])).toBe(4);
    expect(allocateHost(Array.from({ length: 253 }, (_, i) => i + 2))).toBeUndefined();
  });

  it("imagePullPolicy defaults as the kubelet's: Always for :latest or no tag, else IfNotPresent", () => {
    const c = (image: string, imagePullPolicy?: string) => ({ name: "c", image, imagePullPolicy });
    expect(pullPolicy(c("busybox"))).toBe("Always");
    expect(pullPolicy(c("localhost/busybox:latest"))).toBe("Always");
    expect(pullPolicy(c("localhost:5000/busybox"))).toBe("Always");
    expect(pullPolicy(c("localhost:5000/busybox:1.36"))).toBe("IfNotPresent");
    expect(pullPolicy(c("busybox@sha256:abc"))).toBe("IfNotPresent");
    expect(pullPolicy(c("busybox", "Never"))).toBe("Never");
  });

  it("run flags: memory, cpu, cpu shares, pids, user/group, read-only, no-new-privileges", () => {
    const p = pod({ securityContext: { runAsUser: 1000, runAsGroup: 3000 } });
    expect(
      runFlags(p, {
        name: "c",
        image: "i",
        resources: { limits: { memory: "64Mi", cpu: "500m" }, requests: { cpu: "250m" } },
        securityContext: { runAsUser: 65534, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      }),
    ).toEqual([
      "--memory", "67108864", "--memory-swap", "67108864",
      "--cpus", "0.5",
      "--cpu-shares", "256",
      "--pids-limit", "4096",
      "--user", "65534:3000",
      "--read-only",
      "--security-opt", "no-new-privileges",
    ]);
    expect(runFlags(pod(), { name: "c", image: "i", resources: { limits: { cpu: "2" } } })).toEqual(["--cpus", "2", "--cpu-shares", "2048", "--pids-limit", "4096"]);
    expect(runFlags(pod(), { name: "c", image: "i" })).toEqual(["--pids-limit", "4096"]);
    expect(runFlags(pod(), { name: "c", image: "i", stdin: true, stdinOnce: true, tty: true })).toEqual(["--pids-limit", "4096", "--interactive", "--tty"]);
  });

  it("command replaces the image's entrypoint (and CMD); args alone replace CMD", () => {
    expect(entrypointArgs({ name: "c", image: "i", command: ["sh", "-c"], args: ["echo hi"] }, ["sh", "-c", "echo hi"])).toEqual({ entrypoint: '["sh","-c"]', args: ["echo hi"] });
    expect(entrypointArgs({ name: "c", image: "i", args: ["httpd", "-f"] }, ["httpd", "-f"])).toEqual({ args: ["httpd", "-f"] });
    expect(entrypointArgs({ name: "c", image: "i" }, undefined)).toEqual({ args: [] });
  });

  it("image pull back-off: 10 s doubling to 5 min", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 12].map(imagePullBackoffMs)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });
});
