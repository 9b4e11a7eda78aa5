import type { TrellisError } from "../errors.js";
import type { GateMeta } from "../store/checkpoint-meta.js";

/** How a run ended. */
export type RunStatus = "completed" | "failed" | "cancelled" | "paused" | "rejected";

/** What `agent.run()` and `agent.resume()` return. Outcomes are data, never thrown. */
export interface RunResult<S> {
  readonly status: RunStatus;
  readonly sessionId: string;
  readonly runId: string;
  /** The state at the end (for `failed` and `cancelled`, as of the last checkpoint). */
  readonly state: S;
  /** Nodes executed in this lineage, oldest first (a resumed run includes the steps before it). */
  readonly path: readonly string[];
  /** Node executions in this run. */
  readonly iterations: number;
  /** The last checkpoint written, if any. */
  readonly checkpointId: string | null;
  /**
   * Why the run failed, was cancelled or rejected. A run whose final checkpoint could not be
   * written ends `failed` with the write's error (`STORE_UNAVAILABLE`, `CHECKPOINT_WRITE`, …)
   * whatever it reached, and has no `gate`: the store holds the checkpoint before, which a resume
   * continues.
   */
  readonly error: TrellisError | undefined;
  /**
   * The approval request the run waits for, when it ended `paused` (or `cancelled`) at a gate:
   * send a decision (optionally naming `gate.requestId`) and `resume()`.
   */
  readonly gate?: GateMeta;
}
