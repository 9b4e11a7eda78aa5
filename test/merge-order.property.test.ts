import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type ConflictPolicy, mergeBranches } from "../src/graph/merge-branches.js";
import { applyDelta, StateDefinition } from "../src/graph/state.js";

const schema = z.object({
  log: z.array(z.string()),
  count: z.number(),
  meta: z.record(z.string(), z.string()),
  title: z.string(),
  profile: z.object({ name: z.string(), age: z.number() }),
});
type State = z.output<typeof schema>;

const definition = new StateDefinition<State>(schema, {
  log: "append",
  count: "sum",
  meta: "merge",
});

/** Every generated write differs from these values, so a write is always a visible change. */
const base: State = {
  log: ["fork"],
  count: 100,
  meta: {},
  title: "base",
  profile: { name: "base", age: 0 },
};

type Op =
  | { readonly kind: "log"; readonly item: string }
  | { readonly kind: "count"; readonly by: number }
  | { readonly kind: "meta"; readonly key: string; readonly value: string }
  | { readonly kind: "title"; readonly value: string }
  | { readonly kind: "name"; readonly value: string }
  | { readonly kind: "age"; readonly value: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("log" as const), item: fc.string({ maxLength: 3 }) }),
  fc.record({ kind: fc.constant("count" as const), by: fc.integer({ min: -5, max: 5 }) }),
  fc.record({
    kind: fc.constant("meta" as const),
    key: fc.constantFrom("a", "b", "c"),
    value: fc.constantFrom("x", "y", "z"),
  }),
  fc.record({ kind: fc.constant("title" as const), value: fc.constantFrom("t1", "t2", "t3") }),
  fc.record({ kind: fc.constant("name" as const), value: fc.constantFrom("n1", "n2") }),
  fc.record({ kind: fc.constant("age" as const), value: fc.integer({ min: 1, max: 3 }) }),
);

/** The update a node would return for `op`, given the state it ran on. */
function updateFor(state: State, o: Op): Partial<State> {
  switch (o.kind) {
    case "log":
      return { log: [o.item] };
    case "count":
      return { count: o.by };
    case "meta":
      return { meta: { [o.key]: o.value } };
    case "title":
      return { title: o.value };
    case "name":
      return { profile: { ...state.profile, name: o.value } };
    case "age":
      return { profile: { ...state.profile, age: o.value } };
  }
}

function target(o: Op): string | undefined {
  if (o.kind === "meta") return `meta.${o.key}`;
  return o.kind === "log" || o.kind === "count" ? undefined : o.kind;
}

/** Keeps each overwritten path in the first branch that writes it, so no two branches conflict. */
function withoutConflicts(branches: readonly (readonly Op[])[]): Op[][] {
  const owner = new Map<string, number>();
  return branches.map((ops, index) =>
    ops.filter((o) => {
      const path = target(o);
      if (path === undefined) return true;
      if (!owner.has(path)) owner.set(path, index);
      return owner.get(path) === index;
    }),
  );
}

function runOps(state: State, ops: readonly Op[]): State {
  return ops.reduce((s, o) => definition.apply(s, updateFor(s, o)).state, state);
}

/** Runs every branch as an async function on its own copy; returns them in finishing order. */
async function runBranches(branches: readonly (readonly Op[])[], delays: readonly number[]) {
  const finished: { index: number; name: string; state: State }[] = [];
  await Promise.all(
    branches.map(async (ops, index) => {
      await sleep(delays[index] ?? 0);
      finished.push({ index, name: `branch-${index}`, state: runOps(base, ops) });
    }),
  );
  return finished;
}

/** What applying the branches one after another gives, for the given policy. */
function sequentialFold(branches: readonly (readonly Op[])[], policy: ConflictPolicy): State {
  const forward = branches.reduce<State>((s, ops) => runOps(s, ops), base);
  if (policy !== "first") return forward;
  const backward = [...branches].reverse().reduce<State>((s, ops) => runOps(s, ops), base);
  return { ...backward, log: forward.log, count: forward.count };
}

const scenario = fc
  .record({
    policy: fc.constantFrom<ConflictPolicy>("error", "first", "last"),
    branches: fc.array(fc.array(op, { maxLength: 4 }), { minLength: 1, maxLength: 5 }),
    delays: fc.array(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 5, maxLength: 5 }), {
      minLength: 3,
      maxLength: 3,
    }),
  })
  .map(({ policy, branches, delays }) => ({
    policy,
    branches: policy === "error" ? withoutConflicts(branches) : branches,
    delays,
  }));

describe("mergeBranches", () => {
  it("gives the same state whatever order the branches finish in, equal to the sequential fold", async () => {
    const finishingOrders = new Set<string>();
    await fc.assert(
      fc.asyncProperty(scenario, async ({ policy, branches, delays }) => {
        const merged: State[] = [];
        for (const run of delays) {
          const finished = await runBranches(branches, run);
          finishingOrders.add(finished.map((b) => b.index).join(","));
          const declared = [...finished].sort((a, b) => a.index - b.index);
          const result = mergeBranches(base, declared, definition, policy);
          expect(applyDelta(base, result.delta)).toStrictEqual(result.state);
          merged.push(result.state);
        }
        const expected = sequentialFold(branches, policy);
        for (const state of merged) expect(state).toStrictEqual(expected);
      }),
      { numRuns: 60 },
    );
    const declarationOrders = new Set(
      [...finishingOrders].filter((order) => order === [...order.split(",")].sort().join(",")),
    );
    expect(finishingOrders.size).toBeGreaterThan(declarationOrders.size);
  });
});

/** Keys with custom reducers (order-dependent, non-idempotent, idempotent) beside built-ins. */
const foldSchema = z.object({
  total: z.number(),
  trail: z.string(),
  digits: z.number(),
  best: z.number(),
  log: z.array(z.string()),
  count: z.number(),
  title: z.string(),
});
type FoldState = z.output<typeof foldSchema>;

const foldDefinition = new StateDefinition<FoldState>(foldSchema, {
  total: (c, u) => c + u,
  trail: (c, u) => `${c}${u}`,
  digits: (c, u) => c * 3 + u,
  best: (c, u) => Math.max(c, u),
  log: "append",
  count: "sum",
});

const foldBase: FoldState = {
  total: 10,
  trail: ">",
  digits: 1,
  best: 0,
  log: ["fork"],
  count: 100,
  title: "base",
};

const foldUpdate: fc.Arbitrary<Partial<FoldState>> = fc.record(
  {
    total: fc.integer({ min: -5, max: 5 }),
    trail: fc.string({ maxLength: 2 }),
    digits: fc.integer({ min: 0, max: 2 }),
    best: fc.integer({ min: -10, max: 10 }),
    log: fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }),
    count: fc.integer({ min: -3, max: 3 }),
    title: fc.constantFrom("t1", "t2"),
  },
  { requiredKeys: [] },
);

/** Only the first branch that sets `title` keeps it, so no two branches conflict. */
function oneTitle(updates: readonly Partial<FoldState>[]): Partial<FoldState>[] {
  let owned = false;
  return updates.map((update) => {
    if (update.title === undefined) return update;
    if (!owned) {
      owned = true;
      return update;
    }
    const { title: _title, ...rest } = update;
    return rest;
  });
}

describe("mergeBranches with custom reducers", () => {
  it("equals running the branches one after another, whatever order they finish in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(foldUpdate, { minLength: 1, maxLength: 5 }).map(oneTitle),
        fc.array(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 5, maxLength: 5 }), {
          minLength: 3,
          maxLength: 3,
        }),
        async (updates, delays) => {
          const sequential = updates.reduce<FoldState>(
            (state, update) => foldDefinition.apply(state, update).state,
            foldBase,
          );
          for (const run of delays) {
            const finished: {
              index: number;
              name: string;
              state: FoldState;
              update: Record<string, unknown>;
            }[] = [];
            await Promise.all(
              updates.map(async (update, index) => {
                await sleep(run[index] ?? 0);
                const applied = foldDefinition.applyBranch(foldBase, update, "a branch");
                finished.push({ index, name: `b${index}`, ...applied });
              }),
            );
            const declared = [...finished].sort((a, b) => a.index - b.index);
            const result = mergeBranches(foldBase, declared, foldDefinition);
            expect(result.state).toStrictEqual(sequential);
            expect(applyDelta(foldBase, result.delta)).toStrictEqual(result.state);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
