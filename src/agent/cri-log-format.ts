/**
 * The CRI container log format, one line per chunk of output: `<RFC 3339 time> <stdout|stderr> <F|P> <text>`,
 * P marking a partial line (the text goes on in the next line of the same stream). The agent's own
 * log files (container-logs.ts) and podman's conmon `k8s-file` logs (log-file-follower.ts) are both in it.
 */

/** One parsed CRI line. */
export interface CriLine {
  time: string;
  ms: number;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: Buffer;
}

/** Parses one line (without its newline); undefined when it is not a CRI line. */
export function parseCriLine(line: Buffer): CriLine | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0) return undefined;
  const time = line.subarray(0, s1).toString("latin1");
  const stream = line.subarray(s1 + 1, s2).toString("latin1") === "stderr" ? "stderr" : "stdout";
  return { time, ms: Date.parse(time), stream, partial: line[s2 + 1] === 0x50 /* P */, text: line.subarray(s3 + 1) };
}

/** Splits at newlines: the complete lines (without their newline) and what follows the last one. */
export function splitLines(buf: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: buf.subarray(start) };
}

/**
 * The container output a run of CRI lines carries, per stream, as it was written: a full line's
 * text with its newline, a partial one's without. Lines that are not CRI lines are skipped.
 */
export function criOutput(lines: Buffer[]): { stream: "stdout" | "stderr"; data: Buffer }[] {
  const out: { stream: "stdout" | "stderr"; data: Buffer }[] = [];
  for (const raw of lines) {
    const l = parseCriLine(raw);
    if (!l) continue;
    const data = l.partial ? l.text : Buffer.concat([l.text, NEWLINE]);
    const last = out.at(-1);
    if (last && last.stream === l.stream) last.data = Buffer.concat([last.data, data]);
    else out.push({ stream: l.stream, data });
  }
  return out;
}

const NEWLINE = Buffer.from("\n");
