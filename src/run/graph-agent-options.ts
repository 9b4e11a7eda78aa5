/**
 * The options of `GraphAgent`: of the agent itself, of one `run()` / `stream()`, of `resume()`
 * and of `fork()`, and the check of the agent's integer limits.
 */
import type { TracerProvider } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { InterruptConfig } from "../interrupts/interrupt-config.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import type { Durability } from "./checkpointer.js";
import type { RunHooks } from "./run-hooks.js";

/** Options of `new GraphAgent()`. */
export interface GraphAgentOptions<S extends Record<string, unknown>> {
  /** The compiled graph to run. */
  readonly graph: CompiledGraph<S>;
  /** The agent's name (`gen_ai.workflow.name`). Default: the graph's name. */
  readonly name?: string;
  /** Where checkpoints, interrupt queues and the audit trail live. Default: a new `MemoryStore`. */
  readonly store?: Store;
  /** When checkpoints are written: `"step"` (default), `"exit"` or `"off"`. */
  readonly durability?: Durability;
  /** Node executions allowed per run before it fails with `MaxIterationsError`. Default 1,000. */
  readonly maxIterations?: number;
  /**
   * How long a run's hold on its session lasts without renewal, in milliseconds. A run renews
   * it while it goes on; a session whose run died is taken over once it runs out. Default 30 s.
   */
  readonly leaseTtlMs?: number;
  /** Callbacks before and after each node and on each edge decision. */
  readonly hooks?: RunHooks<S>;
  /** Time source for timeouts, retries, leases and event times. Default: the system clock. */
  readonly clock?: Clock;
  /** Where warnings go. Default: the console, warnings and errors only. */
  readonly logger?: Logger;
  /**
   * The interrupt queue runs of this agent listen to. Use the same `store` for both so a
   * suspended run can be resumed by any process.
   */
  readonly interrupts?: InterruptService;
  /** Where and how runs listen to the queue, approval gates, and the free-text reasoner. */
  readonly interruptConfig?: InterruptConfig;
  /**
   * Span settings. Spans go to whatever OpenTelemetry SDK is registered (`setupTelemetry()`
   * or your own); with none, they cost next to nothing. `false` turns spans off entirely.
   */
  readonly telemetry?:
    | false
    | {
        /** Put states, updates and interrupt text on spans. Default `false`. */
        readonly recordContent?: boolean;
        /** Use this provider instead of the global one. */
        readonly tracerProvider?: TracerProvider;
      };
}

/** Options of one `run()`. */
export interface RunOptions {
  /** The session (conversation) this run belongs to. Default: a new random id. */
  readonly sessionId?: string;
  /** Aborts the in-flight node at once; the run ends `cancelled` with its last checkpoint kept. */
  readonly signal?: AbortSignal;
  /**
   * Start a new run even though the session's last run did not finish (it is paused, waits at a
   * gate, or stopped in a crash). Default `false`: such a session is refused with
   * `SessionNotFinishedError`.
   */
  readonly startOver?: boolean;
}

/** What `stream()` yields: every event, only state updates, or only the final event. */
export type StreamMode = "events" | "updates" | "final";

/** Options of `resume()`. */
export interface ResumeOptions {
  /** Continue from this checkpoint instead of the session's latest. */
  readonly checkpointId?: string;
  readonly signal?: AbortSignal;
}

/** Options of `fork()`. */
export interface ForkOptions<S> {
  /** Changes applied (through the reducers) to the checkpoint's state before running on. */
  readonly update?: Partial<S>;
  /** Run the fork in another session; default the same session (a new branch of its history). */
  readonly toSessionId?: string;
  readonly signal?: AbortSignal;
  /** Who forks, for the audit trail. */
  readonly actor?: string;
}

/** `value`, an integer from 1 and up, or `fallback` when it is not given. */
export function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(name, "an integer from 1 and up", value);
  }
  return value;
}
