import type { Context } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import { RunCancelledError, RunEndedError } from "../errors.js";
import type { ResolvedInterruptConfig } from "../interrupts/interrupt-config.js";
import type { QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { ReasonerContext } from "../interrupts/interrupt-reasoner.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import { applied, refused, type Settled } from "../interrupts/settlement.js";
import type { Logger } from "../logger.js";
import type { StoreEvent } from "../store/notifier.js";
import type { Store } from "../store/store.js";
import type { TrellisTracer } from "../telemetry/tracing.js";
import { Arrivals } from "./arrivals.js";
import { type Decided, decideMessage } from "./message-decision.js";
import { traceArrivedCancel } from "./run-tracing.js";

/** What the session control needs from the run it serves. */
export interface SessionHost {
  readonly sessionId: string;
  readonly runId: string;
  /** The lease token: messages are claimed in its name. */
  owner(): string;
  /** The run's signal: a cancel aborts it, and with it a reasoner's model call. */
  readonly signal: AbortSignal;
  cancel(reason: unknown): void;
  /** Where the run stands now, for a reasoner reading free text on arrival. */
  context(): ReasonerContext;
  /** The run's tracer and root span, for a reasoner's model call. */
  telemetry(): { readonly tracer: TrellisTracer; readonly parent: Context };
}

/** A `cancel` that aborted the run the moment it arrived, settled when the run ends. */
interface ArrivedCancel {
  readonly message: QueuedInterrupt;
  readonly decided: Decided;
}

/**
 * The part of interrupt handling that belongs to a session rather than to one run: it listens
 * to the store's notifier, so a message sent from any process wakes the run; it claims a
 * `cancel` the moment it arrives and aborts the run; it reads free text when it arrives (so
 * "stop" aborts the running node at once); and it settles the cancels when the run ends. Nested
 * runs share their parent's session control.
 */
export class SessionControl {
  readonly arrivals = new Arrivals();
  readonly #store: Store;
  readonly #service: InterruptService;
  readonly #config: ResolvedInterruptConfig;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #host: SessionHost;
  readonly #decisions = new Map<string, Promise<Decided>>();
  readonly #cancels: ArrivedCancel[] = [];
  /** Cancels being taken from the queue right now. */
  readonly #taking = new Set<Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  /** Whether a message may wait: false once a claim found none and nothing arrived since. */
  #pending = true;
  /** Set once a cancel was obeyed: nothing queued behind it is taken any more. */
  #cancelled = false;
  /** How the run ends, once it decided: cancels that arrive later are handled by that. */
  #ending: string | undefined;
  /** Set once the run's end is written: nothing is taken from the queue any more. */
  #closed = false;
  /** The queue's last `seq` when the session's last run was cancelled, if it was. */
  readonly #cancelledAtSeq: number | undefined;

  constructor(options: {
    readonly store: Store;
    readonly service: InterruptService;
    readonly config: ResolvedInterruptConfig;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly host: SessionHost;
    /**
     * The queue's last `seq` recorded by the cancelled checkpoint that ended the session's
     * last run; absent when that run did not end `cancelled`.
     */
    readonly cancelledAtSeq?: number | undefined;
  }) {
    this.#store = options.store;
    this.#service = options.service;
    this.#config = options.config;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#host = options.host;
    this.#cancelledAtSeq = options.cancelledAtSeq;
  }

  get sessionId(): string {
    return this.#host.sessionId;
  }

  get config(): ResolvedInterruptConfig {
    return this.#config;
  }

  get clock(): Clock {
    return this.#clock;
  }

  get service(): InterruptService {
    return this.#service;
  }

  /** Whether a cancel was obeyed. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Whether `message` was queued before the session's last run was cancelled (its `seq` is not
   * above the one that run's cancelled checkpoint recorded): a `cancel` it asks for was already
   * carried out, so it does not cancel this run.
   */
  queuedBeforeCancel(message: QueuedInterrupt): boolean {
    return this.#cancelledAtSeq !== undefined && message.seq <= this.#cancelledAtSeq;
  }

  /** Whether a check could find a message (answered without a promise). */
  get pending(): boolean {
    return this.#pending && !this.#cancelled;
  }

  /** Starts listening to the session's events. */
  open(): void {
    this.#unsubscribe = this.#store.notifier.subscribe(this.#host.sessionId, (event) =>
      this.#onEvent(event),
    );
  }

  /** Stops listening. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #onEvent(event: StoreEvent): void {
    if (event.kind === "resync") {
      // Something may have arrived unannounced: look at the queue again.
      this.#pending = true;
      this.arrivals.arrived();
      return;
    }
    if (event.kind !== "queued") return;
    this.#pending = true;
    this.arrivals.arrived();
    if (event.action === "cancel") {
      this.#startTaking(event.id, undefined);
      return;
    }
    if (this.#cancelled || this.#ending !== undefined) return;
    if (event.action === undefined) void this.#readOnArrival(event.id);
  }

  /**
   * Takes a cancel from the queue at once. A run that ends paused or failed can be resumed: a
   * cancel that arrives once that end was decided is kept for the next run. Every other cancel
   * is taken and settled with this run, also one that repeats a cancel already obeyed.
   */
  #startTaking(id: string, decided: Decided | undefined): void {
    if (this.#closed || this.#ending === "paused" || this.#ending === "failed") return;
    const taking = this.#takeCancel(id, decided);
    this.#taking.add(taking);
    void taking.finally(() => this.#taking.delete(taking));
  }

  /** Claims the next message in service order, or `undefined` (then `pending` turns false). */
  async claim(): Promise<QueuedInterrupt | undefined> {
    if (this.#cancelled) return undefined;
    const seen = this.arrivals.count;
    const now = this.#clock.now();
    const message = await this.#store.interrupts.claim(this.#host.sessionId, {
      now,
      owner: this.#host.owner(),
    });
    if (message === undefined) {
      await this.#expire(now);
      if (this.arrivals.count === seen) this.#pending = false;
    }
    return message;
  }

  /**
   * Removes the messages whose time to live ran out (a claim skips them), so their receipts
   * say `expired` instead of waiting for ever.
   */
  async #expire(now: number): Promise<void> {
    await this.#store.interrupts.remove({
      reason: "expired",
      now,
      sessionId: this.#host.sessionId,
    });
  }

  /**
   * What a message means. Free text read on arrival was decided then; otherwise the reasoner
   * is asked now, with `context`.
   */
  decide(message: QueuedInterrupt, context: ReasonerContext): Promise<Decided> {
    const early = this.#decisions.get(message.id);
    if (early !== undefined) {
      this.#decisions.delete(message.id);
      return early;
    }
    // Inside the interrupt's span (the active context): the model call nests under it.
    return decideMessage(message, this.#config.reasoner, context, {
      signal: this.#host.signal,
      tracer: this.#host.telemetry().tracer,
    });
  }

  /** A cancel obeyed at a check: nothing queued behind it is taken any more. */
  cancelledByCheck(): void {
    this.#cancelled = true;
  }

  async #takeCancel(id: string, decided: Decided | undefined): Promise<void> {
    try {
      const message = await this.#store.interrupts.claim(this.#host.sessionId, {
        now: this.#clock.now(),
        owner: this.#host.owner(),
        id,
      });
      // Already taken by a check (or gone): the check settles it.
      if (message === undefined) return;
      const as = decided ?? {
        action: message.kind === "action" ? message.action : { type: "cancel" as const },
        source: "action" as const,
      };
      this.#cancels.push({ message, decided: as });
      // Settled with the others when the run ends; it does not abort the run a second time,
      // nor a run that already decided how it ends.
      const aborts = !(this.#cancelled || this.#ending !== undefined);
      traceArrivedCancel(this.#host.telemetry(), message.id, as, aborts);
      if (!aborts) return;
      this.#cancelled = true;
      const reason = as.action.type === "cancel" ? as.action.reason : undefined;
      this.#host.cancel(new RunCancelledError(reason ?? "cancelled by an interrupt"));
    } catch (error) {
      this.#logger.warn("Could not take a cancel from the queue; the next check takes it", {
        id,
        error: String(error),
      });
    }
  }

  /** Reads free text as soon as it arrives; a `cancel` aborts the run at once. */
  async #readOnArrival(id: string): Promise<void> {
    try {
      const stored = await this.#store.interrupts.get(id);
      if (stored?.state !== "queued" || stored.message.kind !== "text") return;
      const decision = decideMessage(stored.message, this.#config.reasoner, this.#host.context(), {
        signal: this.#host.signal,
        ...this.#host.telemetry(),
      });
      decision.catch(() => {});
      this.#decisions.set(id, decision);
      const decided = await decision;
      if (decided.action.type === "cancel") this.#startTaking(id, decided);
    } catch (error) {
      if (this.#host.signal.aborted) return;
      this.#logger.debug("Reading free text on arrival failed; it is read again at the check", {
        id,
        error: String(error),
      });
      this.#decisions.delete(id);
    }
  }

  /**
   * The run decided how it ends (`status`): waits for cancels being taken from the queue right
   * now, so `hasArrivedCancel` tells whether one arrived before.
   */
  async ending(status: string): Promise<void> {
    this.#ending = status;
    await Promise.all([...this.#taking]);
  }

  /**
   * Settles what the run's end decides, before its final checkpoint: the cancels that aborted
   * it (applied when the run ended `cancelled`, refused with `RunEndedError` when it had already
   * ended otherwise), and, when the run ended for good (`completed`, `rejected`), every message
   * still queued: it came too late for this run.
   */
  async finish(status: string, where: { runId: string; iteration: number }): Promise<Settled[]> {
    await this.ending(status);
    return this.#settleAtEnd(status, where);
  }

  /**
   * After the final checkpoint is written: settles what arrived while it was written (cancels,
   * and for a run that ended for good every message), then takes nothing more. What arrives
   * later waits for the session's next run.
   */
  async finished(status: string, where: { runId: string; iteration: number }): Promise<Settled[]> {
    this.#closed = true;
    await Promise.all([...this.#taking]);
    return this.#settleAtEnd(status, where);
  }

  async #settleAtEnd(
    status: string,
    where: { runId: string; iteration: number },
  ): Promise<Settled[]> {
    const at = this.#clock.now();
    const out: Settled[] = [];
    for (const { message, decided } of this.#cancels.splice(0)) {
      out.push(
        status === "cancelled"
          ? applied(message, decided, at, where)
          : refused(message, new RunEndedError("cancel", status), at, where),
      );
    }
    if (status === "completed" || status === "rejected") {
      for (;;) {
        const message = await this.#store.interrupts.claim(this.#host.sessionId, {
          now: at,
          owner: this.#host.owner(),
        });
        if (message === undefined) break;
        const action = message.kind === "action" ? message.action.type : "free text";
        out.push(refused(message, new RunEndedError(action, status), at, where));
      }
      await this.#expire(at);
    }
    return out;
  }

  /**
   * Before a write that settles these messages: their receipts in this process resolve from
   * `delivered` (with the very error objects), not from the notifier.
   */
  expecting(settled: readonly Settled[]): void {
    for (const s of settled) this.#service.expectLocal(s.settlement.id);
  }

  /** The write that settled these messages is stored: resolve their receipts. */
  delivered(settled: readonly Settled[]): void {
    for (const s of settled) this.#service.resolveLocal(s.settlement.id, s.outcome);
  }

  /** The write failed: their receipts wait for whoever settles them later. */
  undelivered(settled: readonly Settled[]): void {
    for (const s of settled) this.#service.unexpectLocal(s.settlement.id);
  }

  /** Whether any cancel arrived and aborted the run. */
  get hasArrivedCancel(): boolean {
    return this.#cancels.length > 0;
  }
}
