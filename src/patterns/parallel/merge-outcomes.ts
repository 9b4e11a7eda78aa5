/**
 * The end of a parallel group: checks the joined outcomes against the join and error
 * policies, records failures (`collect`) or logs them (`continue`), and merges the successful
 * branches in declaration order with `mergeBranches`, recording any conflicts.
 */
import { type BranchFailure, ParallelGroupError } from "../../errors.js";
import { type BranchState, type MergeConflict, mergeBranches } from "../../graph/merge-branches.js";
import type { NodeContext } from "../../graph/node.js";
import { MergedUpdate, type NodeRuntime } from "../../graph/node-runtime.js";
import { TrellisAttributes, TrellisEvents } from "../../telemetry/attributes.js";
import type { ParallelOptions } from "./parallel-options.js";
import type { BranchOutcome } from "./run-branch.js";

/** What the merge reads: the group's branches in declaration order and how each ended. */
export interface MergeJob<S> {
  readonly group: string;
  /** The fork snapshot. */
  readonly base: S;
  readonly branches: readonly { readonly name: string }[];
  readonly outcomes: ReadonlyMap<string, BranchOutcome>;
  readonly need: number;
  readonly joinAll: boolean;
  readonly errors: NonNullable<ParallelOptions["errors"]>;
  readonly options: ParallelOptions;
  readonly ctx: NodeContext;
  readonly runtime: NodeRuntime;
}

/** The group's update, or the `ParallelGroupError` its policies call for. */
export function mergeOutcomes<S extends Record<string, unknown>>(
  job: MergeJob<S>,
): MergedUpdate<S> {
  const { group, base, branches, outcomes, need, joinAll, errors, ctx, runtime } = job;
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
    job.options.conflicts ?? runtime.conflicts,
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

/** A failure as the checkpoint meta records it (plain data). */
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
