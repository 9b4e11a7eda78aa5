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

describe("deepFreeze", () => {
  it("freezes a 100,000-deep object without overflowing the stack", () => {
    const root: Record<string, unknown> = {};
    let current = root;
    for (let i = 0; i < 100_000; i++) {
      const next: Record<string, unknown> = {};
      current.child = next;
      current = next;
    }
    deepFreeze(root);
    expect(Object.isFrozen(current)).toBe(true);
  });

  it("freezes an object that contains itself", () => {
    const a: Record<string, unknown> = { list: [] };
    a.self = a;
    (a.list as unknown[]).push(a);
    deepFreeze(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.list)).toBe(true);
  });
});

describe("deepFreeze with getters", () => {
  it("freezes everything when a getter freezes another value during the walk", () => {
    const other = { inner: { x: 1 } };
    const value = {
      first: { a: { b: 1 } },
      get trigger() {
        deepFreeze(other);
        return 1;
      },
      last: { c: { d: 2 } },
    };
    deepFreeze(value);
    for (const part of [value.first, value.first.a, value.last, value.last.c, other, other.inner]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it("still works after a walk that threw", () => {
    const bad = {
      kept: { a: {} },
      get boom(): never {
        throw new Error("boom");
      },
    };
    expect(() => deepFreeze(bad)).toThrow("boom");
    const fresh = { a: { b: {} } };
    deepFreeze(fresh);
    expect(Object.isFrozen(fresh.a.b)).toBe(true);
  });
});
