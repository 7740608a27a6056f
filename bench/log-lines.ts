/** Splits a child's output (arbitrary chunks) into whole lines for a parser of the Worker's log lines. */
export class LogLines {
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  feed(chunk: string): void {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    if (this.partial.length > 100_000) this.partial = "";
    for (const line of lines) this.onLine(line);
  }
}
