import type { Logger } from "../logger.js";
import type { Command } from "./command.js";
import type { CompiledGraph } from "./compiled-graph.js";
import type { MergedUpdate, NodeRuntime, NodeStop } from "./node-runtime.js";

/**
 * What a node re-run for `request_changes` receives: which round this is, the feedback, and
 * every earlier round of the gate (what the node produced and the feedback it got), so it can
 * revise its last output instead of starting over.
 */
export interface RevisionContext {
  /** 1 for the first revision, 2 for the next, … */
  readonly number: number;
  /** The approval request the feedback answered. */
  readonly requestId: string;
  /** The feedback of this round (also in `ctx.feedback`). */
  readonly feedback: string;
  /** Every earlier round, oldest first: `output` is what the node returned then. */
  readonly history: readonly {
    readonly revision: number;
    readonly output: unknown;
    readonly feedback: string;
  }[];
}

/**
 * What every node receives besides the state. Explicit and typed: no string-keyed bags.
 */
export interface NodeContext {
  /** Aborts when the run is cancelled, the node times out, or (in a parallel group) its branch loses. */
  readonly signal: AbortSignal;
  /** The session this run belongs to. */
  readonly sessionId: string;
  /** This run's id. */
  readonly runId: string;
  /** This node's path: its name, or inside a nested graph the nested node's path and its name (`review/check`). */
  readonly node: string;
  /** How many node executions this run has started, this one included (1-based). */
  readonly iteration: number;
  /** Which attempt this is under the node's retry policy (1-based). */
  readonly attempt: number;
  /** Human guidance when the node is re-run (`rerun`, `request_changes`); otherwise `undefined`. */
  readonly feedback: string | undefined;
  /** When the node re-runs for `request_changes` at its approval gate: the revision context. */
  readonly revision: RevisionContext | undefined;
  /** In a `DynamicParallelGroup` branch, the list item this branch works on. */
  readonly item: unknown;
  /** Emits a custom event (`type: "custom"`) to `stream()` and `on("custom")` listeners. */
  emit(name: string, data?: unknown): void;
  /** The agent's logger. */
  readonly logger: Logger;
  /**
   * A key for this node step's side effects (a payment, an email, a row): the same when the step
   * runs again after a crash or a retry (it is derived from the session, the checkpoint the step
   * starts from, how many nodes ran before it, and the node's path), and different for any other
   * step, including the same node reached again in a cycle. Pass it to the external service (an
   * `Idempotency-Key` header, a unique column) so a step that ran twice has its effect once.
   * Stable across re-runs when checkpoints are written after every step (`durability: "step"`,
   * the default). A 32-character hex string.
   */
  readonly idempotencyKey: string;
}

/** What a node may return: a partial update, a `Command`, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a node may simply not return.
export type NodeResult<S> = Partial<S> | Command<S> | undefined | void;

/** A node: a sync or async function of the state and its context. It must not mutate `state`. */
export type NodeFn<S> = (
  state: Readonly<S>,
  ctx: NodeContext,
) => NodeResult<S> | Promise<NodeResult<S>>;

/** When and how a failing node is tried again. */
export interface RetryPolicy {
  /** Total attempts, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** Delay before the second attempt, in ms. Default 100. */
  readonly initialDelayMs?: number;
  /** Each further delay is the previous one times this (1 or more). Default 2. */
  readonly backoffFactor?: number;
  /**
   * Upper bound of one delay, in ms. Default 10,000. Whatever the backoff and jitter give, a
   * delay never exceeds the longest timeout a clock sleeps (`MAX_TIMEOUT_MS`, 366 days); waits
   * longer than one timer takes (about 24.8 days) are chained timers, as every other wait.
   */
  readonly maxDelayMs?: number;
  /** Randomise each delay by up to this fraction (0–1). Default 0.1. */
  readonly jitter?: number;
  /** Which errors are retried. Default: every error except timeouts and cancellation. */
  readonly retryOn?: (error: unknown) => boolean;
}

/** Options of one node. */
export interface NodeOptions {
  /** Retry the node when it throws. */
  readonly retry?: RetryPolicy;
  /** Abort the node (through `ctx.signal`) and fail it with `NodeTimeoutError` after this many ms. */
  readonly timeoutMs?: number;
  /** The run may end after this node even though it has no edge to END. */
  readonly finish?: boolean;
  /** Shown in `toMermaid()` and docs. */
  readonly description?: string;
}

/** What kind of node this is; decides the span name and how it is executed. */
export type NodeKind = "function" | "agent" | "dynamic" | "nested" | "parallel";

/**
 * A node with more than a function: its kind and what telemetry should say about it.
 * `addNode` accepts either a plain `NodeFn` or one of these (e.g. from `agentNode()`).
 */
export interface NodeDefinition<S> {
  readonly kind: NodeKind;
  /** Runs the node. Pattern nodes also receive the engine's `NodeRuntime`. */
  readonly run: (
    state: Readonly<S>,
    ctx: NodeContext,
    runtime: NodeRuntime,
  ) =>
    | NodeResult<S>
    | MergedUpdate<S>
    | NodeStop
    | Promise<NodeResult<S> | MergedUpdate<S> | NodeStop>;
  /** For `agent` nodes: the agent's name (`gen_ai.agent.name`). */
  readonly agentName?: string;
  /** For `agent` nodes: the model that answers (`gen_ai.provider.name`, `gen_ai.request.model`). */
  readonly model?: { readonly provider: string; readonly name: string };
  /** For `nested` nodes: the graph it runs, so interrupt settings can name its nodes by path. */
  readonly graph?: CompiledGraph<Record<string, unknown>>;
}
