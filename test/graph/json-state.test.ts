import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SqliteStore } from "../../src/entries/sqlite.js";
import {
  type Durability,
  END,
  Graph,
  GraphAgent,
  NonJsonStateError,
  parallelGroup,
  type RunResult,
  START,
  StateTooDeepError,
} from "../../src/index.js";
import { tempDir } from "../store/sqlite/temp-db.js";

class Invoice {
  constructor(readonly total: number) {}
}

class Unserializable {
  toJSON(): never {
    throw new Error("cannot serialize");
  }
}

function cyclic(): unknown {
  const value: Record<string, unknown> = { name: "loop" };
  value.self = value;
  return value;
}

function deep(levels: number): unknown {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let i = 0; i < levels; i++) {
    const next: Record<string, unknown> = {};
    current.child = next;
    current = next;
  }
  return root;
}

/** Values JSON cannot carry, by name, each a fresh value so no test shares one. */
const NOT_JSON: readonly (readonly [string, () => unknown])[] = [
  ["a BigInt", () => 10n],
  ["a function", () => () => 1],
  ["a symbol", () => Symbol("s")],
  ["a cyclic object", cyclic],
  [
    "an object whose toJSON throws",
    () => ({
      toJSON() {
        throw new Error("cannot serialize");
      },
    }),
  ],
  ["a class instance whose toJSON throws", () => new Unserializable()],
  ["NaN", () => Number.NaN],
  ["Infinity", () => Number.POSITIVE_INFINITY],
  ["a Map", () => new Map([["a", 1]])],
  ["a Set", () => new Set([1])],
  ["a class instance", () => new Invoice(3)],
  ["an array with an undefined item", () => [1, undefined, 3]],
  ["a Date under z.any()", () => new Date(0)],
  ["a nested Map", () => ({ lookup: new Map() })],
];

const temp = tempDir("json-state");
const stores: SqliteStore[] = [];
afterAll(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/** A store that serializes every record, as any database does: a SQLite file of its own. */
async function serializingStore(): Promise<SqliteStore> {
  const store = await SqliteStore.open({ path: temp.file() });
  stores.push(store);
  return store;
}

const State = z.object({ count: z.number().default(0), data: z.any().optional() });

/** START → first → bad → END; `bad` puts `value` under `data`. */
async function agentFor(value: () => unknown, durability: Durability) {
  const graph = new Graph({ state: State, name: "json" })
    .addNode("first", (s) => ({ count: s.count + 1 }))
    .addNode("bad", () => ({ data: value() }))
    .addEdge(START, "first")
    .addEdge("first", "bad")
    .addEdge("bad", END)
    .compile();
  return new GraphAgent({ graph, durability, store: await serializingStore() });
}

function expectNotJson(result: RunResult<Record<string, unknown>>): NonJsonStateError {
  expect(result.status).toBe("failed");
  expect(result.error).toBeInstanceOf(NonJsonStateError);
  const error = result.error as NonJsonStateError;
  expect(error.code).toBe("STATE_NOT_JSON");
  expect(error.key).toBe("data");
  return error;
}

describe("values that are not JSON data", () => {
  describe.each(["step", "exit", "off"] as const)("with durability %s", (durability) => {
    it.each(NOT_JSON)(
      "fail the node that returns %s, with or without a checkpoint listener",
      async (_name, value) => {
        for (const listen of [false, true]) {
          const agent = await agentFor(value, durability);
          if (listen) agent.on("checkpoint:saved", () => {});
          const sessionId = `${durability}-${listen}`;
          const result = await agent.run({}, { sessionId });
          expectNotJson(result);
          expect(result.state).toEqual({ count: 1 });
          const history = await agent.history(sessionId);
          if (durability === "off") {
            expect(history).toEqual([]);
          } else {
            // The checkpoints written before the bad node are all there, the failure last.
            expect(history.map((c) => c.node)).toEqual([null, "first", null]);
            expect(history[0]?.status).toBe("failed");
            expect(history[1]?.state).toEqual({ count: 1 });
          }
        }
      },
    );
  });

  it.each(NOT_JSON)("refuse %s in run input before anything runs", async (_name, value) => {
    const agent = await agentFor(() => undefined, "step");
    const error = await agent.run({ data: value() }, { sessionId: "input" }).catch((e) => e);
    expect(error).toBeInstanceOf(NonJsonStateError);
    expect(await agent.history("input")).toEqual([]);
  });

  it("name the key, the path inside it and what was found, and say what to do", async () => {
    const result = await (await agentFor(() => ({ items: [{ lookup: new Map() }] }), "off")).run(
      {},
    );
    const error = expectNotJson(result);
    expect(error.path).toBe("data.items[0].lookup");
    expect(error.found).toBe("a `Map`");
    expect(error.message).toContain("Object.fromEntries(map)");
  });

  it("report a value that refers back to itself as a cycle", async () => {
    const result = await (await agentFor(cyclic, "off")).run({});
    const error = expectNotJson(result);
    expect(error.path).toBe("data.self");
    expect(error.found).toContain("`data`");
  });

  it("fail a 100,000-deep value with StateTooDeepError, in an update and in input", async () => {
    const result = await (await agentFor(() => deep(100_000), "step")).run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(StateTooDeepError);
    expect((result.error as StateTooDeepError).maxDepth).toBe(256);
    const error = await (await agentFor(() => undefined, "step"))
      .run({ data: deep(100_000) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateTooDeepError);
  });

  it("allow values as deep as `maxStateDepth`", async () => {
    const graph = new Graph({ state: State, maxStateDepth: 4 })
      .addNode("n", () => ({ data: deep(3) }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile();
    expect((await new GraphAgent({ graph }).run({})).status).toBe("completed");
    const deeper = new Graph({ state: State, maxStateDepth: 4 })
      .addNode("n", () => ({ data: deep(4) }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile();
    expect((await new GraphAgent({ graph: deeper }).run({})).error).toBeInstanceOf(
      StateTooDeepError,
    );
  });

  it("fail a branch of a parallel group that returns one", async () => {
    const graph = new Graph({ state: State })
      .addNode(
        "group",
        parallelGroup<z.output<typeof State>>({
          branches: { ok: () => ({ count: 1 }), bad: () => ({ data: new Set([1]) }) },
        }),
      )
      .addEdge(START, "group")
      .addEdge("group", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as { failures: { error: unknown }[] } | undefined;
    expect(cause?.failures[0]?.error).toBeInstanceOf(NonJsonStateError);
  });

  it("check what a custom reducer returns", async () => {
    const graph = new Graph({
      state: z.object({ total: z.any().optional() }),
      reducers: { total: () => Number.NaN },
    })
      .addNode("n", () => ({ total: 1 }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.error).toBeInstanceOf(NonJsonStateError);
    expect((result.error as NonJsonStateError).found).toBe("`NaN` (number)");
  });
});

describe("values that are JSON data or revived from it", () => {
  it("keep a Date under z.coerce.date(), in input and in updates", async () => {
    const graph = new Graph({
      state: z.object({ at: z.coerce.date(), log: z.array(z.coerce.date()).default([]) }),
      reducers: { log: "append" },
    })
      .addNode("n", () => ({ at: new Date(2), log: [new Date(3)] }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile();
    const result = await new GraphAgent({ graph, store: await serializingStore() }).run({
      at: new Date(1),
    });
    expect(result.status).toBe("completed");
    expect(result.state.at).toEqual(new Date(2));
    expect(result.state.log).toEqual([new Date(3)]);
  });

  it("treat undefined object properties as absent and allow -0, kept as 0 as JSON gives it back", async () => {
    const result = await (
      await agentFor(() => ({ a: undefined, b: -0, c: [null, "x"] }), "step")
    ).run({});
    expect(result.status).toBe("completed");
    expect(result.state.data).toEqual({ b: 0, c: [null, "x"] });
    expect(Object.is((result.state.data as { b: number }).b, 0)).toBe(true);
  });
});
