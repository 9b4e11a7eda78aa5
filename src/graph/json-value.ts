/**
 * The state is JSON data: checkpoints store it as JSON, so a value that JSON cannot carry
 * would be lost (or break the write) far from the node that produced it. This file checks a
 * value where it enters the state — run input, node updates, branch updates — and fails at
 * once with a named error.
 */

import { describeType, NonJsonStateError, StateTooDeepError } from "../errors.js";
import { deepEqual } from "./diff.js";
import { setOwn } from "./own-property.js";

/** How many levels of arrays and objects a state key may nest, unless the graph says otherwise. */
export const DEFAULT_MAX_STATE_DEPTH = 256;

/** The most a graph may allow: comparing and diffing states recurses once per level. */
export const MAX_STATE_DEPTH_LIMIT = 1_000;

/**
 * Revives a value from its JSON: the key's schema (or what parses the key's updates). Only
 * consulted for values that are not plain JSON data, such as a `Date` under `z.coerce.date()`.
 */
export interface JsonReviver {
  safeParse(value: unknown): { readonly success: boolean; readonly data?: unknown };
}

type Container = Record<string, unknown> | unknown[];
type Segment = string | number;

function isPlainContainer(value: object): value is Container {
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Renders a path inside a key: `profile.tags[2]`, `meta["odd key"]`. */
export function formatPath(key: string, path: readonly Segment[]): string {
  let out = key;
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** What to do instead, for each kind of value JSON cannot carry. */
function fixFor(value: unknown, inArray: boolean): string {
  switch (typeof value) {
    case "undefined":
      return inArray
        ? "JSON would turn `undefined` inside an array into `null`: store `null`, or leave the item out."
        : "Leave the key out instead.";
    case "number":
      return "JSON would store it as `null`: store `null` or a string, or check the computation that produced it.";
    case "bigint":
      return "Store it as a string (`String(value)`) or, when it fits, as a number.";
    case "symbol":
      return "Store a string instead.";
    case "function":
      return "Functions are not data: keep them outside the state (in a closure or the node's options).";
  }
  if (value instanceof Map) {
    return "Store `Object.fromEntries(map)` (a record) or `[...map]` (an array of pairs) instead, and declare the key with `z.record(…)` or `z.array(…)`.";
  }
  if (value instanceof Set) return "Store `[...set]` (an array) instead.";
  if (value instanceof Date) {
    return "Declare the key with `z.coerce.date()` (stored as an ISO string, revived as a `Date`), or store `date.toISOString()` under `z.iso.datetime()`.";
  }
  return "Store its data as a plain object or array, or give the key a schema that revives the value from its JSON.";
}

function notJson(
  key: string,
  path: readonly Segment[],
  value: unknown,
  inArray: boolean,
): NonJsonStateError {
  return new NonJsonStateError(
    key,
    formatPath(key, path),
    describeType(value),
    fixFor(value, inArray),
  );
}

/** The path of the frames' current children (plus `last`, when given). */
function pathOf(
  keys: readonly (readonly string[] | undefined)[],
  index: readonly number[],
  depth: number,
): Segment[] {
  const path: Segment[] = [];
  for (let level = 0; level < depth; level++) {
    const i = index[level]! - 1;
    const names = keys[level];
    path.push(names === undefined ? i : names[i]!);
  }
  return path;
}

/**
 * The walk went deeper than `maxDepth`: either the value refers back to itself (every cycle
 * ends up here, so no step of the common case pays for finding one) or it really is that deep.
 */
function tooDeep(
  key: string,
  containers: readonly object[],
  keys: readonly (readonly string[] | undefined)[],
  index: readonly number[],
  child: object,
  maxDepth: number,
): Error {
  const chain = [...containers, child];
  for (let later = 1; later < chain.length; later++) {
    const earlier = chain.indexOf(chain[later]!);
    if (earlier < later) {
      const path = formatPath(key, pathOf(keys, index, later));
      const target = formatPath(key, pathOf(keys, index, earlier));
      return new NonJsonStateError(
        key,
        path,
        `a reference back to \`${target}\``,
        "JSON cannot carry a value that contains itself: store ids and look them up instead of nesting references.",
      );
    }
  }
  const path = pathOf(keys, index, Math.min(containers.length, 8));
  return new StateTooDeepError(key, `${formatPath(key, path)}…`, maxDepth);
}

/** Whether `value` is JSON data that is not an array or object: `null`, a boolean, a finite number, a string. */
export function isJsonLeaf(value: unknown): boolean {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    value === null ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

/**
 * Checks that `value` (the value of state key `key`, or an update of it) is JSON data: `null`,
 * booleans, finite numbers, strings, and arrays and plain objects (prototype `Object.prototype`
 * or `null`) of JSON data, at most `maxDepth` levels deep. An object property that is
 * `undefined` counts as absent (JSON leaves it out); `-0` is allowed and is kept as `0`
 * (what JSON gives back), so no state depends on whether a store kept objects or JSON.
 * A value that is not plain data anywhere inside (a `Date`) is accepted only when `reviver`
 * gives back an equal value from its JSON: `reviver.safeParse(JSON.parse(JSON.stringify(value)))`.
 *
 * Returns the value to keep: with `copy`, a copy of every array and plain object (strings and
 * other primitives are shared), so the state shares nothing mutable with whoever gave the
 * value; without, `value` itself. A revived value is the reviver's fresh result either way.
 *
 * The walk is iterative (no recursion over user data, so any depth fails with a named error,
 * never a stack overflow), costs one `typeof` for a primitive and one step per array item or
 * property otherwise; strings are never read, so a 1 MiB string costs what a short one does.
 *
 * @throws NonJsonStateError naming the key, the path inside it and what was found there.
 * @throws StateTooDeepError when the value nests deeper than `maxDepth`.
 */
export function jsonValue(
  value: unknown,
  key: string,
  reviver: JsonReviver | undefined,
  maxDepth: number,
  copy: boolean,
): unknown {
  // Primitives, which most updates are, return here without entering the walk.
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // `-0 === 0`: a `-0` is kept as `0`, which is what JSON gives back.
      if (Number.isFinite(value)) return value === 0 ? 0 : value;
      break;
    case "object":
      if (value === null) return value;
      return walk(value, key, reviver, maxDepth, copy, false);
  }
  throw notJson(key, [], value, false);
}

function walk(
  root: object,
  key: string,
  reviver: JsonReviver | undefined,
  maxDepth: number,
  copy: boolean,
  keepOdd: boolean,
): unknown {
  if (!isPlainContainer(root)) return keepOdd ? root : revive(root, key, [], root, reviver);
  // One frame per open container: the container, its own keys (`undefined` for an array),
  // the next position to read, and its copy.
  const containers: Container[] = [root];
  const keys: (readonly string[] | undefined)[] = [
    Array.isArray(root) ? undefined : Object.keys(root),
  ];
  const index: number[] = [0];
  const copies: Container[] = [];
  const rootCopy: Container | undefined = copy ? (Array.isArray(root) ? [] : {}) : undefined;
  if (rootCopy !== undefined) copies.push(rootCopy);
  let odd: { readonly path: Segment[]; readonly value: object } | undefined;

  while (containers.length > 0) {
    const top = containers.length - 1;
    const container = containers[top]!;
    const names = keys[top];
    const i = index[top]!;
    if (i >= (names === undefined ? (container as unknown[]).length : names.length)) {
      containers.pop();
      keys.pop();
      index.pop();
      if (copy) copies.pop();
      continue;
    }
    index[top] = i + 1;
    const name: Segment = names === undefined ? i : names[i]!;
    const child = (container as Record<Segment, unknown>)[name];
    const target = copy ? copies[top]! : undefined;
    switch (typeof child) {
      case "string":
      case "boolean":
        if (target !== undefined) put(target, name, child);
        continue;
      case "number":
        if (!Number.isFinite(child)) break;
        if (child === 0 && 1 / child < 0) {
          // A `-0` is kept as `0`, as every store gives it back: in a copy, or by copying
          // a value that was to be kept as it is (a reducer's result; rare).
          if (target === undefined) return walk(root, key, reviver, maxDepth, true, keepOdd);
          put(target, name, 0);
          continue;
        }
        if (target !== undefined) put(target, name, child);
        continue;
      case "undefined":
        // An absent property, as far as JSON goes; inside an array it would become `null`.
        if (names !== undefined) continue;
        break;
      case "object": {
        if (child === null) {
          if (target !== undefined) put(target, name, child);
          continue;
        }
        if (!isPlainContainer(child)) {
          odd ??= { path: pathOf(keys, index, containers.length), value: child };
          if (target !== undefined) put(target, name, child);
          continue;
        }
        if (containers.length >= maxDepth) {
          throw tooDeep(key, containers, keys, index, child, maxDepth);
        }
        containers.push(child);
        keys.push(Array.isArray(child) ? undefined : Object.keys(child));
        index.push(0);
        if (target !== undefined) {
          const inner: Container = Array.isArray(child) ? [] : {};
          put(target, name, inner);
          copies.push(inner);
        }
        continue;
      }
    }
    throw notJson(key, pathOf(keys, index, containers.length), child, names === undefined);
  }
  if (odd !== undefined && !keepOdd) return revive(root, key, odd.path, odd.value, reviver);
  return rootCopy ?? root;
}

function put(target: Container, name: Segment, value: unknown): void {
  if (typeof name === "number") (target as unknown[]).push(value);
  else setOwn(target as Record<string, unknown>, name, value);
}

/**
 * The exact test for values that are not plain data: their JSON, parsed by the key's schema,
 * must give back an equal value (a `Date` under `z.coerce.date()` does). Rare, so it may be slow.
 */
function revive(
  root: object,
  key: string,
  path: Segment[],
  odd: object,
  reviver: JsonReviver | undefined,
): unknown {
  if (reviver !== undefined) {
    let text: string | undefined;
    try {
      text = JSON.stringify(root);
    } catch (error) {
      throw new NonJsonStateError(
        key,
        formatPath(key, path),
        describeType(odd),
        `Turning it into JSON threw (${error instanceof Error ? error.message : String(error)}). ${fixFor(odd, false)}`,
        { cause: error },
      );
    }
    if (text !== undefined) {
      const result = reviver.safeParse(JSON.parse(text));
      // Compare with a copy that drops `undefined` properties, as JSON does.
      if (result.success && deepEqual(result.data, withoutUndefined(root))) return result.data;
    }
  }
  throw notJson(key, path, odd, false);
}

/** `root` with `undefined` object properties left out (non-plain values are kept as they are). */
function withoutUndefined(root: object): unknown {
  return walk(root, "", undefined, Number.POSITIVE_INFINITY, true, true);
}
