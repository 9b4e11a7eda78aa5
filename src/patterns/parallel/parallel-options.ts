/**
 * The options of parallel groups: their types, the validation both constructors share, and
 * the join policy read as a count and as the `trellis.join` attribute.
 */
import { MAX_TIMEOUT_MS, MAX_TIMEOUT_TEXT } from "../../clock.js";
import { InvalidOptionError } from "../../errors.js";
import type { ConflictPolicy } from "../../graph/merge-branches.js";
import type { NodeContext, NodeDefinition, NodeFn, NodeResult } from "../../graph/node.js";

/** How many branches must succeed before the group joins. */
export type JoinPolicy = "all" | "any" | { readonly n: number };

/** What a group does when a branch fails. */
export type BranchErrorPolicy = "fail-fast" | "continue" | "collect";

/** Options shared by `parallelGroup()` and `dynamicParallelGroup()`. */
export interface ParallelOptions {
  /**
   * `"all"` (default) waits for every branch; `"any"` joins on the first success and `{ n }`
   * on the n-th, aborting the branches still running (their `ctx.signal` aborts with
   * `BranchAbortedError`). Once so many branches failed that n successes are out of reach, the
   * group fails at once with `ParallelGroupError` and aborts the rest (reason `"unreachable"`).
   */
  readonly join?: JoinPolicy;
  /**
   * `"fail-fast"` (default) aborts the other branches on the first failure and fails the
   * group; `"continue"` drops failed branches from the merge; `"collect"` merges the
   * successful ones, records the failures in the checkpoint meta (`failures`) and a
   * `parallel:failures` event, and fails only when every branch failed.
   */
  readonly errors?: BranchErrorPolicy;
  /** Most branches running at once. Default: all of them. */
  readonly concurrency?: number;
  /** Aborts a branch (with `BranchTimeoutError`, a branch failure) after this many ms. */
  readonly branchTimeoutMs?: number;
  /** What to do when branches overwrite one path differently. Default: the graph's `conflicts` (`"error"` unless set). */
  readonly conflicts?: ConflictPolicy;
}

/** Options of `parallelGroup()`. */
export interface ParallelGroupOptions<S> extends ParallelOptions {
  /** The branches, by name; they are merged in this (declaration) order. */
  readonly branches: Readonly<Record<string, NodeFn<S> | NodeDefinition<S>>>;
}

/** Options of `dynamicParallelGroup()`. */
export interface DynamicParallelGroupOptions<S, T> extends ParallelOptions {
  /** The list to fan out over; one branch per item, named by its index (`"0"`, `"1"`, …). */
  readonly items: (state: Readonly<S>) => readonly T[];
  /** One branch's work; `ctx.item` is its item (also passed as the third argument). */
  readonly branch: (
    state: Readonly<S>,
    ctx: NodeContext,
    item: T,
  ) => NodeResult<S> | Promise<NodeResult<S>>;
}

/** Validates the options both constructors share; `what` names the options object in errors. */
export function checkParallelOptions(options: ParallelOptions, what: string): void {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionError(what, "an options object", options);
  }
  const { join, errors, concurrency, branchTimeoutMs, conflicts } = options;
  if (
    join !== undefined &&
    join !== "all" &&
    join !== "any" &&
    !(typeof join === "object" && join !== null && Number.isInteger(join.n) && join.n >= 1)
  ) {
    throw new InvalidOptionError(
      "join",
      '`"all"`, `"any"` or `{ n }` with an integer n from 1 and up',
      join,
    );
  }
  if (
    errors !== undefined &&
    errors !== "fail-fast" &&
    errors !== "continue" &&
    errors !== "collect"
  ) {
    throw new InvalidOptionError("errors", '`"fail-fast"`, `"continue"` or `"collect"`', errors);
  }
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidOptionError("concurrency", "an integer from 1 and up", concurrency);
  }
  if (
    branchTimeoutMs !== undefined &&
    !(
      typeof branchTimeoutMs === "number" &&
      branchTimeoutMs > 0 &&
      branchTimeoutMs <= MAX_TIMEOUT_MS
    )
  ) {
    throw new InvalidOptionError(
      "branchTimeoutMs",
      `a number of milliseconds above 0 and at most ${MAX_TIMEOUT_TEXT}`,
      branchTimeoutMs,
    );
  }
  if (
    conflicts !== undefined &&
    typeof conflicts !== "function" &&
    conflicts !== "error" &&
    conflicts !== "first" &&
    conflicts !== "last"
  ) {
    throw new InvalidOptionError(
      "conflicts",
      '`"error"`, `"first"`, `"last"` or a resolver function',
      conflicts,
    );
  }
}

/** `trellis.join` of a group: `all`, `any` or `n=<count>`. */
export function joinName(join: JoinPolicy | undefined): string {
  if (join === undefined || join === "all" || join === "any") return join ?? "all";
  return `n=${join.n}`;
}

/** How many successful branches the join waits for, out of `total`. */
export function joinCount(join: JoinPolicy | undefined, total: number): number {
  if (join === undefined || join === "all") return total;
  if (join === "any") return 1;
  return join.n;
}
