import {
  SessionBusyError,
  SessionEndedError,
  SessionNotFinishedError,
  type TrellisError,
} from "../errors.js";
import type { AnyAgent } from "../run/define-agents.js";
import type { RunResult } from "../run/run-result.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { SessionSummary } from "../store/session-store.js";
import type { Store } from "../store/store.js";
import type { ClaimedJob } from "./job.js";

/** Codes of run failures that a passing store fault causes: the session is tried again. */
const PASSING = new Set(["STORE_UNAVAILABLE", "CHECKPOINT_WRITE", "LEASE_LOST", "INTERNAL"]);

/** What became of one job. */
export type JobResult =
  /** A run ended; `takeover` when it continued a session whose run had died. */
  | {
      readonly kind: "ran";
      readonly status: RunResult<unknown>["status"];
      readonly runId: string;
      readonly takeover: boolean;
      /** The run failed for a passing store fault: send the session back. */
      readonly passing: TrellisError | undefined;
    }
  /** Nothing to do: the session already ended, or this job's run already happened. */
  | { readonly kind: "skipped"; readonly reason: string }
  /** Another process holds the session's lease: try again later. */
  | { readonly kind: "busy"; readonly owner: string | undefined };

/**
 * Carries out one claimed job with the worker's agents. A start job that the queue hands out
 * again (its worker died) does not start a second run: it continues the first one, or finds it
 * done. The session's lease decides who runs it: a job for a session another process holds
 * comes back `busy`, and runs nothing.
 */
export async function runJob(job: ClaimedJob, agent: AnyAgent, store: Store): Promise<JobResult> {
  const { data } = job;
  try {
    if (data.kind === "start") {
      const summary = await store.sessions.get(data.sessionId);
      // Written since this job was queued: this job's own run, started by a worker that died.
      const ours =
        summary !== undefined && (job.retryCount > 0 || summary.updatedAt >= job.createdAt);
      if (summary === undefined || !ours) {
        return ran(await agent.run(data.input, { sessionId: data.sessionId }), false);
      }
      if (!(await unfinishedRun(store, summary))) {
        return { kind: "skipped", reason: `the run this job started ended ${summary.status}` };
      }
      return ran(await agent.resume(data.sessionId), summary.status === "running");
    }
    const before = data.kind === "retry" ? await store.sessions.get(data.sessionId) : undefined;
    if (
      data.kind === "retry" &&
      before !== undefined &&
      (await endedAfterAll(store, before, data.run))
    ) {
      // Resuming would continue what that end stopped: go past a pause, or reopen a gate.
      return { kind: "skipped", reason: `the run to retry ended ${before.status} after all` };
    }
    const result = await agent.resume(data.sessionId);
    return ran(result, data.kind === "retry" && before?.status === "running");
  } catch (error) {
    if (error instanceof SessionBusyError) return { kind: "busy", owner: error.owner };
    if (error instanceof SessionEndedError) {
      return { kind: "skipped", reason: `the session ended ${error.status}` };
    }
    if (error instanceof SessionNotFinishedError) {
      return { kind: "skipped", reason: error.message };
    }
    throw error;
  }
}

function ran(result: RunResult<unknown>, takeover: boolean): JobResult {
  const error = result.error;
  const passing =
    result.status === "failed" && error !== undefined && isPassing(error) ? error : undefined;
  return { kind: "ran", status: result.status, runId: result.runId, takeover, passing };
}

/** Whether a run's failure came from the store going away rather than from the graph. */
function isPassing(error: { readonly code: string; readonly message: string }): boolean {
  if (!PASSING.has(error.code)) return false;
  if (error.code !== "INTERNAL") return true;
  // An unexpected error is passing only when it is the driver's lost connection.
  const cause = (error as { cause?: unknown }).cause;
  const message = cause instanceof Error ? cause.message : String(cause ?? error.message);
  return /connection|terminat|ECONNRE|socket/i.test(message);
}

/**
 * Whether the run a store fault failed (`run`, named by its retry) ended after all: its final
 * checkpoint reached the store and only the answer was lost. A resumed run whose first write
 * failed leaves the session as it was (paused, say, by an earlier run): that one is continued.
 */
async function endedAfterAll(
  store: Store,
  summary: SessionSummary,
  run: string | undefined,
): Promise<boolean> {
  if (run === undefined || summary.status === "running") return false;
  const latest = await store.checkpoints.latest(summary.sessionId, "");
  if (latest?.runId !== run) return false;
  // A failure that same store fault wrote is no end: the run is continued.
  return !(summary.status === "failed" && recordsPassingFault(latest));
}

/** Whether the session's last run stopped without ending, or failed for a passing store fault. */
async function unfinishedRun(store: Store, summary: SessionSummary): Promise<boolean> {
  if (summary.status === "running") return true;
  return summary.status === "failed" && (await failedByStore(store, summary.sessionId));
}

/** Whether the session's latest checkpoint records a failure a passing store fault caused. */
export async function failedByStore(store: Store, sessionId: string): Promise<boolean> {
  return recordsPassingFault(await store.checkpoints.latest(sessionId, ""));
}

/** Whether `record` is the end of a run a passing store fault failed. */
function recordsPassingFault(record: StoredRecord | undefined): boolean {
  if (record === undefined || record.kind === "unparsable") return false;
  const outcome = record.meta.outcome;
  return outcome?.status === "failed" && isPassing(outcome.error);
}
