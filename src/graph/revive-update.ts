/**
 * Values read back from a store are JSON: a `Date` a node put under a `z.coerce.date()` key is
 * an ISO string again. Where such values are used as they were stored — an update a parallel
 * branch saved before its run stopped, the output under review at a gate — they are revived
 * through the key's update schema, so they are the same whichever store kept them.
 */

import { setOwn } from "./own-property.js";
import type { DeltaOp, StateDefinition } from "./state.js";

type Definition = Pick<StateDefinition<Record<string, unknown>>, "hasKey" | "validateUpdate">;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether `value` holds anything but plain JSON containers and primitives (a `Date`). */
function hasRevivedValue(value: unknown): boolean {
  const pending: unknown[] = [value];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    if (Array.isArray(current)) pending.push(...current);
    else if (isPlainObject(current)) pending.push(...Object.values(current));
    else return true;
  }
  return false;
}

/**
 * The value of `key` in an update, revived: parsed by the key's update schema when that turns
 * the stored JSON into values JSON gives back unchanged (a codec such as `z.coerce.date()`).
 * A value the schema would change otherwise (a `.trim()`, a `.transform()`), one of a key the
 * state does not have, one already revived and one that no longer parses are returned as given.
 */
export function reviveValue(definition: Definition, key: string, value: unknown): unknown {
  if (typeof value !== "string" && (typeof value !== "object" || value === null)) return value;
  if (!definition.hasKey(key) || hasRevivedValue(value)) return value;
  let parsed: unknown;
  try {
    parsed = definition.validateUpdate({ [key]: value }, "A stored update")[key];
  } catch {
    return value;
  }
  if (!hasRevivedValue(parsed) || JSON.stringify(parsed) !== JSON.stringify(value)) return value;
  return parsed;
}

/** `update` with each value revived by {@link reviveValue}; `update` itself when none changed. */
export function reviveUpdate<T>(definition: Definition, update: T): T {
  if (!isPlainObject(update)) return update;
  let revived: Record<string, unknown> | undefined;
  for (const key of Object.keys(update)) {
    const value = reviveValue(definition, key, update[key]);
    if (value === update[key]) continue;
    if (revived === undefined) {
      // A copy by own keys: `Object.assign` would treat a `__proto__` key as the prototype.
      revived = {};
      for (const name of Object.keys(update)) setOwn(revived, name, update[name]);
    }
    setOwn(revived, key, value);
  }
  return (revived ?? update) as T;
}

/** `delta` with the value of each op revived by {@link reviveValue}; `delta` when none changed. */
export function reviveDelta(definition: Definition, delta: readonly DeltaOp[]): readonly DeltaOp[] {
  let out: DeltaOp[] | undefined;
  delta.forEach((op, i) => {
    const value = reviveValue(definition, op[0], op[2]);
    if (value === op[2]) return;
    out ??= [...delta];
    out[i] = [op[0], op[1], value] as DeltaOp;
  });
  return out ?? delta;
}
