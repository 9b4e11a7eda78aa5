import { z } from "zod";
import { type StateIssue, StateValidationError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { type Reducer, type ReducerMap, reduce } from "./reducers.js";

/** A state schema: a zod object. */
export type AnyStateSchema = z.ZodObject;
/** The state type of a schema (after defaults). */
export type StateOf<T extends AnyStateSchema> = z.output<T>;
/** What `run()` accepts for a schema (defaults may be left out). */
export type InputOf<T extends AnyStateSchema> = z.input<T>;

/** One change to one key, as stored in a checkpoint delta. */
export type DeltaOp =
  | readonly [key: string, op: "set", value: unknown]
  | readonly [key: string, op: "append", items: readonly unknown[]]
  | readonly [key: string, op: "merge", patch: Record<string, unknown>];

/** The result of applying an update: the next state and what changed. */
export interface Applied<S> {
  readonly state: S;
  readonly delta: readonly DeltaOp[];
}

function toIssues(error: z.ZodError, prefix = ""): StateIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

/**
 * The state schema together with its reducers: validates input and updates and applies
 * updates purely. One per compiled graph.
 */
export class StateDefinition<S extends Record<string, unknown>> {
  readonly schema: AnyStateSchema;
  readonly reducers: ReducerMap<S>;
  readonly #shape: Record<string, z.ZodType>;
  readonly #updateSchemas = new Map<string, z.ZodType>();

  constructor(schema: AnyStateSchema, reducers: ReducerMap<S> = {}) {
    this.schema = schema;
    this.reducers = reducers;
    this.#shape = schema.shape as Record<string, z.ZodType>;
  }

  /** The keys of the state, in schema order. */
  get keys(): string[] {
    return Object.keys(this.#shape);
  }

  /** The reducer declared for `key`; `undefined` means the default, `overwrite`. */
  reducerOf(key: string): Reducer | undefined {
    return (this.reducers as Record<string, Reducer | undefined>)[key];
  }

  /** Validates run input, filling defaults. Throws `StateValidationError` listing every issue. */
  parseInput(input: unknown): S {
    const result = this.schema.safeParse(input ?? {});
    const unknown =
      input !== null && typeof input === "object"
        ? Object.keys(input).filter((key) => !(key in this.#shape))
        : [];
    const issues = [
      ...(result.success ? [] : toIssues(result.error)),
      ...unknown.map((key) => ({
        path: key,
        message: `unknown key; the state has ${this.keys.map((k) => `\`${k}\``).join(", ")}`,
      })),
    ];
    if (issues.length > 0 || !result.success)
      throw new StateValidationError("Run input", issues, input);
    return result.data as S;
  }

  /** Validates a whole state (e.g. after `update_state`). */
  parseState(value: unknown, what = "State"): S {
    const result = this.schema.safeParse(value);
    if (!result.success) throw new StateValidationError(what, toIssues(result.error), value);
    return result.data as S;
  }

  #updateSchema(key: string): z.ZodType | undefined {
    let schema = this.#updateSchemas.get(key);
    if (schema) return schema;
    const base = this.#shape[key];
    if (!base) return undefined;
    const reducer = this.reducerOf(key);
    schema = base;
    if (reducer === "merge") {
      const inner = unwrap(base);
      if (inner instanceof z.ZodObject) schema = inner.partial();
    } else if (reducer === "append") {
      const inner = unwrap(base);
      schema = inner instanceof z.ZodArray ? inner : z.array(inner);
    } else {
      schema = unwrap(base);
    }
    this.#updateSchemas.set(key, schema);
    return schema;
  }

  /**
   * Checks that an update only names state keys and that each value fits the key's schema
   * (for `append`, an array of items; for `merge`, a partial object).
   */
  validateUpdate(update: Record<string, unknown>, what: string): void {
    const issues: StateIssue[] = [];
    for (const key in update) {
      const value = update[key];
      if (value === undefined) continue;
      const schema = this.#updateSchema(key);
      if (!schema) {
        issues.push({
          path: key,
          message: `unknown key; the state has ${this.keys.map((k) => `\`${k}\``).join(", ")}`,
        });
        continue;
      }
      const result = schema.safeParse(value);
      if (!result.success) issues.push(...toIssues(result.error, key));
    }
    if (issues.length > 0) throw new StateValidationError(what, issues, update);
  }

  /** Applies an update through the reducers. Pure: returns a new state and the delta. */
  apply(state: S, update: Record<string, unknown>): Applied<S> {
    const next: Record<string, unknown> = { ...state };
    const delta: DeltaOp[] = [];
    for (const key in update) {
      const value = update[key];
      if (value === undefined) continue;
      const reducer = this.reducerOf(key);
      next[key] = reduce(reducer, state[key], value);
      if (reducer === "append") {
        delta.push([key, "append", Array.isArray(value) ? value : [value]]);
      } else if (reducer === "merge") {
        delta.push([key, "merge", value as Record<string, unknown>]);
      } else {
        delta.push([key, "set", next[key]]);
      }
    }
    return { state: next as S, delta };
  }
}

/** Applies a stored delta to a state (used to rebuild a state from checkpoints). Pure. */
export function applyDelta<S extends Record<string, unknown>>(
  state: S,
  delta: readonly DeltaOp[],
): S {
  if (delta.length === 0) return state;
  const next: Record<string, unknown> = { ...state };
  for (const op of delta) {
    const [key, kind, value] = op;
    if (kind === "set") next[key] = value;
    else if (kind === "append")
      next[key] = ((next[key] as unknown[] | undefined) ?? []).concat(value);
    else next[key] = { ...(next[key] as Record<string, unknown>), ...value };
  }
  return next as S;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}

/** Freezes a new state object and the values of the keys a delta changed. */
export function freezeChanged<S extends Record<string, unknown>>(
  state: S,
  delta: readonly DeltaOp[],
): S {
  for (const op of delta) {
    if (op[1] === "append") {
      // Only the new items need a walk; the earlier ones were frozen when they arrived.
      for (const item of op[2]) deepFreeze(item);
      Object.freeze(state[op[0]]);
    } else {
      deepFreeze(state[op[0]]);
    }
  }
  return Object.freeze(state);
}
