import type { z } from "zod";
import { type StateIssue, StateValidationError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { DEFAULT_MAX_STATE_DEPTH, isJsonLeaf, type JsonReviver, jsonValue } from "./json-value.js";
import { ownValue, setOwn } from "./own-property.js";
import { type Reducer, type ReducerMap, reduce } from "./reducers.js";
import { checkStateSchema } from "./state-schema.js";
import {
  InvalidUpdate,
  parseUpdateValue,
  reviverOf,
  type UpdateSchema,
  updateSchemaOf,
} from "./update-schema.js";

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

/** Options of a {@link StateDefinition}. */
export interface StateDefinitionOptions {
  /** Most levels of arrays and objects inside one key. Default 256. */
  readonly maxDepth?: number;
}

/** What the definition knows about one key. */
interface KeySpec {
  readonly schema: z.ZodType;
  readonly reducer: Reducer | undefined;
  /** What one update value of the key is parsed with. */
  readonly update: UpdateSchema;
  /** Revives an update value (`append` items, a `merge` patch) from its JSON. */
  readonly updateReviver: JsonReviver;
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
  /** How many levels of arrays and objects a key may nest (see `maxStateDepth`). */
  readonly maxDepth: number;
  readonly #keys: ReadonlyMap<string, KeySpec>;

  /** @throws StateSchemaError when a key's values could not be stored as JSON. */
  constructor(
    schema: AnyStateSchema,
    reducers: ReducerMap<S> = {},
    options: StateDefinitionOptions = {},
  ) {
    checkStateSchema(schema.shape as Record<string, z.ZodType>);
    this.schema = schema;
    this.reducers = reducers;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_STATE_DEPTH;
    const keys = new Map<string, KeySpec>();
    for (const [key, base] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const given = Object.hasOwn(reducers, key)
        ? (reducers as Record<string, Reducer | undefined>)[key]
        : undefined;
      const reducer = given === "overwrite" ? undefined : given;
      const update = updateSchemaOf(base, reducer);
      keys.set(key, { schema: base, reducer, update, updateReviver: reviverOf(update, key) });
    }
    this.#keys = keys;
  }

  /** The keys of the state, in schema order. */
  get keys(): string[] {
    return [...this.#keys.keys()];
  }

  /** Whether `key` is a key of the state schema (an own key, never an inherited name). */
  hasKey(key: string): boolean {
    return this.#keys.has(key);
  }

  /** The reducer declared for `key`; `undefined` means the default, `overwrite`. */
  reducerOf(key: string): Reducer | undefined {
    return this.#keys.get(key)?.reducer;
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
      if (this.#keys.has(key)) own[key] = (value as Record<string, unknown>)[key];
      else unknown.push(this.#unknownKey(key));
    }
    return own;
  }

  #parse(value: unknown, what: string): S {
    const issues: StateIssue[] = [];
    const result = this.schema.safeParse(
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? this.#ownKeys(value, issues)
        : value,
    );
    if (!result.success) issues.unshift(...toIssues(result.error));
    if (issues.length > 0 || !result.success) throw new StateValidationError(what, issues, value);
    const state = result.data as Record<string, unknown>;
    // Copied: the run freezes its state, and must neither freeze nor share the caller's objects.
    for (const key of Object.keys(state)) {
      const value = jsonValue(state[key], key, this.#keys.get(key)?.schema, this.maxDepth, true);
      setOwn(state, key, value);
    }
    return state as S;
  }

  /**
   * Validates run input, filling defaults, and checks that every value is JSON data.
   *
   * @throws StateValidationError listing every issue (unknown keys included).
   * @throws NonJsonStateError / StateTooDeepError for a value no checkpoint could keep.
   */
  parseInput(input: unknown): S {
    return this.#parse(input ?? {}, "Run input");
  }

  /** Validates a whole state, like {@link parseInput}. */
  parseState(value: unknown, what = "State"): S {
    return this.#parse(value, what);
  }

  /**
   * Checks that an update only names state keys and parses each value the way run input
   * parses that key (every zod modifier applies: defaults inside values, transforms, `.trim()`,
   * coercion, `.catch()`); for `append` keys the value is an array of items, for `merge` keys
   * an object with some of the key's properties. Returns the parsed update — `update` itself
   * when parsing changed no value, otherwise a new object — to apply instead of `update`. A key
   * set to `undefined` changes nothing.
   *
   * @throws StateValidationError listing every issue; nothing is returned then.
   */
  validateUpdate(update: Record<string, unknown>, what: string): Record<string, unknown> {
    // Most updates parse to the very values they hold (`{ count: 3 }`); those are returned
    // as they are, and a new object is only made from the first value parsing changed.
    let parsed: Record<string, unknown> | undefined;
    let issues: StateIssue[] | undefined;
    for (const key in update) {
      if (!Object.hasOwn(update, key)) continue;
      const value = update[key];
      if (value === undefined) continue;
      const spec = this.#keys.get(key);
      if (spec === undefined) {
        issues = [...(issues ?? []), this.#unknownKey(key)];
        continue;
      }
      const data = parseUpdateValue(spec.update, key, value);
      if (data instanceof InvalidUpdate) {
        issues = [...(issues ?? []), ...data.issues];
        continue;
      }
      if (parsed === undefined && data !== value) parsed = valuesBefore(update, key);
      if (parsed !== undefined) setOwn(parsed, key, data);
    }
    if (issues !== undefined) throw new StateValidationError(what, issues, update);
    return parsed ?? update;
  }

  /**
   * {@link validateUpdate}, then {@link apply} with the parsed values, in one pass over the
   * update (this runs after every node). Schema issues are reported before a value that is not
   * JSON data.
   */
  validateAndApply(state: S, update: Record<string, unknown>, what: string): Applied<S> {
    const next: Record<string, unknown> = { ...state };
    const delta: DeltaOp[] = [];
    let issues: StateIssue[] | undefined;
    let notJson: unknown;
    for (const key in update) {
      if (!Object.hasOwn(update, key)) continue;
      const value = update[key];
      if (value === undefined) continue;
      const spec = this.#keys.get(key);
      if (spec === undefined) {
        issues = [...(issues ?? []), this.#unknownKey(key)];
        continue;
      }
      const data = parseUpdateValue(spec.update, key, value);
      if (data instanceof InvalidUpdate) {
        issues = [...(issues ?? []), ...data.issues];
      } else if (spec.reducer === undefined && isJsonLeaf(data)) {
        // The common update (`{ count: 3 }`): a primitive for an `overwrite` key needs no copy,
        // no walk and no reducer, and keeping this path small lets it inline into the run loop.
        // `-0` is kept as `0`, as JSON gives it back (see `jsonValue`).
        const leaf = data === 0 ? 0 : data;
        setOwn(next, key, leaf);
        delta.push([key, "set", leaf]);
      } else if (issues === undefined && notJson === undefined) {
        try {
          this.#applyKey(next, delta, state, key, data, spec);
        } catch (error) {
          notJson = error;
        }
      }
    }
    if (issues !== undefined) throw new StateValidationError(what, issues, update);
    if (notJson !== undefined) throw notJson;
    return { state: next as S, delta };
  }

  /**
   * Applies an update through the reducers. Pure: returns a new state and the delta.
   *
   * Every value the update puts into the state is checked to be JSON data: the value of an
   * `overwrite` key, the items of an `append` key, the patch of a `merge` key, and what a
   * `sum` or custom reducer returns.
   *
   * @throws StateValidationError for a key the state does not have.
   * @throws NonJsonStateError / StateTooDeepError for a value no checkpoint could keep.
   */
  apply(state: S, update: Record<string, unknown>): Applied<S> {
    return this.#applyAll(state, update, undefined);
  }

  /**
   * Applies one parallel branch's update (validating it first, unless `what` is `undefined`)
   * and also returns the update as it was applied — parsed, checked and copied — which
   * `mergeBranches` folds through the reducers at the join.
   */
  applyBranch(
    state: S,
    update: Record<string, unknown>,
    what: string | undefined,
  ): Applied<S> & { readonly update: Record<string, unknown> } {
    const parsed = what === undefined ? update : this.validateUpdate(update, what);
    const kept: Record<string, unknown> = {};
    const applied = this.#applyAll(state, parsed, kept);
    return { state: applied.state, delta: applied.delta, update: kept };
  }

  /**
   * Checks that `value`, which a merge computed for `key` (a custom reducer folding branch
   * updates), is JSON data; returns the value to keep.
   */
  checkValue(key: string, value: unknown): unknown {
    return jsonValue(value, key, this.#keys.get(key)?.schema, this.maxDepth, false);
  }

  #applyAll(
    state: S,
    update: Record<string, unknown>,
    kept: Record<string, unknown> | undefined,
  ): Applied<S> {
    const next: Record<string, unknown> = { ...state };
    const delta: DeltaOp[] = [];
    for (const key in update) {
      if (!Object.hasOwn(update, key)) continue;
      const value = update[key];
      if (value === undefined) continue;
      const spec = this.#keys.get(key);
      if (spec === undefined) {
        throw new StateValidationError("The update", [this.#unknownKey(key)], update);
      }
      const given = this.#applyKey(next, delta, state, key, value, spec);
      if (kept !== undefined) setOwn(kept, key, given);
    }
    return { state: next as S, delta };
  }

  /**
   * Puts one key's update into `next` through its reducer and records the op in `delta`;
   * returns the update value as applied.
   */
  #applyKey(
    next: Record<string, unknown>,
    delta: DeltaOp[],
    state: S,
    key: string,
    given: unknown,
    spec: KeySpec,
  ): unknown {
    // What the update gives is checked and copied (arrays and plain objects; the check walks
    // them anyway), so the run freezes its own copy, never the node's objects. What a `sum` or
    // custom reducer returns is checked too, but kept as returned: it is mostly the current,
    // frozen value.
    const depth = this.maxDepth;
    const reducer = spec.reducer;
    if (reducer === undefined || reducer === "overwrite") {
      const value = jsonValue(given, key, spec.schema, depth, true);
      delta.push([key, "set", value]);
      setOwn(next, key, value);
      return value;
    }
    if (reducer === "append") {
      const list = Array.isArray(given) ? given : [given];
      const items = jsonValue(list, key, spec.updateReviver, depth, true) as unknown[];
      delta.push([key, "append", items]);
      setOwn(next, key, reduce(reducer, ownValue(state, key), items));
      return items;
    }
    const update = jsonValue(given, key, spec.updateReviver, depth, true);
    if (reducer === "merge") {
      delta.push([key, "merge", update as Record<string, unknown>]);
      setOwn(next, key, reduce(reducer, ownValue(state, key), update));
      return update;
    }
    const value = jsonValue(
      reduce(reducer, ownValue(state, key), update),
      key,
      spec.schema,
      depth,
      false,
    );
    delta.push([key, "set", value]);
    setOwn(next, key, value);
    return update;
  }
}

/** A new object with the own, defined values of `update` that come before `stop`. */
function valuesBefore(update: Record<string, unknown>, stop: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in update) {
    if (key === stop) break;
    if (Object.hasOwn(update, key) && update[key] !== undefined) setOwn(out, key, update[key]);
  }
  return out;
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
