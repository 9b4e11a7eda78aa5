import type { Attributes } from "@opentelemetry/api";
import { causedByStore, InterruptNotApplicableError, TrellisError } from "../errors.js";
import type { ResolvedInterruptConfig } from "../interrupts/interrupt-config.js";
import type { InterruptDecisionSource, QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { ReasonerContext } from "../interrupts/interrupt-reasoner.js";
import { applied, refused, type Settled } from "../interrupts/settlement.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { GateMeta, PauseMeta } from "../store/checkpoint-meta.js";
import { GenAiAttributes, SpanNames, TrellisAttributes } from "../telemetry/attributes.js";
import type { SpanHandle } from "../telemetry/tracing.js";
import { type Directive, policyDecision, resolveAction, type Where } from "./directive.js";
import { type Decided, reasonerContext } from "./message-decision.js";
import type { RunPlan } from "./planner.js";
import type { SessionControl } from "./session-control.js";

/** Events the control reports through the run. */
export type ControlEvent =
  | {
      readonly type: "interrupt:applied";
      readonly id: string;
      readonly action: Decided["action"];
      readonly source: InterruptDecisionSource;
      readonly node: string | null;
      readonly confidence?: number;
    }
  | {
      readonly type: "interrupt:refused";
      readonly id: string;
      readonly error: TrellisError;
      readonly node: string | null;
    };

/** What the control needs from the run it steers. */
export interface ControlHost {
  readonly runId: string;
  /** The path prefix of this run's nodes: `""`, or `"review/"` inside nested node `review`. */
  readonly prefix: string;
  readonly graph: string;
  /** Whether checkpoints are written (a suspended run can be resumed). */
  readonly durable: boolean;
  /** The run's abort signal, built on first read: use `aborted` to only ask. */
  readonly signal: AbortSignal;
  /** Whether the run was cancelled, without building its signal. */
  readonly aborted: boolean;
  plan(): RunPlan<Readonly<Record<string, unknown>>>;
  /**
   * Carries out a directive. `settled` (the message it obeys) and `audit` are written with the
   * checkpoint the directive leads to. Resolves `true` when the run's course changed. Throws a
   * named error when the directive cannot be carried out; the message is then refused.
   */
  apply(
    directive: Directive,
    settled: Settled | undefined,
    audit: readonly AuditEntryInput[],
  ): Promise<boolean>;
  /** Writes settlements and audit entries that need no checkpoint. */
  record(settled: readonly Settled[], audit: readonly AuditEntryInput[]): Promise<void>;
  span(name: string, attributes?: () => Attributes): SpanHandle;
  notify(event: ControlEvent): void;
}

/**
 * Listens to a session's interrupt queue on behalf of one run (or one nested run): at its
 * checkpoints, at approval gates and during `"wait"` pauses it takes messages in service order,
 * decides what each means, and has the run carry out what changes its course. Every message is
 * settled: applied with the checkpoint it led to, or refused with a named error. Waiting never
 * blocks the event loop: it sleeps until the notifier reports a new message or a deadline.
 */
export class RunControl {
  readonly session: SessionControl;
  readonly #host: ControlHost;
  readonly #config: ResolvedInterruptConfig;

  constructor(session: SessionControl, host: ControlHost) {
    this.session = session;
    this.#host = host;
    this.#config = session.config;
  }

  /** The control of a nested run: the same queue, its own run. */
  child(host: ControlHost): RunControl {
    return new RunControl(this.session, host);
  }

  /** True when the run listens around `node` (a node of this run) in this phase. */
  listens(phase: "before" | "after", node: string): boolean {
    const c = this.#config;
    return (
      (phase === "before" ? c.before : c.after) &&
      (c.nodes === undefined || c.nodes.has(this.#host.prefix + node))
    );
  }

  /** The approval gate of `node` (a node of this run), if it has one. */
  gateOf(node: string) {
    return this.#config.approvals.get(this.#host.prefix + node);
  }

  /**
   * Takes messages at a checkpoint until one changes the run's course or none is left.
   * Answers `undefined` (no promise) when nothing can be waiting.
   */
  check(phase: "start" | "before" | "after", node: string | null): Promise<void> | undefined {
    if (!this.session.pending) return undefined;
    return this.#check(phase, node);
  }

  async #check(phase: "start" | "before" | "after", node: string | null): Promise<void> {
    const where = this.#where(phase, node);
    for (;;) {
      if (this.#host.aborted || this.session.cancelled) return;
      const message = await this.session.claim();
      if (message === undefined) return;
      if ((await this.#handle(message, where)) === "changed") return;
    }
  }

  /**
   * Waits at the open approval gate until it is decided: by a message, or by the gate's policy
   * once its deadline passes (after one more look at the queue: a queued decision always beats
   * the default). Without a deadline and with no decision queued, the run suspends at the gate.
   */
  async gate(): Promise<void> {
    const gate = this.#host.plan().gate!;
    const span = this.#host.span(SpanNames.approval(gate.node), () => ({
      [TrellisAttributes.NODE]: gate.node,
      [TrellisAttributes.APPROVAL_REVISION]: gate.revision,
      [TrellisAttributes.APPROVAL_REQUEST]: gate.requestId,
    }));
    try {
      const outcome = await this.#waitAtGate(gate);
      span.end(() => ({ [TrellisAttributes.APPROVAL_OUTCOME]: outcome }));
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
  }

  async #waitAtGate(gate: GateMeta): Promise<string> {
    const where = this.#where("gate", null, gate.node);
    const clock = this.session.clock;
    for (;;) {
      if (this.#host.aborted) return "cancelled";
      const seen = this.session.arrivals.count;
      const message = await this.session.claim();
      if (message !== undefined) {
        if ((await this.#handle(message, where)) === "changed") return "decided";
        continue;
      }
      if (gate.deadline === undefined) {
        await this.#host.apply({ kind: "suspend" }, undefined, []);
        return "suspended";
      }
      const left = gate.deadline - clock.now();
      if (left <= 0) {
        const onTimeout = this.#config.approvals.get(gate.node)?.onTimeout ?? "reject";
        await this.#host.apply(policyDecision(gate, onTimeout, "timeout"), undefined, []);
        return "timeout";
      }
      await this.session.arrivals.wait(seen, left, clock, this.#host.signal);
    }
  }

  #where(phase: Where["phase"], node: string | null, path?: string): Where {
    const plan = this.#host.plan();
    const prefixed = path ?? (node === null ? null : this.#host.prefix + node);
    return {
      phase,
      node: prefixed,
      last: phase === "after" && node !== null ? node : plan.path.at(-1),
    };
  }

  #context(where: Where): ReasonerContext {
    return reasonerContext(this.#host.graph, this.#host.plan(), where.node);
  }

  /**
   * Decides, resolves and carries out one message: `changed` when the run's course changed,
   * `resumed` when it ended a `"wait"` pause, `kept` otherwise.
   */
  async #handle(message: QueuedInterrupt, where: Where): Promise<Handled> {
    const span = this.#host.span(SpanNames.interrupt(), () => ({
      [TrellisAttributes.INTERRUPT_ID]: message.id,
      [TrellisAttributes.INTERRUPT_PHASE]: where.phase,
      ...(where.node === null ? {} : { [TrellisAttributes.NODE]: where.node }),
    }));
    if (message.kind === "text") span.setContent(TrellisAttributes.INTERRUPT_TEXT, message.text);
    let decided: Decided;
    try {
      decided = await span.runInContext(() => this.session.decide(message, this.#context(where)));
    } catch (error) {
      if (this.#host.aborted) {
        // The run was cancelled while a reasoner read the message: it goes back to the queue
        // when the run gives its lease up, for the session's next run.
        span.end(() => ({ [TrellisAttributes.INTERRUPT_OUTCOME]: "aborted" }));
        return "changed";
      }
      await this.#refuse(message, error, where, span);
      return "kept";
    }
    span.updateName(SpanNames.interrupt(decided.action.type));
    span.setAttributes(() => ({
      [TrellisAttributes.INTERRUPT_ACTION]: decided.action.type,
      [TrellisAttributes.INTERRUPT_SOURCE]: decided.source,
      ...(decided.confidence === undefined
        ? {}
        : { [TrellisAttributes.INTERRUPT_CONFIDENCE]: decided.confidence }),
    }));
    if (decided.action.type === "cancel" && this.session.queuedBeforeCancel(message)) {
      await this.#refuse(
        message,
        new InterruptNotApplicableError(
          "cancel",
          "the session was already cancelled when this message arrived",
        ),
        where,
        span,
      );
      return "kept";
    }
    const plan = this.#host.plan();
    const resolution = resolveAction(
      decided.action,
      message,
      where,
      plan.gate,
      this.#config,
      this.#host.durable,
    );
    if (resolution.kind === "refuse") {
      await this.#refuse(message, resolution.error, where, span);
      if (resolution.policy === undefined) return "kept";
      return (await this.#host.apply(resolution.policy, undefined, [])) ? "changed" : "kept";
    }
    const directive = withPause(resolution.directive, message, where, this.session.clock.now());
    if (directive.kind === "suspend" || directive.kind === "wait") {
      span.setAttribute(
        TrellisAttributes.PAUSE_MODE,
        directive.kind === "wait" ? "wait" : "suspend",
      );
    }
    const settled = applied(message, decided, this.session.clock.now(), this.#settledWhere(where));
    let handled: Handled;
    try {
      if (directive.kind === "none") {
        await this.#host.record([settled], []);
        handled = "kept";
      } else if (directive.kind === "resume") {
        await this.#host.record([settled], [this.#audit("run.resumed", where, {}, message.sender)]);
        handled = "resumed";
      } else if (directive.kind === "wait") {
        await this.#host.apply(directive, settled, [
          this.#audit("run.paused", where, { mode: "wait" }, message.sender),
        ]);
        handled = "kept";
      } else {
        if (directive.kind === "cancel") this.session.cancelledByCheck();
        const changed = await this.#host.apply(
          directive,
          settled,
          this.#auditFor(directive, message, where),
        );
        handled = changed ? "changed" : "kept";
      }
    } catch (error) {
      // The store failing is not the sender's mistake: the message stays claimed, unsettled,
      // and goes back to the queue when the failed run lets the session go.
      if (causedByStore(error)) {
        span.endWithError(error);
        throw error;
      }
      await this.#refuse(message, error, where, span);
      return "kept";
    }
    this.#notifyApplied(message, decided, where);
    span.end(() => ({
      [TrellisAttributes.INTERRUPT_OUTCOME]: "applied",
      [TrellisAttributes.DIRECTIVE]: directive.kind,
    }));
    // The sender learns at once that the run is held; the wait itself comes after.
    if (directive.kind === "wait") return this.#pause(directive.timeoutMs, where);
    return handled;
  }

  #settledWhere(where: Where) {
    return {
      runId: this.#host.runId,
      ...(where.node === null ? {} : { node: where.node }),
      iteration: this.#host.plan().iteration,
    };
  }

  #notifyApplied(message: QueuedInterrupt, decided: Decided, where: Where): void {
    this.#host.notify({
      type: "interrupt:applied",
      id: message.id,
      action: decided.action,
      source: decided.source,
      node: where.node,
      ...(decided.confidence === undefined ? {} : { confidence: decided.confidence }),
    });
  }

  async #refuse(message: QueuedInterrupt, error: unknown, where: Where, span: SpanHandle) {
    const refusal =
      error instanceof TrellisError
        ? error
        : new TrellisError("INTERRUPT_FAILED", String(error), { cause: error });
    await this.#host.record(
      [refused(message, refusal, this.session.clock.now(), this.#settledWhere(where))],
      [],
    );
    this.#host.notify({
      type: "interrupt:refused",
      id: message.id,
      error: refusal,
      node: where.node,
    });
    // A refused message is the sender's mistake, not the run's: the span keeps an unset status.
    span.end(() => ({
      [TrellisAttributes.INTERRUPT_OUTCOME]: "refused",
      [GenAiAttributes.ERROR_TYPE]: refusal.code,
    }));
  }

  #audit(
    kind: AuditEntryInput["kind"],
    where: Where,
    data: Record<string, unknown>,
    actor: string | undefined,
  ): AuditEntryInput {
    return {
      sessionId: this.session.sessionId,
      runId: this.#host.runId,
      at: this.session.clock.now(),
      kind,
      ...(where.node === null ? {} : { node: where.node }),
      iteration: this.#host.plan().iteration,
      ...(actor === undefined ? {} : { actor }),
      data,
    };
  }

  #auditFor(directive: Directive, message: QueuedInterrupt, where: Where): AuditEntryInput[] {
    if (directive.kind === "suspend") {
      return [this.#audit("run.paused", where, { mode: "suspend" }, message.sender)];
    }
    if (directive.kind === "update") {
      return [
        this.#audit(
          "state.updated",
          where,
          { keys: Object.keys(directive.values) },
          message.sender,
        ),
      ];
    }
    return [];
  }

  /**
   * A `"wait"` pause, checkpointed with its message already: the run is held until `resume`, a
   * message that changes its course, or the timeout (then `onPauseTimeout` applies).
   */
  async #pause(timeoutMs: number, paused: Where): Promise<Handled> {
    const span = this.#host.span(SpanNames.pause, () => ({
      [TrellisAttributes.PAUSE_MODE]: "wait",
      ...(paused.node === null ? {} : { [TrellisAttributes.NODE]: paused.node }),
    }));
    try {
      const handled = await this.#holdPaused(timeoutMs, paused);
      span.end(() => ({ [TrellisAttributes.DIRECTIVE]: handled }));
      return handled === "resumed" ? "kept" : handled;
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
  }

  async #holdPaused(timeoutMs: number, paused: Where): Promise<Handled> {
    const clock = this.session.clock;
    const deadline = clock.now() + timeoutMs;
    const where: Where = { ...paused, phase: "wait" };
    for (;;) {
      if (this.#host.aborted || this.session.cancelled) return "changed";
      const seen = this.session.arrivals.count;
      const message = await this.session.claim();
      if (message !== undefined) {
        const handled = await this.#handle(message, where);
        if (handled !== "kept") return handled;
        continue;
      }
      const left = deadline - clock.now();
      if (left <= 0) {
        const outcome = this.#config.onPauseTimeout;
        const audit = [this.#audit("run.resumed", paused, { by: "timeout", outcome }, undefined)];
        if (outcome === "continue") {
          await this.#host.record([], audit);
          return "resumed";
        }
        if (outcome === "cancel") this.session.cancelledByCheck();
        const changed = await this.#host.apply(
          outcome === "cancel"
            ? { kind: "cancel", reason: "the pause timed out" }
            : { kind: "suspend" },
          undefined,
          audit,
        );
        return changed ? "changed" : "kept";
      }
      await this.session.arrivals.wait(seen, left, clock, this.#host.signal);
    }
  }
}

/** How handling one message ended. */
type Handled = "changed" | "resumed" | "kept";

/** A pause records where it was obeyed and who asked for it. */
function withPause(
  directive: Directive,
  message: QueuedInterrupt,
  where: Where,
  at: number,
): Directive {
  if (directive.kind !== "suspend" && directive.kind !== "wait") return directive;
  const phase = where.phase === "wait" ? "gate" : where.phase;
  const pause: PauseMeta = {
    phase,
    ...(where.node === null ? {} : { node: where.node }),
    ...(message.sender === undefined ? {} : { actor: message.sender }),
    at,
  };
  return { ...directive, pause };
}
