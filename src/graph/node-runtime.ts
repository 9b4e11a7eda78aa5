import type { Clock } from "../clock.js";
import type { TrellisError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ModelClient, ModelRequest, ModelResponse } from "../models/model-client.js";
import type { CompiledGraph } from "./compiled-graph.js";
import type { ConflictPolicy } from "./merge-branches.js";
import type { DeltaOp, StateDefinition } from "./state.js";

/** Attribute values a pattern node may put on its spans. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | string[]>>;

/** What a pattern node records about its execution, kept in the checkpoint written after it. */
export interface NodeNotes {
  /** A dynamic node: the option that ran. */
  readonly selected?: string | undefined;
  /** A dynamic node that fell back: what `select` asked for. */
  readonly requested?: string | undefined;
  /** A parallel group under `errors: "collect"`: the branches that failed. */
  readonly failures?:
    | {
        branch: string;
        error: { message: string; code?: string | undefined; name?: string | undefined };
      }[]
    | undefined;
  /** A parallel group: merge conflicts its policy resolved. */
  readonly conflicts?:
    | { path: string; branches: string[]; values: unknown[]; base: unknown }[]
    | undefined;
  /** A parallel group: what each branch's own pattern node recorded. */
  readonly branches?: Record<string, NodeNotes> | undefined;
}

/** How the run of a nested graph ended, when it ended. */
export type ChildResult<C> =
  | { readonly status: "completed"; readonly state: C }
  | {
      readonly status: "failed" | "cancelled" | "rejected";
      readonly error: TrellisError;
    }
  | {
      /**
       * The child stopped without ending: it paused, or a human asked for something only the
       * parent can do (go back to one of the parent's nodes). Return `stop` from the node: the
       * engine carries it out, and a later resume continues the child where it stopped.
       */
      readonly status: "stopped";
      readonly stop: NodeStop;
    };

/**
 * Returned by a node whose work stopped before it finished (a nested graph that paused): the
 * node did not complete, and the run carries out what the stop says. Only the engine makes
 * these; a node passes them on.
 */
export class NodeStop {
  /** @internal What the run does instead of taking the node's result. */
  readonly reason: unknown;
  /** @internal */
  constructor(reason: unknown) {
    this.reason = reason;
  }
}

/**
 * What the engine gives to pattern nodes (nested graphs, parallel groups, dynamic nodes) as the
 * third argument of `NodeDefinition.run`. Plain node functions ignore it.
 */
export interface NodeRuntime {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The running graph's state schema and reducers. */
  readonly state: StateDefinition<Record<string, unknown>>;
  /** The graph's policy for conflicting overwrites when branches merge. */
  readonly conflicts: ConflictPolicy;
  /**
   * Everything this node saved with `saveProgress` in the run this one continues, oldest
   * first; empty when the node starts afresh. Save increments (a finished branch), not totals.
   */
  readonly progress: readonly unknown[];
  /** Writes a checkpoint recording the node's partial progress (e.g. a finished branch). */
  saveProgress(data: unknown): Promise<void>;
  /** Records notes about this execution in the checkpoint written after the node. */
  note(notes: NodeNotes): void;
  /** Adds an event to the node's span (only when tracing records). */
  event(name: string, attributes: () => SpanAttributes): void;
  /** Sets attributes on the node's span (only when tracing records). */
  attributes(attributes: () => SpanAttributes): void;
  /** Calls a model in a `chat {model}` span under the node's span, with the agent's telemetry settings. */
  generate(model: ModelClient, request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse>;
  /** Starts one branch of a parallel group: its span, progress and notes. */
  branch(name: string, attributes: () => SpanAttributes): BranchRuntime;
  /**
   * Runs a compiled graph as this node's child, in its own checkpoint thread: from `input()`,
   * or, when the run this one continues stopped inside the child, from the child's checkpoint.
   */
  runChild<C extends Record<string, unknown>>(
    graph: CompiledGraph<C>,
    input: () => unknown,
    signal?: AbortSignal,
  ): Promise<ChildResult<C>>;
}

/** The runtime of one parallel branch: a node runtime scoped to the branch, and its span. */
export interface BranchRuntime extends NodeRuntime {
  /** Runs `fn` with the branch's span active. */
  runInSpan<T>(fn: () => T): T;
  /** Ends the branch's span (the branch finished or was stopped). */
  end(attributes?: SpanAttributes): void;
  /** Ends the branch's span as failed. */
  endWithError(error: unknown, attributes?: SpanAttributes): void;
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
