/**
 * The outcome of a check on a run: `pass`, and a message that says what was compared and, on
 * failure, where it differs. Assert with `expect(result.pass, result.message).toBe(true)`, so a
 * failing test prints the explanation.
 */
export interface Evaluation {
  readonly pass: boolean;
  readonly message: string;
}

/** How {@link pathMatches} compares: the whole path, or the expected nodes in order with gaps. */
export type PathMatchMode = "exact" | "in-order";

/** Options of {@link pathMatches}. */
export interface PathMatchOptions {
  /** `exact` (default): same nodes, same order. `in-order`: `expected` is a subsequence of `path`. */
  readonly mode?: PathMatchMode;
}

/**
 * Checks the path a run took (`result.path`). With `mode: "in-order"` other nodes may come
 * between the expected ones, so a test does not break when a retry or an extra step is added.
 *
 * @example
 * ```ts
 * const check = pathMatches(result.path, ["draft", "review", "publish"], { mode: "in-order" });
 * expect(check.pass, check.message).toBe(true);
 * ```
 */
export function pathMatches(
  path: readonly string[],
  expected: readonly string[],
  options: PathMatchOptions = {},
): Evaluation {
  const mode = options.mode ?? "exact";
  const shown = `\n  expected: ${formatPath(expected)}\n  actual:   ${formatPath(path)}`;
  if (mode === "exact") {
    const length = Math.max(path.length, expected.length);
    for (let i = 0; i < length; i++) {
      if (path[i] !== expected[i]) {
        const detail =
          i >= path.length
            ? `the path ended after ${path.length} step${path.length === 1 ? "" : "s"}; expected \`${expected[i]}\` next`
            : i >= expected.length
              ? `the path went on with \`${path[i]}\` after the ${expected.length} expected step${expected.length === 1 ? "" : "s"}`
              : `expected \`${expected[i]}\`, got \`${path[i]}\``;
        return { pass: false, message: `Path differs at step ${i + 1}: ${detail}.${shown}` };
      }
    }
    return { pass: true, message: `Path is exactly ${formatPath(expected)}.` };
  }
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const node = expected[i]!;
    const found = path.indexOf(node, at);
    if (found === -1) {
      const after = i === 0 ? "" : ` after \`${expected[i - 1]}\` (step ${at})`;
      const elsewhere = path.includes(node)
        ? "; it does appear earlier"
        : "; it does not appear at all";
      return {
        pass: false,
        message: `Path has no \`${node}\`${after} (expected node ${i + 1} of ${expected.length})${elsewhere}.${shown}`,
      };
    }
    at = found + 1;
  }
  return { pass: true, message: `Path contains ${formatPath(expected)} in order.` };
}

/** Builds a matcher for a value: the value itself, a predicate, a pattern for strings, or a partial. */
export type StateMatcher<T> =
  | ((value: T) => boolean)
  | (T extends string
      ? T | RegExp
      : T extends readonly (infer E)[]
        ? readonly StateMatcher<E>[]
        : T extends Date
          ? Date
          : T extends object
            ? { readonly [K in keyof T]?: StateMatcher<T[K]> }
            : T);

/**
 * Deep partial match of a state: every key in `partial` must match, keys it leaves out are
 * ignored. Objects match recursively; arrays must have the same length and match element by
 * element; a function is a predicate on the value; a `RegExp` tests a string; `Date`s compare by
 * time; everything else by `Object.is`. The message lists every mismatch with its path.
 *
 * @example
 * ```ts
 * const check = stateContains(result.state, {
 *   draft: { title: /trellis/i },
 *   score: (s) => s >= 0.8,
 * });
 * expect(check.pass, check.message).toBe(true);
 * ```
 */
export function stateContains<S>(state: S, partial: NoInfer<StateMatcher<S>>): Evaluation {
  const problems: string[] = [];
  compare(state, partial, "state", problems);
  if (problems.length === 0) return { pass: true, message: "State matches." };
  const shown = problems.slice(0, MAX_PROBLEMS);
  const more = problems.length - shown.length;
  return {
    pass: false,
    message: `State does not match in ${problems.length} place${problems.length === 1 ? "" : "s"}:\n${shown
      .map((p) => `  - ${p}`)
      .join("\n")}${more > 0 ? `\n  … and ${more} more` : ""}`,
  };
}

/**
 * How many times each node ran in a path, e.g. to check that a review loop ran at most three
 * times. Nodes that never ran are absent.
 *
 * @example
 * ```ts
 * expect(nodeCounts(result.path)).toEqual({ draft: 2, review: 2, publish: 1 });
 * ```
 */
export function nodeCounts(path: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const node of path) counts.set(node, (counts.get(node) ?? 0) + 1);
  return Object.fromEntries(counts);
}

const MAX_PROBLEMS = 20;

function compare(actual: unknown, expected: unknown, path: string, problems: string[]): void {
  if (typeof expected === "function") {
    let ok: unknown;
    try {
      ok = (expected as (value: unknown) => unknown)(actual);
    } catch (error) {
      problems.push(
        `${path}: the predicate threw ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    if (ok !== true) problems.push(`${path}: ${preview(actual)} does not satisfy the predicate`);
    return;
  }
  if (expected instanceof RegExp) {
    expected.lastIndex = 0;
    if (typeof actual !== "string" || !expected.test(actual)) {
      problems.push(
        `${path}: expected a string matching ${String(expected)}, got ${preview(actual)}`,
      );
    }
    return;
  }
  if (expected instanceof Date) {
    if (!(actual instanceof Date) || actual.getTime() !== expected.getTime()) {
      problems.push(`${path}: expected ${expected.toISOString()}, got ${preview(actual)}`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      problems.push(`${path}: expected an array of ${expected.length}, got ${preview(actual)}`);
      return;
    }
    if (actual.length !== expected.length) {
      problems.push(
        `${path}: expected ${expected.length} item${expected.length === 1 ? "" : "s"}, got ${actual.length}: ${preview(actual)}`,
      );
      return;
    }
    expected.forEach((item, i) => {
      compare(actual[i], item, `${path}[${i}]`, problems);
    });
    return;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
      problems.push(`${path}: expected an object, got ${preview(actual)}`);
      return;
    }
    for (const [key, value] of Object.entries(expected)) {
      const child = /^[A-Za-z_$][\w$]*$/.test(key)
        ? `${path}.${key}`
        : `${path}[${JSON.stringify(key)}]`;
      const has = Object.hasOwn(actual, key);
      if (!has && value !== undefined) {
        problems.push(`${child}: missing (expected ${preview(value)})`);
        continue;
      }
      compare((actual as Record<string, unknown>)[key], value, child, problems);
    }
    return;
  }
  if (!Object.is(actual, expected)) {
    problems.push(`${path}: expected ${preview(expected)}, got ${preview(actual)}`);
  }
}

function formatPath(path: readonly string[]): string {
  return path.length === 0 ? "(empty)" : path.join(" → ");
}

function preview(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (value instanceof RegExp) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
