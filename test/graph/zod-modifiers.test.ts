import { describe, expect, it } from "vitest";
import { z } from "zod";
import { END, Graph, GraphAgent, START, StateValidationError } from "../../src/index.js";

/** One modifier: a key schema, a valid start value, a value to give, and what the key holds then. */
interface Case {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly start: unknown;
  readonly value: unknown;
  /** What the key holds after `value`, or `"invalid"` when `value` must be refused. */
  readonly expected: unknown;
}

const cases: readonly Case[] = [
  {
    name: "default inside a nested object",
    schema: z.object({ n: z.number().default(1), s: z.string() }),
    start: { n: 0, s: "" },
    value: { s: "x" },
    expected: { n: 1, s: "x" },
  },
  { name: "optional", schema: z.string().optional(), start: "a", value: "b", expected: "b" },
  { name: "nullable", schema: z.string().nullable(), start: "a", value: null, expected: null },
  { name: "nullish", schema: z.string().nullish(), start: "a", value: null, expected: null },
  { name: "catch", schema: z.number().catch(0), start: 1, value: "x", expected: 0 },
  {
    name: "transform",
    schema: z.string().transform((s) => s.length),
    start: "",
    value: "abc",
    expected: 3,
  },
  { name: "trim", schema: z.string().trim(), start: "", value: "  a ", expected: "a" },
  {
    name: "refine (passing)",
    schema: z.number().refine((n) => n > 0),
    start: 1,
    value: 2,
    expected: 2,
  },
  {
    name: "refine (failing)",
    schema: z.number().refine((n) => n > 0),
    start: 1,
    value: -1,
    expected: "invalid",
  },
  { name: "coerce", schema: z.coerce.number(), start: 0, value: "3", expected: 3 },
  {
    name: "pipe",
    schema: z.string().pipe(z.coerce.number()),
    start: "0",
    value: "4",
    expected: 4,
  },
  { name: "enum", schema: z.enum(["a", "b"]), start: "a", value: "b", expected: "b" },
  {
    name: "enum (unknown member)",
    schema: z.enum(["a", "b"]),
    start: "a",
    value: "c",
    expected: "invalid",
  },
  { name: "literal", schema: z.literal("x"), start: "x", value: "y", expected: "invalid" },
  {
    name: "union",
    schema: z.union([z.string(), z.number()]),
    start: "a",
    value: 1,
    expected: 1,
  },
  {
    name: "union (no member matches)",
    schema: z.union([z.string(), z.number()]),
    start: "a",
    value: true,
    expected: "invalid",
  },
  {
    name: "nested object with an unknown nested key",
    schema: z.object({ name: z.string() }),
    start: { name: "" },
    value: { name: "a", extra: 1 },
    expected: { name: "a" },
  },
  {
    name: "strict nested object with an unknown nested key",
    schema: z.object({ name: z.string() }).strict(),
    start: { name: "" },
    value: { name: "a", extra: 1 },
    expected: "invalid",
  },
];

function graphFor(schema: z.ZodType, update?: () => Record<string, unknown>) {
  return new Graph({ state: z.object({ v: schema }) })
    .addNode("node", () => update?.())
    .addEdge(START, "node")
    .addEdge("node", END)
    .compile();
}

/** What `v` holds when `value` is given as run input, or `"invalid"`. */
async function viaInput(c: Case): Promise<unknown> {
  const result = await new GraphAgent({ graph: graphFor(c.schema) })
    .run({ v: c.value })
    .catch((error: unknown) => error);
  if (result instanceof StateValidationError) return "invalid";
  return (result as { state: { v: unknown } }).state.v;
}

/** What `v` holds when a node returns `{ v: value }` (starting from `start`), or `"invalid"`. */
async function viaUpdate(c: Case): Promise<unknown> {
  const result = await new GraphAgent({ graph: graphFor(c.schema, () => ({ v: c.value })) }).run({
    v: c.start,
  });
  if (result.error instanceof StateValidationError) return "invalid";
  expect(result.status).toBe("completed");
  return result.state.v;
}

describe("zod modifiers on a state key", () => {
  it.each(cases)("parse run input and node updates alike: $name", async (c) => {
    expect(await viaInput(c)).toEqual(c.expected);
    expect(await viaUpdate(c)).toEqual(c.expected);
  });

  it("accepts `null` for a nullable key in an update, as in input", async () => {
    const graph = graphFor(z.string().nullable(), () => ({ v: null }));
    const result = await new GraphAgent({ graph }).run({ v: "a" });
    expect(result.status).toBe("completed");
    expect(result.state.v).toBeNull();
  });

  it("leaves a key an update sets to `undefined` as it was, instead of filling its default", async () => {
    const graph = graphFor(z.number().default(5), () => ({ v: undefined }));
    const result = await new GraphAgent({ graph }).run({ v: 1 });
    expect(result.state.v).toBe(1);
  });

  it("parses each appended item like an item of the input", async () => {
    const graph = new Graph({
      state: z.object({ log: z.array(z.string().trim()).default([]) }),
      reducers: { log: "append" },
    })
      .addNode("node", () => ({ log: ["  b "] }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({ log: [" a "] });
    expect(result.state.log).toEqual(["a", "b"]);
  });

  it("parses a merge patch property by property, without resetting properties it leaves out to their defaults", async () => {
    const graph = new Graph({
      state: z.object({
        meta: z
          .object({ a: z.number().default(1), b: z.coerce.number().optional() })
          .default({ a: 1 }),
      }),
      reducers: { meta: "merge" },
    })
      .addNode("node", () => ({ meta: { b: "2", junk: true } as never }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({ meta: { a: 5 } });
    expect(result.status).toBe("completed");
    expect(result.state.meta).toEqual({ a: 5, b: 2 });
  });

  it("refuses an unknown property in a merge patch of a strict object", async () => {
    const graph = new Graph({
      state: z.object({ meta: z.object({ a: z.number().optional() }).strict().default({}) }),
      reducers: { meta: "merge" },
    })
      .addNode("node", () => ({ meta: { x: 1 } as never }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({});
    expect(result.error).toBeInstanceOf(StateValidationError);
    expect((result.error as StateValidationError).issues.map((i) => i.path)).toEqual(["meta.x"]);
  });

  it("applies raw update values with `validateUpdates: false`", async () => {
    const graph = new Graph({ state: z.object({ v: z.string().trim() }) })
      .addNode("node", () => ({ v: "  raw " }))
      .addEdge(START, "node")
      .addEdge("node", END)
      .compile({ validateUpdates: false });
    const result = await new GraphAgent({ graph }).run({ v: "" });
    expect(result.state.v).toBe("  raw ");
  });

  it("parses a fork's update like run input", async () => {
    const graph = graphFor(z.string().trim());
    const agent = new GraphAgent({ graph });
    await agent.run({ v: "a" }, { sessionId: "fork-parse" });
    const [first] = (await agent.history("fork-parse")).slice(-1);
    const forked = await agent.fork("fork-parse", first!.id, { update: { v: "  b " } });
    expect(forked.state.v).toBe("b");
  });
});
