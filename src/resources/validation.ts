import { dns1123Label, dns1123Subdomain, qualifiedName, validateLabels } from "./meta.ts";
import { canonicalQuantity, compareQuantities, parseQuantity, QUANTITY_FORMAT_MESSAGE } from "./quantity.ts";
import type { FieldError } from "./types.ts";

/**
 * Field-error constructors with Kubernetes' wording, and checks several kinds share
 * (ports, IPs, int-or-percent, quantities, label selectors, immutability).
 */

export type Obj = Record<string, unknown>;

/** How Kubernetes renders a bad value in "Invalid value: <v>": strings quoted, numbers bare, the rest as JSON. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "null";
  return JSON.stringify(v);
}

export const required = (field: string, detail = ""): FieldError => ({
  field,
  reason: "FieldValueRequired",
  message: detail ? `Required value: ${detail}` : "Required value",
});

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  reason: "FieldValueInvalid",
  message: `Invalid value: ${show(value)}: ${detail}`,
});

export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  field,
  reason: "FieldValueNotSupported",
  message: `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
});

export const duplicate = (field: string, value: unknown): FieldError => ({
  field,
  reason: "FieldValueDuplicate",
  message: `Duplicate value: ${show(value)}`,
});

export const forbidden = (field: string, detail: string): FieldError => ({ field, reason: "FieldValueForbidden", message: `Forbidden: ${detail}` });

export const tooLong = (field: string, max: number): FieldError => ({
  field,
  reason: "FieldValueTooLong",
  message: `Too long: must have at most ${max} bytes`,
});

export const immutable = (field: string, value: unknown): FieldError => invalid(field, value, "field is immutable");

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The object at `o[key]`, or an empty one (for reading optional sub-objects). */
export function sub(o: unknown, key: string): Obj {
  const v = isObj(o) ? o[key] : undefined;
  return isObj(v) ? v : {};
}

export const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Deep equality of JSON values; an absent field equals an empty object/array/null/"" only if `loose`. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Equality where null, undefined, {} and [] count as "unset" (Go's omitempty round trip). */
export function sameIgnoringEmpty(a: unknown, b: unknown): boolean {
  const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
  if (empty(a) && empty(b)) return true;
  return jsonEqual(a, b);
}

/** An "Invalid value: ...: field is immutable" error when the value at `path` changed. */
export function checkImmutable(errs: FieldError[], field: string, next: unknown, prev: unknown): void {
  if (!sameIgnoringEmpty(next, prev)) errs.push(immutable(field, next));
}

// ---------------------------------------------------------------- numbers

export function nonNegative(errs: FieldError[], field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (!isInt(v)) errs.push(invalid(field, v, "must be an integer"));
  else if (v < 0) errs.push(invalid(field, v, "must be greater than or equal to 0"));
}

export function positive(errs: FieldError[], field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (!isInt(v)) errs.push(invalid(field, v, "must be an integer"));
  else if (v <= 0) errs.push(invalid(field, v, "must be greater than 0"));
}

export function enumField(errs: FieldError[], field: string, v: unknown, supported: readonly string[]): void {
  if (v === undefined || v === null) return;
  if (typeof v !== "string" || !supported.includes(v)) errs.push(notSupported(field, v, supported));
}

export function validPort(v: unknown): boolean {
  return isInt(v) && v >= 1 && v <= 65535;
}

export const PORT_RANGE_MESSAGE = "must be between 1 and 65535, inclusive";

/** An IANA service name, as a named port ("http", "metrics-1"). Returns the problems. */
export function portNameProblems(name: string): string[] {
  const out: string[] = [];
  if (name.length > 15) out.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(name)) out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(name)) out.push("must contain at least one letter (a-z)");
  if (name.includes("--")) out.push("must not contain consecutive hyphens");
  if (/^-|-$/.test(name)) out.push("must not begin or end with a hyphen");
  return out;
}

/** An int-or-string port reference (containerPort number or name). */
export function validateIntOrNamedPort(errs: FieldError[], field: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (typeof v === "number") {
    if (!validPort(v)) errs.push(invalid(field, v, PORT_RANGE_MESSAGE));
  } else if (typeof v === "string") {
    if (/^\d+$/.test(v)) {
      if (!validPort(Number(v))) errs.push(invalid(field, v, PORT_RANGE_MESSAGE));
    } else for (const p of portNameProblems(v)) errs.push(invalid(field, v, p));
  } else errs.push(invalid(field, v, "must be an integer or a string"));
}

/** int-or-percent ("25%" or 3) that must not be negative; optionally at most 100%. */
export function validateIntOrPercent(errs: FieldError[], field: string, v: unknown, opts: { max100?: boolean } = {}): void {
  if (v === undefined || v === null) return;
  if (typeof v === "string") {
    if (!/^[0-9]+%$/.test(v)) {
      errs.push(invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
      return;
    }
    if (opts.max100 && Number(v.slice(0, -1)) > 100) errs.push(invalid(field, v, "must not be greater than 100%"));
  } else if (isInt(v)) {
    if (v < 0) errs.push(invalid(field, v, "must be greater than or equal to 0"));
  } else errs.push(invalid(field, v, "must be an integer or percentage (e.g '5%')"));
}

/** The integer a non-percent int-or-string stands for, or the percent number; 0 if unset. */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Number.parseInt(v, 10) || 0;
  return 0;
}

// ---------------------------------------------------------------- IPs

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIPv6(s: string): boolean {
  if (!s.includes(":")) return false;
  let body = s;
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    if (!isIPv4(v4[2])) return false;
    body = `${v4[1]}0:0`; // a trailing dotted quad stands for two groups
  }
  const hex = (g: string) => /^[0-9a-fA-F]{1,4}$/.test(g);
  const halves = body.split("::");
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = body.split(":");
    return groups.length === 8 && groups.every(hex);
  }
  const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")));
  return groups.length <= 7 && groups.every(hex);
}

export function isIP(s: unknown): s is string {
  return typeof s === "string" && (isIPv4(s) || isIPv6(s));
}

export const IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

/** Is this a valid CIDR ("10.0.0.0/24", "fd00::/64")? */
export function isCIDR(s: unknown): boolean {
  if (typeof s !== "string") return false;
  const [ip, bits, ...rest] = s.split("/");
  if (rest.length || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  if (isIPv4(ip)) return Number(bits) <= 32;
  if (isIPv6(ip)) return Number(bits) <= 128;
  return false;
}

/** Endpoint addresses may not be special addresses. */
export function endpointIPProblems(ip: string): string[] {
  if (!isIP(ip)) return ["must be a valid IP address"];
  const out: string[] = [];
  if (ip === "0.0.0.0" || ip === "::") out.push("may not be unspecified (0.0.0.0)");
  if (/^127\./.test(ip) || ip === "::1") out.push("may not be in the loopback range (127.0.0.0/8, ::1/128)");
  if (/^169\.254\./.test(ip) || /^fe[89ab]/i.test(ip)) out.push("may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  if (/^224\.0\.0\./.test(ip) || /^ff02:/i.test(ip)) out.push("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
  return out;
}

// ---------------------------------------------------------------- names

export { dns1123Label, dns1123Subdomain, qualifiedName };
export { dns1123Label as label, dns1123Subdomain as subdomain };

/** DNS-1035 label (service names): starts with a letter. */
export function dns1035Label(value: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (value.length > 63) errs.push(invalid(field, value, "must be no more than 63 characters"));
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value))
    errs.push(
      invalid(
        field,
        value,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
  return errs;
}

/** A DNS subdomain that may start with "*." (Ingress hosts, TLS hosts). */
export function wildcardSubdomain(value: string, field: string): FieldError[] {
  if (value.startsWith("*.")) {
    const rest = value.slice(2);
    if (dns1123Subdomain(rest, field).length === 0) return [];
    return [
      invalid(
        field,
        value,
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  }
  return dns1123Subdomain(value, field);
}

// ---------------------------------------------------------------- quantities and resource lists

/** A resource map ({cpu: "100m", memory: "1Gi"}): names are qualified names, values valid, non-negative quantities. */
export function validateResourceList(errs: FieldError[], field: string, list: unknown, opts: { positive?: boolean } = {}): void {
  if (list === undefined || list === null) return;
  if (!isObj(list)) {
    errs.push(invalid(field, list, "must be a map of resource names to quantities"));
    return;
  }
  for (const [name, value] of Object.entries(list)) {
    const at = `${field}[${name}]`;
    errs.push(...qualifiedName(name, at));
    const q = parseQuantity(value);
    if (!q) {
      errs.push(invalid(at, value, QUANTITY_FORMAT_MESSAGE));
      continue;
    }
    if (opts.positive ? q.mantissa <= 0n : q.mantissa < 0n)
      errs.push(invalid(at, canonicalQuantity(value), opts.positive ? "must be greater than zero" : "must be greater than or equal to 0"));
  }
}

/** Rewrites every quantity of a resource map to its canonical form (as the API server stores them). */
export function canonicalizeResourceList(list: unknown): void {
  if (!isObj(list)) return;
  for (const [k, v] of Object.entries(list)) {
    const c = canonicalQuantity(v);
    if (c !== undefined) list[k] = c;
  }
}

export { compareQuantities };

// ---------------------------------------------------------------- label selectors

const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/** A metav1.LabelSelector: matchLabels are valid labels; expressions have valid keys, operators and values. */
export function validateLabelSelector(errs: FieldError[], field: string, sel: unknown): void {
  if (sel === undefined || sel === null) return;
  if (!isObj(sel)) {
    errs.push(invalid(field, sel, "must be a label selector object"));
    return;
  }
  errs.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  const exprs = sel.matchExpressions;
  if (exprs === undefined || exprs === null) return;
  if (!Array.isArray(exprs)) {
    errs.push(invalid(`${field}.matchExpressions`, exprs, "must be a list"));
    return;
  }
  exprs.forEach((e: unknown, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    const x = isObj(e) ? e : {};
    if (typeof x.key !== "string" || !x.key) errs.push(required(`${at}.key`));
    else errs.push(...qualifiedName(x.key, `${at}.key`));
    const op = x.operator;
    if (typeof op !== "string" || !SELECTOR_OPERATORS.includes(op)) {
      errs.push(notSupported(`${at}.operator`, op, SELECTOR_OPERATORS));
      return;
    }
    const values = Array.isArray(x.values) ? x.values : [];
    if ((op === "In" || op === "NotIn") && values.length === 0)
      errs.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    if ((op === "Exists" || op === "DoesNotExist") && values.length > 0)
      errs.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  });
}

/** Is the selector empty (selects everything)? */
export function selectorEmpty(sel: unknown): boolean {
  if (!isObj(sel)) return true;
  const ml = isObj(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0;
  const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0;
  return ml === 0 && me === 0;
}

const NODE_SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];

/** A NodeSelector's terms (PV node affinity, pod node affinity). */
export function validateNodeSelectorTerms(errs: FieldError[], field: string, terms: unknown): void {
  if (!Array.isArray(terms) || terms.length === 0) return void errs.push(required(field, "must have at least one node selector term"));
  terms.forEach((t, i) => {
    const term = isObj(t) ? t : {};
    for (const list of ["matchExpressions", "matchFields"]) {
      const reqs = term[list];
      if (!Array.isArray(reqs)) continue;
      reqs.forEach((r, j) => {
        const at = `${field}[${i}].${list}[${j}]`;
        const req = isObj(r) ? r : {};
        if (typeof req.key !== "string" || !req.key) errs.push(required(`${at}.key`));
        else if (list === "matchExpressions") errs.push(...qualifiedName(req.key, `${at}.key`));
        const op = req.operator;
        if (!NODE_SELECTOR_OPERATORS.includes(op as string)) return void errs.push(notSupported(`${at}.operator`, op, NODE_SELECTOR_OPERATORS));
        const values = Array.isArray(req.values) ? req.values : [];
        if ((op === "In" || op === "NotIn") && values.length === 0) errs.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        if ((op === "Exists" || op === "DoesNotExist") && values.length > 0) errs.push(forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        if ((op === "Gt" || op === "Lt") && values.length !== 1) errs.push(required(`${at}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      });
    }
  });
}

// ---------------------------------------------------------------- misc

/** UTF-8 byte length of a string. */
export function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * Strict standard base64 as Go's encoding/json decodes []byte (padding required;
 * CR and LF ignored). Returns the decoded length, or an error message.
 */
export function base64Length(s: string): { length: number } | { error: string } {
  const clean = s.replace(/[\r\n]/g, "");
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i];
    if (!/[A-Za-z0-9+/=]/.test(c)) return { error: `illegal base64 data at input byte ${i}` };
  }
  if (clean.length % 4 !== 0) return { error: `illegal base64 data at input byte ${clean.length - (clean.length % 4)}` };
  const pad = clean.indexOf("=");
  if (pad !== -1 && (pad < clean.length - 2 || !/^=+$/.test(clean.slice(pad)))) return { error: `illegal base64 data at input byte ${pad}` };
  const padding = pad === -1 ? 0 : clean.length - pad;
  return { length: (clean.length / 4) * 3 - padding };
}

/** Base64 of a string's UTF-8 bytes (how stringData lands in data). */
export function toBase64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Keys of ConfigMaps and Secrets. Returns the problems (Kubernetes' IsConfigMapKey). */
export function configKeyProblems(key: string): string[] {
  const out: string[] = [];
  if (key.length > 253) out.push("must be no more than 253 characters");
  if (!/^[-._a-zA-Z0-9]+$/.test(key))
    out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (key === ".") out.push("must not be '.'");
  else if (key === "..") out.push("must not be '..'");
  else if (key.startsWith("..")) out.push("must not start with '..'");
  return out;
}
