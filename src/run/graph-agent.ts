/**
 * `GraphAgent`: runs a compiled graph — fresh runs, resumes, forks, streams — each under its
 * session's lease, and reads a session's history and state. Its options are in
 * `graph-agent-options.ts` (re-exported here); what a continuing run starts from is read by
 * `continue-from.ts`; one run is a `Run` (`run.ts`), built by `createRun()`.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { EventEmitter } from "eventemitter3";
import { type Clock, systemClock } from "../clock.js";
import {
  InvalidOptionError,
  type LeaseLostError,
  SessionEndedError,
  SessionNotFinishedError,
  TrellisError,
} from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import {
  type ResolvedInterruptConfig,
  resolveInterruptConfig,
} from "../interrupts/interrupt-config.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import { RuleBasedReasoner } from "../interrupts/rule-based-reasoner.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import { keyBaseOf } from "../store/checkpoint-meta.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import type { Page, PageOptions } from "../store/page.js";
import type { SessionQuery, SessionSummary } from "../store/session-store.js";
import type { Store } from "../store/store.js";
import { TrellisTracer } from "../telemetry/tracing.js";
import { carriedCancelSeq } from "./carried-cancel.js";
import {
  type Checkpoint,
  type HistoryEntry,
  readCheckpoint,
  readHistory,
  unparsableError,
} from "./checkpoint-reader.js";
import type { Durability } from "./checkpointer.js";
import { planAt, previousTraceparent, savedProgress } from "./continue-from.js";
import { createRun, type RunEnvironment } from "./create-run.js";
import { EventChannel } from "./event-channel.js";
import type { GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import {
  type ForkOptions,
  type GraphAgentOptions,
  positiveInteger,
  type ResumeOptions,
  type RunOptions,
  type StreamMode,
} from "./graph-agent-options.js";
import { reasonerContext } from "./message-decision.js";
import { type RunPlan, startPlan } from "./planner.js";
import type { Run } from "./run.js";
import { RunControl } from "./run-control.js";
import type { RunHooks } from "./run-hooks.js";
import type { RunResult } from "./run-result.js";
import type { RunSetup } from "./run-setup.js";
import { SessionControl } from "./session-control.js";
import { SessionLease } from "./session-lease.js";

export type {
  ForkOptions,
  GraphAgentOptions,
  ResumeOptions,
  RunOptions,
  StreamMode,
} from "./graph-agent-options.js";

/** Where a run starts, before its lease and session control are wired. */
interface Launch<S extends Record<string, unknown>> {
  readonly sessionId: string;
  readonly lease: SessionLease;
  readonly plan: RunPlan<S>;
  readonly latest: StoredRecord | undefined;
  readonly parentId: string | null;
  /** The checkpoint the idempotency keys of the first steps derive from; `parentId` when absent. */
  readonly keyBase?: string | null | undefined;
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

  /**
   * The nodes with an approval gate (`interruptConfig.approvals`), for charts:
   * `agent.graph.toMermaid({ gates: agent.approvalGates })`.
   */
  get approvalGates(): readonly string[] {
    return [...(this.#interruptConfig?.approvals.keys() ?? [])];
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
   * @throws CheckpointCorruptError when the status of the session's latest checkpoint cannot be
   *   read (so whether its run finished is unknown) and `startOver` is not set.
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
      if (latest?.kind === "unparsable" && latest.status === null && options.startOver !== true) {
        // The latest status cannot be read: the last run may not have finished.
        throw unparsableError(
          latest,
          ", so whether its run finished is unknown; pass `{ startOver: true }` to `run()` to start a new run in this session anyway",
        );
      }
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
        latest,
      );
      return this.#execute({
        sessionId: id,
        lease,
        plan: planAt(this.graph, checkpoint),
        latest,
        parentId: checkpoint.id,
        // A checkpoint that did not change the course names the base its keys derive from.
        keyBase: keyBaseOf(checkpoint),
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
        previousTraceparent: await previousTraceparent(
          this.store,
          this.#tracer.enabled,
          id,
          record,
        ),
        progress: await savedProgress(this.store, this.graph, id, record, checkpoint.next),
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
        plan: planAt(this.graph, { ...checkpoint, state }),
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
    return (await readCheckpoint(this.store, this.graph, id, "", checkpointId, exists)).checkpoint;
  }

  /** The review inbox of this agent's store: sessions newest first, one page at a time. */
  async sessions(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    return this.store.sessions.list(query);
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
    // Carried with or without an InterruptService: see `RunSetup.cancelledAtSeq`.
    const carried = await carriedCancelSeq(this.store, sessionId, launch.latest);
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
            cancelledAtSeq: carried,
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
      keyBase: launch.keyBase,
      nextSeq: (launch.latest?.seq ?? -1) + 1,
      signal: launch.signal,
      progress: launch.progress,
      hooks: this.#hooks,
      control: session === undefined ? undefined : (host) => new RunControl(session, host),
      session,
      cancelledAtSeq: carried,
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
