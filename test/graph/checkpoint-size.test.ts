import { describe, expect, it } from "vitest";
import { approximateJsonLength } from "../../src/run/checkpointer.js";

describe("approximateJsonLength", () => {
  it("estimates a 100,000-deep object without overflowing the stack", () => {
    const root: Record<string, unknown> = {};
    let current = root;
    for (let i = 0; i < 100_000; i++) {
      const next: Record<string, unknown> = {};
      current.c = next;
      current = next;
    }
    expect(approximateJsonLength(root)).toBeGreaterThan(1_000);
  });

  it("ends on a value that contains itself", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(approximateJsonLength(a)).toBeGreaterThan(0);
  });

  it("is about the length of the JSON for ordinary values", () => {
    const value = { title: "draft", tags: ["a", "b"], n: 3, ok: true, none: null };
    const exact = JSON.stringify(value).length;
    const estimate = approximateJsonLength(value);
    expect(estimate).toBeGreaterThan(exact * 0.5);
    expect(estimate).toBeLessThan(exact * 2);
  });

  it("is not thrown off by an earlier estimate that threw", () => {
    // `kept` is still waiting to be walked when `thrower` throws.
    const bad = {
      kept: { a: 1 },
      thrower: {
        get boom(): never {
          throw new Error("boom");
        },
      },
    };
    expect(() => approximateJsonLength(bad)).toThrow("boom");
    expect(approximateJsonLength({ a: 1 })).toBe(approximateJsonLength({ a: 1 }));
    expect(approximateJsonLength([])).toBe(2);
  });
});
