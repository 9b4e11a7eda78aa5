/**
 * The parts of a superstep — several frontier nodes run in one step (fan-out) — that need no
 * run state: running the nodes side by side with sibling aborts, merging their updates in
 * frontier order and routing each node, and staging the checkpoints of all but the last node.
 * `Run.#superstep` calls them in turn and moves the plan.
 */
import { SiblingFailedError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { mergeBranches } from "../graph/merge-branches.js";
import type { RouteDecision } from "../graph/route.js";
import type { CheckpointRecord } from "../store/checkpoint-store.js";
import { TrellisAttributes, TrellisEvents } from "../telemetry/attributes.js";
import type { Checkpointer } from "./checkpointer.js";
import type { Invoked } from "./invoked.js";
import { LazyAbort } from "./lazy-abort.js";
import type { RunPlan } from "./planner.js";
import { endNodeSpan, type RunTracing, updateReducerAttributes } from "./run-tracing.js";

/** Runs one node of the step under its own abort; `track` is told about the node's own work. */
export type InvokeSibling<S> = (
  name: string,
  index: number,
  abort: LazyAbort,
  track: (work: PromiseLike<unknown>) => void,
) => Promise<Invoked<S>>;

/**
 * Runs `nodes` concurrently and returns their results in frontier order. When one fails, the
 * others are aborted (`SiblingFailedError`) and the step waits for their work to settle before
 * it rejects with the first real failure; a cancel of the whole run (`run`) rejects at once.
 */
export async function runSiblings<S>(
  nodes: readonly string[],
  run: LazyAbort,
  invoke: InvokeSibling<S>,
): Promise<Invoked<S>[]> {
  const aborts = nodes.map(() => new LazyAbort());
  const stopRun = run.onAbort((reason) => {
    for (const abort of aborts) abort.abort(reason);
  });
  // The nodes' own work: an aborted sibling stops being waited for at once, but it may go on.
  const working: PromiseLike<unknown>[] = [];
  const pending = nodes.map((name, i) =>
    invoke(name, i, aborts[i]!, (work) => working.push(work)).catch((error: unknown) => {
      // The first failure stops its siblings.
      for (const [j, abort] of aborts.entries()) {
        if (j !== i) abort.abort(new SiblingFailedError(nodes[j]!, name));
      }
      throw error;
    }),
  );
  try {
    const settled = await Promise.allSettled(pending);
    const failed = settled.find(
      (r): r is PromiseRejectedResult =>
        r.status === "rejected" && !(r.reason instanceof SiblingFailedError),
    );
    const firstFailure = failed ?? settled.find((r) => r.status === "rejected");
    if (firstFailure !== undefined) {
      // A node failed and its siblings were told to stop: the run fails only once they did,
      // so nothing they still do can overlap a resume of the session. (A cancel of the whole
      // run ends it at once.)
      if (failed !== undefined && !run.aborted) await Promise.allSettled(working);
      for (const r of settled) if (r.status === "fulfilled") r.value.span.end();
      throw (firstFailure as PromiseRejectedResult).reason;
    }
    return settled.map((r) => (r as PromiseFulfilledResult<Invoked<S>>).value);
  } finally {
    stopRun();
  }
}

/**
 * Merges the nodes' raw updates on `base` in frontier order (so the result never depends on
 * which node finished first), routes each node on the merged state, and ends their spans.
 * A failure of the merge or of a router ends every span with it and is thrown.
 */
export function mergeSiblings<S extends Record<string, unknown>>(
  graph: CompiledGraph<S>,
  tracing: RunTracing,
  base: S,
  nodes: readonly string[],
  results: readonly Invoked<S>[],
): { merged: ReturnType<typeof mergeBranches<S>>; decisions: RouteDecision[] } {
  let merged: ReturnType<typeof mergeBranches<S>>;
  let decisions: RouteDecision[];
  try {
    const branches = results.map(({ update }, i) => graph.branch(base, nodes[i]!, update));
    merged = mergeBranches(base, branches, graph.state, graph.conflicts);
    const state = merged.state;
    decisions = nodes.map((name, i) => graph.next(name, state, results[i]!.goto));
  } catch (error) {
    for (const r of results) r.span.endWithError(error);
    throw error;
  }
  for (const [i, r] of results.entries())
    endNodeSpan(r.span, decisions[i]!, undefined, () =>
      updateReducerAttributes(graph.state, r.update),
    );
  if (merged.conflicts.length > 0) {
    tracing.event(TrellisEvents.MERGE_CONFLICTS, () => ({
      [TrellisAttributes.MERGE_CONFLICTS]: merged.conflicts.length,
      [TrellisAttributes.MERGE_PATHS]: merged.conflicts.map((c) => c.path),
    }));
  }
  return { merged, decisions };
}

/**
 * Stages one checkpoint per node but the last (the caller writes the last, with the merged
 * delta, in the same transaction). Every node of the step ran on `base`, so each of these keeps
 * `base`, names the whole step as what runs next and points at the checkpoint the step started
 * from (`meta.stepStart`): going back to one of the nodes, or forking from one of these, runs
 * the whole step again.
 */
export function stageSiblings<S>(
  checkpointer: Checkpointer,
  step: {
    readonly runId: string;
    readonly nodes: readonly string[];
    /** The run's iteration before the step. */
    readonly first: number;
    readonly base: S;
    /** The plan before the step. */
    readonly before: RunPlan<S>;
  },
): CheckpointRecord[] {
  const { runId, nodes, first, base, before } = step;
  const start = checkpointer.lastId;
  const staged: CheckpointRecord[] = [];
  for (let i = 0; i < nodes.length - 1; i++) {
    const record = checkpointer.stage(
      {
        runId,
        node: nodes[i]!,
        iteration: first + i + 1,
        next: nodes,
        status: "running",
        delta: [],
        meta: {
          ...(Object.keys(before.waiting).length === 0
            ? {}
            : { waiting: before.waiting as Record<string, string[]> }),
          ...(start === null ? {} : { stepStart: start }),
        },
      },
      base as Readonly<Record<string, unknown>>,
      () => before.path.append(...nodes.slice(0, i + 1)).toArray(),
    );
    if (record !== undefined) staged.push(record);
  }
  return staged;
}
