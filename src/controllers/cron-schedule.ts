import { type CronSchedule, isValidTimeZone, nextRun } from "../resources/cron.ts";

/**
 * Schedule arithmetic the CronJob reconciler needs on top of src/resources/cron.ts:
 * the most recent unmet schedule time in a window (bounded work however long the
 * controller was away), the next time to wake, and RFC 3339 times in a zone.
 */

/** More missed schedules than this is "too many" (Kubernetes warns TooManyMissedTimes). */
export const MANY_MISSED = 100;

export interface UnmetSchedule {
  /** The latest schedule time in (earliest, now], if any. */
  time?: number;
  /** How many schedule times fell in (earliest, now], counted up to MANY_MISSED + 1. */
  missed: number;
  /** More than MANY_MISSED schedule times were missed. */
  tooMany: boolean;
}

/** The zone a schedule runs in: its own TZ= prefix, else `timeZone`, else UTC. */
export function scheduleZone(schedule: CronSchedule, timeZone?: string): string {
  return schedule.timeZone ?? timeZone ?? "UTC";
}

/**
 * The latest schedule time in (earliest, now] and how many there were. `@every`
 * schedules are anchored at `earliest` (as robfig/cron's constant-delay schedule is
 * when the controller asks for the next time after the last one).
 */
export function mostRecentUnmet(schedule: CronSchedule, earliest: number, now: number, timeZone?: string): UnmetSchedule {
  const tz = scheduleZone(schedule, timeZone);
  if (earliest >= now) return { missed: 0, tooMany: false };
  if (schedule.kind === "every") {
    const first = nextRun(schedule, earliest, tz)!;
    if (first > now) return { missed: 0, tooMany: false };
    const missed = Math.floor((now - first) / schedule.everyMs) + 1;
    return { time: first + (missed - 1) * schedule.everyMs, missed: Math.min(missed, MANY_MISSED + 1), tooMany: missed > MANY_MISSED };
  }
  let missed = 0;
  let last: number | undefined;
  for (let t = earliest; ; ) {
    const n = nextRun(schedule, t, tz);
    if (n === undefined || n > now) break;
    last = n;
    t = n;
    if (++missed > MANY_MISSED) {
      return { time: latestAtOrBefore(schedule, earliest, now, tz), missed, tooMany: true };
    }
  }
  return last === undefined ? { missed: 0, tooMany: false } : { time: last, missed, tooMany: false };
}

/** The latest schedule time in (floor, now], searching back from `now` in doubling windows. */
function latestAtOrBefore(schedule: CronSchedule, floor: number, now: number, tz: string): number | undefined {
  for (let window = 60_000; ; window *= 2) {
    const start = Math.max(floor, now - window);
    let last: number | undefined;
    for (let t = start; ; ) {
      const n = nextRun(schedule, t, tz);
      if (n === undefined || n > now) break;
      last = n;
      t = n;
    }
    if (last !== undefined || start === floor) return last;
  }
}

/**
 * The first schedule time strictly after `now`. For `@every` schedules the times are
 * `anchor + k * every` (anchor: the last schedule time, or the earliest time considered).
 */
export function nextScheduleAfter(schedule: CronSchedule, anchor: number, now: number, timeZone?: string): number | undefined {
  const tz = scheduleZone(schedule, timeZone);
  if (schedule.kind === "every") {
    const first = nextRun(schedule, anchor, tz)!;
    if (first > now) return first;
    return first + (Math.floor((now - first) / schedule.everyMs) + 1) * schedule.everyMs;
  }
  return nextRun(schedule, now, tz);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock offset (ms, local minus UTC) of a zone at an instant. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  if (timeZone === "UTC" || timeZone === "Etc/UTC") return 0;
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== "literal") p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * RFC 3339 with seconds, as Go formats `t.In(zone).Format(time.RFC3339)`:
 * "2026-03-29T03:00:00+02:00", or a "Z" suffix when the offset is zero.
 */
export function formatInZone(ms: number, timeZone = "UTC"): string {
  const tz = isValidTimeZone(timeZone) ? timeZone : "UTC";
  const offset = zoneOffsetMs(ms, tz);
  const d = new Date(Math.floor(ms / 1000) * 1000 + offset);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (offset === 0) return `${date}Z`;
  const sign = offset < 0 ? "-" : "+";
  const minutes = Math.round(Math.abs(offset) / 60_000);
  return `${date}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}
