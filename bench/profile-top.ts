import { readFileSync } from "node:fs";

/**
 * The functions a .cpuprofile spent most self time in:
 *   `tsx bench/profile-top.ts FILE [N] [--from S] [--to S] [--timeline [--step S]]`
 * --from/--to keep the samples of that window (seconds since the profile started, e.g. a bench
 * phase); --timeline prints, per second (or step), the share of it the isolate was busy and its top function;
 * --inclusive ranks functions by the time spent in them and what they called (where a cost comes from).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Sample {
  key: string;
  /** The profile node sampled (its stack: this node and its parents). */
  node: number;
  /** Microseconds since the profile started. */
  at: number;
  us: number;
}

const IDLE = "(idle)";

function frameKey(f: ProfileNode["callFrame"]): string {
  return f.functionName.startsWith("(") ? f.functionName : `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
}

function samples(profile: Profile): Sample[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const out: Sample[] = [];
  let at = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    out.push({ key: frameKey(byId.get(id)!.callFrame), node: id, at, us });
  });
  return out;
}

function inWindow(all: Sample[], fromS?: number, toS?: number): Sample[] {
  return all.filter((s) => (fromS === undefined || s.at >= fromS * 1e6) && (toS === undefined || s.at < toS * 1e6));
}

function bySelf(list: Sample[]): [string, number][] {
  const self = new Map<string, number>();
  for (const s of list) self.set(s.key, (self.get(s.key) ?? 0) + s.us);
  return [...self].sort((a, b) => b[1] - a[1]);
}

export function topSelfTime(profile: Profile, n = 30, window: { fromS?: number; toS?: number } = {}): string[] {
  const list = inWindow(samples(profile), window.fromS, window.toS);
  const total = list.reduce((a, s) => a + s.us, 0);
  return bySelf(list)
    .slice(0, n)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/** Functions by inclusive time: a sample counts for every distinct function on its stack. */
export function topInclusiveTime(profile: Profile, n = 30, window: { fromS?: number; toS?: number } = {}): string[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const list = inWindow(samples(profile), window.fromS, window.toS);
  const total = list.reduce((a, s) => a + s.us, 0);
  const incl = new Map<string, number>();
  for (const s of list) {
    const seen = new Set<string>();
    for (let id: number | undefined = s.node; id !== undefined; id = parent.get(id)) {
      const key = frameKey(byId.get(id)!.callFrame);
      if (key === "(root)" || seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + s.us);
    }
  }
  return [...incl]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/** Per step (a second unless told): the share of it spent outside (idle), and the function with most self time. */
export function timeline(profile: Profile, window: { fromS?: number; toS?: number } = {}, stepS = 1): string[] {
  const seconds = new Map<number, Sample[]>();
  for (const s of inWindow(samples(profile), window.fromS, window.toS)) {
    const k = Math.floor(s.at / 1e6 / stepS);
    let list = seconds.get(k);
    if (!list) seconds.set(k, (list = []));
    list.push(s);
  }
  return [...seconds].map(([sec, list]) => {
    const total = list.reduce((a, s) => a + s.us, 0);
    const busy = list.filter((s) => s.key !== IDLE);
    const busyUs = busy.reduce((a, s) => a + s.us, 0);
    const [top] = bySelf(busy);
    return `${(sec * stepS).toFixed(stepS < 1 ? 1 : 0).padStart(7)} s  busy ${((100 * busyUs) / Math.max(total, 1)).toFixed(0).padStart(3)}%  ${top ? `${(top[1] / 1000).toFixed(0).padStart(4)} ms ${top[0]}` : ""}`;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [, v] = args.splice(i, 2);
    return Number(v);
  };
  const fromS = flag("--from");
  const toS = flag("--to");
  const stepS = flag("--step");
  const option = (name: string) => {
    const i = args.indexOf(name);
    if (i >= 0) args.splice(i, 1);
    return i >= 0;
  };
  const lines = option("--timeline");
  const inclusive = option("--inclusive");
  const [file, n] = args;
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const top = inclusive ? topInclusiveTime : topSelfTime;
  console.log((lines ? timeline(profile, { fromS, toS }, stepS) : top(profile, Number(n ?? 30), { fromS, toS })).join("\n"));
}
