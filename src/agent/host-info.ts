import { existsSync, readFileSync, statfsSync } from "node:fs";
import { arch, cpus, hostname, networkInterfaces, release, totalmem } from "node:os";
import type { HostFacts } from "./node-status.ts";

/** What this machine offers, read from the host (cpu, memory, disk, addresses, identity). */

const readTrim = (path: string) => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
};

/** Node's arch names as Kubernetes (GOARCH) spells them. */
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** The first non-loopback IPv4 address, else 127.0.0.1. */
export function internalIP(): string {
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readTrim("/etc/os-release"));
  return m?.[1] ?? "Linux";
}

export function hostFacts(dataDir: string): HostFacts {
  let storage = 0;
  try {
    const s = statfsSync(existsSync(dataDir) ? dataDir : "/");
    storage = s.blocks * s.bsize;
  } catch {
    /* unknown */
  }
  const machineID = readTrim("/etc/machine-id");
  return {
    hostname: hostname(),
    internalIP: internalIP(),
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    ephemeralStorage: `${Math.floor(storage / 1024)}Ki`,
    pods: "110",
    os: process.platform === "win32" ? "windows" : process.platform,
    arch: GOARCH[arch()] ?? arch(),
    kernelVersion: release(),
    osImage: osImage(),
    machineID,
    systemUUID: readTrim("/sys/class/dmi/id/product_uuid") || machineID,
    bootID: readTrim("/proc/sys/kernel/random/boot_id"),
  };
}
