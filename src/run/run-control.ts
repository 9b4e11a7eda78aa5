import type { Attributes } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import { InterruptNotApplicableError, TrellisError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import {
  APPROVAL_ACTION_TYPES,
  INTERRUPT_ACTION_TYPES,
  type InterruptAction,
} from "../interrupts/actions.js";
import type { ResolvedInterruptConfig } from "../interrupts/interrupt-config.js";
import type { InterruptDecisionSource, QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { AuditStore } from "../store/audit-store.js";
import { SpanNames, TrellisAttributes } from "../telemetry/attributes.js";
import type { SpanHandle } from "../telemetry/tracing.js";

/** What the run must do after listening to its queue. */
export type Directive =
  | { readonly kind: "none" }
  | { readonly kind: "suspend"; readonly pending: PendingMeta }
  | {
      readonly kind: "restore";
      readonly target: string | number;
      readonly feedback: string | undefined;
    }
  | { readonly kind: "skip" }
  | { readonly kind: "reject"; readonly node: string; readonly reason: string | undefined };

/** Why a suspended run stopped; kept in its checkpoint so a resume picks up there. */
export type PendingMeta =
  | { readonly kind: "pause" }
  | { readonly kind: "approval"; readonly node: string; readonly revisions: number };

/** What the control needs from the run it steers. */
export interface ControlHost {
  readonly sessionId: string;
  readonly runId: string;
  readonly graph: string;
  /** The run's current state. */
  state(): Readonly<Record<string, unknown>>;
  /** The nodes run so far, in order. */
  path(): readonly string[];
  /** How many node executions the run has had. */
  iteration(): number;
  /** Validates and applies `update_state` values and checkpoints them. */
  applyUpdate(values: Record<string, unknown>): Promise<void>;
  /** Throws `GoBackTargetError` when the target is not on the path. */
  checkTarget(target: string | number): void;
  /** Cancels the run: the running node is aborted at once and the run ends `cancelled`. */
  cancel(reason: unknown): void;
  /** The run's signal: aborted when the run is cancelled. */
  readonly signal: AbortSignal;
  /** Starts a span under the run's root span (interrupt handling, approval and pause waits). */
  span(name: string, attributes?: () => Attributes): SpanHandle;
  /** Emits `interrupt:applied` / `interrupt:refused` / approval events. */
  notify(
    event:
      | {
          type: "interrupt:applied";
          id: string;
          action: InterruptAction;
          source: InterruptDecisionSource;
          node: string | null;
          /** The reasoner's confidence, for free text. */
          confidence?: number;
        }
      | { type: "interrupt:refused"; id: string; error: TrellisError; node: string | null }
      | { type: "approval:requested"; node: string; revision: number }
      | {
          type: "approval:decided";
          node: string;
          decision: "approve" | "reject" | "request_changes";
          actor: string | undefined;
          by: "human" | "timeout" | "revision-limit";
        },
  ): void;
}

const NONE: Directive = { kind: "none" };

type Decided = {
  readonly action: InterruptAction;
  readonly source: InterruptDecisionSource;
  readonly detail?: string;
  readonly confidence?: number;
};

type Where = {
  readonly phase: "before" | "after" | "gate" | "start";
  readonly node: string | null;
};

/**
 * Listens to one session's interrupt queue on behalf of a run: applies `cancel` at once,
 * and at checkpoints turns queued actions (or free text, through the reasoner) into
 * directives for the run. Every message is settled: applied or refused with a named error.
 */
export class RunControl {
  readonly #service: InterruptService;
  readonly #config: ResolvedInterruptConfig;
  readonly #host: ControlHost;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #audit: AuditStore;
  readonly #unsubscribe: () => void;
  #pending = true;
  #wake: (() => void) | undefined;
  readonly #skipNext = { value: false };
  /** The node execution at which the store was last polled for messages. */
  #polledAt = -1;
  /** Set once a cancel was obeyed: nothing queued behind it is taken any more. */
  #cancelled = false;
  /** Cancels that aborted the run through the subscription, settled when the run closes. */
  readonly #cancels: Extract<QueuedInterrupt, { kind: "action" }>[] = [];

  constructor(options: {
    readonly service: InterruptService;
    readonly config: ResolvedInterruptConfig;
    readonly host: ControlHost;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly audit: AuditStore;
  }) {
    this.#service = options.service;
    this.#config = options.config;
    this.#host = options.host;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#audit = options.audit;
    this.#unsubscribe = this.#service.subscribe(this.#host.sessionId, (message) => {
      this.#pending = true;
      if (message.kind === "action" && message.action.type === "cancel" && !this.#cancelled) {
        this.#cancelled = true;
        this.#cancels.push(message);
        this.#host.cancel(message.action.reason ?? "cancelled by an interrupt");
      }
      this.#wake?.();
    });
  }

  /**
   * Stops listening and settles the cancels that aborted the run at once, so their receipts
   * resolve and a later resume does not take them again.
   */
  async close(): Promise<void> {
    this.#unsubscribe();
    for (const message of this.#cancels.splice(0)) {
      await this.#settleApplied(message.id, { action: message.action, source: "action" }, null);
    }
  }

  /** True when the run listens around `node` in this phase. */
  listens(phase: "before" | "after", node: string): boolean {
    const c = this.#config;
    return (
      (phase === "before" ? c.before : c.after) && (c.nodes === undefined || c.nodes.has(node))
    );
  }

  /** The approval gate of a node, if it has one. */
  gateOf(node: string) {
    return this.#config.approvals.get(node);
  }

  /** Consumes a pending `skip`. */
  takeSkip(): boolean {
    const skip = this.#skipNext.value;
    this.#skipNext.value = false;
    return skip;
  }

  /**
   * Drains the queue at a checkpoint; stops at the first message that changes the run's
   * course. Returns `NONE` at once (no promise) when there is nothing to look at.
   */
  check(phase: "before" | "after" | "start", node: string | null): Directive | Promise<Directive> {
    // Most checks find nothing to do: they answer without a promise.
    if (!this.#pending && this.#polledAt === this.#host.iteration()) return NONE;
    return this.#check(phase, node);
  }

  async #check(phase: "before" | "after" | "start", node: string | null): Promise<Directive> {
    if (!this.#pending) {
      // Messages sent through this service wake the run through the subscription; the store
      // is polled for messages from elsewhere once per node execution, not at every check.
      this.#polledAt = this.#host.iteration();
      if (!(await this.#service.hasPending(this.#host.sessionId))) return NONE;
    }
    this.#pending = false;
    for (;;) {
      if (this.#cancelled) return NONE;
      const message = await this.#service.next(this.#host.sessionId);
      if (!message) return NONE;
      const directive = await this.#handle(message, { phase, node }, undefined);
      if (directive.kind !== "none") return directive;
    }
  }

  /**
   * Waits at an approval gate for approve / reject / request_changes. Other actions that
   * arrive meanwhile are applied (or refused) as usual. `resumed`: the run continues a gate it
   * was suspended at, so the request is not made (or audited) again.
   */
  async gate(node: string, revisions: number, resumed = false): Promise<Directive> {
    const span = this.#host.span(SpanNames.approval(node), () => ({
      [TrellisAttributes.NODE]: node,
      "trellis.approval.revision": revisions,
    }));
    try {
      const directive = await this.#gate(node, revisions, resumed);
      span.end(() => ({ "trellis.directive": directive.kind }));
      return directive;
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
  }

  async #gate(node: string, revisions: number, resumed: boolean): Promise<Directive> {
    const gate = this.#config.approvals.get(node)!;
    // A run resumed at a gate continues the request made before it was suspended.
    if (!resumed) {
      this.#host.notify({ type: "approval:requested", node, revision: revisions });
      await this.#record("approval.requested", node, { revision: revisions });
    }
    const deadline = gate.timeoutMs === undefined ? undefined : this.#clock.now() + gate.timeoutMs;
    for (;;) {
      const message = await this.#service.next(this.#host.sessionId);
      if (message) {
        const directive = await this.#handle(message, { phase: "gate", node }, { node, revisions });
        if (directive !== GATE_WAITING) return directive;
        continue;
      }
      if (deadline === undefined)
        return { kind: "suspend", pending: { kind: "approval", node, revisions } };
      const left = deadline - this.#clock.now();
      if (left <= 0 || !(await this.#waitForMessage(left, this.#host.signal))) {
        return this.#decideByPolicy(node, gate.onTimeout, "timeout");
      }
    }
  }

  async #decideByPolicy(
    node: string,
    outcome: "approve" | "reject",
    by: "timeout" | "revision-limit",
  ): Promise<Directive> {
    this.#host.notify({ type: "approval:decided", node, decision: outcome, actor: undefined, by });
    await this.#record("approval.decided", node, { decision: outcome, by });
    return outcome === "approve"
      ? NONE
      : {
          kind: "reject",
          node,
          reason:
            by === "timeout"
              ? "no decision before the gate's timeout"
              : "the revision limit was reached",
        };
  }

  /** Resolves `true` when a message arrives, `false` after `ms`. */
  async #waitForMessage(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.#pending) return true;
    const stop = new AbortController();
    const arrived = new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true);
    });
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await Promise.race([
        arrived,
        this.#clock.sleep(ms, stop.signal).then(
          () => false,
          () => false,
        ),
      ]);
    } finally {
      this.#wake = undefined;
      stop.abort();
      signal.removeEventListener("abort", onAbort);
      this.#pending = false;
    }
  }

  async #record(
    kind: "approval.requested" | "approval.decided" | "run.paused" | "run.resumed",
    node: string | null,
    data: Record<string, unknown>,
    actor?: string,
  ): Promise<void> {
    try {
      await this.#audit.append({
        sessionId: this.#host.sessionId,
        runId: this.#host.runId,
        at: this.#clock.now(),
        kind,
        ...(node === null ? {} : { node }),
        iteration: this.#host.iteration(),
        ...(actor === undefined ? {} : { actor }),
        data: deepFreeze(data),
      });
    } catch (error) {
      this.#logger.warn("Could not append to the audit trail", { error: String(error) });
    }
  }

  async #decide(message: QueuedInterrupt, where: Where, gate: boolean): Promise<Decided> {
    if (message.kind === "action") return { action: message.action, source: "action" };
    const allowed = gate
      ? ([
          "approve",
          "reject",
          "request_changes",
          "cancel",
          "go_back",
          "update_state",
          "pause",
        ] as const)
      : INTERRUPT_ACTION_TYPES.filter((type) => !APPROVAL_ACTION_TYPES.includes(type));
    const path = this.#host.path();
    const outcome = await this.#config.reasoner.decide(message.text, {
      graph: this.#host.graph,
      currentNode: where.node,
      path,
      allowedActions: allowed,
      goBackTargets: [...new Set(path)],
      state: { ...this.#host.state() },
      atApprovalGate: gate,
    });
    return {
      action: outcome.decision.action,
      source: outcome.source,
      detail: outcome.decision.reasoning,
      confidence: outcome.decision.confidence,
    };
  }

  /** Records a message as obeyed: settles its receipt (and audit entry) and emits the event. */
  async #settleApplied(id: string, decided: Decided, node: string | null): Promise<void> {
    await this.#service.settle(id, {
      status: "applied",
      action: decided.action,
      source: decided.source,
      ...(decided.detail === undefined ? {} : { detail: decided.detail }),
      runId: this.#host.runId,
      ...(node === null ? {} : { node }),
      iteration: this.#host.iteration(),
    });
    this.#host.notify({
      type: "interrupt:applied",
      id,
      action: decided.action,
      source: decided.source,
      node,
      ...(decided.confidence === undefined ? {} : { confidence: decided.confidence }),
    });
  }

  async #handle(
    message: QueuedInterrupt,
    where: Where,
    gate: { node: string; revisions: number } | undefined,
    preDecided?: Decided,
  ): Promise<Directive> {
    let decided: Decided | undefined;
    const span = this.#host.span(SpanNames.interrupt(), () => ({
      [TrellisAttributes.INTERRUPT_ID]: message.id,
      [TrellisAttributes.INTERRUPT_PHASE]: where.phase,
      ...(where.node === null ? {} : { [TrellisAttributes.NODE]: where.node }),
    }));
    if (message.kind === "text") span.setContent(TrellisAttributes.INTERRUPT_TEXT, message.text);
    try {
      decided =
        preDecided ??
        (await span.runInContext(() => this.#decide(message, where, gate !== undefined)));
      const chosen = decided;
      span.updateName(SpanNames.interrupt(chosen.action.type));
      span.setAttributes(() => ({
        [TrellisAttributes.INTERRUPT_ACTION]: chosen.action.type,
        [TrellisAttributes.INTERRUPT_SOURCE]: chosen.source,
        ...(chosen.confidence === undefined
          ? {}
          : { [TrellisAttributes.INTERRUPT_CONFIDENCE]: chosen.confidence }),
      }));
      const applied = await this.#apply(decided.action, where, gate, message.sender);
      await this.#settleApplied(message.id, decided, where.node);
      if (applied instanceof WaitPause) {
        // The sender learns at once that the run is held; the wait itself comes after.
        span.end(() => ({ "trellis.interrupt.outcome": "applied", "trellis.directive": "wait" }));
        return this.#waitPaused(applied.timeoutMs, where, gate);
      }
      span.end(() => ({
        "trellis.interrupt.outcome": "applied",
        "trellis.directive": applied.kind,
      }));
      return applied;
    } catch (error) {
      const refusal =
        error instanceof TrellisError
          ? error
          : new TrellisError("INTERRUPT_FAILED", String(error), { cause: error });
      await this.#service.settle(message.id, {
        status: "refused",
        error: refusal,
        runId: this.#host.runId,
        ...(where.node === null ? {} : { node: where.node }),
      });
      this.#host.notify({
        type: "interrupt:refused",
        id: message.id,
        error: refusal,
        node: where.node,
      });
      // A refused message is the sender's mistake, not the run's: the span keeps an unset status.
      span.end(() => ({ "trellis.interrupt.outcome": "refused", "error.type": refusal.name }));
      return gate ? GATE_WAITING : NONE;
    }
  }

  async #apply(
    action: InterruptAction,
    where: Where,
    gate: { node: string; revisions: number } | undefined,
    actor: string | undefined,
  ): Promise<Directive | WaitPause> {
    switch (action.type) {
      case "continue":
        return gate ? GATE_WAITING : NONE;
      case "resume":
        // A run that starts from a suspended pause is the resume itself.
        if (where.phase === "start") return NONE;
        throw new InterruptNotApplicableError("resume", "the run is not paused");
      case "cancel":
        this.#cancelled = true;
        this.#host.cancel(action.reason ?? "cancelled by an interrupt");
        return NONE;
      case "pause": {
        const mode = action.mode ?? this.#config.pauseMode;
        await this.#record("run.paused", where.node, { mode }, actor);
        if (mode === "suspend")
          return {
            kind: "suspend",
            pending: gate ? { kind: "approval", ...gate } : { kind: "pause" },
          };
        return new WaitPause(action.timeoutMs ?? this.#config.pauseTimeoutMs);
      }
      case "go_back": {
        const target = action.to ?? action.steps!;
        this.#host.checkTarget(target);
        return { kind: "restore", target, feedback: undefined };
      }
      case "rerun": {
        if (gate)
          throw new InterruptNotApplicableError(
            "rerun",
            "the run waits at an approval gate; use `request_changes`",
          );
        const node =
          action.node ?? (where.phase === "after" ? where.node : this.#host.path().at(-1));
        if (node === undefined || node === null)
          throw new InterruptNotApplicableError("rerun", "no node has run yet");
        this.#host.checkTarget(node);
        return { kind: "restore", target: node, feedback: action.guidance };
      }
      case "skip":
        if (gate)
          throw new InterruptNotApplicableError("skip", "the run waits at an approval gate");
        if (where.phase === "before") return { kind: "skip" };
        this.#skipNext.value = true;
        return NONE;
      case "update_state":
        await this.#host.applyUpdate(action.values);
        return gate ? GATE_WAITING : NONE;
      case "approve":
      case "reject":
      case "request_changes":
        return this.#decideGate(action, gate, actor);
    }
  }

  async #decideGate(
    action: Extract<InterruptAction, { type: "approve" | "reject" | "request_changes" }>,
    gate: { node: string; revisions: number } | undefined,
    actor: string | undefined,
  ): Promise<Directive> {
    if (!gate)
      throw new InterruptNotApplicableError(
        action.type,
        "the run is not waiting at an approval gate",
      );
    const { node, revisions } = gate;
    const config = this.#config.approvals.get(node)!;
    const content =
      action.type === "approve"
        ? action.comment
        : action.type === "reject"
          ? action.reason
          : action.feedback;
    if (action.type === "request_changes" && revisions + 1 > config.maxRevisions) {
      await this.#record(
        "approval.decided",
        node,
        { decision: "request_changes", content, refusedBy: "revision-limit" },
        actor,
      );
      return this.#decideByPolicy(node, config.onRevisionLimit, "revision-limit");
    }
    this.#host.notify({
      type: "approval:decided",
      node,
      decision: action.type,
      actor,
      by: "human",
    });
    await this.#record(
      "approval.decided",
      node,
      { decision: action.type, content, revision: revisions },
      actor,
    );
    if (action.type === "approve") return NONE;
    if (action.type === "reject") return { kind: "reject", node, reason: action.reason };
    return { kind: "restore", target: node, feedback: action.feedback };
  }

  /** A `"wait"` pause: holds the run until `resume`, a course change, or the timeout. */
  async #waitPaused(
    timeoutMs: number,
    where: Where,
    gate: { node: string; revisions: number } | undefined,
  ): Promise<Directive> {
    const span = this.#host.span(SpanNames.pause, () => ({
      [TrellisAttributes.PAUSE_MODE]: "wait",
      ...(where.node === null ? {} : { [TrellisAttributes.NODE]: where.node }),
    }));
    try {
      const directive = await this.#holdPaused(timeoutMs, where, gate);
      span.end(() => ({ "trellis.directive": directive.kind }));
      return directive;
    } catch (error) {
      span.endWithError(error);
      throw error;
    }
  }

  async #holdPaused(
    timeoutMs: number,
    where: Where,
    gate: { node: string; revisions: number } | undefined,
  ): Promise<Directive> {
    const deadline = this.#clock.now() + timeoutMs;
    const signal = this.#host.signal;
    for (;;) {
      if (this.#cancelled || signal.aborted) return NONE;
      const message = await this.#service.next(this.#host.sessionId);
      if (message) {
        // Free text is read first, so "go on" ends the wait like a `resume` action does.
        const decided: Decided | undefined =
          message.kind === "action"
            ? { action: message.action, source: "action" }
            : await this.#decide(message, where, gate !== undefined).catch(() => undefined);
        if (decided?.action.type === "resume") {
          await this.#settleApplied(message.id, decided, where.node);
          await this.#record("run.resumed", where.node, {}, message.sender);
          return gate ? GATE_WAITING : NONE;
        }
        const directive = await this.#handle(message, where, gate, decided);
        if (directive.kind !== "none" && directive !== GATE_WAITING) return directive;
        continue;
      }
      const left = deadline - this.#clock.now();
      if (left <= 0 || !(await this.#waitForMessage(left, signal))) {
        if (signal.aborted) return NONE;
        const outcome = this.#config.onPauseTimeout;
        await this.#record("run.resumed", where.node, { by: "timeout", outcome });
        if (outcome === "continue") return gate ? GATE_WAITING : NONE;
        if (outcome === "cancel") {
          this.#host.cancel("the pause timed out");
          return NONE;
        }
        return {
          kind: "suspend",
          pending: gate ? { kind: "approval", ...gate } : { kind: "pause" },
        };
      }
    }
  }
}

/** `#apply`'s answer to a `"wait"` pause: settle the message first, then hold the run. */
class WaitPause {
  constructor(readonly timeoutMs: number) {}
}

/** Returned inside a gate for messages that did not decide it: keep waiting. */
const GATE_WAITING: Directive = { kind: "none" };
