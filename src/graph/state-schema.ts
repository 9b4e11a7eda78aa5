/**
 * Checks a state schema when the graph is built: every key's values must survive a checkpoint,
 * which stores the state as JSON and reads it back through the key's schema. Schemas whose
 * values cannot (`z.date()`, `z.map()`, …) are refused with the codec to use instead.
 */

import type { z } from "zod";
import { StateSchemaError, type StateSchemaProblem } from "../errors.js";

/** A schema as this file reads it: zod v4's internal definition. */
interface Def {
  readonly type: string;
  readonly coerce?: boolean;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly catchall?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly items?: readonly z.ZodType[];
  readonly rest?: z.ZodType | null;
  readonly options?: readonly z.ZodType[];
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  readonly in?: z.ZodType;
  readonly getter?: () => z.ZodType;
  readonly values?: readonly unknown[];
}

const STORE_AS_DATA =
  "Store its data as a plain object (`z.object({ … })`) and build the instance in the node that needs it.";

/** The refusal for a schema kind that never survives JSON, or `undefined` when it may. */
function refusal(schema: z.ZodType, def: Def): { found: string; fix: string } | undefined {
  switch (def.type) {
    case "date":
      return def.coerce
        ? undefined
        : {
            found: "`z.date()`",
            fix: "Use `z.coerce.date()` (stored as an ISO string, read back as a `Date`) or `z.iso.datetime()` (kept as the ISO string).",
          };
    case "map":
      return {
        found: "`z.map()`",
        fix: "Use `z.record(z.string(), value)` for string keys, or `z.array(z.tuple([key, value]))`.",
      };
    case "set":
      return { found: "`z.set()`", fix: "Use `z.array(item)`." };
    case "bigint":
      return {
        found: "`z.bigint()`",
        fix: "Use `z.string()` (e.g. `String(value)`) or, when it fits, `z.number().int()`.",
      };
    case "symbol":
      return { found: "`z.symbol()`", fix: "Use `z.string()` or `z.enum([…])`." };
    case "function":
      return {
        found: "`z.function()`",
        fix: "Functions are not data: keep them outside the state (in a closure or the node's options).",
      };
    case "nan":
      return {
        found: "`z.nan()`",
        fix: "JSON stores `NaN` as `null`: use `z.number().nullable()` and store `null`.",
      };
    case "undefined":
    case "void":
      return {
        found: `\`z.${def.type}()\``,
        fix: "For a value that may be missing, make the key or property `.optional()`; for an empty value use `z.null()`.",
      };
    case "promise":
      return {
        found: "`z.promise()`",
        fix: "Await the value in the node and store what it resolves to.",
      };
    case "file":
      return {
        found: "`z.file()`",
        fix: "Store a reference to the file (a path or URL) as a string.",
      };
    case "custom": {
      const cls = (schema._zod.bag as { Class?: { name?: string } }).Class;
      return cls === undefined
        ? undefined
        : { found: `\`z.instanceof(${cls.name || "…"})\``, fix: STORE_AS_DATA };
    }
    case "literal": {
      // `findIndex`, not `find`: the value refused may itself be `undefined`.
      const values = def.values ?? [];
      const at = values.findIndex(
        (v) => typeof v === "bigint" || typeof v === "symbol" || v === undefined,
      );
      if (at === -1) return undefined;
      const bad = values[at];
      return {
        found: `\`z.literal(${typeof bad === "bigint" ? `${bad}n` : String(bad)})\``,
        fix: "Use a string, number, boolean or `null` literal.",
      };
    }
  }
  return undefined;
}

/** Schemas inside `def`, each with the path segment that leads to it. */
function children(def: Def): [segment: string, schema: z.ZodType][] {
  switch (def.type) {
    case "object": {
      const out: [string, z.ZodType][] = Object.entries(def.shape ?? {}).map(([name, s]) => [
        /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`,
        s,
      ]);
      if (def.catchall !== undefined) out.push(["[*]", def.catchall]);
      return out;
    }
    case "record":
      return def.valueType === undefined ? [] : [["[*]", def.valueType]];
    case "array":
      return def.element === undefined ? [] : [["[]", def.element]];
    case "tuple": {
      const out: [string, z.ZodType][] = (def.items ?? []).map((s, i) => [`[${i}]`, s]);
      if (def.rest) out.push(["[]", def.rest]);
      return out;
    }
    case "union":
      return (def.options ?? []).map((s) => ["", s]);
    case "intersection":
      return [
        ["", def.left!],
        ["", def.right!],
      ];
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
    case "nonoptional":
      return [["", def.innerType!]];
    // A pipe (and a codec) meets the stored JSON with its input side.
    case "pipe":
      return def.in === undefined ? [] : [["", def.in]];
    case "lazy":
      return def.getter === undefined ? [] : [["", def.getter()]];
  }
  return [];
}

/**
 * Throws `StateSchemaError` listing every part of the state schema whose values cannot be
 * stored as JSON and read back through the schema, also deep inside objects, arrays, records,
 * tuples, unions and wrappers. `z.coerce.date()`, `z.any()`, `z.unknown()` and `z.custom()`
 * pass (values under them are checked when they enter the state). Also refuses a key named
 * `__proto__`, which objects treat as their prototype.
 */
export function checkStateSchema(shape: Readonly<Record<string, z.ZodType>>): void {
  const problems: StateSchemaProblem[] = [];
  for (const [key, root] of Object.entries(shape)) {
    if (key === "__proto__") {
      problems.push({
        key,
        path: key,
        found: "a key named `__proto__`",
        fix: "Objects treat it as their prototype, so it cannot hold state: rename the key.",
      });
      continue;
    }
    const seen = new Set<z.ZodType>();
    const pending: [path: string, schema: z.ZodType][] = [[key, root]];
    while (pending.length > 0) {
      const [path, schema] = pending.pop()!;
      if (seen.has(schema)) continue;
      seen.add(schema);
      const def = schema._zod.def as unknown as Def;
      const problem = refusal(schema, def);
      if (problem !== undefined) {
        problems.push({ key, path, ...problem });
        continue;
      }
      const inner = children(def);
      for (let i = inner.length - 1; i >= 0; i--) {
        const [segment, child] = inner[i]!;
        pending.push([path + segment, child]);
      }
    }
  }
  if (problems.length > 0) throw new StateSchemaError(problems);
}
