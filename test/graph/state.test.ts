import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  type NodeFn,
  START,
  StateValidationError,
} from "../../src/index.js";
import { historyOf } from "./helpers.js";

const State = z.object({
  title: z.string().default(""),
  log: z.array(z.string()).default([]),
  meta: z.object({ a: z.number().optional(), b: z.number().optional() }).default({}),
  total: z.number().default(0),
  best: z.number().default(0),
});
type State = z.output<typeof State>;

/** START → first → second → END, with every kind of reducer. */
function twoSteps(first: NodeFn<State>, second: NodeFn<State>) {
  return new Graph({
    state: State,
    reducers: {
      log: "append",
      meta: "merge",
      total: "sum",
      best: (current, update) => Math.max(current, update),
    },
  })
    .addNode("first", first)
    .addNode("second", second)
    .addEdge(START, "first")
    .addEdge("first", "second")
    .addEdge("second", END)
    .compile();
}

describe("state reducers", () => {
  it("overwrites a key without a reducer with the last update", async () => {
    const graph = twoSteps(
      () => ({ title: "draft" }),
      () => ({ title: "final" }),
    );
    const result = await new GraphAgent({ graph }).run({ title: "start" });
    expect(result.state.title).toBe("final");
  });

  it("appends the items of each update to an `append` key", async () => {
    const graph = twoSteps(
      () => ({ log: ["a", "b"] }),
      () => ({ log: ["c"] }),
    );
    const result = await new GraphAgent({ graph }).run({ log: ["input"] });
    expect(result.state.log).toEqual(["input", "a", "b", "c"]);
  });

  it("merges `merge` keys shallowly, keeping keys the update leaves out", async () => {
    const graph = twoSteps(
      () => ({ meta: { a: 1 } }),
      () => ({ meta: { b: 2 } }),
    );
    const result = await new GraphAgent({ graph }).run({ meta: { a: 0, b: 0 } });
    expect(result.state.meta).toEqual({ a: 1, b: 2 });
  });

  it("adds numbers to a `sum` key", async () => {
    const graph = twoSteps(
      () => ({ total: 5 }),
      () => ({ total: -2 }),
    );
    const result = await new GraphAgent({ graph }).run({ total: 10 });
    expect(result.state.total).toBe(13);
  });

  it("combines updates with a custom reducer function", async () => {
    const graph = twoSteps(
      () => ({ best: 7 }),
      () => ({ best: 3 }),
    );
    const result = await new GraphAgent({ graph }).run({ best: 4 });
    expect(result.state.best).toBe(7);
  });

  it("leaves keys an update does not name as they were", async () => {
    const graph = twoSteps(
      () => ({ total: 1 }),
      () => undefined,
    );
    const result = await new GraphAgent({ graph }).run({ title: "kept", log: ["x"] });
    expect(result.state).toEqual({
      title: "kept",
      log: ["x"],
      meta: {},
      total: 1,
      best: 0,
    });
  });

  it("fills missing input keys from the schema's defaults", async () => {
    const seen = vi.fn<NodeFn<State>>();
    const graph = twoSteps(seen, () => undefined);
    await new GraphAgent({ graph }).run({});
    expect(seen.mock.calls[0]?.[0]).toEqual({ title: "", log: [], meta: {}, total: 0, best: 0 });
  });
});

describe("state validation", () => {
  it("rejects invalid input before any node runs, listing every issue", async () => {
    const first = vi.fn<NodeFn<State>>(() => undefined);
    const graph = twoSteps(first, () => undefined);
    const agent = new GraphAgent({ graph });

    const error = await agent
      .run({ title: 42, total: "ten", log: "x" }, { sessionId: "bad-input" })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateValidationError);
    const issues = (error as StateValidationError).issues.map((i) => i.path).sort();
    expect(issues).toEqual(["log", "title", "total"]);
    expect((error as StateValidationError).message).toContain("title");
    expect((error as StateValidationError).message).toContain("total");
    expect(first).not.toHaveBeenCalled();
    expect(await historyOf(agent, "bad-input")).toEqual([]);
  });

  it("rejects input with a key the state does not have, instead of dropping it", async () => {
    const first = vi.fn<NodeFn<State>>(() => undefined);
    const graph = twoSteps(first, () => undefined);

    const error = await new GraphAgent({ graph })
      .run({ title: "ok", totl: 3 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateValidationError);
    expect((error as StateValidationError).message).toContain("totl");
    expect(first).not.toHaveBeenCalled();
  });

  it("fails the run when a node updates a key the state does not have", async () => {
    const second = vi.fn<NodeFn<State>>(() => undefined);
    const graph = twoSteps(() => ({ titel: "typo" }) as unknown as Partial<State>, second);

    const result = await new GraphAgent({ graph }).run({ title: "t" });

    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(StateValidationError);
    const error = result.error as StateValidationError;
    expect(error.message).toContain("`first`");
    expect(error.issues).toEqual([
      { path: "titel", message: expect.stringContaining("unknown key") },
    ]);
    expect(second).not.toHaveBeenCalled();
    expect(result.state).toEqual(expect.objectContaining({ title: "t" }));
    expect(result.state).not.toHaveProperty("titel");
  });

  it("fails the run when a node updates a key with a value of the wrong type", async () => {
    const graph = twoSteps(
      () => ({ total: 1 }),
      () => ({ title: 3 as unknown as string, total: 5 }),
    );

    const result = await new GraphAgent({ graph }).run({});

    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(StateValidationError);
    const error = result.error as StateValidationError;
    expect(error.message).toContain("`second`");
    expect(error.issues.map((i) => i.path)).toEqual(["title"]);
    // Nothing of the invalid update was applied, not even its valid part.
    expect(result.state.total).toBe(1);
    expect(result.state.title).toBe("");
  });

  it("checks that an `append` update is a list of valid items", async () => {
    const graph = twoSteps(
      () => ({ log: [1] as unknown as string[] }),
      () => undefined,
    );
    const result = await new GraphAgent({ graph }).run({});
    expect(result.error).toBeInstanceOf(StateValidationError);
    expect((result.error as StateValidationError).issues[0]?.path).toBe("log.0");
  });
});

describe("state immutability", () => {
  it("keeps a node's in-place push out of the run's state and its history", async () => {
    const graph = twoSteps(
      (s) => {
        try {
          (s.log as string[]).push("mutated");
        } catch {
          // A frozen state may refuse the push; either way the push must not show anywhere.
        }
        return { total: 1 };
      },
      // A large update, so the next checkpoint is a full snapshot of the state.
      () => ({ title: "t".repeat(500) }),
    );
    const agent = new GraphAgent({ graph });

    const result = await agent.run({ log: ["input"] }, { sessionId: "push" });

    expect.soft(result.state.log).toEqual(["input"]);
    const history = await historyOf(agent, "push");
    expect(history.length).toBeGreaterThan(0);
    for (const checkpoint of history) {
      expect(checkpoint.state.log, `checkpoint after ${checkpoint.node}`).toEqual(["input"]);
    }
  });

  it("keeps a node's property assignment out of the run's state and its history", async () => {
    const graph = twoSteps(
      (s) => {
        try {
          (s.meta as { a?: number }).a = 99;
          (s as State).title = "assigned";
        } catch {
          // A frozen state may refuse the assignment; the node then goes on normally.
        }
        return { total: 1 };
      },
      () => ({ log: ["x".repeat(500)] }),
    );
    const agent = new GraphAgent({ graph });

    const result = await agent.run({ title: "original", meta: { a: 1 } }, { sessionId: "assign" });

    expect.soft(result.state.title).toBe("original");
    expect.soft(result.state.meta).toEqual({ a: 1 });
    for (const checkpoint of await historyOf(agent, "assign")) {
      expect(checkpoint.state.title).toBe("original");
      expect(checkpoint.state.meta).toEqual({ a: 1 });
    }
  });

  it("gives the next node the state the reducers produced, not a mutated one", async () => {
    const seenBySecond: string[][] = [];
    const graph = twoSteps(
      (s) => {
        try {
          (s.log as string[]).push("leak");
        } catch {}
        return { log: ["first"] };
      },
      (s) => {
        seenBySecond.push([...s.log]);
        return undefined;
      },
    );
    await new GraphAgent({ graph }).run({});
    expect(seenBySecond).toEqual([["first"]]);
  });
});
