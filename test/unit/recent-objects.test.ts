import { describe, expect, it } from "vitest";
import { RecentObjects } from "../../src/store/recent-objects.ts";

describe("RecentObjects", () => {
  it("keeps the latest revision of each key; an older one never replaces it", () => {
    const r = new RecentObjects(1000);
    r.put("a", 5, "five");
    r.put("a", 3, "three");
    expect(r.get("a")).toEqual({ rev: 5, value: "five" });
    r.put("a", 7, "seven");
    expect(r.get("a")).toEqual({ rev: 7, value: "seven" });
    r.forget("a");
    expect(r.get("a")).toBeUndefined();
  });

  it("drops the least recently used entries once the JSON held passes its bound", () => {
    const r = new RecentObjects(160); // entries of at most 10 characters
    for (let i = 0; i < 16; i++) r.put(`k${i}`, i, "0123456789");
    expect(r.size).toBe(16);
    expect(r.get("k0")).toBeDefined(); // now the most recently used
    r.put("k16", 16, "0123456789");
    expect(r.size).toBe(16);
    expect(r.get("k1")).toBeUndefined(); // the least recently used went
    expect(r.get("k0")).toBeDefined();
    expect(r.get("k16")).toBeDefined();
  });

  it("does not keep an object larger than a sixteenth of its bound", () => {
    const r = new RecentObjects(160);
    r.put("big", 1, "x".repeat(11));
    expect(r.get("big")).toBeUndefined();
    r.put("small", 1, "x".repeat(10));
    expect(r.get("small")).toBeDefined();
  });
});
