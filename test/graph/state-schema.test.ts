import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Graph, InvalidOptionError, StateSchemaError } from "../../src/index.js";

class Invoice {
  total = 0;
}

function problemsOf(shape: Record<string, z.ZodType>) {
  try {
    new Graph({ state: z.object(shape) });
  } catch (error) {
    expect(error).toBeInstanceOf(StateSchemaError);
    return (error as StateSchemaError).problems;
  }
  throw new Error("new Graph() accepted the schema");
}

/** Each schema that cannot survive JSON, with the codec the message must name. */
const REFUSED: readonly (readonly [string, z.ZodType, string])[] = [
  ["z.date()", z.date(), "z.coerce.date()"],
  ["z.map()", z.map(z.string(), z.number()), "z.record("],
  ["z.set()", z.set(z.string()), "z.array(item)"],
  ["z.bigint()", z.bigint(), "z.string()"],
  ["z.coerce.bigint()", z.coerce.bigint(), "z.string()"],
  ["z.symbol()", z.symbol(), "z.string()"],
  ["z.function()", z.function(), "outside the state"],
  ["z.nan()", z.nan(), "z.number().nullable()"],
  ["z.undefined()", z.undefined(), ".optional()"],
  ["z.void()", z.void(), ".optional()"],
  ["z.instanceof(Invoice)", z.instanceof(Invoice), "plain object"],
  ["z.promise()", z.promise(z.string()), "Await"],
  ["z.file()", z.file(), "a path or URL"],
  ["z.literal(undefined)", z.literal(undefined), "string, number, boolean or `null` literal"],
  ["z.literal(10n)", z.literal(10n), "string, number, boolean or `null` literal"],
];

describe("new Graph() with a state schema whose values cannot be stored as JSON", () => {
  it.each(REFUSED)("refuses %s, naming the key and the codec to use", (found, schema, fix) => {
    const problems = problemsOf({ ok: z.string(), bad: schema });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key: "bad", path: "bad" });
    expect(problems[0]?.found).toContain(found.replace("z.coerce.bigint()", "z.bigint()"));
    expect(problems[0]?.fix).toContain(fix);
  });

  it.each(REFUSED)("says which key and which fix in the message of %s", (found, schema, fix) => {
    const error = (() => {
      try {
        new Graph({ state: z.object({ ok: z.string(), bad: schema }) });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StateSchemaError);
    const message = (error as Error).message;
    expect(message).toContain("bad");
    expect(message).toContain(found.replace("z.coerce.bigint()", "z.bigint()"));
    expect(message).toContain(fix);
  });

  it.each([
    ["an object", z.object({ at: z.date() }), "bad.at"],
    ["an array", z.array(z.date()), "bad[]"],
    ["a record", z.record(z.string(), z.set(z.string())), "bad[*]"],
    ["a tuple", z.tuple([z.string(), z.bigint()]), "bad[1]"],
    ["a tuple's rest", z.tuple([z.string()], z.date()), "bad[]"],
    ["a union", z.union([z.string(), z.date()]), "bad"],
    ["an optional", z.date().optional(), "bad"],
    ["a nullable", z.map(z.string(), z.string()).nullable(), "bad"],
    ["a default", z.set(z.number()).default(new Set()), "bad"],
    [
      "an intersection",
      z.intersection(z.object({ a: z.string() }), z.object({ b: z.date() })),
      "bad.b",
    ],
    [
      "a deep mix",
      z.array(z.object({ events: z.record(z.string(), z.array(z.date())) })),
      "bad[].events[*][]",
    ],
    ["a lazy schema", z.lazy(() => z.object({ at: z.date() })), "bad.at"],
    ["a pipe's input", z.date().transform((d) => d.getTime()), "bad"],
  ])("finds it inside %s", (_name, schema, path) => {
    const problems = problemsOf({ bad: schema });
    expect(problems.map((p) => p.path)).toEqual([path]);
  });

  it("lists every such key in one error", () => {
    const problems = problemsOf({
      a: z.date(),
      b: z.string(),
      c: z.bigint(),
      d: z.set(z.string()),
    });
    expect(problems.map((p) => p.key)).toEqual(["a", "c", "d"]);
    const error = (() => {
      try {
        new Graph({ state: z.object({ a: z.date(), c: z.bigint() }) });
      } catch (e) {
        return e as StateSchemaError;
      }
    })();
    expect(error?.code).toBe("STATE_SCHEMA_INVALID");
    expect(error?.message).toContain("`a` is `z.date()`");
    expect(error?.message).toContain("`c` is `z.bigint()`");
  });

  it("refuses a key named `__proto__`", () => {
    const shape: Record<string, z.ZodType> = {};
    Object.defineProperty(shape, "__proto__", { value: z.string(), enumerable: true });
    expect(problemsOf(shape).map((p) => p.key)).toEqual(["__proto__"]);
  });

  it.each([
    ["z.coerce.date()", z.coerce.date()],
    ["z.iso.datetime()", z.iso.datetime()],
    ["z.any()", z.any()],
    ["z.unknown()", z.unknown()],
    ["z.custom()", z.custom<string>((v) => typeof v === "string")],
    [
      "a codec from an ISO string to a Date",
      z.codec(z.iso.datetime(), z.date(), {
        decode: (s) => new Date(s),
        encode: (d) => d.toISOString(),
      }),
    ],
    [
      "a recursive lazy schema",
      (() => {
        const Node: z.ZodType = z.lazy(() =>
          z.object({ name: z.string(), children: z.array(Node) }),
        );
        return Node;
      })(),
    ],
  ])("accepts %s", (_name, schema) => {
    expect(() => new Graph({ state: z.object({ v: schema }) })).not.toThrow();
  });

  it("refuses a state that is not a zod object", () => {
    expect(() => new Graph({ state: z.string() as never })).toThrow(InvalidOptionError);
  });
});
