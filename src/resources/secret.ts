import { ageColumn } from "./columns.ts";
import { immutablePayloadErrors, MAX_CONFIG_BYTES } from "./configmap.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { base64Length, configKeyProblems, immutable, invalid, isObj, required, toBase64, tooLong } from "./validation.ts";

/** Keys each built-in secret type needs in `data` (Kubernetes' ValidateSecret). */
function typeErrors(secret: KubeObject, sizes: Map<string, number>): FieldError[] {
  const errs: FieldError[] = [];
  const has = (k: string) => sizes.has(k);
  const data = isObj(secret.data) ? (secret.data as Record<string, string>) : {};
  const jsonKey = (key: string) => {
    if (!has(key)) return errs.push(required(`data[${key}]`));
    try {
      const text = new TextDecoder().decode(Uint8Array.from(atob(data[key].replace(/[\r\n]/g, "")), (c) => c.charCodeAt(0)));
      const parsed = JSON.parse(text);
      if (!isObj(parsed)) throw new Error("json: cannot unmarshal into Go value of type map[string]interface {}");
    } catch (e) {
      errs.push(invalid(`data[${key}]`, "<secret contents redacted>", (e as Error).message));
    }
  };
  switch (secret.type) {
    case "kubernetes.io/service-account-token":
      if (!secret.metadata.annotations?.["kubernetes.io/service-account.name"])
        errs.push(required("metadata.annotations[kubernetes.io/service-account.name]"));
      break;
    case "kubernetes.io/dockercfg":
      jsonKey(".dockercfg");
      break;
    case "kubernetes.io/dockerconfigjson":
      jsonKey(".dockerconfigjson");
      break;
    case "kubernetes.io/basic-auth":
      if (!has("username") && !has("password")) errs.push(required("data[username]"), required("data[password]"));
      break;
    case "kubernetes.io/ssh-auth":
      if (!sizes.get("ssh-privatekey")) errs.push(required("data[ssh-privatekey]"));
      break;
    case "kubernetes.io/tls":
      if (!has("tls.crt")) errs.push(required("data[tls.crt]"));
      if (!has("tls.key")) errs.push(required("data[tls.key]"));
      break;
  }
  return errs;
}

export const secretKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  singular: "secret",
  namespaced: true,
  shortNames: [],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["data", "stringData", "type", "immutable"],
  defaults: (secret) => {
    if (!secret.type) secret.type = "Opaque";
    // stringData is write-only: merged into data (winning over it), then dropped.
    if (isObj(secret.stringData)) {
      const data = (secret.data = isObj(secret.data) ? secret.data : {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(secret.stringData)) if (typeof v === "string") data[k] = toBase64(v);
      delete secret.stringData;
    }
  },
  validate: (secret, old) => {
    const errs: FieldError[] = [];
    const sizes = new Map<string, number>();
    let total = 0;
    if (secret.stringData !== undefined && secret.stringData !== null && !isObj(secret.stringData))
      errs.push(invalid("stringData", secret.stringData, "must be a map of string keys to string values"));
    const data = secret.data;
    if (data !== undefined && data !== null) {
      if (!isObj(data)) errs.push(invalid("data", data, "must be a map of string keys to base64 values"));
      else
        for (const [key, value] of Object.entries(data)) {
          for (const msg of configKeyProblems(key)) errs.push(invalid(`data[${key}]`, key, msg));
          if (typeof value !== "string") {
            errs.push(invalid(`data[${key}]`, "<secret contents redacted>", "must be a base64 string"));
            continue;
          }
          const decoded = base64Length(value);
          if ("error" in decoded) errs.push(invalid(`data[${key}]`, "<secret contents redacted>", decoded.error));
          else {
            sizes.set(key, decoded.length);
            total += decoded.length;
          }
        }
    }
    if (total > MAX_CONFIG_BYTES) errs.push(tooLong("data", MAX_CONFIG_BYTES));
    if (typeof secret.type !== "string") errs.push(invalid("type", secret.type, "must be a string"));
    else errs.push(...typeErrors(secret, sizes));
    if (old) {
      if (old.type !== undefined && secret.type !== old.type) errs.push(immutable("type", secret.type));
      errs.push(...immutablePayloadErrors(secret, old, ["data"]));
    }
    return errs;
  },
  columns: [
    { name: "Type", type: "string", description: "Used to facilitate programmatic handling of secret data.", cell: (o) => String(o.type ?? "") },
    { name: "Data", type: "string", description: "Data contains the secret data.", cell: (o) => (isObj(o.data) ? Object.keys(o.data).length : 0) },
    ageColumn,
  ],
};
