import type { z } from "zod";
import { type StateIssue, StateValidationError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { ownValue, setOwn } from "./own-property.js";
import { type Reducer, type ReducerMap, reduce } from "./reducers.js";
import { INVALID, parseUpdateValue, type UpdateSchema, updateSchemaOf } from "./update-schema.js";

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
 *
 * The state is a map of the schema's own keys and nothing else: every lookup of a key in the
 * schema, the reducers or a state object is an own-property lookup, so keys named like
 * `Object.prototype` members (`constructor`, `toString`, …) are ordinary keys, and any other
 * key — `__proto__` included — is refused as unknown.
 */
export class StateDefinition<S extends Record<string, unknown>> {
  readonly schema: AnyStateSchema;
  readonly reducers: ReducerMap<S>;
  readonly #shape: ReadonlyMap<string, z.ZodType>;
  readonly #reducers: ReadonlyMap<string, Reducer>;
  readonly #updateSchemas = new Map<string, UpdateSchema>();

  constructor(schema: AnyStateSchema, reducers: ReducerMap<S> = {}) {
    this.schema = schema;
    this.reducers = reducers;
    this.#shape = new Map(Object.entries(schema.shape as Record<string, z.ZodType>));
    this.#reducers = new Map(
      Object.entries(reducers as Record<string, Reducer | undefined>).filter(
        (entry): entry is [string, Reducer] => entry[1] !== undefined,
      ),
    );
    for (const [key, base] of this.#shape) {
      this.#updateSchemas.set(key, updateSchemaOf(base, this.#reducers.get(key)));
    }
  }

  /** The keys of the state, in schema order. */
  get keys(): string[] {
    return [...this.#shape.keys()];
  }

  /** Whether `key` is a key of the state schema (an own key, never an inherited name). */
  hasKey(key: string): boolean {
    return this.#shape.has(key);
  }

  reducerOf(key: string): Reducer | undefined {
    return this.#reducers.get(key);
  }

  #unknownKey(key: string): StateIssue {
    return {
      path: key,
      message: `unknown key; the state has ${this.keys.map((k) => `\`${k}\``).join(", ")}`,
    };
  }

  /**
   * The own keys of `value` that are state keys, on an object without a prototype, so the
   * schema never reads a value inherited from `Object.prototype`; the others are `unknown`.
   */
  #ownKeys(value: object, unknown: StateIssue[]): Record<string, unknown> {
    const own = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      if (this.#shape.has(key)) own[key] = (value as Record<string, unknown>)[key];
      else unknown.push(this.#unknownKey(key));
    }
    return own;
  }

  /** Validates run input, filling defaults. Throws `StateValidationError` listing every issue. */
  parseInput(input: unknown): S {
    const issues: StateIssue[] = [];
    const value = input ?? {};
    const result = this.schema.safeParse(
      typeof value === "object" && !Array.isArray(value) ? this.#ownKeys(value, issues) : value,
    );
    if (!result.success) issues.unshift(...toIssues(result.error));
    if (issues.length > 0 || !result.success)
      throw new StateValidationError("Run input", issues, input);
    return result.data as S;
  }

  /** Validates a whole state (e.g. after `update_state`). */
  parseState(value: unknown, what = "State"): S {
    const issues: StateIssue[] = [];
    const result = this.schema.safeParse(
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? this.#ownKeys(value, issues)
        : value,
    );
    if (!result.success) issues.unshift(...toIssues(result.error));
    if (issues.length > 0 || !result.success) throw new StateValidationError(what, issues, value);
    return result.data as S;
  }

  /**
   * Checks that an update only names state keys and parses each value the way run input
   * parses that key (every zod modifier applies: defaults inside values, transforms, `.trim()`,
   * coercion, `.catch()`); for `append` keys the value is an array of items, for `merge` keys
   * an object with some of the key's properties. Returns the parsed update, a new object:
   * apply that, not `update`. A key set to `undefined` is left out (it changes nothing).
   *
   * @throws StateValidationError listing every issue; nothing is returned then.
   */
  validateUpdate(update: Record<string, unknown>, what: string): Record<string, unknown> {
    const parsed: Record<string, unknown> = {};
    const issues: StateIssue[] = [];
    for (const key in update) {
      if (!Object.hasOwn(update, key)) continue;
      const value = update[key];
      if (value === undefined) continue;
      const schema = this.#updateSchemas.get(key);
      if (schema === undefined) issues.push(this.#unknownKey(key));
      else {
        const data = parseUpdateValue(schema, key, value, issues);
        if (data !== INVALID) setOwn(parsed, key, data);
      }
    }
    if (issues.length > 0) throw new StateValidationError(what, issues, update);
    return parsed;
  }

  /** {@link validateUpdate}, then {@link apply} with the parsed values. */
  validateAndApply(state: S, update: Record<string, unknown>, what: string): Applied<S> {
    return this.apply(state, this.validateUpdate(update, what));
  }

  /** Applies an update through the reducers. Pure: returns a new state and the delta. */
  apply(state: S, update: Record<string, unknown>): Applied<S> {
    const next: Record<string, unknown> = { ...state };
    const delta: DeltaOp[] = [];
    for (const key in update) {
      if (!Object.hasOwn(update, key)) continue;
      const value = update[key];
      if (value === undefined) continue;
      const reducer = this.#reducers.get(key);
      const reduced = reduce(reducer, ownValue(state, key), value);
      setOwn(next, key, reduced);
      if (reducer === "append") {
        delta.push([key, "append", Array.isArray(value) ? value : [value]]);
      } else if (reducer === "merge") {
        delta.push([key, "merge", value as Record<string, unknown>]);
      } else {
        delta.push([key, "set", reduced]);
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
    if (kind === "set") setOwn(next, key, value);
    else if (kind === "append")
      setOwn(next, key, ((ownValue(next, key) as unknown[] | undefined) ?? []).concat(value));
    else setOwn(next, key, { ...(ownValue(next, key) as Record<string, unknown>), ...value });
  }
  return next as S;
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
