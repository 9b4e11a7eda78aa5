import type { Clock } from "../clock.js";
import { HookError, MaxIterationsError, RunCancelledError, TrellisError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { CheckpointStatus } from "../store/checkpoint-store.js";
import type { Checkpointer } from "./checkpointer.js";
import { isCommand } from "./command.js";
import type { CompiledGraph } from "./compiled-graph.js";
import type { EventBase, GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import { executeNode } from "./execute-node.js";
import type { NodeContext, NodeResult } from "./node.js";
import type { RouteDecision } from "./route.js";
import type { RunResult, RunStatus } from "./run-result.js";
import type { DeltaOp } from "./state.js";

/** Callbacks around each node and edge decision. A hook that throws fails the run. */
export interface RunHooks<S> {
  /** Before a node runs. */
  readonly beforeNode?: (info: {
    readonly node: string;
    readonly state: Readonly<S>;
    readonly iteration: number;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
  /** After a node's update was applied. */
  readonly afterNode?: (info: {
    readonly node: string;
    readonly state: Readonly<S>;
    readonly update: Readonly<Partial<S>> | undefined;
    readonly iteration: number;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
  /** After the next node(s) were chosen. */
  readonly onEdge?: (info: {
    readonly from: string;
    readonly to: readonly string[];
    readonly reason: RouteDecision["reason"];
    readonly label: string | undefined;
    readonly sessionId: string;
    readonly runId: string;
  }) => void | Promise<void>;
}

/** Receives a run's events; `undefined` when nobody listens, so no event is built. */
export type EventSink = (event: GraphEvent) => void;

/** What a run starts from. */
export interface RunSetup<S extends Record<string, unknown>> {
  readonly graph: CompiledGraph<S>;
  /** The graph's name in events, or the nesting path for nested graphs. */
  readonly graphPath: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly state: S;
  readonly path: readonly string[];
  readonly frontier: readonly string[];
  /** The checkpoint this run continues (`null` for a fresh run). */
  readonly resumedFrom: string | null;
  readonly checkpointer: Checkpointer<S>;
  readonly maxIterations: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hooks: RunHooks<S>;
  readonly sink: EventSink | undefined;
  readonly signal: AbortSignal | undefined;
  /** Guidance for the first node this run executes (`rerun`, `request_changes`). */
  readonly feedback?: ReadonlyMap<string, string>;
}

type Outcome = {
  readonly status: Exclude<RunStatus, "completed">;
  readonly error: TrellisError | undefined;
};

/**
 * One run of a compiled graph: the only place that holds mutable run state. Planning the
 * next step (`graph.next`) and applying updates (`state.apply`) are pure; this class
 * sequences them, executes nodes, emits events and writes checkpoints.
 */
export class Run<S extends Record<string, unknown>> {
  readonly #setup: RunSetup<S>;
  readonly #abort = new AbortController();
  #state: S;
  readonly #path: string[];
  #frontier: readonly string[];
  #iteration = 0;
  #feedback: Map<string, string>;

  constructor(setup: RunSetup<S>) {
    this.#setup = setup;
    this.#state = Object.freeze({ ...setup.state }) as S;
    this.#path = [...setup.path];
    this.#frontier = setup.frontier;
    this.#feedback = new Map(setup.feedback);
    const user = setup.signal;
    if (user) {
      if (user.aborted) this.#abort.abort(new RunCancelledError(user.reason));
      else user.addEventListener("abort", () => this.cancel(user.reason), { once: true });
    }
  }

  /** Aborts the in-flight node at once; the run ends `cancelled`. */
  cancel(reason?: unknown): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new RunCancelledError(reason));
  }

  #emit<K extends GraphEventType>(type: K, fields: Omit<GraphEvents[K], keyof EventBase>): void {
    const sink = this.#setup.sink;
    if (sink === undefined) return;
    const s = this.#setup;
    sink({
      type,
      sessionId: s.sessionId,
      runId: s.runId,
      graph: s.graphPath,
      time: s.clock.now(),
      ...fields,
    } as unknown as GraphEvent);
  }

  async #hook<K extends keyof RunHooks<S>>(
    name: K,
    info: Parameters<NonNullable<RunHooks<S>[K]>>[0],
  ): Promise<void> {
    const hook = this.#setup.hooks[name] as ((i: typeof info) => void | Promise<void>) | undefined;
    if (!hook) return;
    try {
      await hook(info);
    } catch (error) {
      throw new HookError(name, error);
    }
  }

  async #checkpoint(
    node: string | null,
    delta: readonly DeltaOp[],
    status: CheckpointStatus,
    next: readonly string[] = this.#frontier,
  ): Promise<void> {
    const s = this.#setup;
    const record = await s.checkpointer.save(
      { runId: s.runId, node, iteration: this.#iteration, next, status, delta },
      this.#state,
      this.#path,
    );
    if (record && s.sink) {
      this.#emit("checkpoint:saved", {
        checkpointId: record.id,
        seq: record.seq,
        node,
        bytes: record.payload.length,
      });
    }
  }

  /** Runs until the graph ends, fails, is cancelled or pauses. Never throws for run outcomes. */
  async execute(): Promise<RunResult<S>> {
    const s = this.#setup;
    this.#emit("run:started", { resumedFrom: s.resumedFrom });
    let outcome: Outcome | undefined;
    try {
      if (s.resumedFrom === null) await this.#checkpoint(null, [], "running");
      while (this.#frontier.length > 0) {
        if (this.#abort.signal.aborted) throw this.#abort.signal.reason;
        if (this.#iteration + this.#frontier.length > s.maxIterations) {
          throw new MaxIterationsError(s.maxIterations, this.#path.slice(-8));
        }
        if (this.#frontier.length === 1) await this.#step(this.#frontier[0]!);
        else await this.#superstep(this.#frontier);
      }
    } catch (error) {
      outcome = this.#classify(error);
    }
    return this.#finish(outcome);
  }

  #classify(error: unknown): Outcome {
    if (this.#abort.signal.aborted) {
      const reason = this.#abort.signal.reason;
      return {
        status: "cancelled",
        error: reason instanceof TrellisError ? reason : new RunCancelledError(reason),
      };
    }
    if (error instanceof TrellisError) return { status: "failed", error };
    return {
      status: "failed",
      error: new TrellisError("INTERNAL", `Unexpected error: ${String(error)}`, { cause: error }),
    };
  }

  async #finish(outcome: Outcome | undefined): Promise<RunResult<S>> {
    const s = this.#setup;
    const status: RunStatus = outcome?.status ?? "completed";
    let error = outcome?.error;
    try {
      await this.#checkpoint(null, [], status, status === "completed" ? [] : this.#frontier);
      await s.checkpointer.flush();
    } catch (writeError) {
      s.logger.error("Could not write the final checkpoint", { error: String(writeError) });
      error ??=
        writeError instanceof TrellisError
          ? writeError
          : new TrellisError("CHECKPOINT_WRITE", String(writeError), { cause: writeError });
    }
    const result: RunResult<S> = {
      status: error && status === "completed" ? "failed" : status,
      sessionId: s.sessionId,
      runId: s.runId,
      state: this.#state,
      path: this.#path,
      iterations: this.#iteration,
      checkpointId: s.checkpointer.lastId,
      error,
    };
    this.#emit("run:finished", {
      status: result.status,
      path: result.path,
      error,
      state: result.state,
    });
    return result;
  }

  #context(
    node: string,
    iteration: number,
    attempt: number,
    signal: AbortSignal,
    item: unknown,
  ): NodeContext {
    const s = this.#setup;
    return {
      signal,
      sessionId: s.sessionId,
      runId: s.runId,
      node: s.graphPath === s.graph.name ? node : `${s.graphPath}/${node}`,
      iteration,
      attempt,
      feedback: this.#feedback.get(node),
      item,
      logger: s.logger,
      emit: (name, data) => this.#emit("custom", { node, name, data }),
    };
  }

  /** Executes one node against `state` and returns its update and `goto`, without applying them. */
  async #invoke(
    name: string,
    state: S,
  ): Promise<{ update: Partial<S> | undefined; goto: readonly string[] | undefined }> {
    const s = this.#setup;
    const entry = s.graph.node(name)!;
    const iteration = ++this.#iteration;
    this.#emit("node:started", { node: name, iteration, attempt: 1 });
    await this.#hook("beforeNode", {
      node: name,
      state,
      iteration,
      sessionId: s.sessionId,
      runId: s.runId,
    });
    const started = s.sink ? s.clock.now() : 0;
    const result: NodeResult<S> = await executeNode<S>({
      name,
      run: entry.definition.run,
      state,
      retry: entry.options.retry,
      timeoutMs: entry.options.timeoutMs,
      signal: this.#abort.signal,
      clock: s.clock,
      context: (attempt, signal) => this.#context(name, iteration, attempt, signal, undefined),
      onFailure: (attempt, error, willRetry) => {
        this.#emit("node:failed", { node: name, iteration, attempt, error, willRetry });
        if (willRetry) this.#emit("node:started", { node: name, iteration, attempt: attempt + 1 });
      },
    });
    this.#feedback.delete(name);
    if (s.sink)
      this.#emit("node:completed", { node: name, iteration, durationMs: s.clock.now() - started });
    if (result === undefined || result === null) return { update: undefined, goto: undefined };
    if (isCommand(result))
      return { update: result.update as Partial<S> | undefined, goto: result.goto };
    return { update: result as Partial<S>, goto: undefined };
  }

  #validate(name: string, update: Partial<S> | undefined): void {
    if (update !== undefined && this.#setup.graph.validateUpdates) {
      this.#setup.graph.state.validateUpdate(update, `The update from node \`${name}\``);
    }
  }

  async #step(name: string): Promise<void> {
    const s = this.#setup;
    const { update, goto } = await this.#invoke(name, this.#state);
    let delta: readonly DeltaOp[] = [];
    if (update !== undefined) {
      this.#validate(name, update);
      const applied = s.graph.state.apply(this.#state, update);
      this.#state = Object.freeze(applied.state);
      delta = applied.delta;
      if (delta.length > 0) this.#emit("state:updated", { node: name, delta });
    }
    this.#path.push(name);
    await this.#hook("afterNode", {
      node: name,
      state: this.#state,
      update,
      iteration: this.#iteration,
      sessionId: s.sessionId,
      runId: s.runId,
    });
    await this.#route(name, goto);
    await this.#checkpoint(name, delta, "running");
  }

  async #route(from: string, goto: readonly string[] | undefined): Promise<void> {
    const s = this.#setup;
    const decision = s.graph.next(from, this.#state, goto);
    this.#frontier = decision.targets;
    this.#emit("edge:taken", {
      from,
      to: decision.targets,
      reason: decision.reason,
      label: decision.label,
    });
    await this.#hook("onEdge", {
      from,
      to: decision.targets,
      reason: decision.reason,
      label: decision.label,
      sessionId: s.sessionId,
      runId: s.runId,
    });
  }

  /** Several nodes in the frontier: they run concurrently on the same state and are merged. */
  async #superstep(nodes: readonly string[]): Promise<void> {
    const s = this.#setup;
    const base = this.#state;
    const results = await Promise.all(nodes.map((name) => this.#invoke(name, base)));
    let state = base;
    const deltas: DeltaOp[] = [];
    const next: string[] = [];
    results.forEach(({ update }, i) => {
      const name = nodes[i]!;
      this.#validate(name, update);
      if (update === undefined) return;
      const applied = s.graph.state.apply(state, update);
      state = applied.state;
      deltas.push(...applied.delta);
    });
    this.#state = Object.freeze(state);
    for (let i = 0; i < nodes.length; i++) {
      const name = nodes[i]!;
      this.#path.push(name);
      const decision = s.graph.next(name, this.#state, results[i]!.goto);
      for (const t of decision.targets) if (!next.includes(t)) next.push(t);
      this.#emit("edge:taken", {
        from: name,
        to: decision.targets,
        reason: decision.reason,
        label: decision.label,
      });
    }
    this.#frontier = next;
    await this.#checkpoint(nodes.join("+"), deltas, "running");
  }
}
