import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyDelta, StateDefinition } from "../../src/graph/state.js";
import {
  END,
  Graph,
  GraphAgent,
  mergeBranches,
  type NodeFn,
  START,
  StateValidationError,
} from "../../src/index.js";
import { refusedWith, setup } from "../interrupts/harness.js";

const PROTOTYPE_NAMES = ["toString", "constructor", "valueOf", "isPrototypeOf", "hasOwnProperty"];

function oneNode<T extends z.ZodObject>(state: T, node: NodeFn<z.output<T>>, reducers = {}) {
  return new Graph({ state, reducers })
    .addNode("node", node)
    .addEdge(START, "node")
    .addEdge("node", END)
    .compile();
}

describe("state keys named like Object.prototype members", () => {
  it.each(PROTOTYPE_NAMES)("keeps a `%s` key that a node overwrites", async (key) => {
    const graph = oneNode(z.object({ [key]: z.any().optional() }), () => ({ [key]: "new" }));
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("completed");
    expect(Object.hasOwn(result.state, key)).toBe(true);
    expect(result.state[key]).toBe("new");
  });

  it.each(PROTOTYPE_NAMES)("does not read an inherited `%s` as run input", async (key) => {
    const seen: unknown[] = [];
    const graph = oneNode(z.object({ [key]: z.string().optional() }), (s) => {
      seen.push(Object.hasOwn(s, key) ? s[key] : "absent");
      return undefined;
    });
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("completed");
    expect(seen).toEqual(["absent"]);
  });

  it.each(PROTOTYPE_NAMES)("folds a `%s` key through its reducer", async (key) => {
    const graph = oneNode(
      z.object({ [key]: z.array(z.string()).default([]) }),
      () => ({ [key]: ["a"] }),
      {
        [key]: "append",
      },
    );
    const result = await new GraphAgent({ graph }).run({ [key]: ["input"] });
    expect(result.status).toBe("completed");
    expect(result.state[key]).toEqual(["input", "a"]);
  });

  it.each(PROTOTYPE_NAMES)(
    "refuses an update naming `%s` when the state has no such key, with StateValidationError",
    async (key) => {
      const graph = oneNode(
        z.object({ count: z.number().default(0) }),
        () => ({ [key]: 1 }) as never,
      );
      const result = await new GraphAgent({ graph }).run({});
      expect(result.status).toBe("failed");
      expect(result.error).toBeInstanceOf(StateValidationError);
      expect((result.error as StateValidationError).issues).toEqual([
        { path: key, message: expect.stringContaining("unknown key") },
      ]);
    },
  );

  it.each(PROTOTYPE_NAMES)(
    "refuses run input naming `%s` when the state has no such key",
    async (key) => {
      const graph = oneNode(z.object({ count: z.number().default(0) }), () => undefined);
      const error = await new GraphAgent({ graph }).run({ [key]: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StateValidationError);
      expect((error as StateValidationError).issues).toEqual([
        { path: key, message: expect.stringContaining("unknown key") },
      ]);
    },
  );
});

describe("`__proto__` in input and updates", () => {
  const State = z.object({ count: z.number().default(0), data: z.any().optional() });

  it("refuses `__proto__` in run input as an unknown key, without touching any prototype", async () => {
    const graph = oneNode(State, () => undefined);
    const input = JSON.parse('{"__proto__": {"polluted": true}, "count": 1}');
    const error = await new GraphAgent({ graph }).run(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateValidationError);
    expect((error as StateValidationError).issues.map((i) => i.path)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses `__proto__` in a node update as an unknown key", async () => {
    const graph = oneNode(State, () => JSON.parse('{"__proto__": {"polluted": true}}'));
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(StateValidationError);
    expect(Object.getPrototypeOf(result.state)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps a `__proto__` key inside a value as an own property", async () => {
    const graph = oneNode(State, () => ({ data: JSON.parse('{"__proto__": {"x": 1}}') }));
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("completed");
    const data = result.state.data as Record<string, unknown>;
    expect(Object.hasOwn(data, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("StateDefinition with prototype-named keys", () => {
  const schema = z.object({
    constructor: z.array(z.number()).default([]),
    valueOf: z.any().optional(),
  });
  const definition = new StateDefinition<z.output<typeof schema>>(schema, {
    constructor: "append",
  });

  it("rebuilds a state from deltas that name such keys", () => {
    const state = applyDelta({} as z.output<typeof schema>, [
      ["constructor", "append", [1]],
      ["valueOf", "merge", { a: 1 }],
    ]);
    expect(state).toEqual({ constructor: [1], valueOf: { a: 1 } });
    expect(Object.hasOwn(state, "constructor")).toBe(true);
  });

  it("merges branches that change such keys", () => {
    const base = definition.parseInput({});
    const a = definition.apply(base, { constructor: [1] }).state;
    const b = definition.apply(base, { valueOf: "b" }).state;
    const merged = mergeBranches(
      base,
      [
        { name: "a", state: a },
        { name: "b", state: b },
      ],
      definition,
    );
    expect(merged.state).toEqual({ constructor: [1], valueOf: "b" });
  });

  it("sets a `__proto__` key as an own property when rebuilding from a delta", () => {
    const state = applyDelta({} as Record<string, unknown>, [["__proto__", "set", { x: 1 }]]);
    expect(Object.hasOwn(state, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
  });
});

describe("update_state and fork updates naming keys the state does not have", () => {
  it.each([
    ["constructor", { constructor: 1 }],
    ["toString", { toString: "x" }],
  ])("refuse `%s` in update_state and leave the state untouched", async (_key, values) => {
    const { agent, interrupts, probe } = setup();
    const hold = probe.hold("a");
    const run = agent.run({}, { sessionId: "s" });
    await hold.entered;
    const receipt = await interrupts.send("s", { type: "update_state", values });
    hold.release();
    const result = await run;
    await refusedWith(receipt, StateValidationError);
    expect(result.state).toEqual({ log: ["a", "b", "c", "d"], n: 4, note: "" });
  });

  it("refuses `constructor` in a fork's update", async () => {
    const graph = oneNode(z.object({ count: z.number().default(0) }), () => ({ count: 1 }));
    const agent = new GraphAgent({ graph });
    await agent.run({}, { sessionId: "fork" });
    const [first] = (await agent.history("fork")).slice(-1);
    const error = await agent
      .fork("fork", first!.id, { update: { constructor: 1 } as never })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateValidationError);
  });
});
