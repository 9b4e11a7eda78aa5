/**
 * How one state key's update value is parsed, so that a node update gets exactly what run
 * input gets for that key: the same defaults, transforms, coercions and checks.
 */

import { z } from "zod";
import type { StateIssue } from "../errors.js";
import type { JsonReviver } from "./json-value.js";
import { setOwn } from "./own-property.js";
import type { Reducer } from "./reducers.js";

/** A schema as this file reads it: only zod's internal definition, which is stable in v4. */
interface Def {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly catchall?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/** The schema under `.optional()`, `.nullable()`, `.default()`, `.prefault()`, `.catch()`, `.readonly()`. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "catch":
      case "readonly":
        current = def.innerType!;
        break;
      default:
        return current;
    }
  }
}

/**
 * A `merge` key over an object schema: a patch is parsed property by property, so the
 * properties it leaves out stay out (a parse of the whole object would fill their defaults
 * and reset them). Unknown properties are handled as the object handles them in input:
 * dropped, refused (`.strict()`) or parsed by its catchall. Checks on the object as a whole
 * (`.refine()` on it) apply to input and to `set`s, not to patches.
 */
interface PatchSchema {
  readonly kind: "patch";
  readonly shape: ReadonlyMap<string, z.ZodType>;
  readonly catchall: z.ZodType | undefined;
  readonly strict: boolean;
  readonly names: string;
}

/**
 * The schema under `.default()`, `.prefault()` and `.optional()`. An update value is never
 * `undefined` (such keys are skipped), and for any other value these wrappers hand it to the
 * schema they wrap unchanged, so parsing with the inner schema gives the very same result;
 * it saves a wrapper's parse (about 80 ns) on every node update.
 */
function withoutUndefinedWrappers(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.type !== "default" && def.type !== "prefault" && def.type !== "optional") {
      return current;
    }
    current = def.innerType!;
  }
}

/** What one key's update value is parsed with. */
export type UpdateSchema = { readonly kind: "zod"; readonly schema: z.ZodType } | PatchSchema;

/**
 * The update schema of a key: the key's own schema (every modifier that can matter for a value
 * other than `undefined`) for `overwrite`, `sum` and custom reducers; an array of the key's
 * items for `append`; a patch of the key's object for `merge`.
 */
export function updateSchemaOf(schema: z.ZodType, reducer: Reducer | undefined): UpdateSchema {
  if (reducer === "append") {
    const inner = unwrap(schema);
    const def = defOf(inner);
    return { kind: "zod", schema: z.array(def.type === "array" ? def.element! : inner) };
  }
  if (reducer === "merge") {
    const def = defOf(unwrap(schema));
    if (def.type === "object") {
      const catchall = def.catchall;
      const strict = catchall !== undefined && defOf(catchall).type === "never";
      const shape = new Map(Object.entries(def.shape ?? {}));
      return {
        kind: "patch",
        shape,
        catchall: strict ? undefined : catchall,
        strict,
        names: [...shape.keys()].map((k) => `\`${k}\``).join(", "),
      };
    }
  }
  return { kind: "zod", schema: withoutUndefinedWrappers(schema) };
}

function toIssues(error: z.ZodError, prefix: string): StateIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

/** An update value that did not parse, with what is wrong with it. */
export class InvalidUpdate {
  readonly issues: readonly StateIssue[];
  constructor(issues: readonly StateIssue[]) {
    this.issues = issues;
  }
}

/** Parses one update value of `key`; returns the parsed value, or what is wrong with it. */
export function parseUpdateValue(update: UpdateSchema, key: string, value: unknown): unknown {
  if (update.kind === "zod") {
    const result = update.schema.safeParse(value);
    return result.success ? result.data : new InvalidUpdate(toIssues(result.error, key));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new InvalidUpdate([
      { path: key, message: "expected an object with some of the key's properties" },
    ]);
  }
  const patch: Record<string, unknown> = {};
  const issues: StateIssue[] = [];
  for (const name of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined) continue;
    const schema = update.shape.get(name) ?? update.catchall;
    if (schema === undefined) {
      if (update.strict) {
        issues.push({
          path: `${key}.${name}`,
          message: `unknown key; \`${key}\` has ${update.names}`,
        });
      }
      continue;
    }
    const result = schema.safeParse(item);
    if (!result.success) issues.push(...toIssues(result.error, `${key}.${name}`));
    else setOwn(patch, name, result.data);
  }
  return issues.length > 0 ? new InvalidUpdate(issues) : patch;
}

/**
 * The update schema as the JSON check's reviver: parses an update value that went through
 * JSON, the way {@link parseUpdateValue} parses it.
 */
export function reviverOf(update: UpdateSchema, key: string): JsonReviver {
  if (update.kind === "zod") return update.schema;
  return {
    safeParse(value) {
      const data = parseUpdateValue(update, key, value);
      return data instanceof InvalidUpdate ? { success: false } : { success: true, data };
    },
  };
}
