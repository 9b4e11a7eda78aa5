import { describe, expect, expectTypeOf, it } from "vitest";
import { type Evaluation, nodeCounts, pathMatches, stateContains } from "./evaluation.js";

describe("pathMatches", () => {
  const path = ["plan", "draft", "review", "draft", "review", "publish"];

  it("passes an exact match by default", () => {
    const result = pathMatches(path, [...path]);
    expect(result).toEqual({ pass: true, message: expect.stringContaining("exactly") });
  });

  it("points at the first differing step", () => {
    const result = pathMatches(path, ["plan", "draft", "publish"]);
    expect(result.pass).toBe(false);
    expect(result.message).toContain("step 3: expected `publish`, got `review`");
    expect(result.message).toContain("actual:   plan → draft → review → draft → review → publish");
  });

  it("says when the path is shorter or longer than expected", () => {
    expect(pathMatches(["a"], ["a", "b"]).message).toContain(
      "ended after 1 step; expected `b` next",
    );
    expect(pathMatches(["a", "b"], ["a"]).message).toContain("went on with `b`");
    expect(pathMatches([], []).pass).toBe(true);
  });

  it("in-order mode allows other nodes between the expected ones", () => {
    expect(pathMatches(path, ["plan", "review", "publish"], { mode: "in-order" }).pass).toBe(true);
    expect(pathMatches(path, ["draft", "draft", "publish"], { mode: "in-order" }).pass).toBe(true);
    expect(pathMatches(path, [], { mode: "in-order" }).pass).toBe(true);
  });

  it("in-order mode explains what is missing", () => {
    const late = pathMatches(path, ["publish", "plan"], { mode: "in-order" });
    expect(late.pass).toBe(false);
    expect(late.message).toContain("no `plan` after `publish` (step 6)");
    expect(late.message).toContain("it does appear earlier");
    const absent = pathMatches(path, ["plan", "translate"], { mode: "in-order" });
    expect(absent.message).toContain("does not appear at all");
    const thrice = pathMatches(path, ["draft", "draft", "draft"], { mode: "in-order" });
    expect(thrice.pass).toBe(false);
  });
});

describe("stateContains", () => {
  const state = {
    topic: "Trellis release notes",
    score: 0.86,
    draft: { title: "Trellis 0.1", sections: ["intro", "api"], meta: { words: 420 } },
    tags: ["release", "docs"],
    approvedAt: new Date("2025-01-01T00:00:00Z"),
    reviewer: undefined as string | undefined,
  };

  it("ignores keys the partial leaves out", () => {
    expect(stateContains(state, { topic: "Trellis release notes" })).toEqual({
      pass: true,
      message: "State matches.",
    });
    expect(stateContains(state, {}).pass).toBe(true);
  });

  it("matches nested objects, arrays, predicates, patterns and dates", () => {
    const result = stateContains(state, {
      score: (s) => s > 0.8,
      draft: {
        title: /^Trellis/,
        meta: { words: 420 },
        sections: ["intro", (s) => s.length === 3],
      },
      tags: ["release", "docs"],
      approvedAt: new Date("2025-01-01T00:00:00Z"),
      reviewer: undefined,
    });
    expect(result.pass, result.message).toBe(true);
  });

  it("lists every mismatch with its path", () => {
    const result = stateContains(state, {
      score: (s) => s > 0.9,
      draft: { title: "Other", meta: { words: 1 } },
      tags: ["release"],
    });
    expect(result.pass).toBe(false);
    expect(result.message).toContain("State does not match in 4 places");
    expect(result.message).toContain("state.score: 0.86 does not satisfy the predicate");
    expect(result.message).toContain('state.draft.title: expected "Other", got "Trellis 0.1"');
    expect(result.message).toContain("state.draft.meta.words: expected 1, got 420");
    expect(result.message).toContain('state.tags: expected 1 item, got 2: ["release","docs"]');
  });

  it("reports missing keys, wrong types and element paths", () => {
    const loose: unknown = { list: [{ id: 1 }, { id: 2 }], name: 3 };
    const result = stateContains(loose, {
      list: [{ id: 1 }, { id: 3 }],
      name: /x/,
      extra: "here",
      nested: { a: 1 },
      "odd key": 1,
    });
    expect(result.message).toContain("state.list[1].id: expected 3, got 2");
    expect(result.message).toContain("state.name: expected a string matching /x/, got 3");
    expect(result.message).toContain('state.extra: missing (expected "here")');
    expect(result.message).toContain("state.nested: missing");
    expect(result.message).toContain('state["odd key"]: missing');
  });

  it("treats NaN as equal to NaN and distinguishes 0 from -0", () => {
    expect(stateContains({ n: Number.NaN }, { n: Number.NaN }).pass).toBe(true);
    expect(stateContains({ n: 0 }, { n: -0 }).pass).toBe(false);
  });

  it("reports a predicate that throws instead of throwing", () => {
    const result = stateContains(
      { a: 1 },
      {
        a: () => {
          throw new Error("bad predicate");
        },
      },
    );
    expect(result.pass).toBe(false);
    expect(result.message).toContain("the predicate threw bad predicate");
  });

  it("types the partial after the state", () => {
    expectTypeOf(stateContains<{ n: number }>)
      .parameter(1)
      .toExtend<object>();
    // @ts-expect-error `n` is a number, not a string
    stateContains({ n: 1 }, { n: "1" });
    expectTypeOf(stateContains({ n: 1 }, { n: 1 })).toEqualTypeOf<Evaluation>();
  });
});

describe("nodeCounts", () => {
  it("counts executions per node", () => {
    expect(nodeCounts(["draft", "review", "draft", "review", "publish"])).toEqual({
      draft: 2,
      review: 2,
      publish: 1,
    });
    expect(nodeCounts([])).toEqual({});
  });

  it("keeps node names that collide with Object.prototype as plain keys", () => {
    const counts = nodeCounts(["__proto__", "constructor", "__proto__"]);
    expect(Object.getPrototypeOf(counts)).toBe(Object.prototype);
    expect(Object.entries(counts)).toEqual([
      ["__proto__", 2],
      ["constructor", 1],
    ]);
  });
});
