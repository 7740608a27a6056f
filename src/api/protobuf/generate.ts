/**
 * Developer tool (not part of the Worker bundle): writes schemas.generated.ts, the
 * field tables the protobuf decoder uses, from the Kubernetes API definitions.
 *
 *   npx tsx src/api/protobuf/generate.ts --api <k8s.io/api checkout> \
 *     --apimachinery <k8s.io/apimachinery checkout> > src/api/protobuf/schemas.generated.ts
 *
 * The committed table was generated from both repositories at tag v0.36.3 (Kubernetes
 * 1.36). Field numbers never change between releases, so newer definitions also
 * decode what older clients (kubectl 1.32) send.
 *
 * Two sources are combined:
 *  - generated.proto: field numbers, wire types, message types, repeated/map;
 *  - the Go types (*.go struct tags): the JSON name, whether the Go field is a pointer
 *    (then the field is sent even when it is zero), omitempty/omitzero, and inline
 *    embedding (`json:",inline"`), so that the decoded JSON has the shape Go's
 *    encoding/json would have produced for the same object.
 * Only messages reachable from ROOTS are emitted.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** apiVersion/kind -> message, for every kind a typed client may send as protobuf. */
const ROOTS: Record<string, string> = {
  "v1/Namespace": "core.v1.Namespace",
  "v1/Pod": "core.v1.Pod",
  "v1/ConfigMap": "core.v1.ConfigMap",
  "v1/Secret": "core.v1.Secret",
  "v1/Service": "core.v1.Service",
  "v1/Endpoints": "core.v1.Endpoints",
  "v1/Node": "core.v1.Node",
  "v1/Event": "core.v1.Event",
  "v1/ServiceAccount": "core.v1.ServiceAccount",
  "v1/PersistentVolume": "core.v1.PersistentVolume",
  "v1/PersistentVolumeClaim": "core.v1.PersistentVolumeClaim",
  "v1/ResourceQuota": "core.v1.ResourceQuota",
  "v1/LimitRange": "core.v1.LimitRange",
  "apps/v1/Deployment": "apps.v1.Deployment",
  "apps/v1/ReplicaSet": "apps.v1.ReplicaSet",
  "apps/v1/StatefulSet": "apps.v1.StatefulSet",
  "apps/v1/DaemonSet": "apps.v1.DaemonSet",
  "batch/v1/Job": "batch.v1.Job",
  "batch/v1/CronJob": "batch.v1.CronJob",
  "networking.k8s.io/v1/Ingress": "networking.v1.Ingress",
  "networking.k8s.io/v1/IngressClass": "networking.v1.IngressClass",
  "coordination.k8s.io/v1/Lease": "coordination.v1.Lease",
  "autoscaling/v1/HorizontalPodAutoscaler": "autoscaling.v1.HorizontalPodAutoscaler",
  "autoscaling/v2/HorizontalPodAutoscaler": "autoscaling.v2.HorizontalPodAutoscaler",
  "events.k8s.io/v1/Event": "events.v1.Event",
  "policy/v1/PodDisruptionBudget": "policy.v1.PodDisruptionBudget",
  "scheduling.k8s.io/v1/PriorityClass": "scheduling.v1.PriorityClass",
  "rbac.authorization.k8s.io/v1/Role": "rbac.v1.Role",
  "rbac.authorization.k8s.io/v1/ClusterRole": "rbac.v1.ClusterRole",
  "rbac.authorization.k8s.io/v1/RoleBinding": "rbac.v1.RoleBinding",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "rbac.v1.ClusterRoleBinding",
  "policy/v1/Eviction": "policy.v1.Eviction",
  "authentication.k8s.io/v1/SelfSubjectReview": "authentication.v1.SelfSubjectReview",
  "authentication.k8s.io/v1/TokenRequest": "authentication.v1.TokenRequest",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "authorization.v1.SelfSubjectAccessReview",
  "authorization.k8s.io/v1/SelfSubjectRulesReview": "authorization.v1.SelfSubjectRulesReview",
  // typed clients send DeleteOptions under their own group version; see decodeProtobufObject
  "meta.k8s.io/v1/DeleteOptions": "meta.v1.DeleteOptions",
};

/** Messages the decoder converts itself (their JSON form is not an object of their fields). */
const BUILTIN = new Set([
  "meta.v1.Time",
  "meta.v1.MicroTime",
  "meta.v1.Duration",
  "meta.v1.FieldsV1",
  "runtime.RawExtension",
  "resource.Quantity",
  "intstr.IntOrString",
]);

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0 || !args[i + 1]) throw new Error(`missing ${name} <dir>`);
  return args[i + 1];
};
const apiDir = arg("--api");
const machineryDir = arg("--apimachinery");

/** Package directories, by short package key. */
const PACKAGES: Record<string, string> = {
  "meta.v1": join(machineryDir, "pkg/apis/meta/v1"),
  runtime: join(machineryDir, "pkg/runtime"),
  resource: join(machineryDir, "pkg/api/resource"),
  intstr: join(machineryDir, "pkg/util/intstr"),
};
for (const g of ["core", "apps", "batch", "networking", "policy", "coordination", "events", "scheduling", "rbac", "authentication", "authorization"]) PACKAGES[`${g}.v1`] = join(apiDir, g, "v1");
PACKAGES["autoscaling.v1"] = join(apiDir, "autoscaling/v1");
PACKAGES["autoscaling.v2"] = join(apiDir, "autoscaling/v2");

/** Proto package name -> short key. */
function shortPackage(protoPackage: string): string {
  const m = /^k8s\.io\.api\.(\w+)\.(\w+)$/.exec(protoPackage);
  if (m) return `${m[1]}.${m[2]}`;
  const known: Record<string, string> = {
    "k8s.io.apimachinery.pkg.apis.meta.v1": "meta.v1",
    "k8s.io.apimachinery.pkg.runtime": "runtime",
    "k8s.io.apimachinery.pkg.runtime.schema": "schema",
    "k8s.io.apimachinery.pkg.api.resource": "resource",
    "k8s.io.apimachinery.pkg.util.intstr": "intstr",
  };
  if (known[protoPackage]) return known[protoPackage];
  throw new Error(`unknown proto package ${protoPackage}`);
}

interface ProtoField {
  name: string;
  number: number;
  label: "optional" | "repeated" | "map";
  type: string; // scalar name or qualified message key
  keyType?: string;
}

const protoMessages = new Map<string, ProtoField[]>();
const SCALARS = new Set(["string", "int32", "int64", "bool", "bytes", "double", "float"]);

function qualify(type: string, pkg: string): string {
  if (SCALARS.has(type)) return type;
  const t = type.replace(/^\./, "");
  const dot = t.lastIndexOf(".");
  if (dot < 0) return `${pkg}.${t}`;
  return `${shortPackage(t.slice(0, dot))}.${t.slice(dot + 1)}`;
}

function parseProto(file: string) {
  const text = readFileSync(file, "utf8").replace(/\/\/.*$/gm, "");
  const pkg = shortPackage(/^package\s+([\w.]+);/m.exec(text)![1]);
  const msgRe = /^message\s+(\w+)\s*\{([^}]*)\}/gm;
  for (const m of text.matchAll(msgRe)) {
    const fields: ProtoField[] = [];
    for (const line of m[2].split(";")) {
      const l = line.trim();
      if (!l) continue;
      let f = /^(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)$/.exec(l);
      if (f) {
        fields.push({ label: f[1] as "optional" | "repeated", type: qualify(f[2], pkg), name: f[3], number: Number(f[4]) });
        continue;
      }
      f = /^map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)$/.exec(l);
      if (f) {
        fields.push({ label: "map", keyType: qualify(f[1], pkg), type: qualify(f[2], pkg), name: f[3], number: Number(f[4]) });
        continue;
      }
      throw new Error(`${file}: cannot parse field "${l}" in ${m[1]}`);
    }
    protoMessages.set(`${pkg}.${m[1]}`, fields);
  }
}

interface GoField {
  goType: string;
  jsonName: string;
  omitempty: boolean;
  omitzero: boolean;
  inline: boolean;
}

/** struct key -> protobuf field number -> Go facts */
const goStructs = new Map<string, Map<number, GoField>>();
/** Named non-struct Go types (type X []string and so on), by key. */
const goOther = new Map<string, string>();

function parseGo(dir: string, pkg: string) {
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".go") || f.endsWith("_test.go") || f.startsWith("zz_") || f === "generated.pb.go") continue;
    const lines = readFileSync(join(dir, f), "utf8").split("\n");
    let current: Map<number, GoField> | undefined;
    let depth = 0;
    for (const line of lines) {
      const start = /^type\s+(\w+)\s+struct\s*\{\s*$/.exec(line);
      if (start) {
        current = new Map();
        goStructs.set(`${pkg}.${start[1]}`, current);
        depth = 1;
        continue;
      }
      const other = /^type\s+(\w+)\s+(\S.*)$/.exec(line);
      if (other && !current) goOther.set(`${pkg}.${other[1]}`, other[2]);
      if (!current) continue;
      const code = line.replace(/\/\/.*$/, "");
      if (code.includes("struct {")) depth++;
      if (/^\s*\}/.test(code)) {
        depth--;
        if (depth === 0) current = undefined;
        continue;
      }
      if (depth !== 1) continue;
      const field = /^\s*(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`/.exec(code);
      if (!field) continue;
      const tag = field[3];
      const pb = /protobuf:"(\w+),(\d+),/.exec(tag);
      if (!pb) continue;
      const json = /json:"([^"]*)"/.exec(tag);
      const parts = (json ? json[1] : "").split(",");
      const pbName = /name=(\w+)/.exec(tag)?.[1] ?? "";
      current.set(Number(pb[2]), {
        goType: field[2],
        jsonName: parts[0] || (json ? "" : pbName),
        omitempty: parts.includes("omitempty"),
        omitzero: parts.includes("omitzero"),
        inline: parts.includes("inline") || (json !== null && parts[0] === "") || (!field[1] && !json),
      });
    }
  }
}

for (const [pkg, dir] of Object.entries(PACKAGES)) {
  parseProto(join(dir, "generated.proto"));
  parseGo(dir, pkg);
}

const SCALAR_CODE: Record<string, string> = { string: "s", int32: "i", int64: "l", bool: "b", bytes: "y", double: "d", float: "f" };
const typeCode = (t: string) => SCALAR_CODE[t] ?? `@${t}`;

const out = new Map<string, string>();
const warnings: string[] = [];
const queue = [...new Set(Object.values(ROOTS))];
const seen = new Set(queue);
const visit = (t: string) => {
  if (!SCALARS.has(t) && !seen.has(t)) {
    seen.add(t);
    queue.push(t);
  }
};

while (queue.length) {
  const key = queue.shift()!;
  const fields = protoMessages.get(key);
  if (!fields) throw new Error(`message ${key} not found`);
  if (BUILTIN.has(key)) {
    out.set(key, fields.map((f) => `${f.number} ${f.name} ${f.label === "repeated" ? "*" : ""}${typeCode(f.type)}`).join("|"));
    continue;
  }
  const go = goStructs.get(key);
  if (!go) warnings.push(`no Go struct for ${key} (${goOther.get(key) ?? "unknown"})`);
  const parts: string[] = [];
  for (const f of fields) {
    const g = go?.get(f.number);
    if (go && !g) warnings.push(`${key}.${f.name} (${f.number}) has no Go field`);
    const jsonName = g ? g.jsonName : f.name;
    if (g && !g.inline && jsonName !== f.name) warnings.push(`${key}: proto name ${f.name} != JSON name ${jsonName}`);
    visit(f.type);
    let type: string;
    if (f.label === "map") {
      if (f.keyType !== "string") throw new Error(`${key}.${f.name}: map key ${f.keyType}`);
      type = `{${typeCode(f.type)}}`;
    } else {
      type = (f.label === "repeated" ? "*" : "") + typeCode(f.type);
    }
    let flags = "";
    if (g) {
      const pointer = g.goType.startsWith("*");
      if (g.inline) flags += "^";
      else if (f.label !== "optional") {
        // slices and maps: present only when non-empty, like omitempty
      } else if (pointer) flags += "?";
      else if (!SCALARS.has(f.type)) {
        // a struct value: encoding/json writes it unless omitzero
        if (!g.omitzero) flags += "!";
      } else if (f.type === "bytes") {
        // []byte: nil and empty are both left out
      } else if (!g.omitempty && !g.omitzero) flags += "!";
    }
    parts.push(`${f.number} ${jsonName || f.name} ${type}${flags}`);
  }
  out.set(key, parts.join("|"));
}

for (const w of warnings) console.error(`warning: ${w}`);

const lines: string[] = [];
lines.push("// Generated by src/api/protobuf/generate.ts from the Kubernetes API definitions");
lines.push("// (k8s.io/api and k8s.io/apimachinery generated.proto field numbers and Go JSON tags). Do not edit.");
lines.push("//");
lines.push("// Each message: fields separated by |, each \"<number> <jsonName> <type><flags>\".");
lines.push("// type: s string, i int32, l int64, b bool, y bytes, d double, f float, @<message>,");
lines.push("// *<type> repeated, {<type>} map<string, type>. flags: ? sent when present even if zero");
lines.push("// (a Go pointer), ! always in the JSON (zero value when absent), ^ inlined into the parent.");
lines.push("// Without a flag a scalar is left out when it is zero (omitempty).");
lines.push("");
lines.push("export const ROOTS: Record<string, string> = {");
for (const [k, v] of Object.entries(ROOTS)) lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
lines.push("};");
lines.push("");
lines.push("export const MESSAGES: Record<string, string> = {");
for (const k of [...out.keys()].sort()) lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(out.get(k))},`);
lines.push("};");
process.stdout.write(lines.join("\n") + "\n");
