import { ageColumn } from "./columns.ts";
import type { FieldError, KubeObject, ResourceKind } from "./types.ts";
import { base64Length, byteLength, configKeyProblems, forbidden, invalid, isObj, sameIgnoringEmpty, tooLong } from "./validation.ts";

/** ConfigMaps and Secrets share Kubernetes' 1 MiB limit on their payload. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Checks of ConfigMap.data/binaryData; returns the payload size in bytes. */
function validateConfigData(cm: KubeObject, errs: FieldError[]): number {
  let total = 0;
  const data = cm.data;
  const binary = cm.binaryData;
  if (data !== undefined && data !== null) {
    if (!isObj(data)) errs.push(invalid("data", data, "must be a map of string keys to string values"));
    else
      for (const [key, value] of Object.entries(data)) {
        for (const msg of configKeyProblems(key)) errs.push(invalid(`data[${key}]`, key, msg));
        if (isObj(binary) && Object.hasOwn(binary, key)) errs.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
        if (typeof value !== "string") errs.push(invalid(`data[${key}]`, value, "must be a string"));
        else total += byteLength(value);
      }
  }
  if (binary !== undefined && binary !== null) {
    if (!isObj(binary)) errs.push(invalid("binaryData", binary, "must be a map of string keys to base64 values"));
    else
      for (const [key, value] of Object.entries(binary)) {
        for (const msg of configKeyProblems(key)) errs.push(invalid(`binaryData[${key}]`, key, msg));
        if (typeof value !== "string") {
          errs.push(invalid(`binaryData[${key}]`, value, "must be a base64 string"));
          continue;
        }
        const decoded = base64Length(value);
        if ("error" in decoded) errs.push(invalid(`binaryData[${key}]`, "<binary data>", decoded.error));
        else total += decoded.length;
      }
  }
  return total;
}

/** Once `immutable: true` is stored, Kubernetes forbids changing the payload or unsetting the flag. */
export function immutablePayloadErrors(obj: KubeObject, old: KubeObject, payload: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of payload) if (!sameIgnoringEmpty(obj[f], old[f])) errs.push(forbidden(f, "field is immutable when `immutable` is set"));
  return errs;
}

export const configMapKind: ResourceKind = {
  group: "",
  version: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  singular: "configmap",
  namespaced: true,
  shortNames: ["cm"],
  subresources: [],
  generation: false,
  categories: [],
  fields: ["data", "binaryData", "immutable"],
  validate: (cm, old) => {
    const errs: FieldError[] = [];
    const total = validateConfigData(cm, errs);
    if (total > MAX_CONFIG_BYTES) errs.push(tooLong("", MAX_CONFIG_BYTES));
    if (cm.immutable !== undefined && cm.immutable !== null && typeof cm.immutable !== "boolean") errs.push(invalid("immutable", cm.immutable, "must be a boolean"));
    if (old) errs.push(...immutablePayloadErrors(cm, old, ["data", "binaryData"]));
    return errs;
  },
  columns: [
    {
      name: "Data",
      type: "string",
      description: "Data contains the configuration data.",
      cell: (o) => (isObj(o.data) ? Object.keys(o.data).length : 0) + (isObj(o.binaryData) ? Object.keys(o.binaryData).length : 0),
    },
    ageColumn,
  ],
};
