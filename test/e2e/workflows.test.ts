import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

/** The seed workflows with real kubectl against the real local stack. */

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels:
    app: shop
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: localhost/busybox:latest
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - containerPort: 8080
`;

describe("kubectl workflows", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("applies a multi-document YAML", async () => {
    const r = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: MANIFESTS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/shop created/);
    assert.match(r.stdout, /configmap\/settings created/);
    assert.match(r.stdout, /deployment.apps\/web created/);
    const again = await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: MANIFESTS });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /configmap\/settings unchanged/);
  });

  it("gets objects as tables, wide tables, JSON and YAML", async () => {
    const table = await kubectl(cluster, ["get", "deploy", "-n", "shop"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    // No kubelet here: the controllers create pods (UP-TO-DATE may already count them), none is ready.
    assert.match(table.stdout, /^web\s+0\/2\s+[0-2]\s+0\s+\d+s/m);
    const wide = await kubectl(cluster, ["get", "deploy", "-n", "shop", "-o", "wide"]);
    assert.match(wide.stdout, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide.stdout, /web\s+localhost\/busybox:latest\s+app=web/);
    const json = JSON.parse((await kubectl(cluster, ["get", "cm", "settings", "-n", "shop", "-o", "json"])).stdout);
    assert.equal(json.data.color, "blue");
    assert.match(json.metadata.resourceVersion, /^\d+$/);
    const yaml = await kubectl(cluster, ["get", "ns", "shop", "-o", "yaml"]);
    assert.match(yaml.stdout, /name: shop/);
    const all = await kubectl(cluster, ["get", "cm", "-A"]);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+DATA|^NAMESPACE\s+NAME/m);
    assert.match(all.stdout, /shop\s+settings/);
    const missing = await kubectl(cluster, ["get", "cm", "nope", "-n", "shop"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /configmaps "nope" not found/);
  });

  it("labels objects and selects by label", async () => {
    const r = await kubectl(cluster, ["label", "cm", "settings", "-n", "shop", "tier=config"]);
    assert.equal(r.code, 0, r.stderr);
    const sel = await kubectl(cluster, ["get", "cm", "-n", "shop", "-l", "tier=config", "-o", "name"]);
    assert.equal(sel.stdout.trim(), "configmap/settings");
    const none = await kubectl(cluster, ["get", "cm", "-n", "shop", "-l", "tier=other", "-o", "name"]);
    assert.equal(none.stdout.trim(), "");
  });

  it("patches with a merge patch", async () => {
    const r = await kubectl(cluster, ["patch", "cm", "settings", "-n", "shop", "--type=merge", "-p", '{"data":{"size":"xl"}}']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse((await kubectl(cluster, ["get", "cm", "settings", "-n", "shop", "-o", "json"])).stdout);
    assert.deepEqual(json.data, { color: "blue", size: "xl" });
  });

  it("scales a deployment through the scale subresource", async () => {
    const r = await kubectl(cluster, ["scale", "deploy", "web", "-n", "shop", "--replicas=5"]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse((await kubectl(cluster, ["get", "deploy", "web", "-n", "shop", "-o", "json"])).stdout);
    assert.equal(json.spec.replicas, 5);
    assert.equal(json.metadata.generation, 2);
  });

  it("replace with a stale resourceVersion is a Conflict", async () => {
    const stale = JSON.parse((await kubectl(cluster, ["get", "cm", "settings", "-n", "shop", "-o", "json"])).stdout);
    await kubectl(cluster, ["label", "cm", "settings", "-n", "shop", "bump=1"]);
    stale.data.color = "red";
    const r = await kubectl(cluster, ["replace", "--validate=false", "-f", "-"], { input: JSON.stringify(stale) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on configmaps "settings": the object has been modified/);
    delete stale.metadata.resourceVersion;
    const ok = await kubectl(cluster, ["replace", "--validate=false", "-f", "-"], { input: JSON.stringify(stale) });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("lists in chunks", async () => {
    const docs = Array.from({ length: 12 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chunk-${String(i).padStart(2, "0")}\n  namespace: shop\n`).join("---\n");
    assert.equal((await kubectl(cluster, ["apply", "--validate=false", "-f", "-"], { input: docs })).code, 0);
    const r = await kubectl(cluster, ["get", "cm", "-n", "shop", "--chunk-size=5", "-o", "name", "-v=6"]);
    assert.equal(r.code, 0, r.stderr);
    const names = r.stdout.trim().split("\n").filter((l) => l.includes("chunk-"));
    assert.equal(names.length, 12);
    assert.equal((r.stderr.match(/limit=5/g) ?? []).length, 3);
    assert.match(r.stderr, /continue=/);
  });

  it("watches changes with -w", async () => {
    const watcher = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "get", "cm", "-n", "shop", "-w", "-l", "watched=yes"]);
    let out = "";
    watcher.stdout.on("data", (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1500));
    await kubectl(cluster, ["label", "cm", "settings", "-n", "shop", "watched=yes"]);
    await kubectl(cluster, ["create", "--validate=false", "-f", "-"], {
      input: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\n  namespace: shop\n  labels:\n    watched: \"yes\"\n",
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !/fresh/.test(out)) await new Promise((r) => setTimeout(r, 100));
    watcher.kill();
    assert.match(out, /settings/);
    assert.match(out, /fresh/);
  });

  it("deletes objects, then the namespace with what it holds", async () => {
    const r = await kubectl(cluster, ["delete", "cm", "fresh", "-n", "shop"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap "fresh" deleted/);
    const ns = await kubectl(cluster, ["delete", "ns", "shop", "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(ns.code, 0, ns.stderr);
    const gone = await kubectl(cluster, ["get", "ns", "shop"]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /not found/);
    const leftovers = await kubectl(cluster, ["get", "cm,deploy", "-n", "shop", "-o", "name"]);
    assert.equal(leftovers.stdout.trim(), "");
  });
});
