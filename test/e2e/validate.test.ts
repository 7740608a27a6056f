import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl as run, startCluster } from "./cluster.ts";

/**
 * kubectl with its default validation (--validate=strict): it reads /openapi/v3 to learn
 * that the server validates fields itself (the fieldValidation parameter), sends
 * fieldValidation=Strict, and reports the server's strict decoding errors.
 */

const manifests = (ns: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${ns}
data:
  color: blue
  count: "3"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${ns}
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: localhost/busybox:latest
        command: ["httpd", "-f", "-p", "8080"]
        ports: [{containerPort: 8080, name: http}]
        env: [{name: MODE, value: prod}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 1}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: http
---
apiVersion: batch/v1
kind: Job
metadata:
  name: once
  namespace: ${ns}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: localhost/busybox:latest
        command: ["sh", "-c", "echo done"]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: ${ns}
spec:
  rules:
  # a host belongs to one namespace (edge host claims): one per namespace here
  - host: ${ns}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port: {number: 80}
`;

const CREATED = ["namespace/", "configmap/settings", "deployment.apps/web", "service/web", "job.batch/once", "ingress.networking.k8s.io/web"];

describe("kubectl default validation", () => {
  let cluster: LocalCluster;
  // A private cache directory: kubectl caches OpenAPI documents on disk by URL.
  const cacheDir = mkdtempSync(join(tmpdir(), "edgeplane-kubectl-cache-"));
  const kubectl = (args: string[], opts: { input?: string } = {}) => run(cluster, ["--cache-dir", cacheDir, ...args], opts);

  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("applies Namespace, ConfigMap, Deployment, Service, Job and Ingress without --validate=false", async () => {
    const r = await kubectl(["apply", "-f", "-"], { input: manifests("val-apply") });
    assert.equal(r.code, 0, r.stderr);
    for (const what of CREATED) assert.match(r.stdout, new RegExp(`${what.replace(/\./g, "\\.")}\\S* created`), r.stdout);
    assert.doesNotMatch(r.stderr, /error validating|openapi/i, r.stderr);
    const got = await kubectl(["get", "deployment", "web", "-n", "val-apply", "-o", "jsonpath={.spec.replicas}"]);
    assert.equal(got.stdout, "2", got.stderr);
  });

  it("creates the same kinds without --validate=false", async () => {
    const r = await kubectl(["create", "-f", "-"], { input: manifests("val-create") });
    assert.equal(r.code, 0, r.stderr);
    for (const what of CREATED) assert.match(r.stdout, new RegExp(`${what.replace(/\./g, "\\.")}\\S* created`), r.stdout);
  });

  const bogus = `apiVersion: v1
kind: ConfigMap
metadata:
  name: bogus
  namespace: val-apply
bogus: 1
data:
  a: "1"
`;

  it("fails apply and create on an unknown top-level field with the server's strict decoding error", async () => {
    for (const verb of ["apply", "create"]) {
      const r = await kubectl([verb, "-f", "-"], { input: bogus });
      assert.notEqual(r.code, 0, `${verb}: ${r.stdout}`);
      assert.match(r.stderr, /Error from server \(BadRequest\).*strict decoding error: unknown field "bogus"/, r.stderr);
    }
    const gone = await kubectl(["get", "configmap", "bogus", "-n", "val-apply"]);
    assert.notEqual(gone.code, 0);
  });

  it("with --validate=warn, drops the unknown field and prints the server's warning", async () => {
    const r = await kubectl(["apply", "--validate=warn", "-f", "-"], { input: bogus });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unknown field "bogus"/, r.stderr);
    const got = await kubectl(["get", "configmap", "bogus", "-n", "val-apply", "-o", "json"]);
    assert.equal(JSON.parse(got.stdout).bogus, undefined);
  });

  it("leaves nested fields to the server: kubectl itself never rejects a manifest client-side", async () => {
    const r = await kubectl(["apply", "-f", "-"], {
      input: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nested
  namespace: val-apply
spec:
  foo: 1
  selector: {matchLabels: {app: nested}}
  template:
    metadata: {labels: {app: nested}}
    spec:
      containers: [{name: c, image: localhost/busybox:latest}]
`,
    });
    // The server does not detect unknown nested fields yet; when it does, the failure must
    // still come from the server, never from kubectl's client-side schema validation.
    if (r.code !== 0) assert.match(r.stderr, /Error from server \(BadRequest\).*unknown field "spec\.foo"/, r.stderr);
    assert.doesNotMatch(r.stderr, /error validating/, r.stderr);
  });

  it("applies a kind: List (validated client-side against /openapi/v2)", async () => {
    const v2 = await kubectl(["get", "--raw", "/openapi/v2"]);
    assert.equal(v2.code, 0, v2.stderr);
    const r = await kubectl(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: from-list, namespace: val-apply}
  data: {a: "1"}
`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap\/from-list created/);
  });

  it("explains kinds and fields from the OpenAPI v3 documents", async () => {
    const r = await kubectl(["explain", "deployment"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GROUP:\s+apps/);
    assert.match(r.stdout, /KIND:\s+Deployment/);
    assert.match(r.stdout, /VERSION:\s+v1/);
    assert.match(r.stdout, /Deployment enables declarative updates/);
    assert.match(r.stdout, /spec\t<DeploymentSpec>/);
    assert.match(r.stdout, /metadata\t<ObjectMeta>/);

    const replicas = await kubectl(["explain", "deployment.spec.replicas"]);
    assert.equal(replicas.code, 0, replicas.stderr);
    assert.match(replicas.stdout, /FIELD: replicas <integer>/);

    const containers = await kubectl(["explain", "pods.spec.containers.image"]);
    assert.equal(containers.code, 0, containers.stderr);
    assert.match(containers.stdout, /FIELD: image <string>/);

    const cm = await kubectl(["explain", "configmap.data"]);
    assert.equal(cm.code, 0, cm.stderr);
    assert.match(cm.stdout, /map\[string\]string/);
  });
});
