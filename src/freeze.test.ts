import { describe, expect, it } from "vitest";
import { deepFreeze, isFrozenJson } from "./freeze.js";

describe("isFrozenJson", () => {
  it("accepts only JSON that is frozen all the way down", () => {
    expect(isFrozenJson(deepFreeze({ a: [1, "x", { b: null, c: true }] }))).toBe(true);
    expect(isFrozenJson("text")).toBe(true);
    expect(isFrozenJson(Object.freeze({ inner: { mutable: 1 } }))).toBe(false);
    expect(isFrozenJson({ a: 1 })).toBe(false);
    expect(isFrozenJson(10n)).toBe(false);
    expect(isFrozenJson(Number.NaN)).toBe(false);
    expect(isFrozenJson(deepFreeze({ when: new Date(0) }))).toBe(false);
    expect(isFrozenJson(deepFreeze({ f: () => 1 }))).toBe(false);
  });
});
