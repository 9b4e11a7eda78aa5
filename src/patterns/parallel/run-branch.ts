/**
 * One branch of a parallel group: runs it on the fork snapshot in its own span, under its own
 * abort controller and optional timeout, and turns what it returned into a branch outcome (its
 * state, its structural delta against the snapshot, and the update as applied).
 */
import { BranchAbortedError, BranchTimeoutError, NestedGraphError } from "../../errors.js";
import { isCommand } from "../../graph/command.js";
import type { NodeContext, NodeDefinition, NodeResult } from "../../graph/node.js";
import { classifyNodeResult } from "../../graph/node-result.js";
import { MergedUpdate, type NodeRuntime, NodeStop } from "../../graph/node-runtime.js";
import type { DeltaOp } from "../../graph/state.js";
import { isThenable } from "../../run/execute-node.js";
import { LazyAbort } from "../../run/lazy-abort.js";
import { RunNodeContext, stepKey } from "../../run/run-node-context.js";
import { TrellisAttributes } from "../../telemetry/attributes.js";
import type { ParallelOptions } from "./parallel-options.js";

// Passing a reason to `abort()` spares the DOMException (with its stack) that a bare `abort()`
// builds; nobody reads this one, and runs stop such timers several times each.
const SETTLED = "the group settled";

/** A branch as the group runs it: its name, its item (dynamic groups) and its work. */
export interface Branch<S> {
  readonly name: string;
  readonly item: unknown;
  readonly run: NodeDefinition<S>["run"];
}

/** How a branch ended. */
export type BranchOutcome =
  | {
      readonly kind: "ok";
      readonly delta: readonly DeltaOp[];
      readonly state: Record<string, unknown>;
      readonly update: Readonly<Record<string, unknown>> | undefined;
    }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "aborted" };

/** What one group run shares with each of its branches. */
export interface BranchScope<S> {
  /** The group's node name. */
  readonly group: string;
  /** The fork snapshot every branch starts from. */
  readonly base: S;
  readonly ctx: NodeContext;
  readonly runtime: NodeRuntime;
  readonly options: ParallelOptions;
  /** The controllers of the branches running now, by name: the join aborts them. */
  readonly active: Map<string, LazyAbort>;
}

type Update<S> = NodeResult<S> | MergedUpdate<S> | NodeStop;

/** Runs `branch`; never throws: a failure, an abort or a cancel of the run is an outcome. */
export async function runBranch<S extends Record<string, unknown>>(
  scope: BranchScope<S>,
  branch: Branch<S>,
): Promise<BranchOutcome> {
  const { group, base, ctx, runtime, active } = scope;
  const controller = new LazyAbort();
  active.set(branch.name, controller);
  // Only a branch with a timeout gets a timer to stop: aborting one builds an exception.
  const timeout = scope.options.branchTimeoutMs;
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

/** A branch's result applied to the snapshot: its state, delta and update. */
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
