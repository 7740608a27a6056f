import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/errors.ts";
import { schemaFor } from "../../src/api/patch-strategy.ts";
import { strategicMergePatch } from "../../src/api/strategic-merge.ts";

type Obj = Record<string, unknown>;

const DEPLOYMENT = schemaFor({ group: "apps", kind: "Deployment" });
const POD = schemaFor({ group: "", kind: "Pod" });

function failure(fn: () => unknown): { code: number; reason: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, reason: e.reason };
    throw e;
  }
  throw new Error("expected an ApiError");
}

/** A live Deployment as the server stores it after `kubectl apply` and some defaulting. */
function liveDeployment(): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: { app: "web" }, annotations: { note: "x" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx:1.0",
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
              ],
              ports: [{ containerPort: 8080, protocol: "TCP" }],
              imagePullPolicy: "IfNotPresent",
            },
            { name: "side", image: "busybox", imagePullPolicy: "Always" },
          ],
          restartPolicy: "Always",
        },
      },
    },
  };
}

const containersOf = (d: Obj) => ((d.spec as Obj).template as { spec: { containers: Obj[] } }).spec.containers;

describe("strategic merge patch: what kubectl sends", () => {
  it("client-side apply removing an env var and changing the image ($setElementOrder + $patch: delete)", () => {
    // The body kubectl 1.32 sent for `kubectl apply` after dropping env B and bumping the image.
    const patch = {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}\n" } },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "side" }],
            containers: [{ "$setElementOrder/env": [{ name: "A" }], env: [{ $patch: "delete", name: "B" }], image: "nginx:2.0", name: "web" }],
          },
        },
      },
    };
    const out = strategicMergePatch(liveDeployment(), patch, DEPLOYMENT);
    const want = liveDeployment();
    (want.metadata as Obj).annotations = { note: "x", "kubectl.kubernetes.io/last-applied-configuration": "{...}\n" };
    containersOf(want)[0] = {
      name: "web",
      image: "nginx:2.0",
      env: [{ name: "A", value: "1" }],
      ports: [{ containerPort: 8080, protocol: "TCP" }],
      imagePullPolicy: "IfNotPresent",
    };
    expect(out).toEqual(want);
    expect(containersOf(out).map((c) => c.name)).toEqual(["web", "side"]);
  });

  it("client-side apply renaming an env var keeps server-only entries where Kubernetes puts them", () => {
    const live = liveDeployment();
    containersOf(live)[0].env = [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
      { name: "X", value: "server-side" },
    ];
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "side" }],
            containers: [
              { "$setElementOrder/env": [{ name: "A" }, { name: "D" }], env: [{ name: "D", value: "4" }, { $patch: "delete", name: "B" }], name: "web" },
            ],
          },
        },
      },
    };
    const out = strategicMergePatch(live, patch, DEPLOYMENT);
    expect(containersOf(out)[0].env).toEqual([
      { name: "A", value: "1" },
      { name: "X", value: "server-side" },
      { name: "D", value: "4" },
    ]);
  });

  it("kubectl set image", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "side" }],
            containers: [
              { image: "nginx:3.0", name: "web" },
              { image: "busybox:1", name: "side" },
            ],
          },
        },
      },
    };
    const out = strategicMergePatch(liveDeployment(), patch, DEPLOYMENT);
    expect(containersOf(out).map((c) => [c.name, c.image, c.imagePullPolicy])).toEqual([
      ["web", "nginx:3.0", "IfNotPresent"],
      ["side", "busybox:1", "Always"],
    ]);
    expect(containersOf(out)[0].env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]);
  });

  it("a new container without an order goes first, as in Kubernetes", () => {
    const patch = { spec: { template: { spec: { containers: [{ name: "extra", image: "redis" }] } } } };
    const out = strategicMergePatch(liveDeployment(), patch, DEPLOYMENT);
    expect(containersOf(out).map((c) => c.name)).toEqual(["extra", "web", "side"]);
  });

  it("$setElementOrder puts a new container where the user wrote it", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "extra" }, { name: "side" }],
            containers: [{ name: "extra", image: "redis" }],
          },
        },
      },
    };
    const out = strategicMergePatch(liveDeployment(), patch, DEPLOYMENT);
    expect(containersOf(out).map((c) => c.name)).toEqual(["web", "extra", "side"]);
    expect(containersOf(out)[1]).toEqual({ name: "extra", image: "redis" });
  });

  it("kubectl label/annotate style nulls delete map keys", () => {
    const out = strategicMergePatch(liveDeployment(), { metadata: { labels: { app: null, tier: "fe" }, annotations: null } }, DEPLOYMENT);
    expect(out.metadata).toEqual({ name: "web", namespace: "default", labels: { tier: "fe" } });
  });
});

describe("strategic merge patch: merge keys per kind", () => {
  it("merges container ports by containerPort and env by name at a Pod's spec", () => {
    const pod = {
      metadata: { name: "p" },
      spec: {
        containers: [
          {
            name: "c",
            ports: [
              { containerPort: 80, name: "http" },
              { containerPort: 443, name: "https" },
            ],
            env: [{ name: "A", value: "1" }],
          },
        ],
      },
    };
    const out = strategicMergePatch(
      pod,
      { spec: { containers: [{ name: "c", ports: [{ containerPort: 443, name: "tls" }], env: [{ name: "A", value: "2" }] }] } },
      POD,
    );
    expect(out.spec).toEqual({
      containers: [
        {
          name: "c",
          ports: [
            { containerPort: 80, name: "http" },
            { containerPort: 443, name: "tls" },
          ],
          env: [{ name: "A", value: "2" }],
        },
      ],
    });
  });

  it("finds the pod template of a CronJob at spec.jobTemplate.spec.template.spec", () => {
    const cron = {
      metadata: { name: "c" },
      spec: {
        schedule: "* * * * *",
        jobTemplate: { spec: { template: { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } } } },
      },
    };
    const out = strategicMergePatch(
      cron,
      { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "b", image: "2" }] } } } } } },
      schemaFor({ group: "batch", kind: "CronJob" }),
    );
    expect(out.spec).toEqual({
      schedule: "* * * * *",
      jobTemplate: { spec: { template: { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "2" }] } } } },
    });
  });

  it("merges Service ports by port", () => {
    const svc = { metadata: { name: "s" }, spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] } };
    const out = strategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, schemaFor({ group: "", kind: "Service" }));
    expect(out.spec).toEqual({ ports: [{ port: 80, targetPort: 9090 }, { port: 443, targetPort: 8443 }] });
  });

  it("merges ownerReferences by uid and finalizers as a set", () => {
    const obj = {
      metadata: {
        name: "x",
        finalizers: ["a", "b"],
        ownerReferences: [{ uid: "1", name: "one", kind: "ReplicaSet", apiVersion: "apps/v1" }],
      },
    };
    const out = strategicMergePatch(
      obj,
      { metadata: { finalizers: ["b", "c"], ownerReferences: [{ uid: "2", name: "two", kind: "ReplicaSet", apiVersion: "apps/v1" }] } },
      schemaFor({ group: "", kind: "ConfigMap" }),
    );
    expect(out.metadata).toEqual({
      name: "x",
      finalizers: ["a", "b", "c"],
      ownerReferences: [
        { uid: "2", name: "two", kind: "ReplicaSet", apiVersion: "apps/v1" },
        { uid: "1", name: "one", kind: "ReplicaSet", apiVersion: "apps/v1" },
      ],
    });
  });

  it("removes finalizers with $deleteFromPrimitiveList and orders with $setElementOrder", () => {
    const obj = { metadata: { name: "x", finalizers: ["a", "b", "c"] } };
    const out = strategicMergePatch(
      obj,
      { metadata: { "$setElementOrder/finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"] } },
      POD,
    );
    expect(out.metadata).toEqual({ name: "x", finalizers: ["c", "a"] });
  });

  it("replaces atomic lists (tolerations, args) and lists at unknown paths", () => {
    const pod = {
      metadata: { name: "p" },
      spec: {
        tolerations: [{ key: "a", operator: "Exists" }],
        containers: [{ name: "c", args: ["1", "2"] }],
        custom: [{ name: "x", v: 1 }],
      },
    };
    const out = strategicMergePatch(
      pod,
      { spec: { tolerations: [{ key: "b", operator: "Exists" }], containers: [{ name: "c", args: ["3"] }], custom: [{ name: "y" }] } },
      POD,
    );
    expect(out.spec).toEqual({
      tolerations: [{ key: "b", operator: "Exists" }],
      containers: [{ name: "c", args: ["3"] }],
      custom: [{ name: "y" }],
    });
  });

  it("merges maps at unknown paths key by key", () => {
    const out = strategicMergePatch({ metadata: { name: "x" }, data: { a: "1", b: "2" } }, { data: { b: null, c: "3" } }, POD);
    expect(out).toEqual({ metadata: { name: "x" }, data: { a: "1", c: "3" } });
  });

  it("replaces a PodDisruptionBudget selector whole (patchStrategy replace)", () => {
    const pdb = { metadata: { name: "p" }, spec: { selector: { matchLabels: { a: "1" } }, minAvailable: 1 } };
    const out = strategicMergePatch(pdb, { spec: { selector: { matchLabels: { b: "2" } } } }, schemaFor({ group: "policy", kind: "PodDisruptionBudget" }));
    expect(out.spec).toEqual({ selector: { matchLabels: { b: "2" } }, minAvailable: 1 });
  });

  it("merges status conditions by type", () => {
    const d = { metadata: { name: "d" }, status: { conditions: [{ type: "Available", status: "False" }, { type: "Progressing", status: "True" }] } };
    const out = strategicMergePatch(d, { status: { conditions: [{ type: "Available", status: "True" }] } }, DEPLOYMENT);
    expect(out.status).toEqual({ conditions: [{ type: "Available", status: "True" }, { type: "Progressing", status: "True" }] });
  });
});

describe("strategic merge patch: directives", () => {
  it("$patch: replace on a list replaces it", () => {
    const out = strategicMergePatch(
      liveDeployment(),
      { spec: { template: { spec: { containers: [{ name: "only", image: "x" }, { $patch: "replace" }] } } } },
      DEPLOYMENT,
    );
    expect(containersOf(out)).toEqual([{ name: "only", image: "x" }]);
  });

  it("$patch: replace on a map replaces it; $patch: delete empties it", () => {
    const out = strategicMergePatch(
      liveDeployment(),
      { metadata: { labels: { $patch: "replace", fresh: "1" }, annotations: { $patch: "delete" } } },
      DEPLOYMENT,
    );
    expect(out.metadata).toEqual({ name: "web", namespace: "default", labels: { fresh: "1" }, annotations: {} });
  });

  it("$patch: delete removes a list element by merge key; deleting what is absent is fine", () => {
    const out = strategicMergePatch(
      liveDeployment(),
      { spec: { template: { spec: { containers: [{ name: "side", $patch: "delete" }, { name: "ghost", $patch: "delete" }] } } } },
      DEPLOYMENT,
    );
    expect(containersOf(out).map((c) => c.name)).toEqual(["web"]);
  });

  it("$retainKeys clears the other fields of a Deployment strategy (RollingUpdate -> Recreate)", () => {
    // What kubectl sends when the applied strategy changes to Recreate.
    const patch = { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } } };
    const out = strategicMergePatch(liveDeployment(), patch, DEPLOYMENT);
    expect((out.spec as Obj).strategy).toEqual({ type: "Recreate" });
  });

  it("$retainKeys in a volume switches its source", () => {
    const pod = { metadata: { name: "p" }, spec: { volumes: [{ name: "v", emptyDir: {} }, { name: "w", emptyDir: {} }] } };
    const out = strategicMergePatch(pod, { spec: { volumes: [{ $retainKeys: ["configMap", "name"], name: "v", configMap: { name: "cm" } }] } }, POD);
    expect(out.spec).toEqual({ volumes: [{ name: "v", configMap: { name: "cm" } }, { name: "w", emptyDir: {} }] });
  });

  it("new values carry no directives or nulls", () => {
    const out = strategicMergePatch(
      { metadata: { name: "p" }, spec: {} },
      {
        spec: {
          containers: [{ name: "c", env: [{ name: "A", value: "1" }, { name: "Z", $patch: "delete" }], "$setElementOrder/env": [{ name: "A" }], resources: null }],
          affinity: { $patch: "delete" },
          securityContext: { $patch: "replace", runAsUser: 1 },
        },
      },
      POD,
    );
    expect(out.spec).toEqual({ containers: [{ name: "c", env: [{ name: "A", value: "1" }] }], securityContext: { runAsUser: 1 } });
  });

  it("rejects malformed directives with 400 and lists of lists with 422", () => {
    const live = liveDeployment();
    const bad: [Obj, number][] = [
      [{ metadata: { $patch: "explode" } }, 400],
      [{ spec: { template: { spec: { containers: [{ image: "no-name" }] } } } }, 400],
      [{ spec: { template: { spec: { containers: [{ $patch: "delete" }] } } } }, 400],
      [{ spec: { template: { spec: { containers: [{ $patch: "merge" }] } } } }, 400],
      [{ spec: { template: { spec: { "$setElementOrder/containers": [{ name: "side" }], containers: [{ name: "web" }] } } } }, 400],
      [{ spec: { template: { spec: { "$setElementOrder/containers": "web" } } } }, 400],
      [{ spec: { strategy: { $retainKeys: ["type"], rollingUpdate: {} } } }, 400],
      [{ spec: { strategy: { $retainKeys: "type" } } }, 400],
      [{ metadata: { "$deleteFromPrimitiveList/finalizers": "a", finalizers: [] } }, 400],
      [{ spec: { template: { spec: { containers: [["a"]] } } } }, 422],
      [{ $patch: "delete" }, 422],
      [{ spec: { template: { spec: { containers: [{ name: "x" }, "y"] } } } }, 400],
    ];
    const seen = bad.map(([p]) => failure(() => strategicMergePatch(live, p, DEPLOYMENT)).code);
    expect(seen).toEqual(bad.map(([, code]) => code));
  });

  it("does not change its inputs and treats __proto__ as a field", () => {
    const live = liveDeployment();
    const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"x":"1"}}}}') as Obj;
    const before = JSON.stringify([live, patch]);
    const out = strategicMergePatch(live, patch, DEPLOYMENT);
    expect(JSON.stringify([live, patch])).toBe(before);
    const labels = (out.metadata as Obj).labels as Obj;
    expect(Object.keys(labels)).toEqual(["app", "__proto__"]);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  });

  it("merges large lists in reasonable time", () => {
    const n = 20_000;
    const env = Array.from({ length: n }, (_, i) => ({ name: `V${i}`, value: "x" }));
    const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "c", env }] } };
    const patchEnv = Array.from({ length: n }, (_, i) => ({ name: `V${n - 1 - i}`, value: "y" }));
    const started = Date.now();
    const out = strategicMergePatch(
      pod,
      { spec: { containers: [{ name: "c", env: patchEnv, "$setElementOrder/env": patchEnv.map((e) => ({ name: e.name })) }] } },
      POD,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    const merged = ((out.spec as Obj).containers as { env: { name: string; value: string }[] }[])[0].env;
    expect(merged.length).toBe(n);
    expect(merged[0]).toEqual({ name: `V${n - 1}`, value: "y" });
  });
});
