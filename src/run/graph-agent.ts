import { randomUUID } from "node:crypto";
import type { TracerProvider } from "@opentelemetry/api";
import { EventEmitter } from "eventemitter3";
import { type Clock, systemClock } from "../clock.js";
import { InvalidOptionError, SessionBusyError, TrellisError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import {
  type InterruptConfig,
  type ResolvedInterruptConfig,
  resolveInterruptConfig,
} from "../interrupts/interrupt-config.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import { RuleBasedReasoner } from "../interrupts/rule-based-reasoner.js";
import { consoleLogger, type Logger } from "../logger.js";
import { type CheckpointRecord, recordMeta } from "../store/checkpoint-store.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import type { Store } from "../store/store.js";
import { TrellisTracer } from "../telemetry/tracing.js";
import {
  type Checkpoint,
  Checkpointer,
  type Durability,
  loadCheckpoint,
  loadHistory,
} from "./checkpointer.js";
import { EventChannel } from "./event-channel.js";
import type { GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import { Run } from "./run.js";
import { type ControlHost, type PendingMeta, RunControl } from "./run-control.js";
import type { RunHooks } from "./run-hooks.js";
import type { RunResult } from "./run-result.js";
import { RunTracing } from "./run-tracing.js";

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
  /** Callbacks before and after each node and on each edge decision. */
  readonly hooks?: RunHooks<S>;
  /** Time source for timeouts, retries and event times. Default: the system clock. */
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
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(name, "an integer from 1 and up", value);
  }
  return value;
}

/**
 * Runs a compiled graph: fresh runs, resumes and forks, with checkpoints in a `Store`,
 * typed events, streaming and cancellation.
 *
 * @example
 * ```ts
 * const agent = new GraphAgent({ name: "counter", graph });
 * const result = await agent.run({ count: 0 }, { sessionId: "s1" });
 * if (result.status === "completed") console.log(result.state.count);
 * for await (const event of agent.stream({}, { sessionId: "s2" })) console.log(event.type);
 * ```
 */
export class GraphAgent<S extends Record<string, unknown>> {
  readonly name: string;
  readonly graph: CompiledGraph<S>;
  readonly store: Store;
  readonly #durability: Durability;
  readonly #maxIterations: number;
  readonly #hooks: RunHooks<S>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #emitter = new EventEmitter();
  readonly #active = new Map<string, Run<S>>();
  readonly #reserved = new Set<string>();
  readonly #interrupts: InterruptService | undefined;
  readonly #tracer: TrellisTracer;
  readonly #interruptConfig: ResolvedInterruptConfig | undefined;

  constructor(options: GraphAgentOptions<S>) {
    if (!options || typeof options.graph?.next !== "function") {
      throw new InvalidOptionError(
        "graph",
        "a compiled graph (call `.compile()` on the Graph)",
        options?.graph,
      );
    }
    const durability = options.durability ?? "step";
    if (!["step", "exit", "off"].includes(durability)) {
      throw new InvalidOptionError("durability", '"step", "exit" or "off"', durability);
    }
    this.graph = options.graph;
    this.name = options.name ?? options.graph.name;
    this.store = options.store ?? new MemoryStore();
    this.#durability = durability;
    this.#maxIterations = positiveInteger("maxIterations", options.maxIterations, 1_000);
    this.#hooks = options.hooks ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? consoleLogger;
    this.#interrupts = options.interrupts;
    const telemetry = options.telemetry === false ? undefined : options.telemetry;
    this.#tracer = new TrellisTracer({
      logger: this.#logger,
      disabled: options.telemetry === false,
      ...(telemetry?.recordContent === undefined ? {} : { recordContent: telemetry.recordContent }),
      ...(telemetry?.tracerProvider === undefined
        ? {}
        : { tracerProvider: telemetry.tracerProvider }),
    });
    if (options.interruptConfig !== undefined && options.interrupts === undefined) {
      throw new InvalidOptionError(
        "interrupts",
        "an InterruptService when `interruptConfig` is given",
        undefined,
      );
    }
    this.#interruptConfig =
      options.interrupts === undefined
        ? undefined
        : resolveInterruptConfig(
            options.interruptConfig ?? {},
            options.graph.nodeNames,
            () => new RuleBasedReasoner(),
          );
  }

  /** Cancels the session's run in this process at once, if one is running. Returns whether one was. */
  cancel(sessionId: string, reason?: unknown): boolean {
    const run = this.#active.get(sessionId);
    run?.cancel(reason);
    return run !== undefined;
  }

  /** The session's audit trail: pauses, resumes, interrupts and approval decisions, oldest first. */
  async auditTrail(
    sessionId: string,
    options: { readonly offset?: number; readonly limit?: number } = {},
  ) {
    return this.store.audit.list(sessionId, options);
  }

  /** Listens to one event type from every run of this agent. Returns a function that stops it. */
  on<K extends GraphEventType>(
    type: K,
    listener: (event: { readonly type: K } & GraphEvents[K]) => void,
  ): () => void {
    this.#emitter.on(type, listener);
    return () => this.#emitter.off(type, listener);
  }

  /** Stops a listener added with `on()`. */
  off<K extends GraphEventType>(
    type: K,
    listener: (event: { readonly type: K } & GraphEvents[K]) => void,
  ): void {
    this.#emitter.off(type, listener);
  }

  /** Runs the graph from START on validated input. Outcomes are data: see `result.status`. */
  async run(input: unknown, options: RunOptions = {}): Promise<RunResult<S>> {
    return this.#start(input, options, undefined);
  }

  /** Marks a session busy before anything async happens, so two runs of one session never overlap. */
  async #exclusive<T>(sessionId: string, body: () => Promise<T>): Promise<T> {
    if (this.#reserved.has(sessionId)) throw new SessionBusyError(sessionId);
    this.#reserved.add(sessionId);
    try {
      return await body();
    } finally {
      this.#reserved.delete(sessionId);
    }
  }

  async #start(
    input: unknown,
    options: RunOptions,
    sink: ((e: GraphEvent) => void) | undefined,
  ): Promise<RunResult<S>> {
    const sessionId = this.#sessionId(options.sessionId);
    return this.#exclusive(sessionId, () => this.#startReserved(sessionId, input, options, sink));
  }

  async #startReserved(
    sessionId: string,
    input: unknown,
    options: RunOptions,
    sink: ((e: GraphEvent) => void) | undefined,
  ): Promise<RunResult<S>> {
    const state = this.graph.state.parseInput(input);
    const frontier = this.graph.entry(state).targets;
    return this.#execute({
      sessionId,
      state,
      path: [],
      frontier,
      parent: "latest",
      resumedFrom: null,
      signal: options.signal,
      sink,
    });
  }

  /**
   * Continues a session from its latest checkpoint (or `checkpointId`): after a pause,
   * a cancel, a failure, or a crash. Nodes that completed are not run again.
   */
  async resume(sessionId: string, options: ResumeOptions = {}): Promise<RunResult<S>> {
    return this.#exclusive(this.#sessionId(sessionId), () => this.#resume(sessionId, options));
  }

  async #resume(sessionId: string, options: ResumeOptions): Promise<RunResult<S>> {
    const { checkpointId } = options;
    const checkpoint = await loadCheckpoint<S>(this.store.checkpoints, sessionId, checkpointId);
    if (checkpoint.status === "completed" && checkpointId === undefined) {
      throw new InvalidOptionError(
        "sessionId",
        "a session whose last run did not complete (use `fork()` to run on from a checkpoint)",
        sessionId,
      );
    }
    const record = await this.store.checkpoints.get(sessionId, checkpoint.id);
    return this.#execute({
      sessionId,
      state: checkpoint.state,
      path: checkpoint.path,
      frontier: checkpoint.next,
      parent: record,
      resumedFrom: checkpoint.id,
      signal: options.signal,
      sink: undefined,
      pending: checkpoint.meta.pending as PendingMeta | undefined,
      previousTraceparent: await this.#previousTraceparent(sessionId, record),
      progress: await this.#savedProgress(sessionId, record, checkpoint.next),
    });
  }

  /**
   * Time travel: runs on from an earlier checkpoint, optionally with a changed state, as a
   * new branch of the session's history (or in another session). The original history stays.
   */
  async fork(
    sessionId: string,
    checkpointId: string,
    options: ForkOptions<S> = {},
  ): Promise<RunResult<S>> {
    const checkpoint = await loadCheckpoint<S>(this.store.checkpoints, sessionId, checkpointId);
    let state = checkpoint.state;
    if (options.update !== undefined) {
      state = this.graph.state.validateAndApply(state, options.update, "The fork's update").state;
    }
    const target = options.toSessionId ?? sessionId;
    const parent =
      target === sessionId ? await this.store.checkpoints.get(sessionId, checkpoint.id) : undefined;
    return this.#execute({
      sessionId: target,
      state,
      path: checkpoint.path,
      frontier: checkpoint.next,
      parent,
      resumedFrom: checkpoint.id,
      signal: options.signal,
      sink: undefined,
    });
  }

  /**
   * Streams a run's events. `mode: "updates"` yields only `state:updated` events, `"final"`
   * only `run:finished`. Stopping the iteration early cancels the run.
   */
  async *stream(
    input: unknown,
    options: RunOptions & { readonly mode?: StreamMode } = {},
  ): AsyncGenerator<GraphEvent, void, undefined> {
    const mode = options.mode ?? "events";
    if (!["events", "updates", "final"].includes(mode)) {
      throw new InvalidOptionError("mode", '"events", "updates" or "final"', mode);
    }
    const channel = new EventChannel<GraphEvent>();
    const controller = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, controller.signal])
      : controller.signal;
    const done = this.#start(input, { ...options, signal }, (event) => {
      if (
        mode === "events" ||
        (mode === "updates" && event.type === "state:updated") ||
        (mode === "final" && event.type === "run:finished")
      ) {
        channel.push(event);
      }
    }).then(
      () => channel.close(),
      (error: unknown) => {
        channel.close();
        throw error;
      },
    );
    try {
      for (;;) {
        const { value, done: finished } = await channel.next();
        if (finished) break;
        yield value;
      }
      await done;
    } finally {
      controller.abort(new TrellisError("STREAM_CLOSED", "The stream's reader stopped early."));
      await done.catch(() => {});
    }
  }

  /** The session's checkpoints, newest first (`limit` default 100), with states rebuilt. */
  async history(
    sessionId: string,
    options: { readonly limit?: number } = {},
  ): Promise<Checkpoint<S>[]> {
    const limit = positiveInteger("limit", options.limit, 100);
    return loadHistory<S>(this.store.checkpoints, sessionId, limit);
  }

  /** The session's latest checkpoint (or `checkpointId`), or `undefined` if it has none. */
  async getState(sessionId: string, checkpointId?: string): Promise<Checkpoint<S> | undefined> {
    const exists =
      checkpointId === undefined
        ? await this.store.checkpoints.latest(sessionId)
        : await this.store.checkpoints.get(sessionId, checkpointId);
    return exists ? loadCheckpoint<S>(this.store.checkpoints, sessionId, checkpointId) : undefined;
  }

  /**
   * What the node about to run saved with `saveProgress` before the run stopped in it: the
   * progress records written since its last node checkpoint, oldest first.
   */
  async #savedProgress(
    sessionId: string,
    resumed: CheckpointRecord | undefined,
    next: readonly string[],
  ): Promise<{ node: string; data: unknown[] } | undefined> {
    const node = next.length === 1 ? next[0]! : undefined;
    // Only pattern nodes (parallel groups, nested graphs) save progress.
    const kind = node === undefined ? undefined : this.graph.node(node)?.definition.kind;
    if (node === undefined || kind === "function" || kind === "agent") return undefined;
    const data: unknown[] = [];
    let record = resumed;
    const runId = record?.runId;
    while (record && record.node === null && record.runId === runId) {
      const meta = recordMeta(record) as { progress?: { node?: unknown; data?: unknown } };
      if (meta.progress?.node === node) data.push(meta.progress.data);
      record =
        record.parentId === null
          ? undefined
          : await this.store.checkpoints.get(sessionId, record.parentId);
    }
    return data.length === 0 ? undefined : { node, data: data.reverse() };
  }

  /** The root span of the run that wrote `checkpointId` (from its own checkpoints), if traced. */
  async #previousTraceparent(
    sessionId: string,
    record: CheckpointRecord | undefined,
  ): Promise<string | undefined> {
    if (!this.#tracer.enabled || !record) return undefined;
    const meta = recordMeta(record) as { traceparent?: unknown };
    if (typeof meta.traceparent === "string") return meta.traceparent;
    // A run that crashed wrote no final checkpoint: its input or first checkpoint has it.
    for (const earlier of await this.store.checkpoints.list(sessionId, {
      limit: 200,
      beforeSeq: record.seq,
    })) {
      if (earlier.runId !== record.runId) break;
      const m = recordMeta(earlier) as { traceparent?: unknown };
      if (typeof m.traceparent === "string") return m.traceparent;
    }
    return undefined;
  }

  #controlFactory(): ((host: ControlHost) => RunControl) | undefined {
    const service = this.#interrupts;
    const config = this.#interruptConfig;
    if (!service || !config) return undefined;
    return (host) =>
      new RunControl({
        service,
        config,
        host,
        clock: this.#clock,
        logger: this.#logger,
        audit: this.store.audit,
      });
  }

  #sessionId(value: string | undefined): string {
    if (value === undefined) return randomUUID();
    if (typeof value !== "string" || value === "" || value.length > 256) {
      throw new InvalidOptionError(
        "sessionId",
        "a non-empty string of at most 256 characters",
        value,
      );
    }
    return value;
  }

  async #execute(start: {
    readonly sessionId: string;
    readonly state: S;
    readonly path: readonly string[];
    readonly frontier: readonly string[];
    /** The checkpoint the new lineage continues; `"latest"`: the session's latest, if any. */
    readonly parent: CheckpointRecord | "latest" | undefined;
    readonly resumedFrom: string | null;
    readonly signal: AbortSignal | undefined;
    readonly sink: ((e: GraphEvent) => void) | undefined;
    readonly pending?: PendingMeta | undefined;
    readonly previousTraceparent?: string | undefined;
    readonly progress?: { node: string; data: readonly unknown[] } | undefined;
  }): Promise<RunResult<S>> {
    const { sessionId } = start;
    const runId = randomUUID();
    const latest =
      this.#durability === "off" ? undefined : await this.store.checkpoints.latest(sessionId);
    const checkpointer = new Checkpointer<S>({
      threadId: sessionId,
      store: this.store.checkpoints,
      durability: this.#durability,
      now: () => this.#clock.now(),
      parent: start.parent === "latest" ? latest : start.parent,
      nextSeq: (latest?.seq ?? -1) + 1,
    });
    const listening = this.#emitter.eventNames().length > 0;
    const emitter = this.#emitter;
    const external = start.sink;
    const sink =
      listening && external
        ? (e: GraphEvent) => {
            external(e);
            emitter.emit(e.type, e);
          }
        : listening
          ? (e: GraphEvent) => emitter.emit(e.type, e)
          : external;
    const run = new Run<S>({
      graph: this.graph,
      graphPath: this.graph.name,
      sessionId,
      threadId: sessionId,
      store: this.store,
      durability: this.#durability,
      progress: start.progress,
      pending: start.pending,
      control: this.#controlFactory(),
      tracing: new RunTracing(this.#tracer, {
        graph: this.graph.name,
        agentName: this.name,
        sessionId,
        runId,
        resumedFrom: start.resumedFrom,
        previousTraceparent: start.previousTraceparent,
        parent: undefined,
      }),
      runId,
      state: start.state,
      path: start.path,
      frontier: start.frontier,
      resumedFrom: start.resumedFrom,
      checkpointer,
      maxIterations: this.#maxIterations,
      clock: this.#clock,
      logger: this.#logger,
      hooks: this.#hooks,
      sink,
      signal: start.signal,
    });
    this.#active.set(sessionId, run);
    try {
      return await run.execute();
    } finally {
      this.#active.delete(sessionId);
    }
  }
}
