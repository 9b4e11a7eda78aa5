/**
 * What a run is given and what a nested run hands back: `RunSetup` (built by `createRun()`)
 * and `RunStopReason` (why a nested run stopped without ending).
 */
import type { Clock } from "../clock.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { Settled } from "../interrupts/settlement.js";
import type { Logger } from "../logger.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta, GateMeta, PauseMeta } from "../store/checkpoint-meta.js";
import type { Store } from "../store/store.js";
import type { Checkpointer, Durability } from "./checkpointer.js";
import type { Directive } from "./directive.js";
import type { NodeRuntimeFactory } from "./node-runtime-factory.js";
import type { RunPlan } from "./planner.js";
import type { ControlHost, RunControl } from "./run-control.js";
import type { EventSink, RunHooks } from "./run-hooks.js";
import type { RunTracing } from "./run-tracing.js";
import type { SessionControl } from "./session-control.js";

/** What a run starts from. Built by `createRun()`. */
export interface RunSetup<S extends Record<string, unknown>> {
  readonly graph: CompiledGraph<S>;
  readonly sessionId: string;
  /** The checkpoint thread: `""` for the session's own run, the nested node's path for a child. */
  readonly thread: string;
  /** Prefix of this run's node paths: `""`, or `"review/"` inside nested node `review`. */
  readonly prefix: string;
  readonly runId: string;
  readonly plan: RunPlan<S>;
  /** The checkpoint this run continues (`null` for a fresh run). */
  readonly resumedFrom: string | null;
  readonly checkpointer: Checkpointer;
  readonly store: Store;
  readonly durability: Durability;
  readonly maxIterations: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hooks: RunHooks<S>;
  readonly sink: EventSink | undefined;
  readonly signal: AbortSignal | undefined;
  /** Progress a pattern node saved before the run stopped in it. */
  readonly progress: { readonly node: string; readonly data: readonly unknown[] } | undefined;
  readonly tracing: RunTracing;
  /** Connects the run to its session's queue, when the agent has one. */
  readonly control: ((host: ControlHost) => RunControl) | undefined;
  /** The session control of the session's own run: it settles cancels when the run ends. */
  readonly session: SessionControl | undefined;
  /**
   * `meta.cancelledAtSeq` as the session's checkpoints carried it when the run started
   * (`carriedCancelSeq()`), which its final checkpoint carries on. Read whether or not the agent
   * has an `InterruptService`: a run without one must not drop it, or a stale cancel still
   * queued would cancel the next run that has one. `undefined` for nested runs (only the
   * session's own thread carries it).
   */
  readonly cancelledAtSeq: number | undefined;
  /** What the run's first write records: `run.started` / `run.resumed` / `run.forked`. */
  readonly begin: {
    readonly audit: readonly AuditEntryInput[];
    /** Write a checkpoint of the input state first (fresh runs and forks). */
    readonly checkpoint: boolean;
    readonly meta: Omit<CheckpointMeta, "v" | "path">;
  };
  /** Builds the runtime pattern nodes receive (nested runs, branches). */
  readonly runtimes: NodeRuntimeFactory;
  /** A nested run: whether its parent can go back to `target` (then the child hands it up). */
  readonly parentHas?: ((target: string | number) => boolean) | undefined;
}

/** What a nested run hands to its parent when it stops without ending. */
export type RunStopReason =
  | {
      readonly kind: "suspend";
      readonly pause: PauseMeta | undefined;
      readonly gate: GateMeta | undefined;
    }
  | {
      readonly kind: "escalate";
      readonly directive: Directive;
      readonly settled: Settled | undefined;
      readonly audit: readonly AuditEntryInput[];
    };
