import type { AnyAgent } from "../run/define-agents.js";
import type { RunResult } from "../run/run-result.js";
import { type CliIO, EXIT } from "./command.js";
import { cancelOnInterrupt } from "./interrupt-signal.js";
import { type ContinueHint, reportOutcome } from "./report-outcome.js";
import { waitForLease } from "./wait-for-lease.js";
import { watchRun } from "./watch-run.js";

/**
 * Runs `start` on a session another process may hold, as `resume` and `fork` do: prints its
 * events as they happen, waits up to `maxWaitMs` for the session's lease, cancels on Ctrl-C,
 * and reports the outcome. Returns the exit code.
 */
export async function leasedRun(
  io: CliIO,
  options: {
    readonly agent: AnyAgent;
    readonly sessionId: string;
    readonly json: boolean;
    readonly maxWaitMs: number;
    readonly hint: ContinueHint;
  },
  start: (signal: AbortSignal) => Promise<RunResult<unknown>>,
): Promise<number> {
  const { agent, sessionId, json, maxWaitMs } = options;
  const interrupt = cancelOnInterrupt(io);
  const stop = watchRun(agent, sessionId, io, json);
  try {
    const result = await waitForLease(sessionId, () => start(interrupt.signal), io, {
      maxWaitMs,
      signal: interrupt.signal,
    });
    return reportOutcome(result, io, { json, hint: options.hint });
  } catch (error) {
    // Ctrl-C while waiting for another process's lease: nothing ran.
    if (interrupt.signal.aborted && !(error instanceof Error)) return EXIT.cancelled;
    throw error;
  } finally {
    stop();
    interrupt.stop();
  }
}
