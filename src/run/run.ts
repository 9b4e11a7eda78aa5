/**
 * `Run`: the one stateful shell of a run. It holds the plan and carries out what the pure
 * planner (`planner.ts`) says: the run loop and the single-node step (`#step`, `#invoke`,
 * `#checkpoint`: they run once per node, so they stay here, allocation-lean), the dispatch of
 * an interrupt's directive, the superstep's moves of the plan, and the end of the run.
 * Beside it, each taking plain values or the run's `RunShell` (`run-shell.ts`):
 * - `superstep.ts`: fan-out execution with sibling aborts, the merge, the staged checkpoints;
 * - `course-changes.ts`: `update_state`, `skip`, `go_back` (lookup in `restore-point.ts`);
 * - `run-gate.ts`: opening and deciding approval gates, and their records;
 * - `run-finish.ts`: the end of a run, its final checkpoint and its `RunResult`;
 * - `run-outcome.ts`: outcomes as data and what the final checkpoint and audit say;
 * - `invoked.ts`: a node's result read; `run-setup.ts`: what a run is given.
 */
import { causedByStore, RunCancelledError, SiblingFailedError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import type { NodeContext } from "../graph/node.js";
import { MergedUpdate, type NodeRuntime, type NodeStop } from "../graph/node-runtime.js";
import type { RouteDecision } from "../graph/route.js";
import { type DeltaOp, freezeChanged } from "../graph/state.js";
import type { Settled } from "../interrupts/settlement.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { CheckpointMeta } from "../store/checkpoint-meta.js";
import type { CheckpointRecord } from "../store/checkpoint-store.js";
import { GenAiAttributes, TrellisAttributes, TrellisEvents } from "../telemetry/attributes.js";
import type { SpanHandle } from "../telemetry/tracing.js";
import type { Checkpointer, CheckpointInput, Extras } from "./checkpointer.js";
import { restoreTo, skipNode, updateState } from "./course-changes.js";
import type { Directive } from "./directive.js";
import type { EventBase, GraphEvent, GraphEvents, GraphEventType } from "./events.js";
import { executeNode } from "./execute-node.js";
import { type Invoked, interpretResult } from "./invoked.js";
import { LazyAbort } from "./lazy-abort.js";
import type { Outcome, PlanPolicy, RunPlan } from "./planner.js";
import * as planner from "./planner.js";
import type { ControlEvent, ControlHost, RunControl } from "./run-control.js";
import { finishRun } from "./run-finish.js";
import { decideGate, openGate } from "./run-gate.js";
import { afterHooks, callHook } from "./run-hooks.js";
import { RunNodeContext, stepKey } from "./run-node-context.js";
import { cancelledOutcome, failedOutcome } from "./run-outcome.js";
import type { RunPath } from "./run-path.js";
import type { RunResult } from "./run-result.js";
import type { RunSetup, RunStopReason } from "./run-setup.js";
import type { RunRecords, RunShell } from "./run-shell.js";
import {
  endNodeSpan,
  errorName,
  interruptAttributes,
  type RunTracing,
  reducerAttributes,
} from "./run-tracing.js";
import { mergeSiblings, runSiblings, stageSiblings } from "./superstep.js";

/**
 * One run of a compiled graph: the only place that holds mutable run state. What to do next
 * comes from the pure planner (`nextStep`, and the transitions that give the next plan); this
 * class carries steps out — executes nodes, obeys interrupts through its control, emits events,
 * writes checkpoints — and never throws for an outcome: a run ends as data.
 */
export class Run<S extends Record<string, unknown>> {
  readonly #setup: RunSetup<S>;
  readonly #abort = new LazyAbort();
  readonly #policy: PlanPolicy;
  #plan: RunPlan<S>;
  #control: RunControl | undefined;
  #notes: CheckpointMeta["notes"];
  /** Settlements and audit entries that go with the run's final checkpoint, and what it announces once stored. */
  readonly #deferred: {
    settled: Settled[];
    audit: AuditEntryInput[];
    announce: (() => void)[];
  } = { settled: [], audit: [], announce: [] };
  /** Set when a course change was carried out during a check. */
  #changed = false;
  /** Set when a nested run stops without ending. */
  #stop: RunStopReason | undefined;
  /** See `#shell()`. */
  #shellValue: RunShell<S> | undefined;

  constructor(setup: RunSetup<S>) {
    this.#setup = setup;
    // The state every node sees is deeply frozen, so no node can change it in place.
    this.#plan = { ...setup.plan, state: deepFreeze(setup.plan.state) };
    const graph = setup.graph;
    this.#policy = {
      maxIterations: setup.maxIterations,
      listens: (phase, node) => this.#control?.listens(phase, node) ?? false,
      barrier: (target) => graph.barrierOf(target),
    };
    const user = setup.signal;
    if (user) {
      if (user.aborted) this.cancel(user.reason);
      else user.addEventListener("abort", () => this.cancel(user.reason), { once: true });
    }
  }

  /** The run's abort signal (built on first read). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Aborts the in-flight node at once; the run ends `cancelled` unless it already ended. */
  cancel(reason?: unknown): void {
    if (!this.#abort.aborted) {
      this.#abort.abort(
        reason instanceof RunCancelledError ? reason : new RunCancelledError(reason),
      );
    }
  }

  /** Where the run stands (for the session control's reasoner context). */
  get plan(): RunPlan<S> {
    return this.#plan;
  }

  /** The run's spans (its tracer and root span). */
  get tracing(): RunTracing {
    return this.#setup.tracing;
  }

  /** Why a nested run stopped without ending, if it did. */
  get stopReason(): RunStopReason | undefined {
    return this.#stop;
  }

  #emit<K extends GraphEventType>(type: K, fields: Omit<GraphEvents[K], keyof EventBase>): void {
    const s = this.#setup;
    if (s.sink === undefined) return;
    s.sink({
      type,
      sessionId: s.sessionId,
      runId: s.runId,
      graph: s.graph.name,
      time: s.clock.now(),
      ...fields,
    } as unknown as GraphEvent);
  }

  /** The node's path as config, events and contexts name it. */
  #path(node: string): string {
    return this.#setup.prefix + node;
  }

  /**
   * Writes a checkpoint with the settlements and audit entries that belong to it. Receipts in
   * this process resolve once the write is stored.
   */
  async #checkpoint(
    input: Omit<CheckpointInput, "runId" | "iteration"> & { readonly iteration?: number },
    extras: {
      readonly settled?: readonly Settled[];
      readonly audit?: readonly AuditEntryInput[];
    } = {},
    flush = false,
    at: { readonly state: S; readonly path: RunPath } = this.#plan,
    /** Checkpoints staged before this one, stored in the same write. */
    staged: readonly CheckpointRecord[] = [],
  ): Promise<void> {
    const s = this.#setup;
    const settled = extras.settled ?? [];
    const batch: Extras = {
      ...(settled.length === 0 ? {} : { settle: settled.map((x) => x.settlement) }),
      audit: [...settled.map((x) => x.audit), ...(extras.audit ?? [])],
    };
    const span = s.checkpointer.enabled ? s.tracing.checkpointStart() : undefined;
    s.session?.expecting(settled);
    let record: Awaited<ReturnType<Checkpointer["save"]>>;
    try {
      record = await s.checkpointer.save(
        // Spelled out rather than spread: this runs on every step.
        {
          runId: s.runId,
          iteration: input.iteration ?? this.#plan.iteration,
          node: input.node,
          next: input.next,
          status: input.status,
          delta: input.delta,
          ...(input.meta === undefined ? {} : { meta: input.meta }),
          keepsKeyBase: input.keepsKeyBase === true,
        },
        at.state,
        () => at.path.toArray(),
        batch,
        flush,
      );
    } catch (error) {
      s.session?.undelivered(settled);
      s.tracing.checkpointEnd(span, undefined, error);
      throw error;
    }
    s.session?.delivered(settled);
    s.tracing.checkpointEnd(span, record);
    if (record && s.sink) {
      for (const saved of [...staged, record]) {
        this.#emit("checkpoint:saved", {
          checkpointId: saved.id,
          seq: saved.seq,
          node: saved.node,
          bytes: JSON.stringify(saved.kind === "full" ? saved.state : saved.delta).length,
        });
      }
    }
  }

  /** Writes settlements and audit entries that need no checkpoint. */
  async #record(settled: readonly Settled[], audit: readonly AuditEntryInput[]): Promise<void> {
    const s = this.#setup;
    s.session?.expecting(settled);
    try {
      await s.checkpointer.commit({
        ...(settled.length === 0 ? {} : { settle: settled.map((x) => x.settlement) }),
        audit: [...settled.map((x) => x.audit), ...audit],
      });
    } catch (error) {
      s.session?.undelivered(settled);
      throw error;
    }
    s.session?.delivered(settled);
  }

  #host(): ControlHost {
    const s = this.#setup;
    const abort = this.#abort;
    return {
      runId: s.runId,
      prefix: s.prefix,
      graph: s.graph.name,
      durable: s.checkpointer.enabled,
      get signal() {
        return abort.signal;
      },
      get aborted() {
        return abort.aborted;
      },
      plan: () => this.#plan,
      apply: async (directive, settled, audit) => {
        const changed = await this.#apply(directive, settled, audit);
        if (changed) this.#changed = true;
        return changed;
      },
      record: (settled, audit) => this.#record(settled, audit),
      span: (name, attributes) =>
        s.tracing.tracer.startSpan(name, {
          parent: s.tracing.context,
          ...(attributes === undefined ? {} : { attributes }),
        }),
      notify: (event) => this.#notify(event),
    };
  }

  #notify(event: ControlEvent): void {
    const { type, ...fields } = event;
    this.#setup.tracing.event(
      type === "interrupt:applied"
        ? TrellisEvents.INTERRUPT_APPLIED
        : TrellisEvents.INTERRUPT_REFUSED,
      () => interruptAttributes(event),
    );
    this.#emit(type, fields as never);
  }

  /** Runs until the graph ends, fails, is cancelled, rejected or pauses. Never throws for outcomes. */
  async execute(): Promise<RunResult<S>> {
    const s = this.#setup;
    this.#emit("run:started", { resumedFrom: s.resumedFrom });
    s.tracing.input(this.#plan.state);
    try {
      this.#control = s.control?.(this.#host());
      await this.#begin();
      await this.#loop();
    } catch (error) {
      this.#plan = planner.end(this.#plan, this.#classify(error));
    }
    return this.#finish();
  }

  async #begin(): Promise<void> {
    const s = this.#setup;
    const begin = s.begin;
    if (begin.checkpoint) {
      await this.#checkpoint(
        {
          node: null,
          next: this.#plan.frontier,
          status: "running",
          delta: [],
          meta: this.#meta(begin.meta),
        },
        { audit: begin.audit },
      );
    } else if (begin.audit.length > 0) {
      await this.#record([], begin.audit);
    }
  }

  /** The meta every node-less checkpoint carries while the plan has them open. */
  #meta(extra: Omit<CheckpointMeta, "v" | "path"> = {}): Omit<CheckpointMeta, "v" | "path"> {
    const plan = this.#plan;
    const waiting = Object.keys(plan.waiting).length === 0 ? undefined : plan.waiting;
    return {
      ...(plan.gate === undefined ? {} : { gate: plan.gate }),
      ...(plan.rerun === undefined ? {} : { rerun: plan.rerun }),
      ...(waiting === undefined ? {} : { waiting: waiting as Record<string, string[]> }),
      ...extra,
    };
  }

  async #loop(): Promise<void> {
    for (;;) {
      const step = planner.nextStep(this.#plan, this.#policy);
      if (step.kind === "finish") {
        this.#plan = planner.end(this.#plan, step.outcome);
        return;
      }
      if (this.#abort.aborted) {
        this.#plan = planner.end(this.#plan, this.#cancelled());
        return;
      }
      switch (step.kind) {
        case "check": {
          const control = this.#control;
          if (control === undefined) {
            this.#plan = planner.passCheck(this.#plan);
            break;
          }
          this.#changed = false;
          const found = control.check(step.phase, step.node);
          if (found !== undefined) await found;
          if (!this.#changed && this.#plan.outcome === undefined) {
            this.#plan = planner.passCheck(this.#plan);
          }
          break;
        }
        case "gate":
          await this.#control!.gate();
          break;
        case "skip":
          await skipNode(this.#shell(), step.node, {});
          break;
        case "node":
          await this.#step(step.node);
          break;
        case "superstep":
          await this.#superstep(step.nodes);
          break;
      }
    }
  }

  #cancelled(): Outcome {
    return cancelledOutcome(this.#abort.reason);
  }

  #classify(error: unknown): Outcome {
    // A cancel wins over a failure it caused (the aborted node rejects with its reason).
    if (this.#abort.aborted) return this.#cancelled();
    return failedOutcome(error);
  }

  /**
   * Carries out a directive for the control. Directives that end the run keep their message and
   * audit entries for the final checkpoint; the others write theirs now.
   */
  async #apply(
    directive: Directive,
    settled: Settled | undefined,
    audit: readonly AuditEntryInput[],
  ): Promise<boolean> {
    const extras = { settled: settled === undefined ? [] : [settled], audit };
    const plan = this.#plan;
    try {
      return await this.#carryOut(directive, extras);
    } catch (error) {
      // Its write failed: the plan goes back to where the store has it (the checkpointer
      // continues the latest stored checkpoint on its own), so the failed end records the
      // position before the directive (a gate still open, say), never one the directive
      // reached unrecorded. The message stays unsettled and is applied on resume.
      if (causedByStore(error)) this.#plan = plan;
      throw error;
    }
  }

  async #carryOut(directive: Directive, extras: RunRecords): Promise<boolean> {
    switch (directive.kind) {
      case "none":
      case "resume":
        await this.#record(extras.settled, extras.audit);
        return false;
      case "suspend":
        this.#defer(extras);
        this.#plan = planner.end(this.#plan, { status: "paused", pause: directive.pause });
        return true;
      case "cancel":
        this.#defer(extras);
        this.cancel(new RunCancelledError(directive.reason));
        this.#plan = planner.end(this.#plan, this.#cancelled());
        return true;
      case "wait":
        await this.#checkpoint(
          {
            node: null,
            next: this.#plan.frontier,
            status: "running",
            delta: [],
            meta: this.#meta({ pause: directive.pause }),
            keepsKeyBase: true,
          },
          extras,
          true,
        );
        return false;
      case "skip":
        if (this.#plan.position.at === "before" && this.#plan.frontier.length === 1) {
          await skipNode(this.#shell(), this.#plan.frontier[0]!, extras);
          return true;
        }
        this.#plan = planner.skipNext(this.#plan);
        await this.#record(extras.settled, extras.audit);
        return false;
      case "update":
        await updateState(this.#shell(), directive.values, extras);
        return false;
      case "restore":
        return restoreTo(this.#shell(), directive.target, directive.feedback, undefined, extras);
      case "decide":
        return decideGate(this.#shell(), directive, extras);
    }
  }

  #defer(extras: {
    readonly settled: readonly Settled[];
    readonly audit: readonly AuditEntryInput[];
  }): void {
    this.#deferred.settled.push(...extras.settled);
    this.#deferred.audit.push(...extras.audit);
  }

  /** What the course changes, gate steps and end of the run see of it: built once, on first use. */
  #shell(): RunShell<S> {
    if (this.#shellValue !== undefined) return this.#shellValue;
    const run = this;
    this.#shellValue = {
      setup: this.#setup,
      policy: this.#policy,
      get plan() {
        return run.#plan;
      },
      set plan(plan) {
        run.#plan = plan;
      },
      get stop() {
        return run.#stop;
      },
      set stop(stop) {
        run.#stop = stop;
      },
      emit: (type, fields) => this.#emit(type, fields),
      checkpoint: (input, records, flush) => this.#checkpoint(input, records, flush),
      meta: (extra) => this.#meta(extra),
      record: (settled, audit) => this.#record(settled, audit),
      defer: (records) => this.#defer(records),
      announceAtEnd: (announce) => {
        this.#deferred.announce.push(announce);
      },
      gateOf: (node) => this.gateOf(node),
    };
    return this.#shellValue;
  }

  gateOf(node: string) {
    return this.#control?.gateOf(node.slice(this.#setup.prefix.length));
  }

  #finish(): Promise<RunResult<S>> {
    return finishRun(this.#shell(), {
      deferred: this.#deferred,
      cancelled: () => this.#cancelled(),
    });
  }

  // The functions handed to a node's context, runtime and call are method definitions over
  // `run`, not arrow properties. They are made for every node execution, and under tsx
  // (esbuild's `keepNames`) every named arrow made is wrapped in a call that defines its
  // `name`: with the checkpointer's, those calls were a quarter of a checkpointed step in
  // memory. They use no `this` of their own, so they work taken off their object.
  #context(
    node: string,
    iteration: number,
    attempt: number,
    signal: () => AbortSignal,
    span: SpanHandle,
    from: { readonly checkpointId: string | null; readonly depth: number },
  ): NodeContext {
    const run = this;
    const s = this.#setup;
    const rerun = this.#plan.rerun?.node === node ? this.#plan.rerun : undefined;
    const path = this.#path(node);
    return new RunNodeContext({
      signal,
      sessionId: s.sessionId,
      runId: s.runId,
      node: path,
      iteration,
      attempt,
      feedback: rerun?.feedback,
      revision:
        rerun?.revision === undefined
          ? undefined
          : {
              number: rerun.revision.number,
              requestId: rerun.revision.requestId,
              feedback: rerun.feedback ?? "",
              history: rerun.revision.history,
            },
      logger: s.logger,
      emit(name, data) {
        span.addEvent(TrellisEvents.CUSTOM, () => ({ [TrellisAttributes.EVENT_NAME]: name }));
        run.#emit("custom", { node: path, name, data });
      },
      idempotencyKey() {
        return stepKey([s.sessionId, from.checkpointId ?? "", from.depth, path]);
      },
    });
  }

  #runtime(node: string, span: SpanHandle): NodeRuntime {
    const run = this;
    const progress = this.#setup.progress?.node === node ? this.#setup.progress.data : [];
    return this.#setup.runtimes({
      node,
      path: this.#path(node),
      span,
      progress,
      run: { control: this.#control, path: this.#plan.path },
      saveProgress(data) {
        return run.#checkpoint({
          node: null,
          next: run.#plan.frontier,
          status: "running",
          delta: [],
          meta: run.#meta({ progress: { node, data } }),
          keepsKeyBase: true,
        });
      },
      note(notes) {
        const branches =
          notes.branches === undefined
            ? run.#notes?.branches
            : { ...run.#notes?.branches, ...notes.branches };
        run.#notes = {
          ...run.#notes,
          ...notes,
          ...(branches === undefined ? {} : { branches }),
        };
      },
    });
  }

  /**
   * Executes one node against `state`; returns its result without applying it. `track` is
   * told about the promise of the node's own work (see `NodeCall.started`).
   */
  async #invoke(
    name: string,
    state: S,
    iteration: number,
    abort: LazyAbort,
    track?: (work: PromiseLike<unknown>) => void,
  ): Promise<Invoked<S>> {
    const run = this;
    const s = this.#setup;
    const entry = s.graph.node(name)!;
    const span = s.tracing.node(this.#path(name), entry.definition, iteration);
    const rerun = this.#plan.rerun?.node === name ? this.#plan.rerun : undefined;
    if (rerun?.feedback !== undefined) span.setContent(TrellisAttributes.FEEDBACK, rerun.feedback);
    let attempts = 1;
    // Where the step starts, read now: the siblings of a superstep checkpoint as they finish.
    const from = { checkpointId: s.checkpointer.keyBase, depth: this.#plan.path.length };
    try {
      this.#emit("node:started", { node: this.#path(name), iteration, attempt: 1 });
      if (s.hooks.beforeNode) {
        await callHook(s.hooks, "beforeNode", {
          node: name,
          state,
          iteration,
          sessionId: s.sessionId,
          runId: s.runId,
        });
      }
      const started = s.sink ? s.clock.now() : 0;
      const result = await span.runInContext(() =>
        executeNode<S>({
          name,
          run: entry.definition.run,
          runtime: this.#runtime(name, span),
          state,
          retry: entry.options.retry,
          timeoutMs: entry.options.timeoutMs,
          abort,
          clock: s.clock,
          started: track,
          context(attempt, signal) {
            return run.#context(name, iteration, attempt, signal, span, from);
          },
          onFailure(attempt, error, willRetry) {
            run.#emit("node:failed", {
              node: run.#path(name),
              iteration,
              attempt,
              error,
              willRetry,
            });
            if (willRetry) {
              attempts = attempt + 1;
              span.addEvent(TrellisEvents.RETRY, () => ({
                [TrellisAttributes.ATTEMPT]: attempt,
                [GenAiAttributes.ERROR_TYPE]: errorName(error),
              }));
              run.#emit("node:started", {
                node: run.#path(name),
                iteration,
                attempt: attempt + 1,
              });
            }
          },
        }),
      );
      if (attempts > 1) span.setAttribute(TrellisAttributes.ATTEMPT, attempts);
      if (s.sink) {
        this.#emit("node:completed", {
          node: this.#path(name),
          iteration,
          durationMs: s.clock.now() - started,
        });
      }
      return interpretResult<S>(result, name, span);
    } catch (error) {
      span.setAttribute(TrellisAttributes.ATTEMPT, attempts);
      // A cancel, or a sibling's failure, stops the node: an outcome, not an error of its own.
      if (abort.aborted && (error === abort.reason || error instanceof RunCancelledError)) {
        const stopped = abort.reason instanceof SiblingFailedError ? "stopped" : "cancelled";
        span.end({ [TrellisAttributes.NODE_OUTCOME]: stopped });
      } else {
        span.endWithError(error);
      }
      throw error;
    }
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
    const iteration = this.#plan.iteration + 1;
    const { update, goto, stop, span } = await this.#invoke(
      name,
      this.#plan.state,
      iteration,
      this.#abort,
    );
    if (stop !== undefined) {
      span.end();
      await this.#stopped(stop);
      return;
    }
    // Everything that can fail is computed before the run's state changes, so a failure
    // leaves the state exactly as the last checkpoint has it.
    let applied: { state: S; delta: readonly DeltaOp[] };
    let decision: RouteDecision;
    try {
      applied = this.#applyTo(this.#plan.state, name, update);
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
      if (span.isRecording)
        span.setAttributes(() => reducerAttributes(s.graph.state, applied.delta));
    }
    const notes = this.#notes;
    this.#notes = undefined;
    endNodeSpan(span, decision, notes);
    const revision = this.#plan.rerun?.node === name ? this.#plan.rerun.revision : undefined;
    this.#plan = planner.ranNode(this.#plan, name, applied.state, decision.targets, this.#policy);
    if (applied.delta.length > 0)
      this.#emit("state:updated", { node: this.#path(name), delta: applied.delta });
    this.#emit("edge:taken", {
      from: this.#path(name),
      to: decision.targets,
      reason: decision.reason,
      label: decision.label,
    });
    const gate = this.#control?.gateOf(name);
    if (gate !== undefined) {
      await openGate(this.#shell(), name, update, applied.delta, notes, revision, gate);
    } else if (s.checkpointer.enabled) {
      // Each await costs a promise per step (and more under an OpenTelemetry context manager),
      // so steps that have nothing to write or call skip them.
      await this.#checkpoint({
        node: name,
        next: this.#plan.frontier,
        status: "running",
        delta: applied.delta,
        keepsKeyBase: true,
        ...(notes === undefined &&
        this.#plan.rerun === undefined &&
        Object.keys(this.#plan.waiting).length === 0
          ? {}
          : { meta: this.#meta(notes === undefined ? {} : { notes }) }),
      });
    }
    if (s.hooks.afterNode || s.hooks.onEdge) {
      await this.#afterHooks(name, update instanceof MergedUpdate ? undefined : update, decision);
    }
  }

  /** A nested run inside the node that just ran stopped without ending. */
  async #stopped(stop: NodeStop): Promise<void> {
    const reason = stop.reason as RunStopReason;
    if (reason.kind === "escalate") {
      await this.#apply(reason.directive, reason.settled, reason.audit);
      return;
    }
    // The child paused: the whole run suspends, and a resume continues inside the child.
    this.#plan = planner.end(
      reason.gate === undefined ? this.#plan : planner.openGate(this.#plan, reason.gate),
      { status: "paused", pause: reason.pause },
    );
  }

  /** `afterNode` and `onEdge` for a node that ran, with the run as it stands. */
  #afterHooks(
    name: string,
    update: Partial<S> | undefined,
    decision: RouteDecision,
  ): Promise<void> {
    const s = this.#setup;
    const { state, iteration } = this.#plan;
    const at = { sessionId: s.sessionId, runId: s.runId, state, iteration };
    return afterHooks(s.hooks, at, name, update, decision);
  }

  /**
   * Several nodes in the frontier (fan-out): they run concurrently, each on the same state, and
   * their raw updates are merged in frontier order, so the result never depends on which one
   * finished first. When one fails, the others are aborted and the step waits for them to
   * settle before the run fails.
   */
  async #superstep(nodes: readonly string[]): Promise<void> {
    const s = this.#setup;
    const base = this.#plan.state;
    const first = this.#plan.iteration;
    const results = await runSiblings<S>(nodes, this.#abort, (name, i, abort, track) =>
      this.#invoke(name, base, first + i + 1, abort, track),
    );
    const { merged, decisions } = mergeSiblings(s.graph, s.tracing, base, nodes, results);
    const state = merged.state;
    const before = this.#plan;
    this.#plan = planner.ranSuperstep(
      before,
      nodes,
      state,
      decisions.map((d) => d.targets),
      this.#policy,
    );
    if (merged.delta.length > 0)
      this.#emit("state:updated", {
        node: nodes.map((n) => this.#path(n)).join("+"),
        delta: merged.delta,
      });
    decisions.forEach((decision, i) => {
      this.#emit("edge:taken", {
        from: this.#path(nodes[i]!),
        to: decision.targets,
        reason: decision.reason,
        label: decision.label,
      });
    });
    // One checkpoint per node, all in one transaction: the staged ones keep `base` and point
    // at the checkpoint the step started from; the last carries the merged delta.
    const after = this.#plan;
    const staged = stageSiblings(s.checkpointer, { runId: s.runId, nodes, first, base, before });
    await this.#checkpoint(
      {
        node: nodes.at(-1)!,
        iteration: first + nodes.length,
        next: after.frontier,
        status: "running",
        delta: merged.delta,
        ...(Object.keys(after.waiting).length > 0 ? { meta: this.#meta() } : {}),
      },
      {},
      false,
      after,
      staged,
    );
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
