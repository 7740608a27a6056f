import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type RunningAgent } from "../../src/agent/agent.ts";
import { volumeOfDir } from "../../src/agent/claim-volumes.ts";
import { checkHostPath, HostPathError } from "../../src/agent/host-path.ts";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, ok, startCluster, getJson, waitForObject as waitFor, waitForOutput } from "./cluster.ts";

/**
 * Storage on a node: hostPath type checks (pure), then against the real control plane with a
 * process-runtime agent: the default `local-path` StorageClass, a claim that names no class
 * gets it, a pod using the claim is scheduled, the claim is provisioned on its node (PV with
 * node affinity, both Bound, `kubectl get pvc,pv` columns), the container writes into the
 * volume, a later pod on the same node reads it back, hostPath volumes mount (and a failed
 * type check is a FailedMount event), and deleting the claim deletes the volume and its directory;
 * a static hostPath PersistentVolume bound to a claim of class "", protected (Terminating) while
 * a running pod uses the claim, gone once the pod is, and a Retain volume Released.
 */

type Json = Record<string, any>;
const NODE = "store-node";

describe("hostPath type checks (pure)", () => {
  const dir = mkdtempSync(join(tmpdir(), "hostpath-"));
  writeFileSync(join(dir, "file"), "x");
  mkdirSync(join(dir, "sub"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("checks each type and makes what the *OrCreate types allow", () => {
    assert.equal(checkHostPath(join(dir, "sub"), "Directory"), join(dir, "sub"));
    assert.equal(checkHostPath(join(dir, "file"), "File"), join(dir, "file"));
    assert.equal(checkHostPath(join(dir, "anything"), ""), join(dir, "anything"));
    assert.throws(() => checkHostPath(join(dir, "file"), "Directory"), { message: `hostPath type check failed: ${join(dir, "file")} is not a directory` });
    assert.throws(() => checkHostPath(join(dir, "sub"), "File"), /is not a file/);
    assert.throws(() => checkHostPath(join(dir, "missing"), "Directory"), HostPathError);
    assert.throws(() => checkHostPath(join(dir, "file"), "Socket"), /is not a socket file/);
    assert.throws(() => checkHostPath("/dev/null", "BlockDevice"), /is not a block device/);
    assert.equal(checkHostPath("/dev/null", "CharDevice"), "/dev/null");
    assert.throws(() => checkHostPath("relative/x", ""), /must be an absolute path/);
    assert.throws(() => checkHostPath(dir, "Nope"), /hostPath type "Nope" is not supported/);
    assert.ok(statSync(checkHostPath(join(dir, "made/deep"), "DirectoryOrCreate")).isDirectory());
    assert.ok(statSync(checkHostPath(join(dir, "new-file"), "FileOrCreate")).isFile());
    assert.throws(() => checkHostPath(join(dir, "no/parent/file"), "FileOrCreate"), /could not be created/);
    assert.equal(statSync(checkHostPath(join(dir, "open"), "DirectoryOrCreate", 0o777)).mode & 0o777, 0o777);
    assert.equal(volumeOfDir("pvc-1234_default_data"), "pvc-1234");
  });
});

async function apply(cluster: LocalCluster, obj: Json): Promise<void> {
  const r = await kubectl(cluster, ["apply", "-f", "-"], { input: JSON.stringify(obj) });
  assert.equal(r.code, 0, r.stderr);
}

const claimPod = (name: string, command: string, mounts: { claim?: string; hostPath?: { path: string; type: string } }, at: (p: string) => string): Json => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    volumes: [
      ...(mounts.claim ? [{ name: "data", persistentVolumeClaim: { claimName: mounts.claim } }] : []),
      ...(mounts.hostPath ? [{ name: "host", hostPath: mounts.hostPath }] : []),
    ],
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", command],
        volumeMounts: [...(mounts.claim ? [{ name: "data", mountPath: at("mnt-data") }] : []), ...(mounts.hostPath ? [{ name: "host", mountPath: at("mnt-host") }] : [])],
      },
    ],
  },
});

describe("node agent storage: local-path claims and hostPath", { skip: process.getuid?.() !== 0 ? "bind mounts in the pod's mount namespace need root" : false }, () => {
  let cluster: LocalCluster;
  let agent: RunningAgent;
  const dir = mkdtempSync(join(tmpdir(), "edgeplane-storage-"));
  const at = (p: string) => join(dir, p);
  const localPath = () => join(at("data"), "agent", "local-path");

  before(async () => {
    for (const d of ["mnt-data", "mnt-host"]) mkdirSync(at(d));
    cluster = await startCluster();
    agent = await startAgent({ api: { server: cluster.url, token: cluster.token, insecure: true }, name: NODE, runtime: "process", dataDir: at("data"), localPathSweepMs: 1000, log: () => {} });
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the default local-path StorageClass", async () => {
    const out = ok(await kubectl(cluster, ["get", "storageclass"]));
    assert.match(out, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE\n/);
    assert.match(out, /\nlocal-path \(default\)\s+edgeplane\.dev\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\S+\n/);
    const node = await waitFor(cluster, ["node", NODE], (n) => !!n?.metadata?.annotations?.["edgeplane.dev/local-path-root"], "node's local-path root");
    assert.equal(node.metadata.annotations["edgeplane.dev/local-path-root"], localPath());
  });

  it("provisions a claim on the node of its first pod; the data outlives the pod", async () => {
    await apply(cluster, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    const pending = (await getJson(cluster, ["pvc", "data"]))!;
    assert.equal(pending.spec.storageClassName, "local-path", "DefaultStorageClass admission named the default class");
    assert.equal(pending.status.phase, "Pending", "WaitForFirstConsumer: nothing is provisioned before a pod uses it");
    await apply(cluster, claimPod("writer", `echo kept > ${at("mnt-data")}/file; id -u >> ${at("mnt-data")}/file`, { claim: "data" }, at));
    const pod = await waitFor(cluster, ["pod", "writer"], (o) => o?.status?.phase === "Succeeded", "writer Succeeded");
    assert.equal(pod.spec.nodeName, NODE);
    const pvc = (await getJson(cluster, ["pvc", "data"]))!;
    assert.equal(pvc.status.phase, "Bound");
    assert.equal(pvc.spec.volumeName, `pvc-${pvc.metadata.uid}`);
    assert.equal(pvc.metadata.annotations["volume.kubernetes.io/selected-node"], NODE);
    const pv = (await getJson(cluster, ["pv", pvc.spec.volumeName]))!;
    assert.equal(pv.status.phase, "Bound");
    assert.deepEqual(pv.spec.claimRef && [pv.spec.claimRef.namespace, pv.spec.claimRef.name, pv.spec.claimRef.uid], ["default", "data", pvc.metadata.uid]);
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], { key: "kubernetes.io/hostname", operator: "In", values: [NODE] });
    const volumeDir = join(localPath(), `${pv.metadata.name}_default_data`);
    assert.equal(pv.spec.hostPath.path, volumeDir);
    assert.equal(readFileSync(join(volumeDir, "file"), "utf8"), "kept\n0\n", "the container wrote into the volume's directory");
    assert.deepEqual(readdirSync(at("mnt-data")), [], "the mount was the pod's own");
    const table = ok(await kubectl(cluster, ["get", "pvc,pv"]));
    assert.match(table, new RegExp(`persistentvolumeclaim/data\\s+Bound\\s+${pv.metadata.name}\\s+1Gi\\s+RWO\\s+local-path\\s+<unset>\\s+\\S+`));
    assert.match(table, new RegExp(`persistentvolume/${pv.metadata.name}\\s+1Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s+<unset>\\s+\\S+`));

    // A second pod (scheduled: the volume's node affinity holds it to the node) reads what the first wrote.
    ok(await kubectl(cluster, ["delete", "pod", "writer"]));
    await apply(cluster, claimPod("reader", `cat ${at("mnt-data")}/file`, { claim: "data" }, at));
    await waitFor(cluster, ["pod", "reader"], (o) => o?.status?.phase === "Succeeded", "reader Succeeded");
    assert.equal(ok(await kubectl(cluster, ["logs", "reader"])), "kept\n0\n");
    ok(await kubectl(cluster, ["delete", "pod", "reader"]));

    // reclaimPolicy Delete: the claim's deletion removes the volume, and the agent its directory.
    ok(await kubectl(cluster, ["delete", "pvc", "data"]));
    await waitFor(cluster, ["pv", pv.metadata.name], (o) => o === undefined, "volume deleted");
    const deadline = Date.now() + 30_000;
    while (existsSync(volumeDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
    assert.ok(!existsSync(volumeDir), "the agent removed the deleted volume's directory");
  });

  it("a pod whose claim does not exist is unschedulable until it does", async () => {
    await apply(cluster, claimPod("early", `cat ${at("mnt-data")}/nothing 2>/dev/null; echo ran`, { claim: "later" }, at));
    await waitFor(
      cluster,
      ["pod", "early"],
      (o) => (o?.status?.conditions ?? []).some((c: Json) => c.type === "PodScheduled" && c.reason === "Unschedulable" && /persistentvolumeclaim "later" not found/.test(c.message)),
      "early Unschedulable",
    );
    await apply(cluster, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "later" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } } });
    await waitFor(cluster, ["pod", "early"], (o) => o?.status?.phase === "Succeeded", "early Succeeded once its claim exists", 90_000);
    assert.equal((await getJson(cluster, ["pvc", "later"]))!.status.phase, "Bound");
  });

  it("a static hostPath volume: bound to a claim of class \"\", protected while a pod uses the claim, Released (Retain) after", async () => {
    const volumeDir = at("static-volume");
    await apply(cluster, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "static-pv" },
      spec: {
        capacity: { storage: "2Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        hostPath: { path: volumeDir, type: "DirectoryOrCreate" },
      },
    });
    await waitFor(cluster, ["pv", "static-pv"], (o) => o?.status?.phase === "Available", "static-pv Available");
    await apply(cluster, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "static" }, spec: { storageClassName: "", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    const claim = await waitFor(cluster, ["pvc", "static"], (o) => o?.status?.phase === "Bound", "claim bound to the static volume");
    assert.equal(claim.spec.volumeName, "static-pv");
    assert.deepEqual(claim.metadata.finalizers, ["kubernetes.io/pvc-protection"]);
    const table = ok(await kubectl(cluster, ["get", "pv/static-pv", "pvc/static"]));
    assert.match(table, /persistentvolume\/static-pv\s+2Gi\s+RWO\s+Retain\s+Bound\s+default\/static\s+<unset>\s+\S+/);
    assert.match(table, /persistentvolumeclaim\/static\s+Bound\s+static-pv\s+2Gi\s+RWO\s+<unset>\s+\S+/);

    await apply(cluster, claimPod("static-user", `echo static > ${at("mnt-data")}/file; sleep 600`, { claim: "static" }, at));
    await waitFor(cluster, ["pod", "static-user"], (o) => o?.status?.phase === "Running", "static-user Running");
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(volumeDir, "file")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(readFileSync(join(volumeDir, "file"), "utf8"), "static\n", "the pod wrote into the static volume's directory");

    // Deleting the claim while the pod runs leaves it Terminating (kubectl shows it) until the pod is gone.
    ok(await kubectl(cluster, ["delete", "pvc", "static", "--wait=false"]));
    const terminating = (await getJson(cluster, ["pvc", "static"]))!;
    assert.ok(terminating.metadata.deletionTimestamp, "deletionTimestamp set");
    assert.match(ok(await kubectl(cluster, ["get", "pvc", "static"])), /\nstatic\s+Terminating\s+static-pv\s+2Gi\s+RWO\s+/);
    // The volume is bound to a claim that still exists: deleting it leaves it Terminating too.
    ok(await kubectl(cluster, ["delete", "pv", "static-pv", "--wait=false"]));
    await new Promise((r) => setTimeout(r, 2000)); // the controllers had their chance to (wrongly) let them go
    assert.equal((await getJson(cluster, ["pvc", "static"]))?.metadata.name, "static", "the claim in use is kept");
    assert.match(ok(await kubectl(cluster, ["get", "pv", "static-pv"])), /\nstatic-pv\s+2Gi\s+RWO\s+Retain\s+Terminating\s+default\/static\s+/);
    assert.equal(readFileSync(join(volumeDir, "file"), "utf8"), "static\n");

    ok(await kubectl(cluster, ["delete", "pod", "static-user"]));
    await waitFor(cluster, ["pvc", "static"], (o) => o === undefined, "claim gone once no pod uses it");
    await waitFor(cluster, ["pv", "static-pv"], (o) => o === undefined, "volume gone once Released");
    assert.equal(readFileSync(join(volumeDir, "file"), "utf8"), "static\n", "Retain: the data stays on the node");
  });

  it("Retain: a volume whose claim is deleted is Released and keeps its claimRef", async () => {
    await apply(cluster, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "retained-pv" },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "manual", hostPath: { path: at("retained"), type: "DirectoryOrCreate" } },
    });
    await apply(cluster, { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "retained" }, spec: { storageClassName: "manual", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    await waitFor(cluster, ["pvc", "retained"], (o) => o?.status?.phase === "Bound", "retained Bound");
    ok(await kubectl(cluster, ["delete", "pvc", "retained"]));
    const pv = await waitFor(cluster, ["pv", "retained-pv"], (o) => o?.status?.phase === "Released", "retained-pv Released");
    assert.equal(pv.spec.claimRef.name, "retained");
    assert.match(ok(await kubectl(cluster, ["get", "pv", "retained-pv"])), /\nretained-pv\s+1Gi\s+RWO\s+Retain\s+Released\s+default\/retained\s+manual\s+/);
    ok(await kubectl(cluster, ["delete", "pv", "retained-pv"]));
  });

  it("hostPath: DirectoryOrCreate makes the directory and mounts it; a failed type check is a FailedMount event", async () => {
    const made = at("host-made");
    await apply(cluster, claimPod("hp", `echo from-pod > ${at("mnt-host")}/out`, { hostPath: { path: made, type: "DirectoryOrCreate" } }, at));
    await waitFor(cluster, ["pod", "hp"], (o) => o?.status?.phase === "Succeeded", "hp Succeeded");
    assert.equal(readFileSync(join(made, "out"), "utf8"), "from-pod\n");
    const missing = at("host-missing");
    await apply(cluster, claimPod("hp-bad", "true", { hostPath: { path: missing, type: "Directory" } }, at));
    const events = await waitForOutput(cluster, ["get", "events", "--field-selector", "involvedObject.name=hp-bad", "-o", "json"], (o) =>
      JSON.parse(o).items.some((e: Json) => e.reason === "FailedMount"),
    );
    const failed = JSON.parse(events).items.find((e: Json) => e.reason === "FailedMount");
    assert.equal(failed.message, `MountVolume.SetUp failed for volume "host" : hostPath type check failed: ${missing} is not a directory`);
    const pod = (await getJson(cluster, ["pod", "hp-bad"]))!;
    assert.equal(pod.status.containerStatuses[0].state.waiting.reason, "ContainerCreating");
  });
});
