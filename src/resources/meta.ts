import type { FieldError, KubeObject } from "./types.ts";

/** Validation of metadata every kind shares: names, labels, annotations, finalizers. */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function dns1123Label(value: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (value.length > 63) errs.push({ field, reason: "FieldValueInvalid", message: `Invalid value: "${value}": must be no more than 63 characters` });
  if (!DNS1123_LABEL.test(value))
    errs.push({
      field,
      reason: "FieldValueInvalid",
      message: `Invalid value: "${value}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    });
  return errs;
}

export function dns1123Subdomain(value: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (value.length > 253) errs.push({ field, reason: "FieldValueInvalid", message: `Invalid value: "${value.slice(0, 64)}...": must be no more than 253 characters` });
  if (!DNS1123_SUBDOMAIN.test(value))
    errs.push({
      field,
      reason: "FieldValueInvalid",
      message: `Invalid value: "${value}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    });
  return errs;
}

/** A label or annotation key: optional DNS subdomain prefix + "/" + name of <= 63 chars. */
export function qualifiedName(key: string, field: string): FieldError[] {
  const parts = key.split("/");
  let name = key;
  const errs: FieldError[] = [];
  if (parts.length === 2) {
    const [prefix, rest] = parts;
    name = rest;
    if (!prefix) errs.push({ field, reason: "FieldValueInvalid", message: `Invalid value: "${key}": prefix part must be non-empty` });
    else errs.push(...dns1123Subdomain(prefix, field).map((e) => ({ ...e, message: e.message.replace("Invalid value", "Invalid value (prefix)") })));
  } else if (parts.length > 2) {
    return [{ field, reason: "FieldValueInvalid", message: `Invalid value: "${key}": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')` }];
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name))
    errs.push({
      field,
      reason: "FieldValueInvalid",
      message: `Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc'), and be at most 63 characters`,
    });
  return errs;
}

export function labelValue(value: unknown, field: string): FieldError[] {
  if (typeof value !== "string") return [{ field, reason: "FieldValueInvalid", message: "Invalid value: label values must be strings" }];
  if (value.length > 63 || !LABEL_VALUE.test(value))
    return [
      {
        field,
        reason: "FieldValueInvalid",
        message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, and be at most 63 characters`,
      },
    ];
  return [];
}

export function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) return [{ field, reason: "FieldValueInvalid", message: "must be a map of string keys to string values" }];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...qualifiedName(k, field), ...labelValue(v, `${field}[${k}]`));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== "object" || Array.isArray(annotations)) return [{ field, reason: "FieldValueInvalid", message: "must be a map of string keys to string values" }];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    errs.push(...qualifiedName(k.toLowerCase(), field));
    if (typeof v !== "string") errs.push({ field: `${field}[${k}]`, reason: "FieldValueInvalid", message: "annotation values must be strings" });
    size += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (size > MAX_ANNOTATIONS_BYTES)
    errs.push({ field, reason: "FieldValueTooLong", message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
  return errs;
}

/** Which name rule a kind's names follow. Most kinds use DNS subdomains; a few use labels. */
export type NameRule = "subdomain" | "label" | "path-segment";

export function validateName(name: string | undefined, rule: NameRule, field = "metadata.name"): FieldError[] {
  if (!name) return [{ field, reason: "FieldValueRequired", message: "Required value: name or generateName is required" }];
  if (rule === "label") return dns1123Label(name, field);
  if (rule === "path-segment") {
    if (name === "." || name === ".." || /[/%]/.test(name))
      return [{ field, reason: "FieldValueInvalid", message: `Invalid value: "${name}": may not be '.' or '..' and may not contain '/' or '%'` }];
    return [];
  }
  return dns1123Subdomain(name, field);
}

/** Checks every kind shares on metadata. */
export function validateObjectMeta(obj: KubeObject, nameRule: NameRule, namespaced: boolean): FieldError[] {
  const m = obj.metadata;
  const errs: FieldError[] = [];
  if (!m.name && m.generateName) {
    // The server appends random characters, so a prefix may end in '-' (Kubernetes masks it too).
    const prefix = m.generateName.endsWith("-") ? m.generateName.slice(0, -1) + "a" : m.generateName;
    errs.push(...validateName(prefix, nameRule, "metadata.generateName"));
  } else errs.push(...validateName(m.name, nameRule));
  if (namespaced && m.namespace !== undefined) errs.push(...dns1123Label(m.namespace, "metadata.namespace"));
  errs.push(...validateLabels(m.labels, "metadata.labels"));
  errs.push(...validateAnnotations(m.annotations, "metadata.annotations"));
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) errs.push({ field: "metadata.finalizers", reason: "FieldValueInvalid", message: "must be a list of strings" });
    else m.finalizers.forEach((f, i) => {
      if (typeof f !== "string" || qualifiedName(f, "").length > 0)
        errs.push({ field: `metadata.finalizers[${i}]`, reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(f)}: a finalizer must be a qualified name` });
    });
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) errs.push({ field: "metadata.ownerReferences", reason: "FieldValueInvalid", message: "must be a list" });
    else {
      m.ownerReferences.forEach((r, i) => {
        for (const f of ["apiVersion", "kind", "name", "uid"] as const)
          if (!r || typeof r[f] !== "string" || !r[f]) errs.push({ field: `metadata.ownerReferences[${i}].${f}`, reason: "FieldValueRequired", message: "Required value" });
      });
      if (m.ownerReferences.filter((r) => r?.controller).length > 1)
        errs.push({ field: "metadata.ownerReferences", reason: "FieldValueInvalid", message: "Only one reference can have Controller set to true" });
    }
  }
  return errs;
}
