import { describe, expect, it } from "vitest";
import { appendedItems, deepEqual, diff } from "./diff.js";

describe("diff", () => {
  it("finds nothing between a value and itself or a deep-equal copy", () => {
    const base = { a: 1, b: { c: [1, { d: "x" }] }, when: new Date(5) };
    expect(diff(base, base)).toEqual([]);
    expect(diff(base, structuredClone(base))).toEqual([]);
  });

  it("gives the full path of a change deep inside plain objects", () => {
    const base = { profile: { address: { city: "Paris", zip: "75001" }, name: "Ada" }, n: 1 };
    const next = {
      ...base,
      profile: { ...base.profile, address: { ...base.profile.address, city: "Lyon" } },
    };
    expect(diff(base, next)).toEqual([
      { path: ["profile", "address", "city"], kind: "set", value: "Lyon" },
    ]);
  });

  it("reports added keys as set and removed keys as delete", () => {
    const base = { keep: 1, gone: 2, nested: { old: true } };
    const next = { keep: 1, added: 3, nested: { fresh: false } };
    expect(diff(base, next)).toEqual([
      { path: ["added"], kind: "set", value: 3 },
      { path: ["nested", "fresh"], kind: "set", value: false },
      { path: ["nested", "old"], kind: "delete" },
      { path: ["gone"], kind: "delete" },
    ]);
  });

  it("tells a key set to undefined from a deleted key", () => {
    expect(diff({ a: 1 }, { a: undefined })).toEqual([
      { path: ["a"], kind: "set", value: undefined },
    ]);
    expect(diff({ a: undefined }, {})).toEqual([{ path: ["a"], kind: "delete" }]);
  });

  it("reads an array that keeps its items (by deep equality) and grows as an append", () => {
    const base = { log: [{ id: 1 }, { id: 2 }] };
    const next = { log: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }] };
    expect(diff(base, next)).toEqual([
      { path: ["log"], kind: "append", items: [{ id: 3 }, { id: 4 }] },
    ]);
  });

  it("replaces the whole array when an item changed, moved or was removed", () => {
    const base = { log: [1, 2, 3] };
    for (const log of [
      [1, 9, 3, 4],
      [2, 1, 3],
      [1, 2],
    ]) {
      expect(diff(base, { log })).toEqual([{ path: ["log"], kind: "set", value: log }]);
    }
  });

  it("does not recurse into arrays: an edit inside an item replaces the array", () => {
    const base = { items: [{ done: false }] };
    const next = { items: [{ done: true }] };
    expect(diff(base, next)).toEqual([{ path: ["items"], kind: "set", value: next.items }]);
  });

  it("replaces a value whose type changed", () => {
    expect(diff({ a: { b: 1 } }, { a: [1] })).toEqual([{ path: ["a"], kind: "set", value: [1] }]);
    expect(diff({ a: [1] }, { a: { 0: 1 } })).toEqual([
      { path: ["a"], kind: "set", value: { 0: 1 } },
    ]);
    expect(diff({ a: null }, { a: {} })).toEqual([{ path: ["a"], kind: "set", value: {} }]);
  });

  it("diffs non-object roots at the empty path", () => {
    expect(diff(1, 2)).toEqual([{ path: [], kind: "set", value: 2 }]);
    expect(diff(Number.NaN, Number.NaN)).toEqual([]);
    expect(diff([1], [1, 2])).toEqual([{ path: [], kind: "append", items: [2] }]);
  });

  it("compares class instances by reference and dates by time", () => {
    const map = new Map([["a", 1]]);
    expect(diff({ m: map }, { m: new Map([["a", 1]]) })).toHaveLength(1);
    expect(diff({ d: new Date(1) }, { d: new Date(1) })).toEqual([]);
    expect(diff({ d: new Date(1) }, { d: new Date(2) })).toHaveLength(1);
  });

  it("skips subtrees shared by reference without reading them", () => {
    let reads = 0;
    const shared = {
      get big() {
        reads++;
        return Array.from({ length: 10 }, (_, i) => i);
      },
    };
    const base = { shared, small: { x: 1 } };
    const next = { shared, small: { x: 2 } };
    expect(diff(base, next)).toEqual([{ path: ["small", "x"], kind: "set", value: 2 }]);
    expect(reads).toBe(0);
  });

  it("hands out the values of next as they are, without copying them", () => {
    const added = { deep: { list: [1, 2, 3] } };
    const replaced = [9];
    const changes = diff({ list: [1], other: 0 }, { list: replaced, other: 0, added });
    const set = changes.find((c) => c.path[0] === "added");
    const list = changes.find((c) => c.path[0] === "list");
    expect(set?.kind === "set" && set.value).toBe(added);
    expect(list?.kind === "set" && list.value).toBe(replaced);
  });

  it("handles an own __proto__ key as data", () => {
    const base = JSON.parse('{"__proto__": {"a": 1}}') as unknown;
    const next = JSON.parse('{"__proto__": {"a": 2}}') as unknown;
    expect(diff(base, next)).toEqual([{ path: ["__proto__", "a"], kind: "set", value: 2 }]);
  });
});

describe("deepEqual", () => {
  it("compares plain data structurally and tells arrays from objects", () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});

describe("appendedItems", () => {
  it("returns what was added after a deep-equal prefix, or undefined", () => {
    expect(appendedItems([{ a: 1 }], [{ a: 1 }, 2])).toEqual([2]);
    expect(appendedItems([1, 2], [1, 2])).toEqual([]);
    expect(appendedItems([1, 2], [1])).toBeUndefined();
    expect(appendedItems([1, 2], [2, 1, 3])).toBeUndefined();
  });
});
