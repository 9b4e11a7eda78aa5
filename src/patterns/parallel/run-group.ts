/**
 * One run of a parallel group, shared by `parallelGroup` and `dynamicParallelGroup`: restores
 * the branches a previous attempt finished (saved progress), joins the rest, then merges.
 * Each finished branch is saved (its delta and update) so a resumed run only runs the
 * unfinished ones and merges exactly as an uninterrupted run would.
 */
import type { NodeContext } from "../../graph/node.js";
import type { MergedUpdate, NodeRuntime } from "../../graph/node-runtime.js";
import { reviveDelta, reviveUpdate } from "../../graph/revive-update.js";
import { applyDelta, type DeltaOp } from "../../graph/state.js";
import type { LazyAbort } from "../../run/lazy-abort.js";
import { TrellisAttributes } from "../../telemetry/attributes.js";
import { joinBranches } from "./join-branches.js";
import { mergeOutcomes } from "./merge-outcomes.js";
import { joinCount, joinName, type ParallelOptions } from "./parallel-options.js";
import { type Branch, type BranchOutcome, type BranchScope, runBranch } from "./run-branch.js";

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

/** Runs `branches` on `snapshot` under `options` and returns their merged update. */
export async function runGroup<S extends Record<string, unknown>>(
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
  const outcomes = new Map<string, BranchOutcome>();
  for (const branch of branches) {
    const saved = finished.get(branch.name);
    if (saved !== undefined) {
      // Read back from the store: a JSON store gives a `Date` back as a string.
      const delta = reviveDelta(runtime.state, saved.delta);
      outcomes.set(branch.name, {
        kind: "ok",
        delta,
        state: applyDelta(base, delta),
        update: saved.update === undefined ? undefined : reviveUpdate(runtime.state, saved.update),
      });
    }
  }
  const succeeded = [...outcomes.values()].filter((o) => o.kind === "ok").length;
  const todo = succeeded >= need ? [] : branches.filter((b) => !outcomes.has(b.name));

  // Progress writes are serialised so checkpoints land in the order they were made.
  let writes: Promise<void> = Promise.resolve();
  const save = (data: GroupProgress): void => {
    writes = writes.then(() => runtime.saveProgress(data));
  };

  const active = new Map<string, LazyAbort>();
  const scope: BranchScope<S> = { group, base, ctx, runtime, options, active };
  await joinBranches({
    group,
    signal: ctx.signal,
    branches,
    todo,
    outcomes,
    succeeded,
    need,
    joinAll,
    errors,
    options,
    active,
    run: (branch) => runBranch(scope, branch),
    succeed: (branch, outcome) =>
      save({
        finished: branch.name,
        delta: outcome.delta,
        ...(outcome.update === undefined ? {} : { update: outcome.update }),
      }),
  });

  await writes;

  return mergeOutcomes({
    group,
    base,
    branches,
    outcomes,
    need,
    joinAll,
    errors,
    options,
    ctx,
    runtime,
  });
}
