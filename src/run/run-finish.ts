/**
 * The end of a run: settles cancels that arrived while it ended, writes the final checkpoint
 * (with the outcome, the trace context and every deferred settlement and audit entry), and
 * assembles the `RunResult`. A run whose final write failed ends `failed` with the write's error,
 * whatever it reached: the store still holds the checkpoint before, so a resume ends it again.
 */
import { TrellisError } from "../errors.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { CheckpointStatus } from "../store/checkpoint-store.js";
import type { Outcome } from "./planner.js";
import { finalMeta, finishedAudit, keepsStepKeys } from "./run-outcome.js";
import type { RunResult, RunStatus } from "./run-result.js";
import type { DeferredEnd, RunShell } from "./run-shell.js";

/** Ends the run `run` stands for; `cancelled` gives the outcome of its cancel. */
export async function finishRun<S extends Record<string, unknown>>(
  run: RunShell<S>,
  end: { readonly deferred: DeferredEnd; readonly cancelled: () => Outcome },
): Promise<RunResult<S>> {
  const s = run.setup;
  let outcome = run.plan.outcome ?? { status: "completed" as const };
  // Cancels that arrived while the run ended: a pause becomes a cancel; an ending stays.
  if (s.session !== undefined) await s.session.ending(outcome.status);
  if (outcome.status === "paused" && s.session?.hasArrivedCancel) {
    outcome = end.cancelled();
  }
  const status: RunStatus = outcome.status;
  const reached = "error" in outcome ? outcome.error : undefined;
  let unwritten: TrellisError | undefined;
  const where = { runId: s.runId, iteration: run.plan.iteration };
  try {
    const settledAtEnd = (await s.session?.finish(status, where)) ?? [];
    // Only the session's own run is a session event; nested runs end inside its node.
    const finished: AuditEntryInput[] =
      s.thread !== ""
        ? []
        : [
            finishedAudit(
              {
                sessionId: s.sessionId,
                runId: s.runId,
                at: s.clock.now(),
                iteration: run.plan.iteration,
              },
              status,
              reached,
            ),
          ];
    await run.checkpoint(
      {
        node: null,
        next: status === "completed" ? [] : run.plan.frontier,
        status: status as CheckpointStatus,
        delta: [],
        meta: run.meta({
          ...finalMeta(outcome),
          ...cancelledAt(await cancelledQueueSeq(run, status), s.cancelledAtSeq),
          ...traceMeta(s.tracing.traceparent()),
        }),
        keepsKeyBase: keepsStepKeys(outcome),
      },
      {
        settled: [...end.deferred.settled, ...settledAtEnd],
        audit: [...end.deferred.audit, ...finished],
      },
      true,
    );
    for (const announce of end.deferred.announce) announce();
    if (s.session !== undefined) {
      const late = await s.session.finished(status, where);
      if (late.length > 0) await run.record(late, []);
    }
  } catch (writeError) {
    // Nothing of this end is stored: not its status, its gate or pause, nor the messages it
    // settled (they stay queued and their receipts pending). Reporting what the run reached
    // would say a gate is open, or a cancel applied, that no other process can see.
    s.logger.error("Could not write the final checkpoint", {
      error: String(writeError),
      reached: status,
      ...(reached === undefined ? {} : { reachedError: reached.message }),
    });
    unwritten =
      writeError instanceof TrellisError
        ? writeError
        : new TrellisError("CHECKPOINT_WRITE", String(writeError), { cause: writeError });
  }
  const written = unwritten === undefined;
  const error = unwritten ?? reached;
  if (outcome.status === "paused" && s.thread !== "" && written) {
    run.stop ??= { kind: "suspend", pause: outcome.pause, gate: run.plan.gate };
  }
  const plan = run.plan;
  const result: RunResult<S> = {
    status: written ? status : "failed",
    sessionId: s.sessionId,
    runId: s.runId,
    state: plan.state,
    path: plan.path.toArray(),
    iterations: plan.iteration,
    checkpointId: s.checkpointer.lastId,
    error,
    ...(plan.gate === undefined || !written ? {} : { gate: plan.gate }),
  };
  s.tracing.finish(result.status, error, result.path.length, result.state);
  run.emit("run:finished", {
    status: result.status,
    path: result.path,
    error,
    state: result.state,
  });
  return result;
}

/**
 * For a session's own run that ends `cancelled`: the last `seq` of its interrupt queue, read
 * after the cancels that arrived were taken and before the final checkpoint is written. A
 * message queued while that checkpoint is written gets a higher `seq` and so counts as sent
 * after the cancel: a later run obeys it. `undefined` when the queue cannot be read (the rule
 * is then not applied), or for other ends.
 */
async function cancelledQueueSeq<S extends Record<string, unknown>>(
  run: RunShell<S>,
  status: RunStatus,
): Promise<number | undefined> {
  const s = run.setup;
  if (status !== "cancelled" || s.thread !== "" || !s.checkpointer.enabled) return undefined;
  try {
    return (await s.store.interrupts.stats(s.sessionId)).lastSeq;
  } catch (error) {
    s.logger.warn("Could not read the interrupt queue at the end of a cancelled run", {
      error: String(error),
    });
    return undefined;
  }
}

/**
 * `meta.cancelledAtSeq` of the final checkpoint: this run's, when it was cancelled, else the one
 * it inherited from the session's last cancelled run, so a stale cancel stays refused however
 * many runs end (paused, failed, waiting) before one claims it. Sequence numbers only grow, so
 * the larger of the two covers both.
 */
function cancelledAt(
  own: number | undefined,
  inherited: number | undefined,
): Pick<CheckpointMeta, "cancelledAtSeq"> {
  const seq = own === undefined ? inherited : Math.max(own, inherited ?? own);
  return seq === undefined ? {} : { cancelledAtSeq: seq };
}

/** The root span, so a run that continues this one can link to it. */
function traceMeta(traceparent: string | undefined): { traceparent?: string } {
  return traceparent === undefined ? {} : { traceparent };
}
