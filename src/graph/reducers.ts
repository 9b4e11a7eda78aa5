/**
 * Reducers decide how a node's update to one state key combines with the current value.
 * They are pure: they never mutate `current` or `update`.
 */

/** A custom reducer: `(current, update) => next`. */
export type ReducerFn<T = unknown> = (current: T, update: T) => T;

/** The name of a built-in reducer. */
export type BuiltinReducer = "overwrite" | "append" | "merge" | "sum";

/** A reducer: a built-in by name, or a custom function. */
export type Reducer<T = unknown> = BuiltinReducer | ReducerFn<T>;

/** Reducers per state key; keys left out use `overwrite`. */
export type ReducerMap<S> = { readonly [K in keyof S]?: Reducer<S[K]> };

function append(current: unknown, update: unknown): unknown[] {
  const base = Array.isArray(current) ? current : current === undefined ? [] : [current];
  return base.concat(update as unknown[]);
}

function merge(current: unknown, update: unknown): Record<string, unknown> {
  return { ...(current as Record<string, unknown>), ...(update as Record<string, unknown>) };
}

function sum(current: unknown, update: unknown): number {
  return ((current as number | undefined) ?? 0) + (update as number);
}

/** Applies one reducer. `overwrite` returns the update itself. */
export function reduce(reducer: Reducer | undefined, current: unknown, update: unknown): unknown {
  switch (reducer) {
    case undefined:
    case "overwrite":
      return update;
    case "append":
      return append(current, update);
    case "merge":
      return merge(current, update);
    case "sum":
      return sum(current, update);
    default:
      return reducer(current, update);
  }
}

/** The name of a reducer for events, spans and docs. */
export function reducerName(reducer: Reducer | undefined): string {
  if (reducer === undefined) return "overwrite";
  return typeof reducer === "function" ? "custom" : reducer;
}
