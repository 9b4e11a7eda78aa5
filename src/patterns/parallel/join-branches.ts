/**
 * The join of a parallel group: runs the unfinished branches through a concurrency-limited
 * queue and settles as soon as the join policy and the error policy decide — on the n-th
 * success (`all`, `any`, `{ n }`), on the first failure (`fail-fast`), once n successes are out
 * of reach, or when the run is cancelled — aborting the branches still running.
 */
import PQueue from "p-queue";
import { BranchAbortedError, type BranchFailure, ParallelGroupError } from "../../errors.js";
import type { LazyAbort } from "../../run/lazy-abort.js";
import type { ParallelOptions } from "./parallel-options.js";
import type { Branch, BranchOutcome } from "./run-branch.js";

/** A successful branch outcome. */
export type BranchSuccess = Extract<BranchOutcome, { kind: "ok" }>;

/** What the join works on; `outcomes` is filled in as branches finish. */
export interface JoinJob<S> {
  /** The group's node name. */
  readonly group: string;
  /** The group's (the run's) signal: its abort rejects the join. */
  readonly signal: AbortSignal;
  /** Every branch, in declaration order. */
  readonly branches: readonly Branch<S>[];
  /** The branches still to run. */
  readonly todo: readonly Branch<S>[];
  readonly outcomes: Map<string, BranchOutcome>;
  /** How many branches already succeeded (restored from saved progress). */
  readonly succeeded: number;
  /** How many successes the join waits for. */
  readonly need: number;
  /** Whether the join is `"all"` (which never becomes unreachable early). */
  readonly joinAll: boolean;
  readonly errors: NonNullable<ParallelOptions["errors"]>;
  readonly options: ParallelOptions;
  /** The controllers of the branches running now (filled in by `run`). */
  readonly active: ReadonlyMap<string, LazyAbort>;
  readonly run: (branch: Branch<S>) => Promise<BranchOutcome>;
  /** Called for each branch that succeeded, in the order they finished. */
  readonly succeed: (branch: Branch<S>, outcome: BranchSuccess) => void;
}

/** Resolves when the group may merge, rejects with the group's error or the run's abort reason. */
export function joinBranches<S>(job: JoinJob<S>): Promise<void> {
  const { group, branches, outcomes, need, joinAll, errors, active } = job;
  let ok = job.succeeded;
  let decided = false;
  return new Promise<void>((resolve, reject) => {
    let left = job.todo.length;
    const parent = job.signal;
    const queue = new PQueue({ concurrency: job.options.concurrency ?? Number.POSITIVE_INFINITY });
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
    for (const branch of job.todo) {
      void queue
        .add(async () => {
          if (decided) return;
          const outcome = await job.run(branch);
          if (decided) return;
          outcomes.set(branch.name, outcome);
          left--;
          if (outcome.kind === "ok") {
            ok++;
            job.succeed(branch, outcome);
            if (ok >= need) {
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
}

/** The failed branches, in declaration order. */
function failuresOf(
  branches: readonly { readonly name: string }[],
  outcomes: ReadonlyMap<string, BranchOutcome>,
): BranchFailure[] {
  const failures: BranchFailure[] = [];
  for (const branch of branches) {
    const outcome = outcomes.get(branch.name);
    if (outcome?.kind === "failed") failures.push({ branch: branch.name, error: outcome.error });
  }
  return failures;
}
