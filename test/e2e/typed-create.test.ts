import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LocalCluster } from "../../src/cli/local-cluster.ts";
import { kubectl, startCluster } from "./cluster.ts";

/**
 * Typed kubectl commands (`kubectl create <kind> ...`) send their objects as
 * application/vnd.kubernetes.protobuf; the server decodes them into the JSON object
 * kubectl would otherwise have sent. Default client-side options (validation on).
 */

const NS = "typed";

describe("typed kubectl create (protobuf request bodies)", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function create(args: string[], expect: RegExp) {
    const r = await kubectl(cluster, ["create", ...args]);
    assert.equal(r.code, 0, `kubectl create ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, expect);
  }

  async function get(kind: string, name: string, namespaced = true): Promise<any> {
    const r = await kubectl(cluster, ["get", kind, name, "-o", "json", ...(namespaced ? ["-n", NS] : [])]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  it("create namespace", async () => {
    await create(["namespace", NS], /namespace\/typed created/);
    const ns = await get("namespace", NS, false);
    assert.equal(ns.kind, "Namespace");
    assert.equal(ns.metadata.name, NS);
    assert.ok(ns.metadata.uid);
  });

  it("create configmap --from-literal", async () => {
    await create(["configmap", "settings", "-n", NS, "--from-literal=color=blue", "--from-literal=size=xl"], /configmap\/settings created/);
    const cm = await get("configmap", "settings");
    assert.deepEqual(cm.data, { color: "blue", size: "xl" });
    assert.equal(cm.metadata.namespace, NS);
  });

  it("create secret generic --from-literal (data is base64 in JSON)", async () => {
    await create(["secret", "generic", "creds", "-n", NS, "--from-literal=user=admin", "--from-literal=pass=s3cr=t"], /secret\/creds created/);
    const s = await get("secret", "creds");
    assert.equal(s.type, "Opaque");
    assert.deepEqual(s.data, { user: btoa("admin"), pass: btoa("s3cr=t") });
  });

  it("create deployment --image --replicas --port", async () => {
    await create(["deployment", "web", "-n", NS, "--image=nginx:1.27", "--replicas=2", "--port=8080"], /deployment.apps\/web created/);
    const d = await get("deployment", "web");
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.metadata.labels, { app: "web" });
    assert.deepEqual(d.spec.selector, { matchLabels: { app: "web" } });
    assert.deepEqual(d.spec.template.metadata.labels, { app: "web" });
    const [c] = d.spec.template.spec.containers;
    assert.equal(c.name, "nginx");
    assert.equal(c.image, "nginx:1.27");
    assert.equal(c.ports[0].containerPort, 8080);
  });

  it("create deployment --replicas=0 keeps the explicit zero", async () => {
    await create(["deployment", "idle", "-n", NS, "--image=nginx", "--replicas=0"], /deployment.apps\/idle created/);
    const d = await get("deployment", "idle");
    assert.equal(d.spec.replicas, 0);
  });

  it("create job -- command", async () => {
    await create(["job", "once", "-n", NS, "--image=busybox", "--", "echo", "hi"], /job.batch\/once created/);
    const j = await get("job", "once");
    const [c] = j.spec.template.spec.containers;
    assert.equal(c.image, "busybox");
    assert.deepEqual(c.command, ["echo", "hi"]);
    assert.equal(j.spec.template.spec.restartPolicy, "Never");
  });

  it("create cronjob --schedule, then create job --from=cronjob", async () => {
    await create(["cronjob", "tick", "-n", NS, "--image=busybox", "--schedule=*/5 * * * *", "--", "date"], /cronjob.batch\/tick created/);
    const cj = await get("cronjob", "tick");
    assert.equal(cj.spec.schedule, "*/5 * * * *");
    const tpl = cj.spec.jobTemplate.spec.template.spec;
    assert.deepEqual(tpl.containers[0].command, ["date"]);
    assert.equal(tpl.restartPolicy, "OnFailure");

    await create(["job", "tick-now", "-n", NS, "--from=cronjob/tick"], /job.batch\/tick-now created/);
    const j = await get("job", "tick-now");
    assert.equal(j.metadata.annotations["cronjob.kubernetes.io/instantiate"], "manual");
    const [owner] = j.metadata.ownerReferences;
    assert.equal(owner.kind, "CronJob");
    assert.equal(owner.name, "tick");
    assert.equal(owner.uid, cj.metadata.uid);
    assert.equal(owner.controller, true);
  });

  it("create service clusterip --tcp (numeric and named target ports)", async () => {
    await create(["service", "clusterip", "front", "-n", NS, "--tcp=80:8080", "--tcp=443:https"], /service\/front created/);
    const s = await get("service", "front");
    assert.equal(s.spec.type, "ClusterIP");
    assert.deepEqual(s.spec.selector, { app: "front" });
    assert.deepEqual(
      s.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]),
      [
        ["80-8080", 80, 8080],
        ["443-https", 443, "https"],
      ],
    );
  });

  it("create serviceaccount", async () => {
    await create(["serviceaccount", "robot", "-n", NS], /serviceaccount\/robot created/);
    const sa = await get("serviceaccount", "robot");
    assert.equal(sa.metadata.name, "robot");
  });

  it("create quota --hard (quantities)", async () => {
    await create(["quota", "limits", "-n", NS, "--hard=cpu=1,memory=1Gi,pods=10"], /resourcequota\/limits created/);
    const q = await get("resourcequota", "limits");
    assert.deepEqual(q.spec.hard, { cpu: "1", memory: "1Gi", pods: "10" });
  });

  it("create ingress and pdb", async () => {
    await create(["ingress", "site", "-n", NS, "--rule=foo.example/bar=front:80"], /ingress.networking.k8s.io\/site created/);
    const ing = await get("ingress", "site");
    const [rule] = ing.spec.rules;
    assert.equal(rule.host, "foo.example");
    assert.equal(rule.http.paths[0].path, "/bar");
    assert.deepEqual(rule.http.paths[0].backend, { service: { name: "front", port: { number: 80 } } });

    await create(["pdb", "keep", "-n", NS, "--selector=app=web", "--min-available=1"], /poddisruptionbudget.policy\/keep created/);
    const pdb = await get("pdb", "keep");
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector, { matchLabels: { app: "web" } });
  });
});
