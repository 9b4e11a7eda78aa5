import PQueue from "p-queue";
import { MAX_TIMEOUT_MS, MAX_TIMEOUT_TEXT } from "../clock.js";
import {
  BranchAbortedError,
  type BranchFailure,
  BranchTimeoutError,
  InvalidOptionError,
  NestedGraphError,
  ParallelGroupError,
} from "../errors.js";
import { isCommand } from "../graph/command.js";
import {
  type BranchState,
  type ConflictPolicy,
  type MergeConflict,
  mergeBranches,
} from "../graph/merge-branches.js";
import type { NodeContext, NodeDefinition, NodeFn, NodeResult } from "../graph/node.js";
import { classifyNodeResult } from "../graph/node-result.js";
import { MergedUpdate, type NodeRuntime, NodeStop } from "../graph/node-runtime.js";
import { applyDelta, type DeltaOp } from "../graph/state.js";
import { isThenable } from "../run/execute-node.js";
import { LazyAbort } from "../run/lazy-abort.js";
import { RunNodeContext, stepKey } from "../run/run-node-context.js";
import { TrellisAttributes, TrellisEvents } from "../telemetry/attributes.js";

// Passing a reason to `abort()` spares the DOMException (with its stack) that a bare `abort()`
// builds; nobody reads this one, and runs stop such timers several times each.
const SETTLED = "the group settled";

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

/**
 * What a parallel group saves with `saveProgress`: one record per branch that finished (its
 * delta). What a branch saves itself (a nested graph's child run) the branch's own runtime keeps.
 */
type GroupProgress = {
  readonly finished: string;
  readonly delta: readonly DeltaOp[];
  /** The branch's update as applied: what the merge folds through the reducers. */
  readonly update?: Readonly<Record<string, unknown>>;
};

interface Branch<S> {
  readonly name: string;
  readonly item: unknown;
  readonly run: NodeDefinition<S>["run"];
}

type Outcome =
  | {
      readonly kind: "ok";
      readonly delta: readonly DeltaOp[];
      readonly state: Record<string, unknown>;
      readonly update: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "aborted" };

type Update<S> = NodeResult<S> | MergedUpdate<S> | NodeStop;

function checkOptions(options: ParallelOptions, what: string): void {
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

function toRun<S>(branch: NodeFn<S> | NodeDefinition<S>, name: string): NodeDefinition<S>["run"] {
  if (typeof branch === "function") return (state, ctx) => branch(state, ctx);
  if (branch !== null && typeof branch === "object" && typeof branch.run === "function")
    return branch.run;
  throw new InvalidOptionError(`branches.${name}`, "a node function or a NodeDefinition", branch);
}

function describeError(error: unknown): { message: string; code?: string; name?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { message: String(error) };
}

/**
 * Runs fixed branches in parallel, each on the state the group was given (the fork snapshot),
 * and merges them in declaration order (see `mergeBranches`): `append`, `sum` and custom
 * reducers fold the branches' updates, other keys merge their structural diffs. Finished
 * branches are checkpointed (with their updates), so a resumed run only runs the unfinished
 * ones and merges exactly as an uninterrupted run would.
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "gather",
 *   parallelGroup<State>({
 *     branches: { web: searchWeb, docs: searchDocs },
 *     join: "all",
 *     errors: "collect",
 *     concurrency: 2,
 *     branchTimeoutMs: 30_000,
 *   }),
 * );
 * ```
 */
export function parallelGroup<S extends Record<string, unknown>>(
  options: ParallelGroupOptions<S>,
): NodeDefinition<S> {
  checkOptions(options, "parallelGroup options");
  const { branches } = options;
  if (branches === null || typeof branches !== "object" || Object.keys(branches).length === 0) {
    throw new InvalidOptionError("branches", "an object with at least one named branch", branches);
  }
  const list: Branch<S>[] = Object.entries(branches).map(([name, branch]) => ({
    name,
    item: undefined,
    run: toRun(branch, name),
  }));
  const n = joinCount(options.join, list.length);
  if (n > list.length) {
    throw new InvalidOptionError("join.n", `at most the number of branches (${list.length})`, n);
  }
  return {
    kind: "parallel",
    run: (state, ctx, runtime) => runGroup(state, ctx, runtime, list, options),
  };
}

/**
 * One branch per item of a list computed from the state (map-reduce), run like
 * `parallelGroup`. Branches are named by index and merged in list order; `ctx.item` is the item.
 *
 * @example
 * ```ts
 * graph.addNode(
 *   "research",
 *   dynamicParallelGroup<State, string>({
 *     items: (s) => s.questions,
 *     branch: async (s, ctx, question) => ({ findings: [await answer(question, ctx.signal)] }),
 *     concurrency: 4,
 *   }),
 * );
 * ```
 */
export function dynamicParallelGroup<S extends Record<string, unknown>, T>(
  options: DynamicParallelGroupOptions<S, T>,
): NodeDefinition<S> {
  checkOptions(options, "dynamicParallelGroup options");
  const { items, branch } = options;
  if (typeof items !== "function") {
    throw new InvalidOptionError("items", "a function `(state) => readonly item[]`", items);
  }
  if (typeof branch !== "function") {
    throw new InvalidOptionError("branch", "a function `(state, ctx, item) => update`", branch);
  }
  return {
    kind: "parallel",
    run: (state, ctx, runtime) => {
      const values = items(state);
      if (!Array.isArray(values)) throw new InvalidOptionError("items(state)", "an array", values);
      const list: Branch<S>[] = values.map((item: T, index) => ({
        name: String(index),
        item,
        run: (s, c) => branch(s, c, item),
      }));
      return runGroup(state, ctx, runtime, list, options);
    },
  };
}

/** `trellis.join` of a group: `all`, `any` or `n=<count>`. */
function joinName(join: JoinPolicy | undefined): string {
  if (join === undefined || join === "all" || join === "any") return join ?? "all";
  return `n=${join.n}`;
}

function joinCount(join: JoinPolicy | undefined, total: number): number {
  if (join === undefined || join === "all") return total;
  if (join === "any") return 1;
  return join.n;
}

function toBranchState<S extends Record<string, unknown>>(
  snapshot: S,
  runtime: NodeRuntime,
  label: string,
  result: Update<S>,
): {
  state: Record<string, unknown>;
  delta: readonly DeltaOp[];
  update: Readonly<Record<string, unknown>> | undefined;
} {
  if (result === undefined || result === null) return { state: snapshot, delta: [], update: {} };
  if (result instanceof NodeStop) {
    throw new NestedGraphError(
      label,
      "(nested)",
      "paused",
      new Error(
        "interrupts do not reach runs nested inside parallel branches, so they cannot pause",
      ),
    );
  }
  if (result instanceof MergedUpdate) {
    return {
      state: result.state as Record<string, unknown>,
      delta: result.delta,
      update: undefined,
    };
  }
  const update = (isCommand(result) ? result.update : result) as
    | Record<string, unknown>
    | undefined;
  if (update === undefined || update === null) return { state: snapshot, delta: [], update: {} };
  return runtime.state.applyBranch(snapshot, update, `The update from ${label}`);
}

async function runGroup<S extends Record<string, unknown>>(
  snapshot: Readonly<S>,
  ctx: NodeContext,
  runtime: NodeRuntime,
  branches: readonly Branch<S>[],
  options: ParallelOptions,
): Promise<MergedUpdate<S>> {
  const group = ctx.node;
  const errors = options.errors ?? "fail-fast";
  const need = Math.min(joinCount(options.join, branches.length), branches.length);
  const joinAll = options.join === undefined || options.join === "all";
  const base = snapshot as S;
  runtime.attributes(() => ({
    [TrellisAttributes.BRANCH_COUNT]: branches.length,
    [TrellisAttributes.JOIN]: joinName(options.join),
    [TrellisAttributes.ERROR_POLICY]: errors,
  }));

  const finished = new Map<string, GroupProgress>();
  for (const saved of runtime.progress as readonly GroupProgress[]) {
    finished.set(saved.finished, saved);
  }
  const outcomes = new Map<string, Outcome>();
  for (const branch of branches) {
    const saved = finished.get(branch.name);
    if (saved !== undefined) {
      outcomes.set(branch.name, {
        kind: "ok",
        delta: saved.delta,
        state: applyDelta(base, saved.delta),
        update: saved.update,
      });
    }
  }
  let ok = [...outcomes.values()].filter((o) => o.kind === "ok").length;
  const succeeded = () => ok;
  const todo = succeeded() >= need ? [] : branches.filter((b) => !outcomes.has(b.name));

  // Progress writes are serialised so checkpoints land in the order they were made.
  let writes: Promise<void> = Promise.resolve();
  const save = (data: GroupProgress): void => {
    writes = writes.then(() => runtime.saveProgress(data));
  };

  const active = new Map<string, LazyAbort>();
  let decided = false;

  await new Promise<void>((resolve, reject) => {
    let left = todo.length;
    const parent = ctx.signal;
    const queue = new PQueue({ concurrency: options.concurrency ?? Number.POSITIVE_INFINITY });
    const onParentAbort = () => {
      decided = true;
      for (const controller of active.values()) controller.abort(parent.reason);
      queue.clear();
      reject(parent.reason);
    };
    const finish = (error?: unknown) => {
      if (decided) return;
      decided = true;
      parent.removeEventListener("abort", onParentAbort);
      queue.clear();
      if (error === undefined) resolve();
      else reject(error);
    };
    const stopOthers = (reason: "join" | "fail-fast" | "unreachable") => {
      for (const [name, controller] of active) {
        controller.abort(new BranchAbortedError(group, name, reason));
      }
    };
    if (parent.aborted) {
      reject(parent.reason);
      return;
    }
    parent.addEventListener("abort", onParentAbort, { once: true });
    if (left === 0) {
      finish();
      return;
    }
    for (const branch of todo) {
      void queue
        .add(async () => {
          if (decided) return;
          const outcome = await runBranch(branch);
          if (decided) return;
          outcomes.set(branch.name, outcome);
          left--;
          if (outcome.kind === "ok") {
            ok++;
            save({
              finished: branch.name,
              delta: outcome.delta,
              ...(outcome.update === undefined ? {} : { update: outcome.update }),
            });
            if (succeeded() >= need) {
              stopOthers("join");
              finish();
              return;
            }
          } else if (outcome.kind === "failed") {
            if (errors === "fail-fast") {
              stopOthers("fail-fast");
              finish(
                new ParallelGroupError(
                  group,
                  [{ branch: branch.name, error: outcome.error }],
                  `branch \`${branch.name}\` failed and the error policy is \`"fail-fast"\``,
                ),
              );
              return;
            }
          }
          // A `{ n }` join that can no longer get n successes fails now, instead of waiting for
          // branches whose results could not change that.
          if (!joinAll && ok + left < need) {
            stopOthers("unreachable");
            finish(
              new ParallelGroupError(
                group,
                failuresOf(branches, outcomes),
                `the join needs ${need} successful branch${need === 1 ? "" : "es"}, but with ${ok} succeeded and ${left} still to finish it can no longer get them; the unfinished branches were stopped`,
              ),
            );
            return;
          }
          if (left === 0) finish();
        })
        .catch((error: unknown) => finish(error));
    }
  });

  async function runBranch(branch: Branch<S>): Promise<Outcome> {
    const controller = new LazyAbort();
    active.set(branch.name, controller);
    // Only a branch with a timeout gets a timer to stop: aborting one builds an exception.
    const timeout = options.branchTimeoutMs;
    const stopTimer = timeout === undefined ? undefined : new AbortController();
    if (timeout !== undefined && stopTimer !== undefined) {
      runtime.clock.sleep(timeout, stopTimer.signal).then(
        () => controller.abort(new BranchTimeoutError(group, branch.name, timeout)),
        () => {},
      );
    }
    const branchCtx = new RunNodeContext({
      sessionId: ctx.sessionId,
      runId: ctx.runId,
      node: `${ctx.node}/${branch.name}`,
      iteration: ctx.iteration,
      attempt: ctx.attempt,
      feedback: ctx.feedback,
      item: branch.item,
      logger: ctx.logger,
      signal: () => controller.signal,
      emit: ctx.emit,
      idempotencyKey: () => stepKey([ctx.idempotencyKey, branch.name]),
    });
    const branchRuntime = runtime.branch(branch.name, () => ({
      [TrellisAttributes.BRANCH]: branch.name,
      [TrellisAttributes.GROUP]: group,
    }));
    try {
      const result = branchRuntime.runInSpan(() => branch.run(base, branchCtx, branchRuntime));
      const value = isThenable<Update<S>>(result) ? await controller.race(result) : result;
      if (controller.aborted) throw controller.reason;
      classifyNodeResult(value, group, branch.name);
      const label = `branch \`${branch.name}\` of parallel group \`${group}\``;
      const { state, delta, update } = toBranchState(base, runtime, label, value);
      branchRuntime.end({ [TrellisAttributes.BRANCH_OUTCOME]: "ok" });
      return { kind: "ok", state, delta, update };
    } catch (error) {
      const reason = controller.aborted ? controller.reason : error;
      if (reason instanceof BranchAbortedError) {
        branchRuntime.end({ [TrellisAttributes.BRANCH_OUTCOME]: "aborted" });
        return { kind: "aborted" };
      }
      // The run was cancelled: an outcome of the whole run, not a failure of this branch.
      if (ctx.signal.aborted && reason === ctx.signal.reason) {
        branchRuntime.end({ [TrellisAttributes.BRANCH_OUTCOME]: "cancelled" });
        return { kind: "aborted" };
      }
      branchRuntime.endWithError(reason, { [TrellisAttributes.BRANCH_OUTCOME]: "failed" });
      return { kind: "failed", error: reason };
    } finally {
      stopTimer?.abort(SETTLED);
      active.delete(branch.name);
    }
  }

  await writes;

  const failures: BranchFailure[] = [];
  const merged: BranchState<S>[] = [];
  for (const branch of branches) {
    const outcome = outcomes.get(branch.name);
    if (outcome?.kind === "ok") {
      merged.push({
        name: branch.name,
        state: outcome.state as S,
        ...(outcome.update === undefined ? {} : { update: outcome.update }),
      });
    } else if (outcome?.kind === "failed")
      failures.push({ branch: branch.name, error: outcome.error });
  }
  if (errors === "collect" && failures.length > 0 && merged.length === 0) {
    throw new ParallelGroupError(group, failures, "every branch failed");
  }
  if (!joinAll && merged.length < need) {
    throw new ParallelGroupError(
      group,
      failures,
      `the join needs ${need} successful branch${need === 1 ? "" : "es"}, only ${merged.length} succeeded`,
    );
  }
  if (failures.length > 0) {
    if (errors === "collect") {
      const recorded = failures.map((f) => ({ branch: f.branch, error: describeError(f.error) }));
      runtime.note({ failures: recorded });
      ctx.emit("parallel:failures", { failures: recorded });
    } else {
      runtime.logger.warn(
        `Parallel group \`${group}\` dropped ${failures.length} failed branch(es)`,
        {
          branches: failures.map((f) => f.branch),
        },
      );
    }
  }
  const result = mergeBranches(
    base,
    merged,
    runtime.state as never,
    options.conflicts ?? runtime.conflicts,
  );
  if (result.conflicts.length > 0) {
    const conflicts: MergeConflict[] = [...result.conflicts];
    runtime.event(TrellisEvents.MERGE_CONFLICTS, () => ({
      [TrellisAttributes.MERGE_CONFLICTS]: conflicts.length,
      [TrellisAttributes.MERGE_PATHS]: conflicts.map((c) => c.path),
    }));
    runtime.note({
      conflicts: conflicts.map((c) => ({ ...c, branches: [...c.branches], values: [...c.values] })),
    });
    ctx.emit("merge:conflicts", { conflicts });
  }
  return new MergedUpdate(result.state as S, result.delta);
}

/** The failed branches, in declaration order. */
function failuresOf(
  branches: readonly { readonly name: string }[],
  outcomes: ReadonlyMap<string, Outcome>,
): BranchFailure[] {
  const failures: BranchFailure[] = [];
  for (const branch of branches) {
    const outcome = outcomes.get(branch.name);
    if (outcome?.kind === "failed") failures.push({ branch: branch.name, error: outcome.error });
  }
  return failures;
}
