import type { TrellisError } from "../errors.js";

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
  /** Why the run failed, was cancelled or rejected. */
  readonly error: TrellisError | undefined;
}
