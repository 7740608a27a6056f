/**
 * Kubernetes resource quantities ("100m", "1Gi", "1e3", "1.5"): parsing, validation,
 * numeric values and the canonical string form the API server stores and prints.
 *
 * Grammar (from the Kubernetes API conventions):
 *   <quantity> ::= <signedNumber><suffix>
 *   <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
 *   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *
 * Values are kept exact as mantissa * 10^exp (bigint mantissa), so "1.5Gi" or "0.1"
 * never go through floating point until a caller asks for a number.
 */

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface ParsedQuantity {
  /** value = mantissa * 10^exp, exactly. */
  mantissa: bigint;
  exp: number;
  format: QuantityFormat;
}

/** The message Kubernetes gives for a malformed quantity. */
export const QUANTITY_FORMAT_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** Parses a quantity; null when it is not a valid quantity string. Numbers are accepted as-is (JSON may carry them). */
export function parseQuantity(input: unknown): ParsedQuantity | null {
  const s = typeof input === "number" && Number.isFinite(input) ? String(input) : input;
  if (typeof s !== "string" || s.length === 0) return null;
  const m = NUMBER.exec(s);
  if (!m) return null;
  const [, sign, intPart, fracPart = "", suffix] = m;
  if (intPart.length === 0 && fracPart.length === 0) return null;
  // A bare "1." is fine in Go; a dot without any digit is not (checked above).
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, "") || "0";
  let mantissa = BigInt(digits);
  let exp = -fracPart.length;
  if (sign === "-") mantissa = -mantissa;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIX) {
    format = "DecimalSI";
    exp += DECIMAL_SUFFIX[suffix];
  } else if (suffix in BINARY_SUFFIX) {
    format = "BinarySI";
    mantissa *= 1024n ** BigInt(BINARY_SUFFIX[suffix]);
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    format = "DecimalExponent";
    const e = Number(suffix.slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > 1000) return null;
    exp += e;
  } else {
    return null;
  }
  return { mantissa, exp, format };
}

export function isValidQuantity(input: unknown): boolean {
  return parseQuantity(input) !== null;
}

/** The quantity as a JavaScript number (approximate for huge or very precise values); NaN if invalid. */
export function quantityToNumber(input: unknown): number {
  const q = parseQuantity(input);
  if (!q) return Number.NaN;
  return Number(q.mantissa) * 10 ** q.exp;
}

/** Rounds up to whole milli-units, as Kubernetes' MilliValue does (CPU millicores). NaN if invalid. */
export function quantityToMilli(input: unknown): number {
  const q = parseQuantity(input);
  if (!q) return Number.NaN;
  const e = q.exp + 3;
  if (e >= 0) return Number(q.mantissa * 10n ** BigInt(e));
  return Number(ceilDiv(q.mantissa, 10n ** BigInt(-e)));
}

/** Compares two quantities: negative, zero or positive. Invalid quantities compare as NaN. */
export function compareQuantities(a: unknown, b: unknown): number {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (!x || !y) return Number.NaN;
  const e = Math.min(x.exp, y.exp);
  const xm = x.mantissa * 10n ** BigInt(x.exp - e);
  const ym = y.mantissa * 10n ** BigInt(y.exp - e);
  return xm < ym ? -1 : xm > ym ? 1 : 0;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** Strips trailing zeros of the mantissa into the exponent; rounds up below nano precision like Kubernetes. */
function normalize(mantissa: bigint, exp: number): { mantissa: bigint; exp: number } {
  if (exp < -9) {
    mantissa = ceilDiv(mantissa, 10n ** BigInt(-9 - exp));
    exp = -9;
  }
  if (mantissa === 0n) return { mantissa, exp: 0 };
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exp++;
  }
  return { mantissa, exp };
}

const DECIMAL_NAMES: Record<number, string> = { [-9]: "n", [-6]: "u", [-3]: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E" };

/**
 * The canonical string Kubernetes stores and prints: "1.5Gi" -> "1536Mi", "0.5" -> "500m",
 * "1000" -> "1k", "1e3" -> "1e3", "2048Ki" -> "2Mi". Returns undefined if invalid.
 */
export function canonicalQuantity(input: unknown): string | undefined {
  const q = parseQuantity(input);
  return q ? formatQuantity(q) : undefined;
}

/** The canonical string of an already parsed (or computed) quantity; see canonicalQuantity. */
export function formatQuantity(q: ParsedQuantity): string {
  const { mantissa, exp } = normalize(q.mantissa, q.exp);
  if (mantissa === 0n) return "0";
  let format = q.format;
  if (format === "BinarySI") {
    const abs = mantissa < 0n ? -mantissa : mantissa;
    const small = exp <= 0 && abs < 1024n * 10n ** BigInt(-exp); // |value| < 1024
    if (small || exp < 0) format = "DecimalSI"; // small, or not an integer
  }
  if (format === "BinarySI") {
    let v = mantissa * 10n ** BigInt(exp);
    let k = 0;
    while (k < 6 && v % 1024n === 0n) {
      v /= 1024n;
      k++;
    }
    return `${v}${["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k]}`;
  }
  // Decimal: the largest exponent that is a multiple of 3 and keeps the mantissa whole.
  let e3 = Math.floor(exp / 3) * 3;
  if (format === "DecimalSI") e3 = Math.min(e3, 18);
  const m = mantissa * 10n ** BigInt(exp - e3);
  if (format === "DecimalExponent") return e3 === 0 ? `${m}` : `${m}e${e3}`;
  return `${m}${DECIMAL_NAMES[e3]}`;
}
