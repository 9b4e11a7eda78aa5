import type { Clock } from "../clock.js";
import {
  GoBackTargetError,
  HookError,
  MaxIterationsError,
  RunCancelledError,
  RunRejectedError,
  TrellisError,
} from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { isCommand } from "../graph/command.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { mergeBranches } from "../graph/merge-branches.js";
import type { NodeContext } from "../graph/node.js";
import { classifyNodeResult } from "../graph/node-result.js";
import { MergedUpdate, type NodeRuntime } from "../graph/node-runtime.js";
import type { RouteDecision } from "../graph/route.js";
import { type DeltaOp, freezeChanged } from "../graph/state.js";
import type { Logger } from "../logger.js";
import type { CheckpointStatus } from "../store/checkpoint-store.js";
import type { Store } from "../store/store.js";
import { TrellisAttributes, TrellisEvents } from "../telemetry/attributes.js";
import type { SpanHandle } from "../telemetry/tracing.js";
import { type Checkpointer, type Durability, loadCheckpoint } from "./checkpointer.js";
import type { EventBase, GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import { executeNode } from "./execute-node.js";
import { LazyAbort } from "./lazy-abort.js";
import type { ControlHost, Directive, PendingMeta, RunControl } from "./run-control.js";
import type { EventSink, RunHooks } from "./run-hooks.js";
import { RunNodeContext } from "./run-node-context.js";
import type { RunResult, RunStatus } from "./run-result.js";
import { endNodeSpan, errorName, interruptAttributes, type RunTracing } from "./run-tracing.js";

/** What a run starts from. */
export interface RunSetup<S extends Record<string, unknown>> {
  readonly graph: CompiledGraph<S>;
  /** The graph's name in events, or the nesting path for nested graphs. */
  readonly graphPath: string;
  readonly sessionId: string;
  /** The checkpoint thread: the session id, or `session/node` for a nested graph. */
  readonly threadId: string;
  readonly runId: string;
  readonly state: S;
  readonly path: readonly string[];
  readonly frontier: readonly string[];
  /** The checkpoint this run continues (`null` for a fresh run). */
  readonly resumedFrom: string | null;
  readonly checkpointer: Checkpointer<S>;
  readonly store: Store;
  readonly durability: Durability;
  readonly maxIterations: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hooks: RunHooks<S>;
  readonly sink: EventSink | undefined;
  readonly signal: AbortSignal | undefined;
  /** Progress a pattern node saved before the run stopped. */
  readonly progress: { readonly node: string; readonly data: readonly unknown[] } | undefined;
  /** Why the run this one continues was suspended. */
  readonly pending: PendingMeta | undefined;
  /** The run's spans. */
  readonly tracing: RunTracing;
  /** Connects the run to its session's interrupt queue, when the agent has one. */
  readonly control: ((host: ControlHost) => RunControl) | undefined;
}

type Outcome = {
  readonly status: Exclude<RunStatus, "completed">;
  readonly error: TrellisError | undefined;
  readonly pending?: PendingMeta;
};

/** Thrown inside the loop to stop it as `paused`. */
class Suspend {
  constructor(readonly pending: PendingMeta) {}
}

/** Thrown inside the loop to stop it as `rejected`. */
class Reject {
  constructor(readonly error: RunRejectedError) {}
}

/**
 * One run of a compiled graph: the only place that holds mutable run state. Planning the
 * next step (`graph.next`) and applying updates (`state.apply`, `mergeBranches`) are pure;
 * this class sequences them, executes nodes, obeys interrupts, emits events and writes
 * checkpoints.
 */
export class Run<S extends Record<string, unknown>> {
  readonly #setup: RunSetup<S>;
  readonly #abort = new LazyAbort();
  #state: S;
  #path: string[];
  #frontier: readonly string[];
  #iteration = 0;
  readonly #feedback = new Map<string, string>();
  readonly #revisions = new Map<string, number>();
  #progress: RunSetup<S>["progress"];
  #annotations: Record<string, unknown> | undefined;
  #control: RunControl | undefined;
  /** Whether checkpoints are written at all (durability is not `"off"`). */
  readonly #writes: boolean;

  constructor(setup: RunSetup<S>) {
    this.#setup = setup;
    this.#state = deepFreeze({ ...setup.state });
    this.#path = [...setup.path];
    this.#frontier = setup.frontier;
    this.#progress = setup.progress;
    this.#writes = setup.checkpointer.enabled;
    if (setup.pending?.kind === "approval")
      this.#revisions.set(setup.pending.node, setup.pending.revisions);
    const user = setup.signal;
    if (user) {
      if (user.aborted) this.#abort.abort(new RunCancelledError(user.reason));
      else user.addEventListener("abort", () => this.cancel(user.reason), { once: true });
    }
  }

  /** Aborts the in-flight node at once; the run ends `cancelled`. */
  cancel(reason?: unknown): void {
    if (!this.#abort.aborted) {
      this.#abort.abort(
        reason instanceof RunCancelledError ? reason : new RunCancelledError(reason),
      );
    }
  }

  #emit<K extends GraphEventType>(type: K, fields: Omit<GraphEvents[K], keyof EventBase>): void {
    const s = this.#setup;
    if (s.sink === undefined) return;
    s.sink({
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
    extra?: Record<string, unknown>,
    next: readonly string[] = this.#frontier,
  ): Promise<void> {
    const s = this.#setup;
    if (!this.#writes) return;
    const span = s.tracing.checkpointStart();
    let record: Awaited<ReturnType<typeof s.checkpointer.save>>;
    try {
      record = await s.checkpointer.save(
        {
          runId: s.runId,
          node,
          iteration: this.#iteration,
          next,
          status,
          delta,
          ...(extra === undefined ? {} : { extra }),
        },
        this.#state,
        this.#path,
      );
    } catch (error) {
      s.tracing.checkpointEnd(span, undefined, error);
      throw error;
    }
    s.tracing.checkpointEnd(span, record);
    if (record && s.sink) {
      this.#emit("checkpoint:saved", {
        checkpointId: record.id,
        seq: record.seq,
        node,
        bytes: record.payload.length,
      });
    }
  }

  #host(): ControlHost {
    const s = this.#setup;
    const abort = this.#abort;
    return {
      sessionId: s.sessionId,
      runId: s.runId,
      graph: s.graph.name,
      state: () => this.#state,
      path: () => this.#path,
      iteration: () => this.#iteration,
      applyUpdate: async (values) => {
        const applied = s.graph.state.validateAndApply(
          this.#state,
          values,
          "The `update_state` values",
        );
        this.#state = freezeChanged(applied.state, applied.delta);
        this.#emit("state:updated", { node: "update_state", delta: applied.delta });
        await this.#checkpoint(null, applied.delta, "running");
      },
      checkTarget: (target) => {
        const ok =
          typeof target === "number"
            ? target >= 1 && target <= this.#path.length
            : this.#path.includes(target);
        if (!ok) throw new GoBackTargetError(target, this.#path);
        if (s.durability === "off") {
          throw new GoBackTargetError(target, []);
        }
      },
      cancel: (reason) => this.cancel(reason),
      get signal() {
        return abort.signal;
      },
      span: (name, attributes) =>
        s.tracing.tracer.startSpan(name, {
          parent: s.tracing.context,
          ...(attributes === undefined ? {} : { attributes }),
        }),
      notify: (event) => {
        const { type, ...fields } = event;
        s.tracing.event(`trellis.${type.replace(":", ".")}`, () => interruptAttributes(event));
        this.#emit(type, fields as never);
      },
    };
  }

  /** Runs until the graph ends, fails, is cancelled, rejected or pauses. Never throws for outcomes. */
  async execute(): Promise<RunResult<S>> {
    const s = this.#setup;
    this.#emit("run:started", { resumedFrom: s.resumedFrom });
    s.tracing.input(this.#state);
    let outcome: Outcome | undefined;
    try {
      this.#control = s.control?.(this.#host());
      if (s.resumedFrom === null) await this.#checkpoint(null, [], "running", this.#traceExtra());
      if (this.#control) {
        const pending = s.pending;
        if (pending?.kind === "approval") {
          await this.#obey(
            await this.#control.gate(pending.node, pending.revisions, true),
            pending.node,
          );
        } else {
          await this.#obey(await this.#control.check("start", null), null);
        }
      }
      while (this.#frontier.length > 0) {
        if (this.#abort.aborted) throw this.#abort.reason;
        if (this.#iteration + this.#frontier.length > s.maxIterations) {
          throw new MaxIterationsError(s.maxIterations, this.#path.slice(-8));
        }
        if (this.#frontier.length > 1) {
          await this.#superstep(this.#frontier);
          continue;
        }
        const node = this.#frontier[0]!;
        const control = this.#control;
        if (control?.listens("before", node)) {
          const found = control.check("before", node);
          if (!isNone(found) && (await this.#obeyFound(found, node))) continue;
        }
        if (control?.takeSkip()) {
          await this.#skip(node);
          continue;
        }
        await this.#step(node);
        if (!control) continue;
        if (control.gateOf(node)) {
          const revisions = this.#revisions.get(node) ?? 0;
          await this.#obey(await control.gate(node, revisions), node);
        } else if (control.listens("after", node)) {
          const found = control.check("after", node);
          if (!isNone(found)) await this.#obeyFound(found, node);
        }
      }
    } catch (error) {
      outcome = this.#classify(error);
    } finally {
      try {
        await this.#control?.close();
      } catch (error) {
        s.logger.warn("Could not settle the interrupts that cancelled the run", {
          error: String(error),
        });
      }
    }
    return this.#finish(outcome);
  }

  /** Carries out what a check found (a check that found work answers with a promise). */
  async #obeyFound(found: Directive | Promise<Directive>, node: string): Promise<boolean> {
    return this.#obey(await found, node);
  }

  /** Carries out a directive; returns true when it changed what runs next. */
  async #obey(directive: Directive, node: string | null): Promise<boolean> {
    switch (directive.kind) {
      case "none":
        return false;
      case "suspend":
        throw new Suspend(directive.pending);
      case "skip":
        await this.#skip(node!);
        return true;
      case "reject": {
        const gate = this.#control?.gateOf(directive.node);
        if (gate?.onReject !== undefined) {
          this.#frontier = [gate.onReject];
          this.#emit("edge:taken", {
            from: directive.node,
            to: this.#frontier,
            reason: "interrupt",
            label: "rejected",
          });
          return true;
        }
        throw new Reject(new RunRejectedError(directive.node, directive.reason));
      }
      case "restore": {
        await this.#restore(directive.target, directive.feedback);
        return true;
      }
    }
  }

  /** Runs a node's edges without running it (the `skip` action). */
  async #skip(node: string): Promise<void> {
    const decision = this.#setup.graph.next(node, this.#state, undefined);
    this.#frontier = decision.targets;
    this.#emit("edge:taken", {
      from: node,
      to: decision.targets,
      reason: "interrupt",
      label: "skipped",
    });
    await this.#checkpoint(null, [], "running", { skipped: node });
  }

  /** Puts back the state from before `target` last ran (or `target` nodes back), from the checkpoints. */
  async #restore(target: string | number, feedback: string | undefined): Promise<void> {
    const s = this.#setup;
    await s.checkpointer.flush();
    let id = s.checkpointer.lastId;
    let seen = 0;
    let before: string | null | undefined;
    let node: string | undefined;
    while (id !== null) {
      const record = await s.store.checkpoints.get(s.threadId, id);
      if (!record) break;
      if (record.node !== null) {
        seen++;
        if (typeof target === "number" ? seen === target : record.node === target) {
          before = record.parentId;
          node = record.node;
          break;
        }
      }
      id = record.parentId;
    }
    if (before === undefined || before === null || node === undefined) {
      throw new GoBackTargetError(target, this.#path);
    }
    const checkpoint = await loadCheckpoint<S>(s.store.checkpoints, s.threadId, before);
    this.#state = deepFreeze(checkpoint.state);
    this.#path = [...checkpoint.path];
    this.#frontier = [node];
    if (feedback !== undefined) {
      this.#feedback.set(node, feedback);
      this.#revisions.set(
        node,
        (this.#revisions.get(node) ?? 0) + (this.#control?.gateOf(node) ? 1 : 0),
      );
    }
    s.checkpointer.jumpTo(before);
    this.#emit("state:restored", {
      checkpointId: before,
      path: [...this.#path],
      next: this.#frontier,
    });
    await this.#checkpoint(null, [], "running", { restoredFrom: before });
  }

  /** The root span, so a run that continues this one can link to it. */
  #traceExtra(): Record<string, unknown> | undefined {
    const traceparent = this.#setup.tracing.traceparent();
    return traceparent === undefined ? undefined : { traceparent };
  }

  #classify(error: unknown): Outcome {
    // A cancel wins over a pause or rejection that was decided after it.
    if (this.#abort.aborted) {
      const reason = this.#abort.reason;
      return {
        status: "cancelled",
        error: reason instanceof TrellisError ? reason : new RunCancelledError(reason),
      };
    }
    if (error instanceof Suspend)
      return { status: "paused", error: undefined, pending: error.pending };
    if (error instanceof Reject) return { status: "rejected", error: error.error };
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
      const extra = {
        ...this.#traceExtra(),
        ...(outcome?.pending ? { pending: outcome.pending } : {}),
      };
      await this.#checkpoint(null, [], status, extra, status === "completed" ? [] : this.#frontier);
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
      path: [...this.#path],
      iterations: this.#iteration,
      checkpointId: s.checkpointer.lastId,
      error,
    };
    s.tracing.finish(result.status, error, result.path.length, result.state);
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
    signal: () => AbortSignal,
    span: SpanHandle,
  ): NodeContext {
    const s = this.#setup;
    return new RunNodeContext({
      signal,
      sessionId: s.sessionId,
      runId: s.runId,
      node: s.graphPath === s.graph.name ? node : `${s.graphPath}/${node}`,
      iteration,
      attempt,
      feedback: this.#feedback.get(node),
      logger: s.logger,
      emit: (name, data) => {
        span.addEvent(TrellisEvents.CUSTOM, () => ({ "trellis.event.name": name }));
        this.#emit("custom", { node, name, data });
      },
    });
  }

  #runtime(node: string, span: SpanHandle): NodeRuntime {
    const s = this.#setup;
    const progress = this.#progress?.node === node ? this.#progress.data : [];
    return {
      store: s.store,
      clock: s.clock,
      logger: s.logger,
      threadId: s.threadId,
      graphPath: s.graphPath,
      sessionId: s.sessionId,
      runId: s.runId,
      durability: s.durability,
      maxIterations: s.maxIterations,
      state: s.graph.state as never,
      sink: s.sink,
      tracer: s.tracing.tracer,
      traceContext: span.context,
      conflicts: s.graph.conflicts,
      progress,
      saveProgress: (data) => this.#checkpoint(null, [], "running", { progress: { node, data } }),
      annotate: (data) => {
        this.#annotations = { ...this.#annotations, ...data };
      },
    };
  }

  /** Executes one node against `state`; returns its result without applying it. */
  async #invoke(
    name: string,
    state: S,
  ): Promise<{
    update: Partial<S> | MergedUpdate<S> | undefined;
    goto: readonly string[] | undefined;
    span: SpanHandle;
  }> {
    const s = this.#setup;
    const entry = s.graph.node(name)!;
    const iteration = ++this.#iteration;
    const span = s.tracing.node(name, entry.definition, iteration);
    const feedback = this.#feedback.get(name);
    if (feedback !== undefined) span.setContent(TrellisAttributes.FEEDBACK, feedback);
    try {
      const { update, goto } = await this.#execute(name, entry, state, iteration, span);
      return { update, goto, span };
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
  }

  async #execute(
    name: string,
    entry: NonNullable<ReturnType<CompiledGraph<S>["node"]>>,
    state: S,
    iteration: number,
    span: SpanHandle,
  ): Promise<{
    update: Partial<S> | MergedUpdate<S> | undefined;
    goto: readonly string[] | undefined;
  }> {
    const s = this.#setup;
    this.#emit("node:started", { node: name, iteration, attempt: 1 });
    if (s.hooks.beforeNode)
      await this.#hook("beforeNode", {
        node: name,
        state,
        iteration,
        sessionId: s.sessionId,
        runId: s.runId,
      });
    const started = s.sink ? s.clock.now() : 0;
    const result = await span.runInContext(() =>
      executeNode<S>({
        name,
        run: entry.definition.run,
        runtime: this.#runtime(name, span),
        state,
        retry: entry.options.retry,
        timeoutMs: entry.options.timeoutMs,
        abort: this.#abort,
        clock: s.clock,
        context: (attempt, signal) => this.#context(name, iteration, attempt, signal, span),
        onFailure: (attempt, error, willRetry) => {
          this.#emit("node:failed", { node: name, iteration, attempt, error, willRetry });
          if (willRetry) {
            span.addEvent(TrellisEvents.RETRY, () => ({
              [TrellisAttributes.ATTEMPT]: attempt,
              "error.type": errorName(error),
            }));
            this.#emit("node:started", { node: name, iteration, attempt: attempt + 1 });
          }
        },
      }),
    );
    this.#feedback.delete(name);
    if (this.#progress?.node === name) this.#progress = undefined;
    if (s.sink)
      this.#emit("node:completed", { node: name, iteration, durationMs: s.clock.now() - started });
    classifyNodeResult(result, name);
    if (result === undefined || result === null) return { update: undefined, goto: undefined };
    if (result instanceof MergedUpdate) return { update: result, goto: result.goto };
    if (isCommand(result))
      return { update: result.update as Partial<S> | undefined, goto: result.goto };
    return { update: result as Partial<S>, goto: undefined };
  }

  /** Applies a node's update to `state` (validated, through the reducers). Pure apart from the throw. */
  #applyTo(
    state: S,
    name: string,
    update: Partial<S> | MergedUpdate<S> | undefined,
  ): { state: S; delta: readonly DeltaOp[] } {
    if (update === undefined) return { state, delta: [] };
    const applied =
      update instanceof MergedUpdate
        ? update
        : this.#setup.graph.validateAndApply(state, update, name);
    return { state: freezeChanged(applied.state, applied.delta), delta: applied.delta };
  }

  async #step(name: string): Promise<void> {
    const s = this.#setup;
    const { update, goto, span } = await this.#invoke(name, this.#state);
    // Everything that can fail is computed before the run's state changes, so a failure
    // leaves the state exactly as the last checkpoint has it.
    let applied: { state: S; delta: readonly DeltaOp[] };
    let decision: RouteDecision;
    try {
      applied = this.#applyTo(this.#state, name, update);
      decision = s.graph.next(name, applied.state, goto);
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
    if (update !== undefined) {
      span.setContent(
        TrellisAttributes.STATE_UPDATE,
        update instanceof MergedUpdate ? applied.delta : update,
      );
    }
    endNodeSpan(span, decision, this.#annotations);
    this.#state = applied.state;
    this.#path.push(name);
    this.#frontier = decision.targets;
    if (applied.delta.length > 0) this.#emit("state:updated", { node: name, delta: applied.delta });
    this.#emit("edge:taken", {
      from: name,
      to: decision.targets,
      reason: decision.reason,
      label: decision.label,
    });
    const annotations = this.#annotations;
    this.#annotations = undefined;
    // Each await costs a promise per step (and more under an OpenTelemetry context manager),
    // so steps that have nothing to write or call skip them.
    if (this.#writes) await this.#checkpoint(name, applied.delta, "running", annotations);
    if (s.hooks.afterNode || s.hooks.onEdge) {
      await this.#afterHooks(name, update instanceof MergedUpdate ? undefined : update, decision);
    }
  }

  async #afterHooks(
    name: string,
    update: Partial<S> | undefined,
    decision: RouteDecision,
  ): Promise<void> {
    const s = this.#setup;
    await this.#hook("afterNode", {
      node: name,
      state: this.#state,
      update,
      iteration: this.#iteration,
      sessionId: s.sessionId,
      runId: s.runId,
    });
    await this.#hook("onEdge", {
      from: name,
      to: decision.targets,
      reason: decision.reason,
      label: decision.label,
      sessionId: s.sessionId,
      runId: s.runId,
    });
  }

  /**
   * Several nodes in the frontier (fan-out): they run concurrently, each on the same state,
   * and their structural diffs are merged in frontier order, so the result never depends on
   * which finished first. Conflicting overwrites follow the graph's conflict policy.
   */
  async #superstep(nodes: readonly string[]): Promise<void> {
    const s = this.#setup;
    const base = this.#state;
    const pending = nodes.map((name) => this.#invoke(name, base));
    let results: Awaited<(typeof pending)[number]>[];
    try {
      results = await Promise.all(pending);
    } catch (error) {
      // The run fails at the first failure; spans of nodes still running end when they do.
      for (const p of pending)
        p.then(
          (r) => r.span.end(),
          () => {},
        );
      throw error;
    }
    let merged: ReturnType<typeof mergeBranches<S>>;
    let decisions: RouteDecision[];
    try {
      const branches = results.map(({ update }, i) => s.graph.branch(base, nodes[i]!, update));
      merged = mergeBranches(base, branches, s.graph.state, s.graph.conflicts);
      const state = merged.state;
      decisions = nodes.map((name, i) => s.graph.next(name, state, results[i]!.goto));
    } catch (error) {
      for (const r of results) r.span.endWithError(error);
      throw error;
    }
    for (const [i, r] of results.entries()) endNodeSpan(r.span, decisions[i]!, undefined);
    if (merged.conflicts.length > 0) {
      s.tracing.event("trellis.merge.conflicts", () => ({
        [TrellisAttributes.MERGE_CONFLICTS]: merged.conflicts.length,
        "trellis.merge.paths": merged.conflicts.map((c) => c.path),
      }));
    }
    const next: string[] = [];
    for (const decision of decisions) {
      for (const target of decision.targets) if (!next.includes(target)) next.push(target);
    }
    this.#state = merged.state;
    if (merged.delta.length > 0)
      this.#emit("state:updated", { node: nodes.join("+"), delta: merged.delta });
    decisions.forEach((decision, i) => {
      this.#emit("edge:taken", {
        from: nodes[i]!,
        to: decision.targets,
        reason: decision.reason,
        label: decision.label,
      });
    });
    // One checkpoint per node: every node of the step ran on `base`, so going back to any of
    // them restores `base`; the last one carries the merged delta.
    for (let i = 0; i < nodes.length; i++) {
      this.#path.push(nodes[i]!);
      const last = i === nodes.length - 1;
      if (last) this.#frontier = next;
      await this.#checkpoint(
        nodes[i]!,
        last ? merged.delta : [],
        "running",
        undefined,
        last ? next : nodes.slice(i + 1),
      );
    }
    for (let i = 0; i < nodes.length; i++) {
      const update = results[i]!.update;
      await this.#afterHooks(
        nodes[i]!,
        update instanceof MergedUpdate ? undefined : update,
        decisions[i]!,
      );
    }
  }
}

/** True when a check answered at once that there is nothing to do. */
function isNone(found: Directive | Promise<Directive>): boolean {
  return !(found instanceof Promise) && found.kind === "none";
}
