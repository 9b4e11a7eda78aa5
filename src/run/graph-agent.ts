import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { TracerProvider } from "@opentelemetry/api";
import { EventEmitter } from "eventemitter3";
import { type Clock, systemClock } from "../clock.js";
import {
  InvalidOptionError,
  type LeaseLostError,
  SessionEndedError,
  SessionNotFinishedError,
  TrellisError,
} from "../errors.js";
import { deepFreeze } from "../freeze.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import {
  type InterruptConfig,
  type ResolvedInterruptConfig,
  resolveInterruptConfig,
} from "../interrupts/interrupt-config.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import { RuleBasedReasoner } from "../interrupts/rule-based-reasoner.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import type { Page, PageOptions } from "../store/page.js";
import type { SessionQuery, SessionSummary } from "../store/session-store.js";
import type { Store } from "../store/store.js";
import { TrellisTracer } from "../telemetry/tracing.js";
import {
  type Checkpoint,
  type HistoryEntry,
  readCheckpoint,
  readHistory,
} from "./checkpoint-reader.js";
import type { Durability } from "./checkpointer.js";
import { createRun, ownsGate, type RunEnvironment } from "./create-run.js";
import { EventChannel } from "./event-channel.js";
import type { GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import { reasonerContext } from "./message-decision.js";
import { type RunPlan, startPlan } from "./planner.js";
import type { Run } from "./run.js";
import { RunControl } from "./run-control.js";
import type { RunHooks } from "./run-hooks.js";
import type { RunResult } from "./run-result.js";
import type { RunSetup } from "./run-setup.js";
import { SessionControl } from "./session-control.js";
import { SessionLease } from "./session-lease.js";

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

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(name, "an integer from 1 and up", value);
  }
  return value;
}

/** Where a run starts, before its lease and session control are wired. */
interface Launch<S extends Record<string, unknown>> {
  readonly sessionId: string;
  readonly lease: SessionLease;
  readonly plan: RunPlan<S>;
  readonly latest: StoredRecord | undefined;
  readonly parentId: string | null;
  readonly resumedFrom: string | null;
  readonly signal: AbortSignal | undefined;
  readonly sink: ((e: GraphEvent) => void) | undefined;
  readonly begin: RunSetup<S>["begin"];
  readonly previousTraceparent?: string | undefined;
  readonly progress?: RunSetup<S>["progress"];
}

/**
 * Runs a compiled graph: fresh runs, resumes and forks, with checkpoints in a `Store`, typed
 * events, streaming and cancellation. Every run holds its session's lease, so one session is
 * never run twice at once, in this process or any other.
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
  readonly #leaseTtlMs: number;
  readonly #hooks: RunHooks<S>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #emitter = new EventEmitter();
  readonly #active = new Map<string, Run<S>>();
  readonly #interrupts: InterruptService | undefined;
  readonly #tracer: TrellisTracer;
  readonly #interruptConfig: ResolvedInterruptConfig | undefined;
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

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
    this.#leaseTtlMs = positiveInteger("leaseTtlMs", options.leaseTtlMs, 30_000);
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
            options.graph,
            () => new RuleBasedReasoner(),
          );
    if (durability === "off" && this.#interruptConfig !== undefined) {
      for (const [node, gate] of this.#interruptConfig.approvals) {
        if (gate.timeoutMs === undefined) {
          throw new InvalidOptionError(
            `interruptConfig.approvals.${node}.timeoutMs`,
            'a timeout when `durability` is "off" (a gate without one suspends the run, and without checkpoints it could not be resumed)',
            undefined,
          );
        }
      }
    }
  }

  /** Cancels the session's run in this process at once, if one is running. Returns whether one was. */
  cancel(sessionId: string, reason?: unknown): boolean {
    const run = this.#active.get(sessionId);
    run?.cancel(reason);
    return run !== undefined;
  }

  /** The session's audit trail: runs, interrupts, approvals and state changes, oldest first. */
  async auditTrail(sessionId: string, options: PageOptions = {}) {
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

  /**
   * Runs the graph from START on validated input. Outcomes are data: see `result.status`.
   *
   * @throws StateValidationError for input that does not fit the schema (nothing is written).
   * @throws SessionBusyError when another run holds the session.
   * @throws SessionNotFinishedError when the session's last run did not finish and
   *   `startOver` is not set.
   */
  async run(input: unknown, options: RunOptions = {}): Promise<RunResult<S>> {
    return this.#start(input, options, undefined);
  }

  async #start(
    input: unknown,
    options: RunOptions,
    sink: ((e: GraphEvent) => void) | undefined,
  ): Promise<RunResult<S>> {
    const sessionId = this.#sessionId(options.sessionId);
    const state = this.graph.state.parseInput(input);
    return this.#leased(sessionId, async (lease) => {
      const latest = await this.store.checkpoints.latest(sessionId, "");
      if (
        latest !== undefined &&
        options.startOver !== true &&
        (latest.status === "paused" || latest.status === "running")
      ) {
        const gate = latest.kind === "unparsable" ? undefined : latest.meta.gate;
        throw new SessionNotFinishedError(sessionId, latest.status, gate?.node);
      }
      return this.#execute({
        sessionId,
        lease,
        plan: startPlan({ state, path: [], frontier: this.graph.entry(state).targets }),
        latest,
        parentId: latest?.id ?? null,
        resumedFrom: null,
        signal: options.signal,
        sink,
        begin: {
          checkpoint: true,
          audit: [this.#audit(sessionId, "run.started", { graph: this.graph.name })],
          meta: { graph: this.graph.name },
        },
      });
    });
  }

  /**
   * Continues a session from its latest checkpoint (or `checkpointId`): after a pause, at an
   * approval gate, after a cancel, a failure, or a crash. Nodes that completed are not run
   * again.
   *
   * @throws SessionEndedError when the session's run ended `completed` or `rejected` (fork it
   *   to go on deliberately).
   * @throws SessionBusyError when another run holds the session.
   * @throws CheckpointNotFoundError, CheckpointCorruptError when there is nothing readable to
   *   continue from.
   */
  async resume(sessionId: string, options: ResumeOptions = {}): Promise<RunResult<S>> {
    const id = this.#sessionId(sessionId);
    return this.#leased(id, async (lease) => {
      const latest = await this.store.checkpoints.latest(id, "");
      if (latest !== undefined && latest.kind !== "unparsable") {
        if (latest.status === "completed") throw new SessionEndedError(id, "completed", "");
        if (latest.status === "rejected") {
          const outcome = latest.meta.outcome;
          const at =
            outcome?.status === "rejected"
              ? ` at \`${outcome.node}\`${outcome.requestId ? ` (request \`${outcome.requestId}\`)` : ""}`
              : "";
          throw new SessionEndedError(id, "rejected", at);
        }
      }
      const { checkpoint, record } = await readCheckpoint(
        this.store,
        this.graph,
        id,
        "",
        options.checkpointId,
      );
      return this.#execute({
        sessionId: id,
        lease,
        plan: this.#planAt(checkpoint),
        latest,
        parentId: checkpoint.id,
        resumedFrom: checkpoint.id,
        signal: options.signal,
        sink: undefined,
        begin: {
          checkpoint: false,
          audit: [
            this.#audit(id, "run.resumed", {
              checkpointId: checkpoint.id,
              status: checkpoint.status,
              ...(checkpoint.meta.gate === undefined
                ? {}
                : { gate: checkpoint.meta.gate.requestId }),
            }),
          ],
          meta: {},
        },
        previousTraceparent: await this.#previousTraceparent(id, record),
        progress: await this.#savedProgress(id, record, checkpoint.next),
      });
    });
  }

  /**
   * Time travel: runs on from an earlier checkpoint, optionally with a changed state, as a new
   * branch of the session's history (or in another session). The original history stays; the
   * fork is recorded in the audit trail (`run.forked`). This is how a session that ended
   * `rejected` or `completed` goes on deliberately.
   */
  async fork(
    sessionId: string,
    checkpointId: string,
    options: ForkOptions<S> = {},
  ): Promise<RunResult<S>> {
    const source = this.#sessionId(sessionId);
    const target = this.#sessionId(options.toSessionId ?? sessionId);
    return this.#leased(target, async (lease) => {
      const named = await readCheckpoint(this.store, this.graph, source, "", checkpointId);
      // A checkpoint inside a parallel step forks from where the step started: the step runs
      // again as a whole (its nodes all ran on that state).
      const start = named.checkpoint.meta.stepStart;
      const { checkpoint } =
        start === undefined
          ? named
          : await readCheckpoint(this.store, this.graph, source, "", start);
      let state = checkpoint.state;
      if (options.update !== undefined) {
        state = this.graph.state.validateAndApply(state, options.update, "The fork's update").state;
      }
      const latest = await this.store.checkpoints.latest(target, "");
      const forkedFrom = { sessionId: source, checkpointId: checkpoint.id };
      return this.#execute({
        sessionId: target,
        lease,
        plan: this.#planAt({ ...checkpoint, state }),
        latest,
        parentId: target === source ? checkpoint.id : null,
        resumedFrom: checkpoint.id,
        signal: options.signal,
        sink: undefined,
        begin: {
          checkpoint: true,
          audit: [
            {
              ...this.#audit(target, "run.forked", { from: forkedFrom, graph: this.graph.name }),
              ...(options.actor === undefined ? {} : { actor: options.actor }),
            },
          ],
          meta: { forkedFrom, graph: this.graph.name },
        },
      });
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
    const { mode: _mode, ...runOptions } = options;
    const done = this.#start(input, { ...runOptions, signal }, (event) => {
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

  /**
   * The session's checkpoints, newest first (`limit` default 100), with states rebuilt. A
   * checkpoint that cannot be read is listed with its `error` instead of failing the history.
   */
  async history(
    sessionId: string,
    options: { readonly limit?: number } = {},
  ): Promise<HistoryEntry<S>[]> {
    const limit = positiveInteger("limit", options.limit, 100);
    return readHistory(this.store, this.graph, this.#sessionId(sessionId), "", limit);
  }

  /** The session's latest checkpoint (or `checkpointId`), or `undefined` if it has none. */
  async getState(sessionId: string, checkpointId?: string): Promise<Checkpoint<S> | undefined> {
    const id = this.#sessionId(sessionId);
    const exists =
      checkpointId === undefined
        ? await this.store.checkpoints.latest(id, "")
        : await this.store.checkpoints.get(id, "", checkpointId);
    if (!exists) return undefined;
    return (await readCheckpoint(this.store, this.graph, id, "", checkpointId)).checkpoint;
  }

  /** The review inbox of this agent's store: sessions newest first, one page at a time. */
  async sessions(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    return this.store.sessions.list(query);
  }

  /** Where a run continues from a checkpoint: at its gate, its rerun context, its joins. */
  #planAt(checkpoint: Pick<Checkpoint<S>, "state" | "path" | "next" | "meta">): RunPlan<S> {
    const gate = checkpoint.meta.gate;
    const own = gate !== undefined && ownsGate(this.graph, "", gate.node);
    return startPlan({
      state: deepFreeze(checkpoint.state),
      path: checkpoint.path,
      frontier: checkpoint.next,
      gate: own ? gate : undefined,
      rerun: checkpoint.meta.rerun,
      waiting: checkpoint.meta.waiting,
      // Stopped inside a nested graph: the child reads the queue when it gets back there.
      checked: gate !== undefined && !own,
    });
  }

  #audit(
    sessionId: string,
    kind: AuditEntryInput["kind"],
    data: Record<string, unknown>,
  ): AuditEntryInput {
    return { sessionId, at: this.#clock.now(), kind, data };
  }

  /** Runs `body` holding the session's lease; a lost lease stops the run. */
  async #leased<T>(sessionId: string, body: (lease: SessionLease) => Promise<T>): Promise<T> {
    const lease = await SessionLease.acquire(this.store, {
      sessionId,
      owner: this.#owner,
      token: randomUUID(),
      ttlMs: this.#leaseTtlMs,
      clock: this.#clock,
      logger: this.#logger,
    });
    try {
      return await body(lease);
    } finally {
      await lease.release();
    }
  }

  /**
   * What the node about to run saved with `saveProgress` before the run stopped in it: the
   * progress records written since its last node checkpoint, oldest first.
   */
  async #savedProgress(
    sessionId: string,
    resumed: StoredRecord,
    next: readonly string[],
  ): Promise<{ node: string; data: unknown[] } | undefined> {
    const node = next.length === 1 ? next[0]! : undefined;
    // Only pattern nodes (parallel groups, nested graphs) save progress.
    const kind = node === undefined ? undefined : this.graph.node(node)?.definition.kind;
    if (node === undefined || kind === "function" || kind === "agent") return undefined;
    const data: unknown[] = [];
    let record: StoredRecord | undefined = resumed;
    const runId = record.runId;
    while (
      record &&
      record.kind !== "unparsable" &&
      record.node === null &&
      record.runId === runId
    ) {
      const progress: CheckpointMeta["progress"] = record.meta.progress;
      if (progress?.node === node) data.push(progress.data);
      record =
        record.parentId === null
          ? undefined
          : await this.store.checkpoints.get(sessionId, "", record.parentId);
    }
    return data.length === 0 ? undefined : { node, data: data.reverse() };
  }

  /** The root span of the run that wrote `record` (from its own checkpoints), if traced. */
  async #previousTraceparent(sessionId: string, record: StoredRecord): Promise<string | undefined> {
    if (!this.#tracer.enabled || record.kind === "unparsable") return undefined;
    if (record.meta.traceparent !== undefined) return record.meta.traceparent;
    // A run that crashed wrote no final checkpoint: its first checkpoint has it.
    for (const earlier of await this.store.checkpoints.list(sessionId, "", {
      limit: 200,
      beforeSeq: record.seq,
    })) {
      if (earlier.runId !== record.runId || earlier.kind === "unparsable") break;
      if (earlier.meta.traceparent !== undefined) return earlier.meta.traceparent;
    }
    return undefined;
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

  #sink(external: ((e: GraphEvent) => void) | undefined): ((e: GraphEvent) => void) | undefined {
    const listening = this.#emitter.eventNames().length > 0;
    const emitter = this.#emitter;
    if (listening && external) {
      return (e: GraphEvent) => {
        external(e);
        emitter.emit(e.type, e);
      };
    }
    if (listening) return (e: GraphEvent) => emitter.emit(e.type, e);
    return external;
  }

  async #execute(launch: Launch<S>): Promise<RunResult<S>> {
    const { sessionId, lease } = launch;
    const runId = randomUUID();
    const sink = this.#sink(launch.sink);
    const env: RunEnvironment = {
      store: this.store,
      clock: this.#clock,
      logger: this.#logger,
      durability: this.#durability,
      maxIterations: this.#maxIterations,
      tracer: this.#tracer,
      lease: () => lease.current,
      agentName: this.name,
      sink,
    };
    const service = this.#interrupts;
    const config = this.#interruptConfig;
    let run: Run<S> | undefined;
    const session =
      service === undefined || config === undefined
        ? undefined
        : new SessionControl({
            store: this.store,
            service,
            config,
            clock: this.#clock,
            logger: this.#logger,
            host: {
              sessionId,
              runId,
              owner: () => lease.current.token,
              get signal() {
                return run!.signal;
              },
              cancel: (reason) => run?.cancel(reason),
              context: () =>
                reasonerContext(this.graph.name, run!.plan, run!.plan.frontier[0] ?? null),
              telemetry: () => ({ tracer: run!.tracing.tracer, parent: run!.tracing.context }),
            },
          });
    run = createRun<S>(env, {
      graph: this.graph,
      sessionId,
      thread: "",
      prefix: "",
      runId,
      plan: launch.plan,
      resumedFrom: launch.resumedFrom,
      parentId: launch.parentId,
      nextSeq: (launch.latest?.seq ?? -1) + 1,
      signal: launch.signal,
      progress: launch.progress,
      hooks: this.#hooks,
      control: session === undefined ? undefined : (host) => new RunControl(session, host),
      session,
      // The entries that open a run (run.started, run.resumed, run.forked) name it.
      begin: {
        ...launch.begin,
        audit: launch.begin.audit.map((entry) =>
          entry.runId === undefined ? { ...entry, runId } : entry,
        ),
      },
      previousTraceparent: launch.previousTraceparent,
      parentSpan: undefined,
      sink,
    });
    const active = run;
    lease.heartbeat((lost: LeaseLostError) => active.cancel(lost));
    session?.open();
    this.#active.set(sessionId, run);
    try {
      return await run.execute();
    } finally {
      this.#active.delete(sessionId);
      session?.close();
    }
  }
}
