/**
 * The join of parallel branches: each branch ran on its own copy of the state; their
 * structural diffs against the fork snapshot are merged into one state. Pure, and independent
 * of the order in which the branches finished.
 */

import { InvalidOptionError, MergeConflictError } from "../errors.js";
import { appendedItems, deepEqual, diff, isPlainObject, type Path } from "./diff.js";
import { ownValue, setOwn } from "./own-property.js";
import { type Reducer, reduce } from "./reducers.js";
import { type DeltaOp, freezeChanged, type StateDefinition } from "./state.js";

/** Two or more branches changed one path to different values. */
export interface MergeConflict {
  /** The dotted path, e.g. `profile.name`; a top-level key is just its name. */
  readonly path: string;
  /** The branches that changed something at or under `path`, in declaration order. */
  readonly branches: readonly string[];
  /** What each of `branches` left at `path`; `undefined` where a branch deleted it. */
  readonly values: readonly unknown[];
  /** The value at `path` in the fork snapshot (`undefined` if it was absent). */
  readonly base: unknown;
}

/**
 * What to do when branches conflict:
 * - `"error"` (default): throw {@link MergeConflictError};
 * - `"first"` / `"last"`: take the value of the first / last conflicting branch in
 *   declaration order (a deletion stays a deletion);
 * - a resolver: returns the value to use at the conflict's path; returning `undefined`
 *   removes the path.
 */
export type ConflictPolicy = "error" | "first" | "last" | ((conflict: MergeConflict) => unknown);

/** A branch's final state, labelled with the branch name. */
export interface BranchState<S> {
  /** The branch name, unique within the group; conflicts and errors name branches by it. */
  readonly name: string;
  /** The branch's state when it finished, derived immutably from the fork snapshot. */
  readonly state: S;
  /**
   * The branch's update as it was applied to the fork snapshot (validated, parsed): keys with
   * an `append`, `sum` or custom reducer fold it, so the merge equals running the branches one
   * after another. Without it, those keys are derived from `state` (the items it appended, the
   * difference it added; for a custom reducer, its value).
   */
  readonly update?: Readonly<Record<string, unknown>>;
}

/** What {@link mergeBranches} returns. */
export interface MergeResult<S> {
  /** The merged state; the base itself when no branch changed anything. */
  readonly state: S;
  /**
   * What changed against the base, one op per top-level key (`append` for keys with the
   * `append` reducer that only gained items, `set` otherwise; a deleted key is
   * `set` to `undefined`). `applyDelta(base, delta)` rebuilds `state`.
   */
  readonly delta: readonly DeltaOp[];
  /** The conflicts the policy resolved, in key order (empty with `"error"`). */
  readonly conflicts: readonly MergeConflict[];
}

/** Marks a key that is not present, so that absent and `undefined` stay distinct. */
const ABSENT: unique symbol = Symbol("absent");

function entryOf(container: unknown, key: string | number): unknown {
  if (typeof container !== "object" || container === null || !Object.hasOwn(container, key)) {
    return ABSENT;
  }
  return (container as Record<string | number, unknown>)[key];
}

function entryAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const segment of path) {
    current = entryOf(current, segment);
    if (current === ABSENT) return ABSENT;
  }
  return current;
}

function sameEntry(a: unknown, b: unknown): boolean {
  return a === ABSENT || b === ABSENT ? a === b : deepEqual(a, b);
}

function valueOfEntry(entry: unknown): unknown {
  return entry === ABSENT ? undefined : entry;
}

function encode(path: Path, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += `\u0000${String(path[i])}`;
  return out;
}

/** A path that one or more branches changed, with nothing changed above it by any branch. */
interface Root {
  readonly path: Path;
  readonly branches: Set<number>;
}

/** The merge of one top-level key, shared by the per-reducer strategies. */
class KeyMerge {
  /** The key's entry in the fork snapshot (`ABSENT` if it had none). */
  readonly base: unknown;
  /** The branches that changed the key, by index, in declaration order. */
  readonly touched: readonly number[];
  readonly #key: string;
  readonly #branches: readonly BranchState<Record<string, unknown>>[];
  readonly #policy: ConflictPolicy;
  readonly #conflicts: MergeConflict[];

  constructor(
    key: string,
    base: unknown,
    branches: readonly BranchState<Record<string, unknown>>[],
    touched: readonly number[],
    policy: ConflictPolicy,
    conflicts: MergeConflict[],
  ) {
    this.#key = key;
    this.base = base;
    this.#branches = branches;
    this.touched = touched;
    this.#policy = policy;
    this.#conflicts = conflicts;
  }

  /** Branch `index`'s entry for the key (`ABSENT` if it has none). */
  entry(index: number): unknown {
    return entryOf(this.#branches[index]?.state, this.#key);
  }

  /** The entry to use at `path` (relative to the key) given what `involved` left there. */
  resolve(path: Path, involved: readonly number[]): unknown {
    const values = involved.map((i) => entryAt(this.entry(i), path));
    const first = values[0];
    if (values.every((v) => sameEntry(first, v))) return first;
    const conflict: MergeConflict = {
      path: [this.#key, ...path].map(String).join("."),
      branches: involved.map((i) => this.#branches[i]?.name ?? String(i)),
      values: values.map(valueOfEntry),
      base: valueOfEntry(entryAt(this.base, path)),
    };
    const policy = this.#policy;
    if (policy === "error") throw new MergeConflictError(conflict);
    this.#conflicts.push(conflict);
    if (policy === "first") return first;
    if (policy === "last") return values[values.length - 1];
    const chosen = policy(conflict);
    return chosen === undefined ? ABSENT : chosen;
  }

  /**
   * `append`, `sum` and custom reducers: each branch's update folded through the reducer in
   * declaration order, starting from the base value: what running the branches one after
   * another gives. A branch without its update contributes what its state shows (the items it
   * appended, the difference it added, or for a custom reducer its value); `undefined` when
   * such a branch replaced an `append` or `sum` value instead.
   */
  folded(reducer: Reducer): { entry: unknown; items?: unknown[] } | undefined {
    const start = valueOfEntry(this.base);
    const items: unknown[] | undefined = reducer === "append" ? [] : undefined;
    let acc = start;
    for (const i of this.touched) {
      const branch = this.#branches[i]!;
      let update: unknown;
      if (branch.update !== undefined) {
        update = ownValue(branch.update, this.#key);
        if (update === undefined) continue;
        if (items !== undefined && !Array.isArray(update)) update = [update];
      } else {
        update = derivedUpdate(reducer, start, valueOfEntry(this.entry(i)));
        if (update === ABSENT) return undefined;
      }
      if (items !== undefined) for (const item of update as unknown[]) items.push(item);
      acc = reduce(reducer, acc, update);
    }
    if (items === undefined) return { entry: acc };
    return items.length === 0 ? { entry: this.base } : { entry: acc, items };
  }

  /**
   * `overwrite` and `merge`: the branches' diffs are merged path by path. Paths no other
   * branch touched apply as they are; a path that several branches changed (or one changed
   * and another changed inside it) must end up equal, or it is a conflict.
   */
  structural(objectBase: boolean): unknown {
    const base = objectBase && (this.base === ABSENT || this.base === undefined) ? {} : this.base;
    const changed: { readonly path: Path; readonly branch: number }[] = [];
    for (const i of this.touched) {
      const entry = this.entry(i);
      if (entry === ABSENT || base === ABSENT) changed.push({ path: [], branch: i });
      else for (const change of diff(base, entry)) changed.push({ path: change.path, branch: i });
    }
    changed.sort((a, b) => a.path.length - b.path.length);
    const roots = new Map<string, Root>();
    for (const { path, branch } of changed) {
      let root: Root | undefined;
      for (let length = 0; length <= path.length && root === undefined; length++) {
        root = roots.get(encode(path, length));
      }
      if (root === undefined) {
        root = { path, branches: new Set() };
        roots.set(encode(path, path.length), root);
      }
      root.branches.add(branch);
    }
    const writes: { readonly path: Path; readonly entry: unknown }[] = [];
    for (const root of roots.values()) {
      const involved = [...root.branches].sort((a, b) => a - b);
      const entry =
        involved.length === 1
          ? entryAt(this.entry(involved[0] ?? 0), root.path)
          : this.resolve(root.path, involved);
      if (root.path.length === 0) return entry;
      writes.push({ path: root.path, entry });
    }
    return writeAll(base as Record<string, unknown>, writes);
  }
}

/** What a branch without its update added to `start`, as an update; `ABSENT` if unknown. */
function derivedUpdate(reducer: Reducer, start: unknown, entry: unknown): unknown {
  if (reducer === "append") {
    const base = start === undefined ? [] : start;
    if (!Array.isArray(base) || !Array.isArray(entry)) return ABSENT;
    return appendedItems(base, entry) ?? ABSENT;
  }
  if (reducer === "sum") {
    const base = start === undefined ? 0 : start;
    return typeof base === "number" && typeof entry === "number" ? entry - base : ABSENT;
  }
  return entry;
}

/** Whether `reducer` folds branch updates (`append`, `sum`, custom) rather than diffing states. */
function folds(reducer: Reducer | undefined): reducer is Reducer {
  return reducer === "append" || reducer === "sum" || typeof reducer === "function";
}

/** Applies disjoint writes to a plain object, copying each container on the way once. */
function writeAll(
  base: Record<string, unknown>,
  writes: readonly { readonly path: Path; readonly entry: unknown }[],
): Record<string, unknown> {
  const copies = new Set<object>();
  const top = { ...base };
  copies.add(top);
  for (const { path, entry } of writes) {
    let parent = top;
    for (let depth = 0; depth < path.length - 1; depth++) {
      const key = String(path[depth]);
      let child = parent[key] as Record<string, unknown>;
      if (!copies.has(child)) {
        child = { ...child };
        copies.add(child);
        setOwn(parent, key, child);
      }
      parent = child;
    }
    const last = String(path[path.length - 1]);
    if (entry === ABSENT) delete parent[last];
    else setOwn(parent, last, entry);
  }
  return top;
}

function mergeKey(
  merge: KeyMerge,
  reducer: Reducer | undefined,
): { entry: unknown; items?: unknown[] } {
  if (merge.touched.length === 1) {
    const entry = merge.entry(merge.touched[0] ?? 0);
    if (reducer === "append" && Array.isArray(entry)) {
      const base = merge.base === ABSENT || merge.base === undefined ? [] : merge.base;
      const items = Array.isArray(base) ? appendedItems(base, entry) : undefined;
      if (items !== undefined) return { entry, items };
    }
    return { entry };
  }
  if (!folds(reducer)) return { entry: merge.structural(reducer === "merge") };
  return merge.folded(reducer) ?? { entry: merge.resolve([], merge.touched) };
}

function checkInput(branches: readonly BranchState<unknown>[], policy: unknown): void {
  if (
    typeof policy !== "function" &&
    policy !== "error" &&
    policy !== "first" &&
    policy !== "last"
  ) {
    throw new InvalidOptionError(
      "policy",
      '`"error"`, `"first"`, `"last"` or a resolver function `(conflict) => value`',
      policy,
    );
  }
  const seen = new Set<string>();
  for (let i = 0; i < branches.length; i++) {
    const branch = branches[i];
    if (!isPlainObject(branch?.state)) {
      throw new InvalidOptionError(`branches[${i}].state`, "a state object", branch?.state);
    }
    const name = branch.name;
    if (typeof name !== "string" || seen.has(name)) {
      throw new InvalidOptionError(`branches[${i}].name`, "a name no other branch uses", name);
    }
    seen.add(name);
  }
}

/**
 * Merges the final states of parallel branches that all started from `base`.
 *
 * A key with an `append`, `sum` or custom reducer folds the branches' updates through the
 * reducer in declaration order, starting from the base value: the result is what running the
 * branches one after another gives (`(c, u) => c + u` from 10 with branches adding 1 and 2
 * gives 13). Branches that carry their `update` are folded exactly; for a branch without it
 * the update is read off its state (see {@link BranchState.update}).
 *
 * `overwrite` and `merge` keys are merged by structural diff (see {@link diff}) against
 * `base`: paths changed by one branch apply as they are, including deep inside objects and
 * deletions; the same path changed to different values by several branches (or changed by one
 * and deleted by another) is a conflict handled by `policy`. A branch that replaced an
 * `append` or `sum` value wholesale, without its update, is treated like `overwrite`.
 *
 * `branches` must be in declaration order, not finishing order; the result depends on
 * nothing else. Untouched values are shared with `base`, never copied; the merged state is
 * frozen, like every state.
 *
 * @example
 * ```ts
 * const { state, delta, conflicts } = mergeBranches(
 *   fork,
 *   [{ name: "search", state: afterSearch }, { name: "summarise", state: afterSummary }],
 *   definition,
 *   "last",
 * );
 * ```
 * @throws MergeConflictError when branches conflict and `policy` is `"error"`.
 * @throws InvalidOptionError for an unknown policy, a branch without a state object or
 *   two branches with the same name.
 * @throws NonJsonStateError when a custom reducer folds updates into a value that is not
 *   JSON data (checked when `definition` has `checkValue`, as a `StateDefinition` does).
 */
export function mergeBranches<S extends Record<string, unknown>>(
  base: S,
  branches: readonly BranchState<S>[],
  definition: Pick<StateDefinition<S>, "reducerOf"> &
    Partial<Pick<StateDefinition<S>, "checkValue">>,
  policy: ConflictPolicy = "error",
): MergeResult<S> {
  checkInput(branches, policy);
  const touched = new Map<string, number[]>();
  const mark = (key: string, index: number): void => {
    const list = touched.get(key);
    if (list === undefined) touched.set(key, [index]);
    else if (list[list.length - 1] !== index) list.push(index);
  };
  const baseKeys = Object.keys(base);
  for (let i = 0; i < branches.length; i++) {
    const branch = branches[i];
    const state = branch?.state;
    if (state === undefined) continue;
    const update = branch?.update;
    if (update !== undefined) {
      for (const key of Object.keys(update)) {
        if (update[key] !== undefined && folds(definition.reducerOf(key))) mark(key, i);
      }
    }
    if (state === base) continue;
    let kept = 0;
    for (const key of Object.keys(state)) {
      if (!Object.hasOwn(base, key)) mark(key, i);
      else {
        kept++;
        if (!Object.is(base[key], state[key])) mark(key, i);
      }
    }
    if (kept === baseKeys.length) continue;
    for (const key of baseKeys) if (!Object.hasOwn(state, key)) mark(key, i);
  }

  const delta: DeltaOp[] = [];
  const conflicts: MergeConflict[] = [];
  let next: Record<string, unknown> | undefined;
  for (const [key, candidates] of touched) {
    const reducer = definition.reducerOf(key);
    const baseEntry = entryOf(base, key);
    const changed = candidates.filter(
      (i) =>
        (folds(reducer) && branches[i]?.update !== undefined) ||
        !sameEntry(baseEntry, entryOf(branches[i]?.state, key)),
    );
    if (changed.length === 0) continue;
    const merge = new KeyMerge(key, baseEntry, branches, changed, policy, conflicts);
    let { entry, items } = mergeKey(merge, reducer);
    if (entry === baseEntry) continue;
    if (typeof reducer === "function" && changed.length > 1 && definition.checkValue) {
      entry = definition.checkValue(key, entry);
    }
    next ??= { ...base };
    if (entry === ABSENT) delete next[key];
    else setOwn(next, key, entry);
    delta.push(items === undefined ? [key, "set", valueOfEntry(entry)] : [key, "append", items]);
  }
  if (next === undefined) return { state: base, delta, conflicts };
  return { state: freezeChanged(next as S, delta), delta, conflicts };
}
