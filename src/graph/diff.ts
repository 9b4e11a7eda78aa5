/**
 * Structural diff of two immutable values: what changed, at which path. Used at the join of
 * parallel branches to see what each branch did to its copy of the state.
 *
 * `deepEqual` and `diff` recurse once per level of nesting. That is safe for states only
 * because every value that enters a state is checked to nest at most `maxStateDepth` levels
 * (256 by default, 1,000 at most; see `json-value.ts`); do not use them on unchecked data of
 * unbounded depth.
 */

/** A location inside a value: object keys (and array indices), outermost first. */
export type Path = readonly (string | number)[];

/**
 * One change found by {@link diff}:
 * - `set`: the value at `path` was added or replaced by `value`;
 * - `delete`: the key at `path` was present before and is gone;
 * - `append`: the array at `path` kept all its items and gained `items` at the end.
 */
export type Change =
  | { readonly path: Path; readonly kind: "set"; readonly value: unknown }
  | { readonly path: Path; readonly kind: "delete" }
  | { readonly path: Path; readonly kind: "append"; readonly items: readonly unknown[] };

/**
 * Whether `value` is a plain object (made by a literal, `Object.create(null)` or a schema
 * parse), as opposed to an array, a `Date`, a `Map` or a class instance. Only plain objects
 * are diffed key by key.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Structural equality of plain data: plain objects (same own keys), arrays, `Date`s by time,
 * everything else by `Object.is`. Identical references are equal without being walked.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !deepEqual(a[key], b[key])) return false;
  }
  return true;
}

/**
 * The items `next` adds at the end of `base`, when `next` starts with every item of `base`
 * (compared with {@link deepEqual}); `undefined` when `next` is not such an extension.
 * An equal array gives `[]`.
 */
export function appendedItems(
  base: readonly unknown[],
  next: readonly unknown[],
): unknown[] | undefined {
  if (next.length < base.length) return undefined;
  for (let i = 0; i < base.length; i++) if (!deepEqual(base[i], next[i])) return undefined;
  return next.slice(base.length);
}

function walk(base: unknown, next: unknown, path: (string | number)[], out: Change[]): void {
  if (Object.is(base, next)) return;
  if (isPlainObject(base) && isPlainObject(next)) {
    for (const key of Object.keys(next)) {
      if (!Object.hasOwn(base, key)) {
        out.push({ path: [...path, key], kind: "set", value: next[key] });
        continue;
      }
      path.push(key);
      walk(base[key], next[key], path, out);
      path.pop();
    }
    for (const key of Object.keys(base)) {
      if (!Object.hasOwn(next, key)) out.push({ path: [...path, key], kind: "delete" });
    }
    return;
  }
  if (Array.isArray(base) && Array.isArray(next)) {
    const items = appendedItems(base, next);
    if (items === undefined) out.push({ path: path.slice(), kind: "set", value: next });
    else if (items.length > 0) out.push({ path: path.slice(), kind: "append", items });
    return;
  }
  if (!deepEqual(base, next)) out.push({ path: path.slice(), kind: "set", value: next });
}

/**
 * The changes that turn `base` into `next`, for immutable data. Plain objects are compared
 * key by key, so a change deep inside gets its full path; an array that keeps its items and
 * gains more is an `append`, any other array change replaces the whole array. Subtrees that
 * are the same reference in both are skipped without being read, and values are never
 * copied: a `set` holds the very value found in `next`.
 *
 * The changes have disjoint paths: no path is a prefix of another.
 *
 * @example
 * ```ts
 * diff({ profile: { name: "Ada", age: 36 }, tags: ["a"] },
 *      { profile: { name: "Ada L." }, tags: ["a", "b"] });
 * // [ { path: ["profile", "name"], kind: "set", value: "Ada L." },
 * //   { path: ["profile", "age"], kind: "delete" },
 * //   { path: ["tags"], kind: "append", items: ["b"] } ]
 * ```
 */
export function diff(base: unknown, next: unknown): Change[] {
  const out: Change[] = [];
  walk(base, next, [], out);
  return out;
}
