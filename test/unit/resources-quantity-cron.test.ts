import { describe, expect, it } from "vitest";
import { cronError, nextRun, parseCron, parseDuration } from "../../src/resources/cron.ts";
import { canonicalQuantity, compareQuantities, isValidQuantity, quantityToMilli, quantityToNumber } from "../../src/resources/quantity.ts";

describe("quantity", () => {
  it("parses numbers with SI, binary and exponent suffixes", () => {
    expect(quantityToNumber("100m")).toBe(0.1);
    expect(quantityToNumber("1Gi")).toBe(1073741824);
    expect(quantityToNumber("1e3")).toBe(1000);
    expect(quantityToNumber("1.5")).toBe(1.5);
    expect(quantityToNumber("2k")).toBe(2000);
    expect(quantityToNumber("-1")).toBe(-1);
    expect(quantityToNumber(".5")).toBe(0.5);
    expect(quantityToNumber(3)).toBe(3);
  });
  it("rejects malformed quantities", () => {
    for (const bad of ["", "abc", "1KiB", "1e", ".", "1.2.3", "Gi", "1 Gi", "--1", null, {}]) expect(isValidQuantity(bad), String(bad)).toBe(false);
    expect(quantityToNumber("abc")).toBeNaN();
  });
  it("rounds up to millis", () => {
    expect(quantityToMilli("100m")).toBe(100);
    expect(quantityToMilli("1")).toBe(1000);
    expect(quantityToMilli("0.0001")).toBe(1);
    expect(quantityToMilli("1.5")).toBe(1500);
  });
  it("canonicalizes as the API server stores quantities", () => {
    const cases: [unknown, string][] = [
      ["100m", "100m"],
      ["1Gi", "1Gi"],
      ["1.5Gi", "1536Mi"],
      ["0.5Gi", "512Mi"],
      ["0.5Ki", "512"],
      ["2048Ki", "2Mi"],
      ["1000", "1k"],
      ["1500", "1500"],
      ["1.5", "1500m"],
      ["0.1", "100m"],
      ["1e3", "1e3"],
      ["12e-3", "12e-3"],
      ["0", "0"],
      ["0.0001m", "100n"],
      [0.5, "500m"],
    ];
    for (const [q, want] of cases) expect(canonicalQuantity(q), String(q)).toBe(want);
    expect(canonicalQuantity("nope")).toBeUndefined();
  });
  it("compares exactly", () => {
    expect(compareQuantities("1Gi", "1024Mi")).toBe(0);
    expect(compareQuantities("100m", "0.2")).toBe(-1);
    expect(compareQuantities("1k", "999")).toBe(1);
  });
});

describe("cron", () => {
  const t = Date.parse("2024-03-09T12:34:56Z"); // a Saturday
  const next = (s: string, after = t, tz?: string) => new Date(nextRun(s, after, tz)!).toISOString();

  it("parses fields, names, lists, ranges and steps", () => {
    const s = parseCron("*/15 9-17 1,15 JAN-mar mon-fri");
    if (s.kind !== "spec") throw new Error("expected a spec schedule");
    expect([...s.minute.values]).toEqual([0, 15, 30, 45]);
    expect([...s.hour.values]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...s.dom.values]).toEqual([1, 15]);
    expect([...s.month.values]).toEqual([1, 2, 3]);
    expect([...s.dow.values]).toEqual([1, 2, 3, 4, 5]);
    expect(s.minute.star).toBe(false);
    expect(parseCron("? * * * *").kind).toBe("spec");
  });
  it("computes the next run", () => {
    expect(next("*/15 * * * *")).toBe("2024-03-09T12:45:00.000Z");
    expect(next("* * * * *")).toBe("2024-03-09T12:35:00.000Z");
    expect(next("0 0 * * *")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("0 9 * * MON-FRI")).toBe("2024-03-11T09:00:00.000Z");
    expect(next("0 0 31 * *")).toBe("2024-03-31T00:00:00.000Z");
    expect(next("0 0 29 2 *")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("5/20 * * * *")).toBe("2024-03-09T12:45:00.000Z");
    // Both day fields restricted: either matches (the 13th is a Wednesday, before the 15th).
    expect(next("0 0 1,15 * 3")).toBe("2024-03-13T00:00:00.000Z");
    // One of them "*": both must match.
    expect(next("0 0 * * 3")).toBe("2024-03-13T00:00:00.000Z");
    expect(nextRun("0 0 30 2 *", t)).toBeUndefined();
  });
  it("is strictly after the given time", () => {
    expect(next("0 * * * *", Date.parse("2024-03-09T13:00:00Z"))).toBe("2024-03-09T14:00:00.000Z");
  });
  it("supports descriptors and @every", () => {
    expect(next("@hourly")).toBe("2024-03-09T13:00:00.000Z");
    expect(next("@daily")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("@midnight")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("@weekly")).toBe("2024-03-10T00:00:00.000Z");
    expect(next("@monthly")).toBe("2024-04-01T00:00:00.000Z");
    expect(next("@yearly")).toBe("2025-01-01T00:00:00.000Z");
    expect(next("@annually")).toBe("2025-01-01T00:00:00.000Z");
    expect(next("@every 90s")).toBe("2024-03-09T12:36:26.000Z");
    expect(parseDuration("1h30m")).toBe(5_400_000);
  });
  it("honours time zones, including DST gaps", () => {
    expect(next("0 9 * * *", t, "Europe/Berlin")).toBe("2024-03-10T08:00:00.000Z");
    expect(next("TZ=America/New_York 0 9 * * *")).toBe("2024-03-09T14:00:00.000Z");
    // 02:30 does not exist in New York on 2024-03-10: the next run is the day after (EDT).
    expect(next("30 2 * * *", Date.parse("2024-03-09T12:00:00Z"), "America/New_York")).toBe("2024-03-11T06:30:00.000Z");
  });
  it("reports errors like Kubernetes does", () => {
    expect(cronError("0 * * * *")).toBeUndefined();
    expect(cronError("* * * *")).toBe("expected exactly 5 fields, found 4: [* * * *]");
    expect(cronError("61 * * * *")).toBe("end of range (61) above maximum (59): 61");
    expect(cronError("* * 0 * *")).toBe("beginning of range (0) below minimum (1): 0");
    expect(cronError("5-2 * * * *")).toBe("beginning of range (5) beyond end of range (2): 5-2");
    expect(cronError("*/0 * * * *")).toBe("step of range should be a positive number: */0");
    expect(cronError("a * * * *")).toBe('failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax');
    expect(cronError("1/2/3 * * * *")).toBe("too many slashes: 1/2/3");
    expect(cronError("@foo")).toBe("unrecognized descriptor: @foo");
    expect(cronError("@every x")).toBe('failed to parse duration @every x: time: invalid duration "x"');
    expect(cronError("TZ=Mars/Olympus 0 * * * *")).toBe("provided bad location Mars/Olympus: unknown time zone Mars/Olympus");
    expect(cronError("")).toBe("empty spec string");
  });
});
