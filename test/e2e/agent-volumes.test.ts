import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import { bindMounts } from "../../src/agent/process-runtime.ts";
import { containerMounts, downwardFiles, keyFiles, volumeKind, VolumeError } from "../../src/agent/volumes.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster, getJson, waitForObject as waitFor } from "./cluster.ts";

/**
 * Pod volumes: the pure file projection (configMap/secret keys, items, modes, downwardAPI) and,
 * on a process-runtime node against the real control plane, a pod whose ConfigMap is missing
 * waits in ContainerCreating with FailedMount and starts once it exists, with configMap, secret,
 * downwardAPI and Memory emptyDir volumes bind-mounted in its own mount namespace.
 */

type Json = Record<string, any>;
const NODE = "vol-node";

describe("volume files (pure)", () => {
  it("configMap/secret: every key, or the items chosen, with defaultMode and per-item mode", () => {
    const v = { name: "cfg" };
    assert.deepEqual(keyFiles(v, "configmap", "c", { b: "2", a: "1" }, undefined, undefined, false), [
      { path: "a", data: "1", mode: 0o644 },
      { path: "b", data: "2", mode: 0o644 },
    ]);
    assert.deepEqual(keyFiles(v, "secret", "s", { a: "1", b: "2" }, [{ key: "b", path: "dir/bee" }, { key: "a", path: "a", mode: 0o600 }], 0o400, false), [
      { path: "dir/bee", data: "2", mode: 0o400 },
      { path: "a", data: "1", mode: 0o600 },
    ]);
    assert.deepEqual(keyFiles(v, "configmap", "c", undefined, undefined, undefined, true), []);
    assert.throws(() => keyFiles(v, "configmap", "c", undefined, undefined, undefined, false), (e) => e instanceof VolumeError && e.message === 'MountVolume.SetUp failed for volume "cfg" : configmap "c" not found');
    assert.throws(() => keyFiles(v, "secret", "s", { a: "1" }, [{ key: "x", path: "x" }], undefined, false), /secret references non-existent config key: x/);
    assert.throws(() => keyFiles(v, "configmap", "c", { a: "1" }, [{ key: "a", path: "../escape" }], undefined, false), /invalid path "..\/escape"/);
  });

  it("downwardAPI: labels and annotations as key=\"value\" lines, single fields", () => {
    const pod = { metadata: { name: "p", namespace: "ns", uid: "u", labels: { b: "2", a: 'x"y' } }, spec: { containers: [{ name: "c", image: "i", resources: { limits: { memory: "64Mi" } } }] } };
    const files = downwardFiles(pod, { name: "d", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }, { path: "name", fieldRef: { fieldPath: "metadata.name" } }, { path: "mem", resourceFieldRef: { containerName: "c", resource: "limits.memory" }, mode: 0o600 }] } }, { podIP: "10.0.0.2", hostIP: "10.0.0.1" });
    assert.deepEqual(files, [
      { path: "labels", data: 'a="x\\"y"\nb="2"', mode: 0o644 },
      { path: "name", data: "p", mode: 0o644 },
      { path: "mem", data: "64Mi", mode: 0o600 },
    ]);
  });

  it("mounts: volumeMounts resolve to the pod's volume directories; configMap-like volumes are read-only", () => {
    const vols = new Map([["cfg", { dir: "/v/configMap/cfg", readOnly: true }], ["scratch", { dir: "/v/emptyDir/scratch", readOnly: false }]]);
    const c = { name: "c", image: "i", volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }, { name: "scratch", mountPath: "/s", subPath: "sub" }, { name: "scratch", mountPath: "/r", readOnly: true }] };
    assert.deepEqual(containerMounts(c, vols), [
      { hostPath: "/v/configMap/cfg", containerPath: "/etc/cfg", readOnly: true },
      { hostPath: "/v/emptyDir/scratch/sub", containerPath: "/s", readOnly: false },
      { hostPath: "/v/emptyDir/scratch", containerPath: "/r", readOnly: true },
    ]);
    assert.throws(() => containerMounts({ ...c, volumeMounts: [{ name: "nope", mountPath: "/x" }] }, vols), /volume "nope" of container "c" is not a volume of the pod/);
    assert.equal(volumeKind({ name: "a", secret: { secretName: "s" } }), "secret");
    assert.equal(volumeKind({ name: "a" }), "emptyDir");
  });

  it("process runtime: bind mounts only over existing paths, read-only remounted", () => {
    const { script, warnings } = bindMounts(
      [
        { hostPath: "/v/a", containerPath: "/tmp", readOnly: true },
        { hostPath: "/v/b", containerPath: "/no/such/path/here", readOnly: false },
      ],
      true,
    );
    assert.equal(script, `{ mount --bind '/v/a' '/tmp' && mount -o remount,bind,ro '/tmp'; } || echo "edgeplane: could not mount a volume at "'/tmp' >&2; `);
    assert.deepEqual(warnings, [
      "volume at /no/such/path/here is not mounted: the path does not exist on this node and the process runtime mounts volumes only over existing paths (its files are at /v/b)",
    ]);
    assert.equal(bindMounts([{ hostPath: "/v/a", containerPath: "/tmp", readOnly: false }], false).script, "");
  });
});

async function apply(cluster: LocalCluster, obj: Json): Promise<void> {
  const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: JSON.stringify(obj) });
  assert.equal(r.code, 0, r.stderr);
}

describe("node agent volumes", { skip: process.getuid?.() !== 0 ? "bind mounts in the pod's mount namespace need root" : false }, () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  const dir = mkdtempSync(join(tmpdir(), "edgeplane-volumes-"));
  const at = (p: string) => join(dir, p);

  before(async () => {
    for (const d of ["mnt-config", "mnt-secret", "mnt-down", "mnt-mem", "out"]) mkdirSync(at(d));
    cluster = await startCluster();
    agent = await startAgent({ api: { server: cluster.url, token: cluster.token, insecure: true }, name: NODE, runtime: "process", dataDir: at("data"), log: () => {} });
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("waits in ContainerCreating for a missing ConfigMap (FailedMount), then runs with its volumes mounted", async () => {
    const script = [
      `cat ${at("mnt-config")}/greeting; echo`,
      `stat -c %a ${at("mnt-secret")}/tok; cat ${at("mnt-secret")}/tok; echo`,
      `cat ${at("mnt-down")}/labels; echo`,
      `awk '$2 == "${at("mnt-mem")}" { print $3 }' /proc/self/mounts`,
      `touch ${at("mnt-config")}/x 2>/dev/null && echo writable || echo read-only`,
    ].join("; ");
    await apply(cluster, { apiVersion: "v1", kind: "Secret", metadata: { name: "sec" }, stringData: { token: "s3cret", other: "no" } });
    await apply(cluster, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "volpod", labels: { app: "vol" } },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 1,
        volumes: [
          { name: "config", configMap: { name: "cfg" } },
          { name: "secret", secret: { secretName: "sec", items: [{ key: "token", path: "tok" }], defaultMode: 0o400 } },
          { name: "down", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
          { name: "mem", emptyDir: { medium: "Memory" } },
        ],
        containers: [
          {
            name: "main",
            image: "busybox",
            command: ["sh", "-c", `(${script}) > ${at("out")}/seen; sleep 3600`],
            volumeMounts: [
              { name: "config", mountPath: at("mnt-config") },
              { name: "secret", mountPath: at("mnt-secret") },
              { name: "down", mountPath: at("mnt-down") },
              { name: "mem", mountPath: at("mnt-mem") },
            ],
          },
        ],
      },
    });
    const waiting = await waitFor(
      cluster,
      ["events", "--field-selector", "involvedObject.name=volpod"],
      (l) => (l?.items ?? []).some((e: Json) => e.reason === "FailedMount"),
      "FailedMount event",
    );
    assert.deepEqual(
      waiting.items.filter((e: Json) => e.reason === "FailedMount").map((e: Json) => [e.type, e.message]),
      [["Warning", 'MountVolume.SetUp failed for volume "config" : configmap "cfg" not found']],
    );
    const pending = (await getJson(cluster, ["pod", "volpod"]))!;
    assert.equal(pending.status.phase, "Pending");
    assert.equal(pending.status.containerStatuses[0].state.waiting.reason, "ContainerCreating");
    await apply(cluster, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: { greeting: "hello" } });
    await waitFor(cluster, ["pod", "volpod"], (o) => o?.status?.phase === "Running", "volpod Running");
    let seen = "";
    for (let i = 0; i < 50 && !seen.includes("\n" + "read-only") && !seen.includes("writable"); i++) {
      try {
        seen = readFileSync(at("out/seen"), "utf8");
      } catch {
        /* not yet */
      }
      if (!/(read-only|writable)\n$/.test(seen)) await new Promise((r) => setTimeout(r, 200));
      else break;
    }
    assert.equal(seen, 'hello\n400\ns3cret\napp="vol"\ntmpfs\nread-only\n');
    // The mounts are the pod's alone: the host's directories stay empty.
    assert.deepEqual(readdirSync(at("mnt-config")), []);
    const del = await kubectl(cluster, ["delete", "pod", "volpod", "--wait=true"]);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!readFileSync("/proc/mounts", "utf8").includes(dir), "the Memory emptyDir's tmpfs is unmounted");
  });
});
