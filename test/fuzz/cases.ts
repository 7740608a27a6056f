/**
 * The fuzz suite's generator: malformed and hostile API requests from a seeded PRNG, so every run
 * of a seed sends the same requests. Pure (no I/O, no Node or Workers APIs): the workers test
 * (test/workers/fuzz.test.ts) sends a few hundred through the real Worker, `npm run bench -- fuzz`
 * (bench/fuzz.ts) ten thousand or more through the real local stack.
 *
 * Every case targets the namespace `ns` (or nothing in particular); none is meant to succeed, but
 * some may (a valid-looking request), and the harness only demands that none is answered with a
 * 5xx, that every refusal is a proper Status, that each completes in bounded time, and that a
 * refused request changes nothing in the store.
 */

export interface FuzzCase {
  id: number;
  family: string;
  /** Who sends it: the admin or the fuzz tenant (owner of `ns`, where the admin ClusterRole applies). */
  as: "admin" | "tenant";
  method: string;
  /** Path and query, percent-encoded where needed (always a valid request target). */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** mulberry32: small, fast, good enough to pick fuzz cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** Objects the cases start from, each a valid create in `ns` but for what the case breaks. */
export const KINDS: { path: string; object: (ns: string) => Record<string, unknown> }[] = [
  { path: "/api/v1/namespaces/NS/configmaps", object: () => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "f", labels: { a: "b" } }, data: { k: "v" } }) },
  { path: "/api/v1/namespaces/NS/secrets", object: () => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "f" }, type: "Opaque", data: { k: "dg==" } }) },
  {
    path: "/api/v1/namespaces/NS/services",
    object: () => ({ apiVersion: "v1", kind: "Service", metadata: { name: "f" }, spec: { selector: { a: "b" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }], type: "ClusterIP" } }),
  },
  {
    path: "/api/v1/namespaces/NS/pods",
    object: () => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "f" },
      spec: {
        containers: [{ name: "c", image: "busybox", command: ["sleep", "1"], resources: { requests: { cpu: "100m", memory: "64Mi" } }, ports: [{ containerPort: 80 }] }],
        restartPolicy: "Never",
        tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule" }],
      },
    }),
  },
  {
    path: "/apis/apps/v1/namespaces/NS/deployments",
    object: () => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "f" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: "b" } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
        template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
      },
    }),
  },
  {
    path: "/apis/batch/v1/namespaces/NS/jobs",
    object: () => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "f" },
      spec: { completions: 1, parallelism: 1, backoffLimit: 2, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    }),
  },
  {
    path: "/apis/batch/v1/namespaces/NS/cronjobs",
    object: () => ({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "f" },
      spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } } },
    }),
  },
  {
    path: "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles",
    object: () => ({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "f" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] }),
  },
  {
    path: "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings",
    object: () => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "f" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "User", name: "u", apiGroup: "rbac.authorization.k8s.io" }],
    }),
  },
  {
    path: "/api/v1/namespaces/NS/persistentvolumeclaims",
    object: () => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "f" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }),
  },
  {
    path: "/apis/autoscaling/v2/namespaces/NS/horizontalpodautoscalers",
    object: () => ({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "f" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "d" }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }] },
    }),
  },
];

/** Objects that exist in `ns` before the fuzz starts (patches and updates aim at them). */
export const SEEDS = [
  { path: "/api/v1/namespaces/NS/configmaps", name: "seed", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "seed", labels: { app: "seed" } }, data: { k: "v", list: "a" } } },
  { path: "/api/v1/namespaces/NS/secrets", name: "seed", object: { apiVersion: "v1", kind: "Secret", metadata: { name: "seed" }, type: "Opaque", data: { k: "dg==" } } },
];

/**
 * The ResourceQuota put into `ns` once the seeds exist: no new object of any kind the fuzz creates
 * can be admitted, so an accepted create changes nothing that controllers would then act on
 * (their later writes would blur the "nothing changed on rejection" check).
 */
export const FREEZE_QUOTA = {
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "fuzz-freeze" },
  spec: {
    hard: Object.fromEntries(
      [
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "count/deployments.apps",
        "count/replicasets.apps",
        "count/statefulsets.apps",
        "count/daemonsets.apps",
        "count/jobs.batch",
        "count/cronjobs.batch",
        "count/roles.rbac.authorization.k8s.io",
        "count/rolebindings.rbac.authorization.k8s.io",
        "count/horizontalpodautoscalers.autoscaling",
        "count/serviceaccounts",
        "count/events",
        "count/endpoints",
        "count/limitranges",
        "count/poddisruptionbudgets.policy",
        "count/ingresses.networking.k8s.io",
        "count/networkpolicies.networking.k8s.io",
        "count/leases.coordination.k8s.io",
        "count/endpointslices.discovery.k8s.io",
      ].map((k) => [k, "0"]),
    ),
  },
};

/** Percent-encodes, lone surrogates (which encodeURIComponent refuses) as U+FFFD. */
const enc = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));

const WEIRD_STRINGS = [
  "",
  " ",
  "a b",
  "UPPER",
  "-lead",
  "trail-",
  "a..b",
  "..",
  ".",
  "a/b",
  "%",
  "\u0000",
  "\u202eevil",
  "😀",
  "ü",
  "\ud800",
  "a\nb",
  "<script>",
  "' OR 1=1 --",
  "${jndi:x}",
  "=",
  ",",
  "!",
  "a=b",
  "()",
];

function hugeString(r: Rand): string {
  return pick(r, ["a", "é", "😀", "x-", "."]).repeat(pick(r, [254, 1000, 64 * 1024, 300 * 1024]));
}

function wrongValue(r: Rand): unknown {
  switch (int(r, 0, 13)) {
    case 0:
      return null;
    case 1:
      return pick(r, [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296]);
    case 2:
      return pick(r, WEIRD_STRINGS);
    case 3:
      return true;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return [1, "a", null, {}];
    case 7:
      return { a: { b: { c: [] } } };
    case 8:
      return hugeString(r);
    case 9:
      return "1Gi";
    case 10:
      return [{ name: 1 }];
    case 11:
      return { "": "", "a/b/c": "x", [pick(r, WEIRD_STRINGS)]: 1 };
    case 12:
      return "100000000000000000000000000000000000000Ki";
    default:
      return Array.from({ length: int(r, 1, 2000) }, (_, i) => i);
  }
}

/** Every path to a value inside a JSON object (objects and arrays), the root excluded. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(x, p, out);
    }
  }
  return out;
}

function setAt(obj: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur = obj as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]] = value;
}

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const jsonHeaders = { "content-type": "application/json" };

// ---- families ----

function badJson(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const valid = JSON.stringify(k.object(ns));
  const body = pick(r, [
    () => valid.slice(0, int(r, 0, valid.length - 1)),
    () => valid.replace(/"/g, "'"),
    () => valid + "}",
    () => "{" + valid,
    () => "[" + valid + "]",
    () => "null",
    () => "42",
    () => '"a string"',
    () => "true",
    () => "NaN",
    () => '{"a":1,}',
    () => '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"metadata":{"name":"y"}}',
    () => '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\\ud800"}}',
    () => '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":1e999}}',
    () => "\ufeff" + valid,
    () => String.fromCharCode(...Array.from({ length: int(r, 1, 200) }, () => int(r, 0, 255))),
    () => nested(int(r, 101, 200_000), "[", "]"),
    () => nested(int(r, 101, 100_000), '{"a":', "}"),
  ])();
  return { family: "bad-json", method: pick(r, ["POST", "PUT"]), path: k.path.replace("NS", ns) + (r() < 0.5 ? "" : "/f"), headers: jsonHeaders, body };
}

function wrongTypes(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const obj = k.object(ns);
  const n = int(r, 1, 3);
  for (let i = 0; i < n; i++) setAt(obj, pick(r, paths(obj)), wrongValue(r));
  const update = r() < 0.3;
  return {
    family: "wrong-types",
    method: update ? "PUT" : "POST",
    path: k.path.replace("NS", ns) + (update ? "/f" : "") + (r() < 0.2 ? "?dryRun=All" : r() < 0.1 ? "?fieldValidation=Strict" : ""),
    headers: jsonHeaders,
    body: JSON.stringify(obj),
  };
}

function hugeNames(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const name = hugeString(r);
  const obj = k.object(ns);
  (obj.metadata as Record<string, unknown>)[pick(r, ["name", "generateName", "namespace"])] = name;
  if (r() < 0.3) (obj.metadata as Record<string, unknown>).labels = { [name.slice(0, 400)]: name.slice(0, 400) };
  if (r() < 0.2) (obj.metadata as Record<string, unknown>).annotations = { a: "x".repeat(300 * 1024) };
  const where = int(r, 0, 2);
  if (where === 0) return { family: "huge-names", method: "POST", path: k.path.replace("NS", ns), headers: jsonHeaders, body: JSON.stringify(obj) };
  const short = name.slice(0, pick(r, [254, 2000, 8000]));
  if (where === 1) return { family: "huge-names", method: pick(r, ["GET", "DELETE", "PUT"]), path: `${k.path.replace("NS", ns)}/${enc(short)}`, headers: jsonHeaders, body: JSON.stringify(obj) };
  return { family: "huge-names", method: "GET", path: k.path.replace("NS", enc(short)), headers: {} };
}

const LABEL_SELECTORS = [
  "a in (",
  "a in ()",
  "a in (b,,c)",
  "!!a",
  "a=b=c",
  ",,,",
  "a notin b",
  "a==",
  "=b",
  "a!=",
  "a in (b) c",
  "environment in (production, qa",
  "tier notin (frontend,backend",
  "a,b,!",
  "x>1",
  "x<",
  "a exists",
  "(a)",
  "a=" + "b".repeat(70),
  "k".repeat(317) + "=v",
  "a/b/c=d",
  "-a=b",
  "a=-b-",
  "a=b\u0000",
  "😀=1",
];

const FIELD_SELECTORS = [
  "metadata.name",
  "metadata.name=",
  "=x",
  "metadata.name==",
  "metadata.name!=!",
  "spec.nodeName in (a)",
  "status.phase=Running,",
  ",",
  "metadata.name=a=b",
  "no.such.field=x",
  "metadata.labels.a=b",
  "metadata.namespace!=",
  "a".repeat(5000) + "=b",
  "metadata.name=\\",
  "metadata.name=x\\,y",
];

function badSelectors(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const which = r() < 0.5 ? "labelSelector" : "fieldSelector";
  let sel: string = pick(r, which === "labelSelector" ? LABEL_SELECTORS : FIELD_SELECTORS);
  if (r() < 0.2) sel = sel + "," + pick(r, WEIRD_STRINGS);
  const watch = r() < 0.25 ? "&watch=1&timeoutSeconds=1" : "";
  const method = r() < 0.15 ? "DELETE" : "GET";
  return { family: `bad-${which === "labelSelector" ? "label" : "field"}-selectors`, method, path: `${k.path.replace("NS", ns)}?${which}=${enc(sel)}${watch}${method === "DELETE" ? "&dryRun=All" : ""}`, headers: {} };
}

const BAD_NUMBERS = ["abc", "-1", "1.5", "1e400", "0x10", " 1", "99999999999999999999999999", "", "%00", "NaN", "Infinity", "1;DROP TABLE revisions"];

function badListParams(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const params = new URLSearchParams();
  const n = int(r, 1, 3);
  for (let i = 0; i < n; i++) {
    const which = pick(r, ["resourceVersion", "continue", "limit", "resourceVersionMatch", "timeoutSeconds", "includeObject", "pretty", "sendInitialEvents"]);
    const value =
      which === "continue"
        ? pick(r, [
            "abc",
            "eyJ9",
            btoa('{"rv":-1,"start":"\\u0000"}'),
            btoa('{"rv":"x"}'),
            btoa("not json"),
            btoa('{"v":"meta.k8s.io/v1","rv":1,"start":"' + "a".repeat(10_000) + '"}'),
            "%%%",
            "a".repeat(int(r, 1, 20_000)),
            btoa(JSON.stringify({ rv: 1e308, start: {} })),
          ])
        : which === "resourceVersionMatch"
          ? pick(r, ["Exact", "NotOlderThan", "exact", "bogus", ""])
          : pick(r, BAD_NUMBERS);
    params.append(which, value);
  }
  if (params.has("resourceVersionMatch") && r() < 0.5) params.set("resourceVersion", pick(r, ["0", "1", "abc"]));
  return { family: "bad-list-params", method: "GET", path: `${k.path.replace("NS", ns)}?${params}`, headers: {} };
}

function badWatchParams(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const params = new URLSearchParams({ watch: pick(r, ["1", "true", "yes", "0", "", "TRUE"]) });
  params.set("timeoutSeconds", pick(r, ["1", "-1", "abc", "1.5", "99999999999", "0"]));
  if (r() < 0.7) params.set("resourceVersion", pick(r, [...BAD_NUMBERS, "1", "0", String(2 ** 62)]));
  if (r() < 0.4) params.set("allowWatchBookmarks", pick(r, ["true", "maybe", ""]));
  if (r() < 0.3) params.set("labelSelector", pick(r, LABEL_SELECTORS));
  if (r() < 0.2) params.set("sendInitialEvents", pick(r, ["true", "x"]));
  const prefix = r() < 0.3;
  const path = prefix ? k.path.replace(/^(\/apis?\/[^/]+(?:\/v[^/]+)?)\/namespaces/, "$1/watch/namespaces") : k.path;
  return { family: "bad-watch-params", method: "GET", path: `${path.replace("NS", ns)}${r() < 0.3 ? "/seed" : ""}?${params}`, headers: {} };
}

const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

function badPatches(r: Rand, ns: string): Partial<FuzzCase> {
  const type = pick(r, PATCH_TYPES);
  const seed = pick(r, SEEDS);
  const target = `${seed.path.replace("NS", ns)}/${pick(r, [seed.name, seed.name, "missing"])}${r() < 0.15 ? "/status" : ""}`;
  let body: string;
  if (type === "application/json-patch+json") {
    const op = () =>
      pick(r, [
        { op: "add", path: "/data/x", value: wrongValue(r) },
        { op: "remove", path: "/data/nope" },
        { op: "replace", path: "/metadata/name", value: "other" },
        { op: "move", from: "/data", path: "/data/k" },
        { op: "copy", from: "/data/k", path: "/metadata/labels/" + "a".repeat(300) },
        { op: "test", path: "/data/k", value: "no" },
        { op: "add", path: "/metadata/labels/~2", value: "x" },
        { op: "add", path: "data/x", value: "1" },
        { op: "add", path: "/spec/containers/99/image", value: "x" },
        { op: "add", path: "/data/-", value: "x" },
        { op: "bogus", path: "/data" },
        { op: "add" },
        { path: "/data" },
        { op: "replace", path: "", value: wrongValue(r) },
        { op: "add", path: "/metadata/finalizers/-1", value: "x" },
        { op: "add", path: "/metadata/labels/a", value: { deep: [1, 2] } },
        { op: "remove", path: "/metadata" },
        { op: "add", path: "/" + "x/".repeat(500) + "y", value: 1 },
      ]);
    body = pick(r, [
      () => JSON.stringify([op()]),
      () => JSON.stringify(Array.from({ length: int(r, 2, 8) }, op)),
      () => JSON.stringify(Array.from({ length: pick(r, [10_001, 20_000]) }, () => ({ op: "test", path: "/data/k", value: "v" }))),
      () => JSON.stringify(op()),
      () => "[",
      () => "null",
      () => JSON.stringify([{ op: "add", path: "/data/big", value: "z".repeat(2 * 1024 * 1024) }]),
    ])();
  } else if (type === "application/apply-patch+yaml") {
    body = pick(r, [
      () => `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`,
      () => nested(int(r, 101, 50_000), "[", "]"),
      () => "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seed\n" + "  ".repeat(1) + "data: [1, 2\n",
      () => "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seed}\ndata: {k: !!binary ####}\n",
      () => "--- a\n--- b\n",
      () => "apiVersion: v1\nkind: Secret\nmetadata: {name: seed}\nstringData: {k: v}\n",
      () => "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seed, labels: *undefined}\n",
      () => "!!js/function 'function(){}'\n",
      () => "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seed}\ndata: {k: " + "[".repeat(500) + "]".repeat(500) + "}\n",
    ])();
  } else {
    body = pick(r, [
      () => JSON.stringify({ data: wrongValue(r) }),
      () => JSON.stringify({ metadata: { name: "renamed" } }),
      () => JSON.stringify({ metadata: { resourceVersion: pick(r, ["1", "abc", "-5"]) }, data: { k: "w" } }),
      () => JSON.stringify({ metadata: { labels: { $patch: "delete" } } }),
      () => JSON.stringify({ $patch: pick(r, ["replace", "delete", "merge", "bogus"]) }),
      () => JSON.stringify({ metadata: { $setElementOrder: wrongValue(r), finalizers: wrongValue(r) } }),
      () => JSON.stringify({ $retainKeys: wrongValue(r), data: null }),
      () => JSON.stringify({ spec: { containers: [{ $patch: "delete" }, { name: wrongValue(r) }] } }),
      () => JSON.stringify({ "$deleteFromPrimitiveList/finalizers": wrongValue(r) }),
      () => nested(int(r, 101, 50_000), '{"a":', "}"),
      () => JSON.stringify([1, 2, 3]),
      () => "null",
      () => JSON.stringify({ kind: "Pod", apiVersion: "v2" }),
    ])();
  }
  const q = type === "application/apply-patch+yaml" ? pick(r, ["?fieldManager=fuzz", "", "?fieldManager=fuzz&force=maybe", "?fieldManager=" + "m".repeat(200)]) : pick(r, ["", "", "?force=true", "?fieldValidation=Bogus", "?dryRun=Bad"]);
  return { family: "bad-patches", method: "PATCH", path: target + q, headers: { "content-type": type }, body };
}

const CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "multipart/form-data; boundary=x",
  "application/json; charset=ebcdic",
  "application/x-www-form-urlencoded",
  "application/vnd.kubernetes.protobuf;stream=watch",
  "application/cbor",
  "application/json-patch+json",
  "*/*",
  "",
  "application/",
  ";;;",
  "application/yaml; x=\"y\"; charset=x",
];

function badContentTypes(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const method = pick(r, ["POST", "PUT", "PATCH", "DELETE"]);
  const accept: Record<string, string> = r() < 0.3 ? { accept: pick(r, ["application/bogus", "text/html", "application/json;as=Table;v=v2;g=meta.k8s.io", "application/vnd.kubernetes.protobuf", "*/*;q=0"]) } : {};
  return {
    family: "bad-content-types",
    method,
    path: `${k.path.replace("NS", ns)}${method === "POST" ? "" : "/seed"}${method === "DELETE" ? "?dryRun=All" : ""}`,
    headers: { "content-type": pick(r, CONTENT_TYPES), ...accept },
    body: JSON.stringify(k.object(ns)),
  };
}

function protobufGarbage(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const random = (n: number) => Uint8Array.from({ length: n }, () => int(r, 0, 255));
  const magic = [0x6b, 0x38, 0x73, 0x00];
  const body = pick(r, [
    () => random(int(r, 0, 400)),
    () => Uint8Array.from([...magic, ...random(int(r, 0, 400))]),
    () => Uint8Array.from([...magic, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    () => Uint8Array.from([...magic, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
    () => Uint8Array.from([...magic, 0x0a, 0x04, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x05, 0x7b, 0x22, 0x61, 0x22]),
    () => Uint8Array.from([...magic, 0x1a, 0x03, 0x7b, 0x7d, 0x0a]),
    () => Uint8Array.from([...magic, ...Array.from({ length: 2000 }, () => 0x0a)]),
    () => Uint8Array.from(magic),
  ])();
  return { family: "protobuf-garbage", method: pick(r, ["POST", "PUT"]), path: k.path.replace("NS", ns) + (r() < 0.5 ? "" : "/seed"), headers: { "content-type": "application/vnd.kubernetes.protobuf" }, body };
}

function pathTraversal(r: Rand, ns: string): Partial<FuzzCase> {
  const p = pick(r, [
    `/api/v1/namespaces/${ns}/configmaps/..%2F..%2Fsecrets%2Fseed`,
    `/api/v1/namespaces/${ns}/configmaps/%2e%2e`,
    `/api/v1/namespaces/%2e%2e/configmaps`,
    `/api/v1/namespaces/${ns}/configmaps/%252e%252e`,
    `/api/v1/namespaces/${ns}/configmaps/seed%00`,
    `/api/v1/namespaces/${ns}/configmaps/%zz`,
    `/api/v1/namespaces/${ns}/configmaps/%`,
    `/api/v1/namespaces/${ns}/configmaps/%C0%AE%C0%AE`,
    `/api/v1/namespaces/${ns}/configmaps/%ED%A0%80`,
    `/api/v1/namespaces/${ns}//configmaps`,
    `/api/v1/namespaces//configmaps/seed`,
    `/api//v1/namespaces/${ns}/configmaps`,
    `/api/v1/namespaces/${ns}/configmaps/seed/status/extra/more`,
    `/api/v1/namespaces/${ns}/configmaps/seed/nosuchsub`,
    `/api/v1/namespaces/${ns}/nosuchkind`,
    `/api/v1/namespaces/${ns}/pods/seed/log/../../exec`,
    `/api/v2/namespaces/${ns}/configmaps`,
    `/apis/apps/v1beta0/namespaces/${ns}/deployments`,
    `/apis/${"g".repeat(3000)}/v1/x`,
    `/apis/apps/v1/namespaces/${ns}/deployments/seed/scale/extra`,
    `/api/v1/namespaces/${ns}/configmaps/${enc("😀")}`,
    `/api/v1/namespaces/${enc("\u202e")}/configmaps`,
    `/api/v1/${"x/".repeat(500)}`,
    `/edgeplane/v1/tenants/..%2Ftenants`,
    `/edgeplane/v1/audit?limit=${enc("1 OR 1=1")}`,
    `/edgeplane/v1/audit?sinceSeconds=-1`,
    `/openapi/v3/${"a/".repeat(50)}`,
    `/openapi/v3/apis/${enc("../..")}`,
    `/tunnel/nodes/${enc("../../x")}`,
    `/api/v1/namespaces/${ns}/configmaps?${"a=b&".repeat(2000)}`,
    `/api/v1/namespaces/${ns}/configmaps?labelSelector=${enc("a")}&labelSelector=${enc("b in (")}`,
    `/%2e%2e/%2e%2e/etc/passwd`,
    `/api/v1/namespaces/${ns}/pods/seed/exec?command=${enc("sh")}&stdin=maybe`,
    `/api/v1/namespaces/${ns}/pods/seed/log?tailLines=abc&limitBytes=-1&sinceSeconds=x`,
  ]);
  return { family: "path-traversal", method: pick(r, ["GET", "GET", "POST", "DELETE"]), path: p + (p.includes("?") ? "&dryRun=All" : "?dryRun=All"), headers: jsonHeaders, body: "{}" };
}

function unicode(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const obj = k.object(ns);
  const s = pick(r, WEIRD_STRINGS) + pick(r, ["", "😀", "\u0301", "\ufffe", "\u2028", "İ"]);
  const meta = obj.metadata as Record<string, unknown>;
  pick(r, [
    () => (meta.name = s),
    () => (meta.labels = { [s]: "v" }),
    () => (meta.labels = { k: s }),
    () => (meta.annotations = { [s]: s }),
    () => (meta.finalizers = [s]),
    () => (obj.kind = s),
    () => (obj.apiVersion = s),
  ])();
  return { family: "unicode", method: "POST", path: k.path.replace("NS", ns), headers: { "content-type": pick(r, ["application/json", "application/json; charset=utf-16", "application/yaml"]) }, body: JSON.stringify(obj) };
}

function nestedBombs(r: Rand, ns: string): Partial<FuzzCase> {
  const k = pick(r, KINDS);
  const laughs = ['lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) laughs.push(`l${i}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(",")}]`);
  const [body, type] = pick(r, [
    () => [`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\n${laughs.join("\n")}\n`, "application/yaml"],
    () => [nested(int(r, 101, 300_000), "[", "]"), "application/yaml"],
    () => [nested(int(r, 101, 100_000), "{a: ", "}"), "application/yaml"],
    () => ["a: " + "- ".repeat(int(r, 101, 5000)) + "x\n", "application/yaml"],
    () => [nested(int(r, 101, 500_000), "[", "]"), "application/json"],
    () => ['{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f"},"data":' + nested(int(r, 101, 1_000), '{"a":', "}", '"x"') + "}", "application/json"],
    () => ["a: &a " + "x".repeat(100_000) + "\nb: [" + Array(500).fill("*a").join(",") + "]\n", "application/yaml"],
    () => ["{" + Array.from({ length: 200_000 }, (_, i) => `"k${i}":1`).join(",") + "}", "application/json"],
    () => ["[" + "1,".repeat(800_000) + "1]", "application/json"],
  ])();
  return { family: "nested-bombs", method: pick(r, ["POST", "PUT"]), path: k.path.replace("NS", ns) + "/f".repeat(r() < 0.5 ? 0 : 1), headers: { "content-type": type }, body };
}

const ROUTES = (ns: string) => [
  "/api",
  "/apis",
  "/api/v1",
  "/apis/apps",
  "/apis/apps/v1",
  "/version",
  "/healthz",
  "/readyz",
  "/openapi/v2",
  "/openapi/v3",
  "/openapi/v3/api/v1",
  "/edgeplane/v1/tenants",
  "/edgeplane/v1/tenants/fuzz/tokens",
  "/edgeplane/v1/audit",
  "/edgeplane/v1/jointokens",
  "/edgeplane/v1/nodecredentials",
  "/edgeplane/v1/secrets/reencrypt",
  "/apis/authentication.k8s.io/v1/selfsubjectreviews",
  "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
  "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
  `/api/v1/namespaces`,
  `/api/v1/namespaces/${ns}`,
  `/api/v1/namespaces/${ns}/status`,
  `/api/v1/namespaces/${ns}/finalize`,
  `/api/v1/namespaces/${ns}/configmaps`,
  `/api/v1/namespaces/${ns}/configmaps/seed`,
  `/api/v1/namespaces/${ns}/configmaps/seed/status`,
  `/api/v1/namespaces/${ns}/pods`,
  `/api/v1/namespaces/${ns}/pods/missing`,
  `/api/v1/namespaces/${ns}/pods/missing/status`,
  `/api/v1/namespaces/${ns}/pods/missing/binding`,
  `/api/v1/namespaces/${ns}/pods/missing/eviction`,
  `/api/v1/namespaces/${ns}/pods/missing/log`,
  `/api/v1/namespaces/${ns}/pods/missing/exec`,
  `/api/v1/namespaces/${ns}/pods/missing/attach`,
  `/api/v1/namespaces/${ns}/pods/missing/portforward`,
  `/api/v1/namespaces/${ns}/pods/missing/proxy`,
  `/apis/apps/v1/namespaces/${ns}/deployments`,
  `/apis/apps/v1/namespaces/${ns}/deployments/missing/scale`,
  `/apis/apps/v1/deployments`,
  `/api/v1/pods`,
  `/api/v1/nodes`,
  `/api/v1/nodes/missing`,
  `/apis/metrics.k8s.io/v1beta1/nodes`,
  `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  `/api/v1/namespaces/${ns}/resourcequotas/fuzz-freeze`,
  `/api/v1/watch/namespaces/${ns}/configmaps`,
];

// Methods workerd accepts (it refuses unknown ones before the Worker sees them).
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function wrongMethods(r: Rand, ns: string): Partial<FuzzCase> {
  const route = pick(r, ROUTES(ns));
  const method = pick(r, METHODS);
  // The tenant sends these: it may not touch the namespace, its quota or any tenant; deletes are dry runs.
  const q = method === "GET" || method === "HEAD" ? (route.includes("watch") ? "?timeoutSeconds=1" : "") : "?dryRun=All";
  const withBody = method !== "GET" && method !== "HEAD" && r() < 0.7;
  return {
    family: "wrong-methods",
    as: "tenant",
    method,
    path: route + q,
    headers: withBody ? { "content-type": pick(r, ["application/json", ...PATCH_TYPES]) } : {},
    body: withBody ? pick(r, ["{}", "[]", JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "wm" } })]) : undefined,
  };
}

export const FAMILIES: Record<string, (r: Rand, ns: string) => Partial<FuzzCase>> = {
  "bad-json": badJson,
  "wrong-types": wrongTypes,
  "huge-names": hugeNames,
  "bad-selectors": badSelectors,
  "bad-list-params": badListParams,
  "bad-watch-params": badWatchParams,
  "bad-patches": badPatches,
  "bad-content-types": badContentTypes,
  "protobuf-garbage": protobufGarbage,
  "path-traversal": pathTraversal,
  unicode,
  "nested-bombs": nestedBombs,
  "wrong-methods": wrongMethods,
};

/** `count` cases from `seed`, the families taking turns (so any prefix covers all of them). */
export function generateCases(seed: number, count: number, ns: string): FuzzCase[] {
  const r = prng(seed);
  const families = Object.values(FAMILIES);
  const out: FuzzCase[] = [];
  for (let id = 0; id < count; id++) {
    const c = families[id % families.length](r, ns);
    out.push({ id, family: c.family!, as: c.as ?? (r() < 0.3 ? "tenant" : "admin"), method: c.method!, path: c.path!, headers: c.headers ?? {}, body: c.body });
  }
  return out;
}

/** Does a case ask to change something (a refused one must leave the store as it was)? */
export const mutating = (c: FuzzCase) => !["GET", "HEAD", "OPTIONS"].includes(c.method);

/** What the harness demands of an answer; undefined when it is fine, else why not. */
export function judge(c: FuzzCase, status: number, body: string): string | undefined {
  if (status >= 500) return `answered ${status}: ${body.slice(0, 300)}`;
  if (status < 400 || c.method === "HEAD") return undefined;
  let s: { kind?: unknown; code?: unknown; reason?: unknown; message?: unknown; status?: unknown };
  try {
    s = JSON.parse(body);
  } catch {
    return `a ${status} whose body is not JSON: ${body.slice(0, 200)}`;
  }
  if (s.kind !== "Status" || s.status !== "Failure") return `a ${status} whose body is not a failure Status: ${body.slice(0, 200)}`;
  if (s.code !== status) return `a ${status} whose Status says code ${String(s.code)}`;
  if (typeof s.reason !== "string" || s.reason === "") return `a ${status} Status without a reason`;
  if (typeof s.message !== "string" || s.message === "") return `a ${status} Status without a message`;
  return undefined;
}
