/**
 * Cron schedules as CronJob's spec.schedule accepts them: five fields
 * (minute hour day-of-month month day-of-week) with lists, ranges, steps, names
 * (JAN-DEC, SUN-SAT) and "?"; the descriptors @yearly @annually @monthly @weekly
 * @daily @midnight @hourly and "@every <duration>"; an optional "TZ=<zone> " or
 * "CRON_TZ=<zone> " prefix. Pure functions: `parseCron` and `nextRun`.
 *
 * Day matching follows classic cron: when both day-of-month and day-of-week are
 * restricted, a day matches if either does; if either is "*", both must match.
 */

export interface FieldSet {
  values: Set<number>;
  /** The field was "*" or "?" (not a step like "*\/2"). */
  star: boolean;
}

export type CronSchedule =
  | {
      kind: "spec";
      minute: FieldSet;
      hour: FieldSet;
      dom: FieldSet;
      month: FieldSet;
      dow: FieldSet;
      /** From a TZ= / CRON_TZ= prefix, if any. */
      timeZone?: string;
    }
  | { kind: "every"; everyMs: number; timeZone?: string };

export class CronError extends Error {}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Is this an IANA time zone the runtime knows (and not "Local")? */
export function isValidTimeZone(tz: string): boolean {
  if (!tz || tz.toLowerCase() === "local") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function parseInt10(s: string, expr: string): number {
  if (!/^-?\d+$/.test(s)) throw new CronError(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  const n = Number(s);
  if (n < 0) throw new CronError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseValue(s: string, b: Bounds, expr: string): number {
  const named = b.names?.[s.toLowerCase()];
  return named !== undefined ? named : parseInt10(s, expr);
}

function parseField(field: string, b: Bounds): FieldSet {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(",")) {
    const rangeAndStep = expr.split("/");
    if (rangeAndStep.length > 2) throw new CronError(`too many slashes: ${expr}`);
    const lowAndHigh = rangeAndStep[0].split("-");
    if (lowAndHigh.length > 2) throw new CronError(`too many hyphens: ${expr}`);
    let start: number;
    let end: number;
    let isStar = false;
    if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
      if (lowAndHigh.length > 1) throw new CronError(`failed to parse int from ${lowAndHigh[0]}: strconv.Atoi: parsing "${lowAndHigh[0]}": invalid syntax`);
      start = b.min;
      end = b.max;
      isStar = true;
    } else {
      start = parseValue(lowAndHigh[0], b, expr);
      end = lowAndHigh.length === 2 ? parseValue(lowAndHigh[1], b, expr) : start;
    }
    let step = 1;
    if (rangeAndStep.length === 2) {
      step = parseInt10(rangeAndStep[1], expr);
      // "N/step" means "N-max/step".
      if (lowAndHigh.length === 1 && !isStar) end = b.max;
      if (step > 1) isStar = false;
    }
    if (start < b.min) throw new CronError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
    if (end > b.max) throw new CronError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
    if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
    if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
    for (let v = start; v <= end; v += step) values.add(v);
    if (isStar) star = true;
  }
  return { values, star };
}

/** Go's time.ParseDuration, enough for "@every": "1h30m", "90s", "1.5h", "500ms". */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const orig = s;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new CronError(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) {
      if (/^(\d+(?:\.\d*)?|\.\d+)$/.test(s)) throw new CronError(`time: missing unit in duration "${orig}"`);
      throw new CronError(`time: invalid duration "${orig}"`);
    }
    total += Number(m[1]) * units[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Parses a schedule; throws CronError with robfig/cron-style messages (as Kubernetes reports them). */
export function parseCron(spec: string): CronSchedule {
  let s = spec.trim();
  if (s.length === 0) throw new CronError("empty spec string");
  let timeZone: string | undefined;
  if (s.startsWith("TZ=") || s.startsWith("CRON_TZ=")) {
    const i = s.indexOf(" ");
    const eq = s.indexOf("=");
    timeZone = s.slice(eq + 1, i === -1 ? undefined : i);
    if (!isValidTimeZone(timeZone)) throw new CronError(`provided bad location ${timeZone}: unknown time zone ${timeZone}`);
    s = i === -1 ? "" : s.slice(i).trim();
    if (s.length === 0) throw new CronError("empty spec string");
  }
  if (s.startsWith("@")) {
    if (s.startsWith("@every ")) {
      const text = s.slice("@every ".length).trim();
      let ms: number;
      try {
        ms = parseDuration(text);
      } catch (e) {
        throw new CronError(`failed to parse duration ${s}: ${(e as Error).message}`);
      }
      // Like robfig/cron: whole seconds, at least one.
      ms = Math.max(1000, Math.floor(ms / 1000) * 1000);
      return { kind: "every", everyMs: ms, timeZone };
    }
    const expanded = DESCRIPTORS[s];
    if (!expanded) throw new CronError(`unrecognized descriptor: ${s}`);
    s = expanded;
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const [minute, hour, dom, month, dow] = fields.map((f, i) => parseField(f, FIELDS[i]));
  return { kind: "spec", minute, hour, dom, month, dow, timeZone };
}

/** Is `spec` a valid schedule? Returns the error message, or undefined. */
export function cronError(spec: string): string | undefined {
  try {
    parseCron(spec);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone ("UTC" is fast-pathed). */
function wallOf(ms: number, tz: string): Wall {
  if (tz === "UTC" || tz === "Etc/UTC") {
    const d = new Date(ms);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
  }
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute };
}

const wallAsUTC = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);

/** Offset (wall - UTC) in ms of a zone at an instant. */
function offsetAt(ms: number, tz: string): number {
  const w = wallOf(ms, tz);
  const seconds = new Date(ms).getUTCSeconds() * 1000 + new Date(ms).getUTCMilliseconds();
  return wallAsUTC(w) + seconds - ms;
}

/**
 * The instant of a wall-clock time in a zone: the earlier one when the time is
 * ambiguous (clocks going back); undefined when it does not exist (clocks going forward).
 */
function instantOf(w: Wall, tz: string): number | undefined {
  const local = wallAsUTC(w);
  const candidates = new Set<number>();
  for (const probe of [local - 86_400_000, local, local + 86_400_000]) candidates.add(local - offsetAt(probe, tz));
  const hits = [...candidates].filter((t) => {
    const x = wallOf(t, tz);
    return x.year === w.year && x.month === w.month && x.day === w.day && x.hour === w.hour && x.minute === w.minute;
  });
  return hits.length ? Math.min(...hits) : undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayMatches(s: Extract<CronSchedule, { kind: "spec" }>, w: Wall): boolean {
  const domMatch = s.dom.values.has(w.day);
  const dowMatch = s.dow.values.has(new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay());
  if (s.dom.star || s.dow.star) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

/**
 * The first time strictly after `after` (ms since epoch) that the schedule fires,
 * in `timeZone` (the schedule's own TZ= prefix wins; default UTC). Undefined if
 * nothing matches within five years (e.g. "0 0 30 2 *").
 */
export function nextRun(schedule: CronSchedule | string, after: number, timeZone = "UTC"): number | undefined {
  const s = typeof schedule === "string" ? parseCron(schedule) : schedule;
  const tz = s.timeZone ?? timeZone;
  if (s.kind === "every") return Math.floor(after / 1000) * 1000 + s.everyMs;
  // Walk wall-clock minutes from the next whole minute, skipping whole months/days/hours that cannot match.
  const w = wallOf(Math.floor(after / 60_000) * 60_000 + 60_000, tz);
  const nextMonth = () => {
    w.month++;
    if (w.month > 12) {
      w.month = 1;
      w.year++;
    }
    w.day = 1;
    w.hour = 0;
    w.minute = 0;
  };
  const nextDay = () => {
    w.day++;
    w.hour = 0;
    w.minute = 0;
    if (w.day > daysInMonth(w.year, w.month)) nextMonth();
  };
  const nextHour = () => {
    w.hour++;
    w.minute = 0;
    if (w.hour > 23) nextDay();
  };
  const nextMinute = () => {
    w.minute++;
    if (w.minute > 59) nextHour();
  };
  const limit = w.year + 5;
  while (w.year <= limit) {
    if (!s.month.values.has(w.month)) nextMonth();
    else if (!dayMatches(s, w)) nextDay();
    else if (!s.hour.values.has(w.hour)) nextHour();
    else if (!s.minute.values.has(w.minute)) nextMinute();
    else {
      const t = instantOf(w, tz);
      if (t !== undefined && t > after) return t;
      nextMinute(); // nonexistent (a DST gap), or not after `after`
    }
  }
  return undefined;
}
