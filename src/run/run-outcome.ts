/**
 * A run's outcome as data: how an abort reason or a thrown error becomes an `Outcome`, and
 * what the final checkpoint (its meta) and the audit trail (`run.finished`) say of it.
 */
import {
  isStoreFault,
  NodeExecutionError,
  NodeTimeoutError,
  RunCancelledError,
  serializeError,
  someCause,
  TrellisError,
} from "../errors.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { Outcome } from "./planner.js";
import type { RunStatus } from "./run-result.js";

/** The outcome of a run stopped with `reason`. */
export function cancelledOutcome(reason: unknown): Outcome {
  // A run stopped by the engine itself (its lease was lost) failed; a person cancelled it.
  if (reason instanceof TrellisError && !(reason instanceof RunCancelledError)) {
    return { status: "failed", error: reason };
  }
  return {
    status: "cancelled",
    error: reason instanceof RunCancelledError ? reason : new RunCancelledError(reason),
  };
}

/** The outcome of a run that threw `error` (and was not cancelled). */
export function failedOutcome(error: unknown): Outcome {
  if (error instanceof TrellisError) return { status: "failed", error };
  return {
    status: "failed",
    error: new TrellisError("INTERNAL", `Unexpected error: ${String(error)}`, { cause: error }),
  };
}

/**
 * Whether a run that continues after `outcome` runs its steps under the idempotency keys they
 * had: yes, unless a node's own work failed (it threw after its retries, or ran past its
 * `timeoutMs`). Resuming that gives the node a fresh attempt, which an outside system that
 * kept the failure under the old key would refuse. A cancel, a pause, a lost lease or a store
 * that went away interrupted the step: it is the same step when it runs again.
 */
export function keepsStepKeys(outcome: Outcome): boolean {
  if (outcome.status !== "failed") return true;
  const error = outcome.error;
  if (!(error instanceof NodeExecutionError) && !(error instanceof NodeTimeoutError)) return true;
  return someCause(
    error.cause,
    (cause) => isStoreFault(cause) || cause instanceof RunCancelledError,
  );
}

/** What the final checkpoint's meta records of `outcome`. */
export function finalMeta(outcome: Outcome): Omit<CheckpointMeta, "v" | "path"> {
  switch (outcome.status) {
    case "completed":
      return {};
    case "paused":
      return outcome.pause === undefined ? {} : { pause: outcome.pause };
    case "cancelled":
      return { outcome: { status: "cancelled", reason: outcome.error.message } };
    case "rejected":
      return {
        outcome: {
          status: "rejected",
          node: outcome.node,
          ...(outcome.requestId === undefined ? {} : { requestId: outcome.requestId }),
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        },
      };
    case "failed":
      return { outcome: { status: "failed", error: serializeError(outcome.error) } };
  }
}

/** The `run.finished` audit entry of a session's own run. */
export function finishedAudit(
  where: {
    readonly sessionId: string;
    readonly runId: string;
    readonly at: number;
    readonly iteration: number;
  },
  status: RunStatus,
  error: TrellisError | undefined,
): AuditEntryInput {
  return {
    sessionId: where.sessionId,
    runId: where.runId,
    at: where.at,
    kind: "run.finished",
    iteration: where.iteration,
    data: {
      status,
      ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
    },
  };
}
