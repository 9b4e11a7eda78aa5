/**
 * The course changes an interrupt can ask of a run, carried out through its `RunShell`:
 * `update_state` (validated, through the reducers), `skip` (follow a node's edges without
 * running it) and `go_back` / the rerun of `request_changes` (put back the state from before a
 * node, from the checkpoints; a nested run hands a target on its parent's path up).
 */
import { GoBackTargetError, RunCancelledError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { freezeChanged } from "../graph/state.js";
import type { CheckpointMeta, RerunMeta } from "../store/checkpoint-meta.js";
import { readCheckpoint } from "./checkpoint-reader.js";
import * as planner from "./planner.js";
import { findRestorePoint, isOnPath, localTarget } from "./restore-point.js";
import type { RunRecords, RunShell } from "./run-shell.js";

/** `update_state`: validated like a node update, applied through the reducers, checkpointed. */
export async function updateState<S extends Record<string, unknown>>(
  run: RunShell<S>,
  values: Record<string, unknown>,
  records: RunRecords,
): Promise<void> {
  const graph = run.setup.graph;
  const applied = graph.state.validateAndApply(run.plan.state, values, "The `update_state` values");
  run.plan = planner.withState(run.plan, freezeChanged(applied.state, applied.delta));
  run.emit("state:updated", { node: "update_state", delta: applied.delta });
  await run.checkpoint(
    {
      node: null,
      next: run.plan.frontier,
      status: "running",
      delta: applied.delta,
      meta: run.meta(),
    },
    records,
  );
}

/** Follows a node's edges without running it (`skip`). */
export async function skipNode<S extends Record<string, unknown>>(
  run: RunShell<S>,
  node: string,
  records: Partial<RunRecords>,
): Promise<void> {
  const decision = run.setup.graph.next(node, run.plan.state, undefined);
  run.plan = planner.skipped(run.plan, node, decision.targets, run.policy);
  run.emit("edge:taken", {
    from: node,
    to: decision.targets,
    reason: "interrupt",
    label: "skipped",
  });
  await run.checkpoint(
    {
      node: null,
      next: run.plan.frontier,
      status: "running",
      delta: [],
      meta: run.meta({ skipped: node }),
    },
    { settled: records.settled ?? [], audit: records.audit ?? [] },
  );
}

/**
 * Puts back the state from before `rawTarget` last ran (or `rawTarget` nodes back), from the
 * checkpoints. A nested run hands a target on its parent's path up to the parent.
 */
export async function restoreTo<S extends Record<string, unknown>>(
  run: RunShell<S>,
  rawTarget: string | number,
  feedback: string | undefined,
  revision: RerunMeta | undefined,
  records: RunRecords,
  decision?: CheckpointMeta["decision"],
): Promise<boolean> {
  const s = run.setup;
  const target = localTarget(s.prefix, rawTarget);
  const path = run.plan.path;
  if (!isOnPath(path, target)) {
    if (s.parentHas?.(rawTarget) === true) {
      run.stop = {
        kind: "escalate",
        directive: { kind: "restore", target: rawTarget, feedback },
        settled: records.settled[0],
        audit: records.audit,
      };
      run.plan = planner.end(run.plan, {
        status: "cancelled",
        error: new RunCancelledError(`the parent run goes back to \`${String(rawTarget)}\``),
      });
      return true;
    }
    throw new GoBackTargetError(target, path.toArray());
  }
  if (!s.checkpointer.enabled) throw new GoBackTargetError(target, []);
  await s.checkpointer.flush();
  const { node, before, again } = await findRestorePoint(
    s.store,
    s,
    s.checkpointer.lastId,
    target,
    path,
  );
  const { checkpoint } = await readCheckpoint<S>(s.store, s.graph, s.sessionId, s.thread, before);
  const rerun: RerunMeta | undefined =
    revision ?? (feedback === undefined ? undefined : { node, feedback });
  run.plan = planner.restored(run.plan, {
    state: deepFreeze(checkpoint.state),
    path: checkpoint.path,
    waiting: checkpoint.meta.waiting ?? {},
    nodes: again,
    rerun,
  });
  s.checkpointer.jumpTo(before);
  run.emit("state:restored", {
    checkpointId: before,
    path: [...checkpoint.path],
    next: [...again],
  });
  await run.checkpoint(
    {
      node: null,
      next: run.plan.frontier,
      status: "running",
      delta: [],
      meta: run.meta({ restoredFrom: before, ...(decision === undefined ? {} : { decision }) }),
    },
    records,
  );
  return true;
}
