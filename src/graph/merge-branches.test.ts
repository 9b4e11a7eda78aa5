import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidOptionError, MergeConflictError } from "../errors.js";
import { type MergeConflict, mergeBranches } from "./merge-branches.js";
import { applyDelta, StateDefinition } from "./state.js";

const schema = z.object({
  log: z.array(z.string()).default([]),
  count: z.number().default(0),
  meta: z.record(z.string(), z.unknown()).default({}),
  title: z.string().optional(),
  profile: z
    .object({ name: z.string(), age: z.number().optional(), tags: z.array(z.string()).optional() })
    .optional(),
  best: z.number().default(0),
  other: z.object({ big: z.array(z.number()) }).optional(),
});
type State = z.output<typeof schema>;

const definition = new StateDefinition<State>(schema, {
  log: "append",
  count: "sum",
  meta: "merge",
  best: (current, update) => Math.max(current, update),
});

const base: State = {
  log: ["start"],
  count: 10,
  meta: { source: "fork" },
  title: "draft",
  profile: { name: "Ada", age: 36 },
  best: 5,
  other: { big: [1, 2, 3] },
};

function branch(name: string, update: (state: State) => State) {
  return { name, state: update(base) };
}

function conflictOf(run: () => unknown): MergeConflictError {
  try {
    run();
  } catch (error) {
    if (error instanceof MergeConflictError) return error;
    throw error;
  }
  throw new Error("expected a MergeConflictError");
}

describe("mergeBranches", () => {
  it("returns the base itself and no delta when no branch changed anything", () => {
    const copy = structuredClone(base);
    const result = mergeBranches(
      base,
      [
        { name: "a", state: base },
        { name: "b", state: copy },
      ],
      definition,
    );
    expect(result.state).toBe(base);
    expect(result.delta).toEqual([]);
    expect(result.conflicts).toEqual([]);
  });

  it("applies changes to disjoint keys from every branch and shares untouched values", () => {
    const result = mergeBranches(
      base,
      [branch("a", (s) => ({ ...s, title: "final" })), branch("b", (s) => ({ ...s, count: 11 }))],
      definition,
    );
    expect(result.state).toEqual({ ...base, title: "final", count: 11 });
    expect(result.state.other).toBe(base.other);
    expect(result.state.profile).toBe(base.profile);
    expect(base.title).toBe("draft");
  });

  it("applies disjoint nested paths of one key from different branches", () => {
    const result = mergeBranches(
      base,
      [
        branch("rename", (s) => ({ ...s, profile: { ...s.profile!, name: "Ada L." } })),
        branch("age", (s) => ({ ...s, profile: { ...s.profile!, age: 37 } })),
        branch("tags", (s) => ({ ...s, profile: { ...s.profile!, tags: ["math"] } })),
      ],
      definition,
    );
    expect(result.state.profile).toEqual({ name: "Ada L.", age: 37, tags: ["math"] });
    expect(result.conflicts).toEqual([]);
    expect(result.delta).toEqual([["profile", "set", { name: "Ada L.", age: 37, tags: ["math"] }]]);
  });

  it("applies a nested deletion next to another branch's nested change", () => {
    const result = mergeBranches(
      base,
      [
        branch("drop-age", (s) => ({ ...s, profile: { name: s.profile!.name } })),
        branch("rename", (s) => ({ ...s, profile: { ...s.profile!, name: "Grace" } })),
      ],
      definition,
    );
    expect(result.state.profile).toEqual({ name: "Grace" });
    expect(Object.hasOwn(result.state.profile!, "age")).toBe(false);
  });

  describe("append", () => {
    it("concatenates each branch's new items in declaration order", () => {
      const result = mergeBranches(
        base,
        [
          branch("first", (s) => ({ ...s, log: [...s.log, "f1", "f2"] })),
          branch("second", (s) => s),
          branch("third", (s) => ({ ...s, log: [...s.log, "t1"] })),
        ],
        definition,
      );
      expect(result.state.log).toEqual(["start", "f1", "f2", "t1"]);
      expect(result.delta).toEqual([["log", "append", ["f1", "f2", "t1"]]]);
    });

    it("treats a missing base list as empty", () => {
      const { log: _omitted, ...rest } = base;
      const fork = rest as State;
      const result = mergeBranches(
        fork,
        [
          { name: "a", state: { ...fork, log: ["a"] } },
          { name: "b", state: { ...fork, log: ["b"] } },
        ],
        definition,
      );
      expect(result.state.log).toEqual(["a", "b"]);
      expect(result.delta).toEqual([["log", "append", ["a", "b"]]]);
    });

    it("records a single branch's append as an append op", () => {
      const result = mergeBranches(
        base,
        [branch("a", (s) => ({ ...s, log: [...s.log, "x"] }))],
        definition,
      );
      expect(result.delta).toEqual([["log", "append", ["x"]]]);
    });

    it("treats a branch that rewrote the list like an overwrite: a conflict", () => {
      const error = conflictOf(() =>
        mergeBranches(
          base,
          [
            branch("grow", (s) => ({ ...s, log: [...s.log, "x"] })),
            branch("reset", (s) => ({ ...s, log: [] })),
          ],
          definition,
        ),
      );
      expect(error.path).toBe("log");
      expect(error.values).toEqual([["start", "x"], []]);
    });
  });

  it("sum adds each branch's difference to the base", () => {
    const result = mergeBranches(
      base,
      [
        branch("plus3", (s) => ({ ...s, count: s.count + 3 })),
        branch("minus2", (s) => ({ ...s, count: s.count - 2 })),
        branch("plus5", (s) => ({ ...s, count: s.count + 5 })),
      ],
      definition,
    );
    expect(result.state.count).toBe(16);
    expect(result.delta).toEqual([["count", "set", 16]]);
  });

  describe("merge", () => {
    it("merges patches to different sub-keys", () => {
      const result = mergeBranches(
        base,
        [
          branch("a", (s) => ({ ...s, meta: { ...s.meta, a: 1 } })),
          branch("b", (s) => ({ ...s, meta: { ...s.meta, b: 2, source: "b" } })),
        ],
        definition,
      );
      expect(result.state.meta).toEqual({ source: "b", a: 1, b: 2 });
    });

    it("accepts the same sub-key set to equal values", () => {
      const result = mergeBranches(
        base,
        [
          branch("a", (s) => ({ ...s, meta: { ...s.meta, tag: { v: 1 } } })),
          branch("b", (s) => ({ ...s, meta: { ...s.meta, tag: { v: 1 } } })),
        ],
        definition,
      );
      expect(result.state.meta).toEqual({ source: "fork", tag: { v: 1 } });
      expect(result.conflicts).toEqual([]);
    });

    it("reports the same sub-key set to different values as a conflict", () => {
      const error = conflictOf(() =>
        mergeBranches(
          base,
          [
            branch("a", (s) => ({ ...s, meta: { ...s.meta, source: "a" } })),
            branch("b", (s) => ({ ...s, meta: { ...s.meta, source: "b" } })),
          ],
          definition,
        ),
      );
      expect(error.path).toBe("meta.source");
      expect(error.values).toEqual(["a", "b"]);
      expect(error.base).toBe("fork");
    });

    it("merges patches into a key that was absent at the fork", () => {
      const { meta: _omitted, ...rest } = base;
      const fork = rest as State;
      const result = mergeBranches(
        fork,
        [
          { name: "a", state: { ...fork, meta: { a: 1 } } },
          { name: "b", state: { ...fork, meta: { b: 2 } } },
        ],
        definition,
      );
      expect(result.state.meta).toEqual({ a: 1, b: 2 });
    });
  });

  it("folds a custom reducer over branch values in declaration order from the base", () => {
    const calls: [unknown, unknown][] = [];
    const tracking = new StateDefinition<State>(schema, {
      best: (current, update) => {
        calls.push([current, update]);
        return Math.max(current, update);
      },
    });
    const result = mergeBranches(
      base,
      [branch("a", (s) => ({ ...s, best: 9 })), branch("b", (s) => ({ ...s, best: 7 }))],
      tracking,
    );
    expect(result.state.best).toBe(9);
    expect(calls).toEqual([
      [5, 9],
      [9, 7],
    ]);
  });

  describe("overwrite", () => {
    it("accepts equal values from several branches", () => {
      const result = mergeBranches(
        base,
        [
          branch("a", (s) => ({ ...s, title: "same" })),
          branch("b", (s) => ({ ...s, title: "same" })),
        ],
        definition,
      );
      expect(result.state.title).toBe("same");
      expect(result.conflicts).toEqual([]);
    });

    it("throws a MergeConflictError naming the path, the branches and the values", () => {
      const error = conflictOf(() =>
        mergeBranches(
          base,
          [
            branch("writer", (s) => ({ ...s, profile: { ...s.profile!, name: "Grace" } })),
            branch("idle", (s) => ({ ...s, count: 11 })),
            branch("editor", (s) => ({ ...s, profile: { ...s.profile!, name: "Edsger" } })),
          ],
          definition,
        ),
      );
      expect(error).toBeInstanceOf(MergeConflictError);
      expect(error.code).toBe("MERGE_CONFLICT");
      expect(error.name).toBe("MergeConflictError");
      expect(error.path).toBe("profile.name");
      expect(error.branches).toEqual(["writer", "editor"]);
      expect(error.values).toEqual(["Grace", "Edsger"]);
      expect(error.base).toBe("Ada");
      expect(error.message).toContain("`profile.name`");
      expect(error.message).toContain('`writer` → `"Grace"` (string)');
      expect(error.message).toContain('`editor` → `"Edsger"` (string)');
      expect(error.message).toContain('`"Ada"` (string) at the fork');
      expect(error.message).toContain('"first"');
    });

    it("reports set against delete as a conflict", () => {
      const error = conflictOf(() =>
        mergeBranches(
          base,
          [
            branch("clear", ({ title: _t, ...s }) => s),
            branch("retitle", (s) => ({ ...s, title: "new" })),
          ],
          definition,
        ),
      );
      expect(error.path).toBe("title");
      expect(error.values).toEqual([undefined, "new"]);
    });

    it("reports a change inside a value another branch deleted, at the outer path", () => {
      const error = conflictOf(() =>
        mergeBranches(
          base,
          [
            branch("rename", (s) => ({ ...s, profile: { ...s.profile!, name: "Grace" } })),
            branch("drop", ({ profile: _p, ...s }) => s),
          ],
          definition,
        ),
      );
      expect(error.path).toBe("profile");
      expect(error.branches).toEqual(["rename", "drop"]);
      expect(error.values).toEqual([{ name: "Grace", age: 36 }, undefined]);
    });

    it("accepts the same deletion from several branches", () => {
      const result = mergeBranches(
        base,
        [branch("a", ({ title: _t, ...s }) => s), branch("b", ({ title: _t, ...s }) => s)],
        definition,
      );
      expect(Object.hasOwn(result.state, "title")).toBe(false);
    });
  });

  describe("conflict policies", () => {
    const branches = [
      branch("a", (s) => ({ ...s, title: "A", profile: { ...s.profile!, name: "Ann" } })),
      branch("b", (s) => ({ ...s, count: 12 })),
      branch("c", ({ title: _t, ...s }) => ({ ...s, profile: { ...s.profile!, name: "Cy" } })),
    ];

    it('"first" takes the first conflicting branch in declaration order', () => {
      const result = mergeBranches(base, branches, definition, "first");
      expect(result.state).toEqual({
        ...base,
        title: "A",
        count: 12,
        profile: { name: "Ann", age: 36 },
      });
      expect(result.conflicts.map((c) => c.path)).toEqual(["title", "profile.name"]);
      expect(result.conflicts[0]).toEqual({
        path: "title",
        branches: ["a", "c"],
        values: ["A", undefined],
        base: "draft",
      });
    });

    it('"last" takes the last conflicting branch, keeping its deletion', () => {
      const result = mergeBranches(base, branches, definition, "last");
      expect(Object.hasOwn(result.state, "title")).toBe(false);
      expect(result.state.profile).toEqual({ name: "Cy", age: 36 });
      expect(result.state.count).toBe(12);
    });

    it("a resolver chooses the value; undefined removes the path", () => {
      const seen: MergeConflict[] = [];
      const result = mergeBranches(base, branches, definition, (conflict) => {
        seen.push(conflict);
        return conflict.path === "title"
          ? undefined
          : `${String(conflict.values[0])}+${String(conflict.values[1])}`;
      });
      expect(seen).toEqual(result.conflicts);
      expect(seen[1]).toEqual({
        path: "profile.name",
        branches: ["a", "c"],
        values: ["Ann", "Cy"],
        base: "Ada",
      });
      expect(result.state.profile?.name).toBe("Ann+Cy");
      expect(Object.hasOwn(result.state, "title")).toBe(false);
    });

    it("does not call the resolver when values agree", () => {
      let calls = 0;
      mergeBranches(
        base,
        [branch("a", (s) => ({ ...s, title: "x" })), branch("b", (s) => ({ ...s, title: "x" }))],
        definition,
        () => {
          calls++;
          return "y";
        },
      );
      expect(calls).toBe(0);
    });
  });

  it("produces a delta that rebuilds the merged state from the base", () => {
    const result = mergeBranches(
      base,
      [
        branch("a", (s) => ({
          ...s,
          log: [...s.log, "a"],
          meta: { ...s.meta, a: true },
          count: 12,
        })),
        branch("b", (s) => ({
          ...s,
          log: [...s.log, "b"],
          profile: { ...s.profile!, age: 40 },
          count: 7,
        })),
      ],
      definition,
    );
    expect(applyDelta(base, result.delta)).toEqual(result.state);
    expect(result.delta.map(([key, op]) => `${key}:${op}`)).toEqual([
      "log:append",
      "count:set",
      "meta:set",
      "profile:set",
    ]);
  });

  it("never reads values no branch changed", () => {
    let reads = 0;
    const other = {
      get big() {
        reads++;
        return [1];
      },
    };
    const fork = { ...base, other } as State;
    const branches = Array.from({ length: 100 }, (_, i) => ({
      name: `b${i}`,
      state: { ...fork, log: [...fork.log, `item ${i}`], count: fork.count + 1 },
    }));
    const result = mergeBranches(fork, branches, definition);
    expect(result.state.log).toHaveLength(101);
    expect(result.state.count).toBe(110);
    expect(result.state.other).toBe(other);
    expect(reads).toBe(0);
  });

  it("rejects an unknown policy and duplicate branch names with InvalidOptionError", () => {
    expect(() => mergeBranches(base, [], definition, "newest" as "first")).toThrow(
      InvalidOptionError,
    );
    expect(() => mergeBranches(base, [], definition, "newest" as "first")).toThrow(
      /`policy`.*"newest"/,
    );
    expect(() =>
      mergeBranches(
        base,
        [
          { name: "x", state: base },
          { name: "x", state: base },
        ],
        definition,
      ),
    ).toThrow(/branches\[1\]\.name/);
  });
});
