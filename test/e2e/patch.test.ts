import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

/**
 * Every way kubectl changes an object in place, with real kubectl: client-side apply
 * (three-way strategic merge patches), set image, label/annotate (merge patches), patch
 * --type json|merge|strategic, server-side apply, edit and rollout undo (JSON patch).
 *
 * Each step checks the whole object: what the step should change is applied to the object
 * read before it, and everything else must come back identical. Only fields the server owns
 * (resourceVersion, generation, managedFields, status, the deployment revision) are left out.
 */

const NS = "patching";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

// Parsed kubectl JSON, compared whole with deepEqual.
type Obj = Record<string, any>;

const manifest = (image: string, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
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
        image: ${image}
        env:
${env}
        ports:
        - containerPort: 8080
      - name: side
        image: busybox:1.36
`;

const ENV_AB = `        - name: A
          value: "1"
        - name: B
          value: "2"`;
const ENV_A = `        - name: A
          value: "1"`;

/** The object without what the server changes on its own; the last-applied annotation parsed. */
function stable(obj: Obj): Obj {
  const o = structuredClone(obj);
  delete o.status;
  for (const f of ["resourceVersion", "generation", "managedFields"]) delete o.metadata[f];
  const ann = o.metadata.annotations;
  if (ann) {
    delete ann["deployment.kubernetes.io/revision"];
    if (ann[LAST_APPLIED]) ann[LAST_APPLIED] = JSON.parse(ann[LAST_APPLIED]);
    if (Object.keys(ann).length === 0) delete o.metadata.annotations;
  }
  return o;
}

describe("kubectl patching", () => {
  let cluster: LocalCluster;
  let work: string;

  const run = async (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = await kubectl(cluster, args, opts);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const get = async (what = "deploy/web"): Promise<Obj> => JSON.parse(await run(["get", what, "-n", NS, "-o", "json"]));
  const containers = (o: Obj): Obj[] => o.spec.template.spec.containers;

  before(async () => {
    cluster = await startCluster();
    work = mkdtempSync(join(tmpdir(), "edgeplane-patch-"));
    await run(["create", "namespace", NS]);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("client-side apply creates, then re-applies a changed image and a removed env var", async () => {
    const created = await run(["apply", "--validate=false", "-f", "-"], { input: manifest("nginx:1.0", ENV_AB) });
    assert.match(created, /deployment.apps\/web created/);
    const before = await get();
    assert.deepEqual(containers(before).map((c) => [c.name, c.image]), [["web", "nginx:1.0"], ["side", "busybox:1.36"]]);
    assert.deepEqual(containers(before)[0].env, [{ name: "A", value: "1" }, { name: "B", value: "2" }]);

    const out = await run(["apply", "--validate=false", "-f", "-"], { input: manifest("nginx:2.0", ENV_A) });
    assert.match(out, /deployment.apps\/web configured/);
    const expected = stable(before);
    containers(expected)[0].image = "nginx:2.0";
    containers(expected)[0].env = [{ name: "A", value: "1" }];
    const applied = expected.metadata.annotations[LAST_APPLIED];
    applied.spec.template.spec.containers[0].image = "nginx:2.0";
    applied.spec.template.spec.containers[0].env = [{ name: "A", value: "1" }];
    assert.deepEqual(stable(await get()), expected);

    const again = await run(["apply", "--validate=false", "-f", "-"], { input: manifest("nginx:2.0", ENV_A) });
    assert.match(again, /deployment.apps\/web unchanged/);
  });

  it("kubectl set image changes one container's image", async () => {
    const before = await get();
    assert.match(await run(["set", "image", "deploy/web", "-n", NS, "side=busybox:1.37"]), /image updated/);
    const expected = stable(before);
    containers(expected)[1].image = "busybox:1.37";
    assert.deepEqual(stable(await get()), expected);
  });

  it("kubectl label and annotate add and remove metadata", async () => {
    const before = await get();
    await run(["label", "deploy/web", "-n", NS, "tier=frontend", "team=a"]);
    await run(["annotate", "deploy/web", "-n", NS, "note=hello"]);
    await run(["label", "deploy/web", "-n", NS, "team-"]);
    const expected = stable(before);
    expected.metadata.labels = { app: "web", tier: "frontend" };
    expected.metadata.annotations.note = "hello";
    assert.deepEqual(stable(await get()), expected);
    const overwrite = await kubectl(cluster, ["label", "deploy/web", "-n", NS, "tier=backend"]);
    assert.notEqual(overwrite.code, 0);
    assert.match(overwrite.stderr, /already has a value \(frontend\)/);
  });

  it("kubectl patch --type=json applies RFC 6902 operations; a failed test changes nothing", async () => {
    const before = await get();
    await run([
      "patch", "deploy/web", "-n", NS, "--type=json", "-p",
      JSON.stringify([
        { op: "test", path: "/spec/replicas", value: 2 },
        { op: "replace", path: "/spec/replicas", value: 3 },
        { op: "add", path: "/metadata/labels/json", value: "yes" },
        { op: "add", path: "/spec/template/spec/containers/0/env/-", value: { name: "J", value: "j" } },
        { op: "remove", path: "/metadata/annotations/note" },
      ]),
    ]);
    const expected = stable(before);
    expected.spec.replicas = 3;
    expected.metadata.labels.json = "yes";
    containers(expected)[0].env.push({ name: "J", value: "j" });
    delete expected.metadata.annotations.note;
    const patched = stable(await get());
    assert.deepEqual(patched, expected);

    const failed = await kubectl(cluster, ["patch", "deploy/web", "-n", NS, "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":5}]']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /The request is invalid: the server rejected our request due to an error in our request: test operation failed/);
    const missing = await kubectl(cluster, ["patch", "deploy/web", "-n", NS, "--type=json", "-p", '[{"op":"remove","path":"/spec/nothing"}]']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /remove operation does not apply: doc is missing key: "\/spec\/nothing"/);
    const malformed = await kubectl(cluster, ["patch", "deploy/web", "-n", NS, "--type=json", "-p", '[{"op":"frobnicate","path":"/spec"}]']);
    assert.notEqual(malformed.code, 0);
    assert.match(malformed.stderr, /BadRequest.*"op" must be one of add, remove, replace, move, copy or test/);
    assert.deepEqual(stable(await get()), patched);
  });

  it("kubectl patch --type=merge replaces lists and deletes with null", async () => {
    const before = await get();
    await run(["patch", "deploy/web", "-n", NS, "--type=merge", "-p", '{"metadata":{"labels":{"json":null},"annotations":{"merged":"1"}},"spec":{"minReadySeconds":5}}']);
    const expected = stable(before);
    delete expected.metadata.labels.json;
    expected.metadata.annotations.merged = "1";
    expected.spec.minReadySeconds = 5;
    assert.deepEqual(stable(await get()), expected);
  });

  it("kubectl patch --type=strategic merges containers by name, and $patch: delete removes one", async () => {
    const before = await get();
    await run(["patch", "deploy/web", "-n", NS, "--type=strategic", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"redis:7"},{"name":"web","env":[{"name":"A","value":"one"}]}]}}}}']);
    const patched = await get();
    const extra = containers(patched)[0];
    assert.equal(extra.name, "extra");
    assert.equal(extra.image, "redis:7");
    const expected = stable(before);
    containers(expected)[0].env[0].value = "one";
    containers(expected).unshift(extra); // a new element without an order goes first, as in Kubernetes
    assert.deepEqual(stable(patched), expected);

    await run(["patch", "deploy/web", "-n", NS, "--type=strategic", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"extra","$patch":"delete"}]}}}}']);
    containers(expected).shift();
    assert.deepEqual(stable(await get()), expected);
  });

  it("kubectl apply --server-side merges the configuration into the live object", async () => {
    const before = await get();
    const config = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels:
    ssa: "yes"
spec:
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
        image: nginx:2.1
        env:
        - name: C
          value: "3"
`;
    assert.match(await run(["apply", "--server-side", "--validate=false", "-f", "-"], { input: config }), /deployment.apps\/web serverside-applied/);
    const expected = stable(before);
    expected.metadata.labels.ssa = "yes";
    containers(expected)[0].image = "nginx:2.1";
    containers(expected)[0].env.push({ name: "C", value: "3" });
    assert.deepEqual(stable(await get()), expected);
    // --force-conflicts is accepted (there are no conflicts without field ownership)
    assert.match(await run(["apply", "--server-side", "--force-conflicts", "--validate=false", "-f", "-"], { input: config }), /serverside-applied/);
    assert.deepEqual(stable(await get()), expected);
  });

  it("kubectl apply --server-side creates a missing object", async () => {
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-cm\n  namespace: ${NS}\ndata:\n  a: "1"\n`;
    assert.match(await run(["apply", "--server-side", "--validate=false", "-f", "-"], { input: cm }), /configmap\/ssa-cm serverside-applied/);
    await run(["apply", "--server-side", "--validate=false", "-f", "-"], { input: cm.replace('a: "1"', 'b: "2"') });
    assert.deepEqual((await get("configmap/ssa-cm")).data, { a: "1", b: "2" });
  });

  it("kubectl edit sends what the editor changed", async () => {
    const before = await get();
    const editor = join(work, "editor.sh");
    writeFileSync(editor, "#!/bin/sh\nsed -i 's/nginx:2.1/nginx:3.0/' \"$1\"\n");
    chmodSync(editor, 0o755);
    const out = await run(["edit", "deploy/web", "-n", NS], { env: { EDITOR: editor, KUBE_EDITOR: editor } });
    assert.match(out, /deployment.apps\/web edited/);
    const expected = stable(before);
    containers(expected)[0].image = "nginx:3.0";
    assert.deepEqual(stable(await get()), expected);
  });

  it("kubectl rollout undo restores an earlier ReplicaSet's template with a JSON patch", async () => {
    const deployment = await get();
    await run(["annotate", "deploy/web", "-n", NS, "--overwrite", "deployment.kubernetes.io/revision=2"]);
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "web-old",
        namespace: NS,
        labels: { app: "web", "pod-template-hash": "old" },
        // a revision no deployment controller reaches in this test
        annotations: { "deployment.kubernetes.io/revision": "1000", "from-rs": "yes" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: deployment.metadata.uid, controller: true }],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "web", "pod-template-hash": "old" } },
        template: {
          metadata: { labels: { app: "web", "pod-template-hash": "old" } },
          spec: { containers: [{ name: "web", image: "nginx:0.9" }] },
        },
      },
    };
    await run(["create", "--validate=false", "-f", "-"], { input: JSON.stringify(rs) });
    const stored = await get("rs/web-old");
    assert.match(await run(["rollout", "undo", "deploy/web", "-n", NS, "--to-revision=1000"]), /deployment.apps\/web rolled back/);

    const expected = stable(deployment);
    const template = structuredClone(stored.spec.template);
    delete template.metadata.labels["pod-template-hash"];
    expected.spec.template = template;
    // kubectl keeps the deployment's own annotations (last-applied, revision) and takes the rest from the ReplicaSet
    expected.metadata.annotations = { [LAST_APPLIED]: expected.metadata.annotations[LAST_APPLIED], "from-rs": "yes" };
    const got = stable(await get());
    delete got.spec.template.metadata.creationTimestamp; // kubectl sends the typed template's creationTimestamp: null
    delete expected.spec.template.metadata.creationTimestamp;
    assert.deepEqual(got, expected);
  });
});
