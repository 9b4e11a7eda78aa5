import type { Context } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { Durability } from "../run/checkpointer.js";
import type { GraphEvent } from "../run/events.js";
import type { Store } from "../store/store.js";
import type { TrellisTracer } from "../telemetry/tracing.js";
import type { ConflictPolicy } from "./merge-branches.js";
import type { DeltaOp, StateDefinition } from "./state.js";

/**
 * What the engine gives to pattern nodes (`NestedGraphNode`, `ParallelGroup`, `DynamicNode`)
 * as the third argument of `NodeDefinition.run`. Plain node functions ignore it.
 */
export interface NodeRuntime {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The checkpoint thread of the running graph: the session id, or `session/node` when nested. */
  readonly threadId: string;
  /** The running graph's name, or its nesting path (`parent/child`). */
  readonly graphPath: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly durability: Durability;
  readonly maxIterations: number;
  /** The running graph's state schema and reducers. */
  readonly state: StateDefinition<Record<string, unknown>>;
  /** Receives events (already filtered to listeners); `undefined` when nobody listens. */
  readonly sink: ((event: GraphEvent) => void) | undefined;
  /** Starts spans (branches, model calls) with the agent's telemetry settings. */
  readonly tracer: TrellisTracer;
  /** The context of this node's span: the parent of spans the node starts. */
  readonly traceContext: Context;
  /** The graph's policy for conflicting overwrites when branches merge. */
  readonly conflicts: ConflictPolicy;
  /**
   * Everything this node saved with `saveProgress` in the run this one continues, oldest
   * first; empty when the node starts afresh. Save increments (a finished branch), not totals.
   */
  readonly progress: readonly unknown[];
  /** Writes a checkpoint recording the node's partial progress (e.g. finished branches). */
  saveProgress(data: unknown): Promise<void>;
  /** Adds data to the meta of the checkpoint written after this node (e.g. a DynamicNode's choice). */
  annotate(data: Record<string, unknown>): void;
}

/**
 * Returned by pattern nodes whose result is already a whole merged state (a parallel group's
 * join): the engine takes `state` as is instead of applying it through the reducers again.
 */
export class MergedUpdate<S = Record<string, unknown>> {
  readonly state: S;
  readonly delta: readonly DeltaOp[];
  readonly goto: readonly string[] | undefined;
  constructor(state: S, delta: readonly DeltaOp[], goto?: readonly string[]) {
    this.state = state;
    this.delta = delta;
    this.goto = goto;
  }
}
