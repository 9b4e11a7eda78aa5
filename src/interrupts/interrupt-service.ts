import { randomUUID } from "node:crypto";
import { z } from "zod";
import { type Clock, systemClock } from "../clock.js";
import { InvalidOptionError, QueueFullError, TooManySessionsError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { EnqueueResult, NewInterruptRecord } from "../store/interrupt-store.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import { type Page, type PageOptions, resolvePage } from "../store/page.js";
import type { Store } from "../store/store.js";
import { actionPriority } from "./actions.js";
import {
  type InterruptInput,
  type InterruptOutcome,
  type InterruptReceipt,
  type InterruptSendOptions,
  type InterruptSettlement,
  parseInterruptInput,
  parseSendOptions,
  type QueuedInterrupt,
} from "./interrupt-message.js";
import { applied, outcomeOf, refused } from "./settlement.js";

/** Bounds that keep one session, or many, from exhausting memory or storage. */
export interface InterruptLimits {
  /** Most messages waiting in one session's queue. Default 100. */
  readonly maxQueueSize: number;
  /**
   * Most characters of free text, of each text field of an action (`guidance`, `feedback`,
   * `reason`, …) and of the JSON of `update_state.values`. Default 4000.
   */
  readonly maxMessageLength: number;
  /** Most bytes of a message's `metadata` as UTF-8 JSON. Default 4096. */
  readonly maxMetadataBytes: number;
  /** Most sessions with at least one waiting message. Default 10 000. */
  readonly maxSessions: number;
  /** How long a message waits before it expires unserved, in milliseconds. Default 24 h. */
  readonly messageTtlMs: number;
}

/** The limits used when none are given. */
export const DEFAULT_INTERRUPT_LIMITS: Readonly<InterruptLimits> = Object.freeze({
  maxQueueSize: 100,
  maxMessageLength: 4000,
  maxMetadataBytes: 4096,
  maxSessions: 10_000,
  messageTtlMs: 24 * 60 * 60 * 1000,
});

/** Options of {@link InterruptService}. */
export interface InterruptServiceOptions {
  /** Where queues, counters and the audit trail live. Default: a new `MemoryStore`. */
  readonly store?: Store;
  /** Source of time for `queuedAt`, expiry and decision times. Default: the system clock. */
  readonly clock?: Clock;
  /** Where listener and audit failures are reported. Default: the console logger. */
  readonly logger?: Logger;
  /** Any of the {@link InterruptLimits}; the rest keep their defaults. */
  readonly limits?: Partial<InterruptLimits>;
}

/** Counters of one session's queue, as `InterruptService.metrics()` reports them. */
export interface InterruptMetrics {
  /** Messages accepted. */
  readonly queued: number;
  readonly applied: number;
  readonly refused: number;
  readonly expired: number;
  /** Messages removed by `clear()`. */
  readonly cleared: number;
  /** Messages waiting now. */
  readonly depth: number;
  /** Messages a run has taken with `next()` and not settled yet. */
  readonly inFlight: number;
  /** Mean time from `send()` to `settle()` over applied and refused messages; 0 when none. */
  readonly meanDecisionMs: number;
  /** Longest time from `send()` to `settle()`; 0 when none. */
  readonly maxDecisionMs: number;
}

/** Called with each message queued for a session (from any process sharing the store). */
export type InterruptListener = (message: QueuedInterrupt) => void;

/** `signal` for the methods of {@link InterruptService} that take nothing else. */
export interface SignalOptions {
  readonly signal?: AbortSignal;
}

const positiveInteger = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const LIMIT_KEYS = Object.keys(DEFAULT_INTERRUPT_LIMITS) as (keyof InterruptLimits)[];
const isFunction = (value: unknown) => typeof value === "function";
const isObject = (value: unknown) => typeof value === "object" && value !== null;
const StoreSchema = z.custom<Store>(
  (v) =>
    isObject(v) &&
    ["checkpoints", "interrupts", "audit", "sessions", "notifier"].every((k) =>
      isObject((v as Record<string, unknown>)[k]),
    ) &&
    isFunction((v as Record<string, unknown>).commit),
);
const ClockSchema = z.object({ now: z.custom(isFunction), sleep: z.custom(isFunction) });
const LoggerSchema = z.object({
  debug: z.custom(isFunction),
  info: z.custom(isFunction),
  warn: z.custom(isFunction),
  error: z.custom(isFunction),
});

function checkSessionId(sessionId: unknown): string {
  if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 256) {
    throw new InvalidOptionError(
      "sessionId",
      "a non-empty string of at most 256 characters",
      sessionId,
    );
  }
  return sessionId as string;
}

function resolveLimits(limits: unknown): InterruptLimits {
  if (limits === undefined) return { ...DEFAULT_INTERRUPT_LIMITS };
  if (!isObject(limits) || Array.isArray(limits)) {
    throw new InvalidOptionError(
      "limits",
      `an object with any of ${LIMIT_KEYS.join(", ")}`,
      limits,
    );
  }
  const given = limits as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(LIMIT_KEYS as string[]).includes(key)) {
      throw new InvalidOptionError(
        `limits.${key}`,
        `absent: the known limits are ${LIMIT_KEYS.join(", ")}`,
        given[key],
      );
    }
  }
  const resolved = { ...DEFAULT_INTERRUPT_LIMITS };
  for (const key of LIMIT_KEYS) {
    const value = given[key];
    if (value === undefined) continue;
    if (!positiveInteger.safeParse(value).success) {
      throw new InvalidOptionError(`limits.${key}`, "an integer from 1 and up", value);
    }
    resolved[key] = value as number;
  }
  return resolved;
}

/** A receipt this service handed out and that has not resolved yet. */
interface PendingReceipt {
  readonly sessionId: string;
  readonly resolve: (outcome: InterruptOutcome) => void;
  /** Settled by a run of this process: it resolves the receipt itself, with the real error. */
  local: boolean;
}

/**
 * One bounded interrupt queue per session. Senders (code, the CLI, the review page) `send()`
 * actions or free text; the run takes them at its checkpoints, in priority order (`cancel`,
 * then `pause`, then the rest) and then in arrival order, and settles each one. Every refusal is
 * an error the sender sees; nothing is dropped silently.
 *
 * Queues, counters and the audit trail live in the {@link Store}, so every process sharing it
 * sees the same queue, and a receipt resolves in the process that sent the message, whichever
 * process applied it (through the store's notifier).
 *
 * @example
 * ```ts
 * const interrupts = new InterruptService({ store, limits: { maxQueueSize: 20 } });
 * const receipt = await interrupts.send("session-1", { type: "pause", mode: "suspend" });
 * console.log((await receipt.decision).status); // "applied", once a run obeyed it
 * ```
 */
export class InterruptService {
  /** The limits in force, defaults filled in. */
  readonly limits: Readonly<InterruptLimits>;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Receipts sent from this service that have not resolved, by message id. */
  readonly #pending = new Map<string, PendingReceipt>();
  /** Notifier subscriptions of sessions with pending receipts. */
  readonly #watching = new Map<string, () => void>();

  constructor(options: InterruptServiceOptions = {}) {
    if (!isObject(options)) {
      throw new InvalidOptionError("options", "an object", options);
    }
    if (options.store !== undefined && !StoreSchema.safeParse(options.store).success) {
      throw new InvalidOptionError(
        "store",
        "a Store (an object with `checkpoints`, `interrupts`, `audit`, `sessions`, `notifier` and `commit()`)",
        options.store,
      );
    }
    if (options.clock !== undefined && !ClockSchema.safeParse(options.clock).success) {
      throw new InvalidOptionError("clock", "a Clock (`now()` and `sleep()`)", options.clock);
    }
    if (options.logger !== undefined && !LoggerSchema.safeParse(options.logger).success) {
      throw new InvalidOptionError(
        "logger",
        "a Logger (`debug`, `info`, `warn`, `error`)",
        options.logger,
      );
    }
    this.limits = Object.freeze(resolveLimits(options.limits));
    this.#store = options.store ?? new MemoryStore();
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? consoleLogger;
  }

  /** The store the queues live in. */
  get store(): Store {
    return this.#store;
  }

  /**
   * Validates a message and queues it for the session. An object must be a valid action; a
   * string is free text for the reasoner. Resolves with a receipt once the message is queued.
   * A `cancel` always finds room: one more than `maxQueueSize` (and `maxSessions`) is kept for it.
   *
   * Throws (nothing is queued): `InvalidInterruptError` for an unknown action type or wrong
   * fields, `MessageTooLongError`, `MetadataTooLargeError`, `QueueFullError`,
   * `TooManySessionsError`, `InvalidOptionError` for a bad session id or option, or the
   * signal's reason if it aborts before the message is queued.
   */
  async send(
    sessionId: string,
    input: InterruptInput,
    options: InterruptSendOptions = {},
  ): Promise<InterruptReceipt> {
    checkSessionId(sessionId);
    const { sender, metadata, signal } = parseSendOptions(
      sessionId,
      options,
      this.limits.maxMetadataBytes,
    );
    signal?.throwIfAborted();
    const parsed = parseInterruptInput(sessionId, input, this.limits.maxMessageLength);
    const queuedAt = this.#clock.now();
    // Frozen: the action and metadata are this service's own JSON copies, so the store can
    // keep the record as it is.
    const record = deepFreeze({
      id: randomUUID(),
      sessionId,
      priority: actionPriority(parsed.kind === "text" ? "text" : parsed.action.type),
      queuedAt,
      expiresAt: queuedAt + this.limits.messageTtlMs,
      ...(sender === undefined ? {} : { sender }),
      ...(metadata === undefined ? {} : { metadata }),
      ...parsed,
    } satisfies NewInterruptRecord);

    // Register the receipt first: a run may settle the message before `enqueue` returns here.
    let resolve!: (outcome: InterruptOutcome) => void;
    const decision = new Promise<InterruptOutcome>((r) => {
      resolve = r;
    });
    decision.catch(() => {});
    this.#pending.set(record.id, { sessionId, resolve, local: false });
    this.#watch(sessionId);

    let result: EnqueueResult;
    try {
      signal?.throwIfAborted();
      result = await this.#enqueue(record, {
        sessionId,
        at: queuedAt,
        kind: "interrupt.received",
        ...(sender === undefined ? {} : { actor: sender }),
        data: {
          id: record.id,
          priority: record.priority,
          ...(record.kind === "action" ? { action: record.action } : { text: record.text }),
          ...(record.metadata === undefined ? {} : { metadata: record.metadata }),
        },
      });
    } catch (error) {
      this.#forget(record.id);
      throw error;
    }
    if (!result.ok) {
      this.#forget(record.id);
      if (result.reason === "queue_full") {
        throw new QueueFullError(sessionId, this.limits.maxQueueSize);
      }
      throw new TooManySessionsError(sessionId, this.limits.maxSessions);
    }
    return {
      id: result.record.id,
      sessionId,
      priority: result.record.priority,
      queuedAt,
      decision,
    };
  }

  /**
   * Claims the next message of the session in service order, or `undefined` when none waits,
   * for code that consumes a queue itself (a run does this on its own). Messages past their TTL
   * are removed first. Report what became of a claimed message with {@link settle}.
   */
  async next(
    sessionId: string,
    options: SignalOptions & { readonly owner?: string } = {},
  ): Promise<QueuedInterrupt | undefined> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    await this.#expire(sessionId);
    return this.#store.interrupts.claim(sessionId, {
      now: this.#clock.now(),
      owner: options.owner ?? "interrupt-service",
    });
  }

  /**
   * Records what became of a claimed (or still queued) message: counts it, appends it to the
   * audit trail and resolves its receipt, in one write. Returns `false` when the message is
   * unknown or was already settled, cleared or expired.
   */
  async settle(
    id: string,
    settlement: InterruptSettlement,
    options: SignalOptions = {},
  ): Promise<boolean> {
    if (typeof id !== "string" || id.length === 0) {
      throw new InvalidOptionError("id", "a non-empty string (a message id)", id);
    }
    const status = (settlement as { status?: unknown } | undefined)?.status;
    if (status !== "applied" && status !== "refused") {
      throw new InvalidOptionError("settlement.status", '`"applied"` or `"refused"`', status);
    }
    options.signal?.throwIfAborted();
    const stored = await this.#store.interrupts.get(id);
    if (stored === undefined || (stored.state !== "queued" && stored.state !== "claimed")) {
      this.#logger.debug("Settled an interrupt that is not queued or in flight", { id, status });
      return false;
    }
    const where = {
      ...(settlement.runId === undefined ? {} : { runId: settlement.runId }),
      ...(settlement.node === undefined ? {} : { node: settlement.node }),
      ...(settlement.iteration === undefined ? {} : { iteration: settlement.iteration }),
    };
    const done =
      settlement.status === "applied"
        ? applied(
            stored.message,
            {
              action: settlement.action,
              source: settlement.source ?? "action",
              detail: settlement.detail,
            },
            settlement.appliedAt ?? this.#clock.now(),
            where,
          )
        : refused(stored.message, settlement.error, this.#clock.now(), where);
    this.expectLocal(id);
    try {
      await this.#store.commit({
        settle: [done.settlement],
        audit: [done.audit],
        now: this.#clock.now(),
      });
    } catch (error) {
      this.unexpectLocal(id);
      throw error;
    }
    this.resolveLocal(id, done.outcome);
    return true;
  }

  /**
   * Calls `listener` with every message queued for the session from now on, from any process
   * sharing the store (a UI can show messages as they arrive). What the listener throws is
   * logged.
   *
   * @returns a function that removes the listener.
   */
  subscribe(sessionId: string, listener: InterruptListener): () => void {
    checkSessionId(sessionId);
    if (typeof listener !== "function") {
      throw new InvalidOptionError("listener", "a function", listener);
    }
    // Messages are read in arrival order, one after the other.
    let chain: Promise<void> = Promise.resolve();
    return this.#store.notifier.subscribe(sessionId, (event) => {
      if (event.kind !== "queued") return;
      chain = chain.then(async () => {
        const stored = await this.#store.interrupts.get(event.id);
        if (stored === undefined) return;
        try {
          listener(stored.message);
        } catch (error) {
          this.#logger.error("An interrupt listener threw; the message stays queued", {
            sessionId,
            id: event.id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      });
    });
  }

  /** What became of a message so far, or `undefined` while it waits. */
  async outcome(id: string): Promise<InterruptOutcome | undefined> {
    const stored = await this.#store.interrupts.get(id);
    return stored === undefined ? undefined : outcomeOf(stored, id, stored.message.sessionId);
  }

  /**
   * Whether any message waits for the session. Cheap: it does not remove expired messages, so it
   * can be `true` when `next()` then finds only expired ones.
   */
  async hasPending(sessionId: string, options: SignalOptions = {}): Promise<boolean> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    return (await this.#store.interrupts.stats(sessionId)).depth > 0;
  }

  /**
   * The waiting messages in service order, one page at a time (`limit` 50 by default, at most
   * 500), without claiming them. Expired messages are removed first.
   */
  async list(
    sessionId: string,
    options: PageOptions & SignalOptions = {},
  ): Promise<Page<QueuedInterrupt>> {
    checkSessionId(sessionId);
    const page = resolvePage(options);
    options.signal?.throwIfAborted();
    await this.#expire(sessionId);
    return this.#store.interrupts.list(sessionId, page);
  }

  /** The session's counters and decision times. Expired messages are removed and counted first. */
  async metrics(sessionId: string, options: SignalOptions = {}): Promise<InterruptMetrics> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    await this.#expire(sessionId);
    const stats = await this.#store.interrupts.stats(sessionId);
    const decided = stats.applied + stats.refused;
    return {
      queued: stats.queued,
      applied: stats.applied,
      refused: stats.refused,
      expired: stats.expired,
      cleared: stats.cleared,
      depth: stats.depth,
      inFlight: stats.inFlight,
      meanDecisionMs: decided === 0 ? 0 : stats.totalDecisionMs / decided,
      maxDecisionMs: stats.maxDecisionMs,
    };
  }

  /**
   * Removes every waiting message of the session; their receipts resolve `refused` with an
   * `InterruptClearedError`. Messages already claimed by a run are not affected.
   *
   * @returns how many messages were removed.
   */
  async clear(sessionId: string, options: SignalOptions = {}): Promise<number> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    const removed = await this.#store.interrupts.remove({
      reason: "cleared",
      now: this.#clock.now(),
      sessionId,
    });
    return removed.length;
  }

  /**
   * Forgets the session's queue: removes waiting and claimed messages (their receipts resolve
   * `refused` with an `InterruptClearedError`) and resets its counters. The audit trail is kept.
   *
   * @returns how many messages were removed.
   */
  async deleteSession(sessionId: string, options: SignalOptions = {}): Promise<number> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    const removed = await this.#store.interrupts.remove({
      reason: "deleted",
      now: this.#clock.now(),
      sessionId,
    });
    return removed.length;
  }

  /**
   * Removes messages past their TTL, of one session or of every session; their receipts
   * resolve `expired`. `next()`, `list()` and `metrics()` do this for their session; a host can
   * call it periodically so receipts of sessions nobody reads still resolve.
   *
   * @returns how many messages expired.
   */
  async expire(options: { readonly sessionId?: string } & SignalOptions = {}): Promise<number> {
    if (options.sessionId !== undefined) checkSessionId(options.sessionId);
    options.signal?.throwIfAborted();
    return this.#expire(options.sessionId);
  }

  /**
   * @internal A run of this process is about to write the message's settlement: its receipt is
   * resolved by {@link resolveLocal}, with the very outcome objects, not by the notifier.
   */
  expectLocal(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) pending.local = true;
  }

  /** @internal The write failed: the receipt waits for whoever settles the message later. */
  unexpectLocal(id: string): void {
    const pending = this.#pending.get(id);
    if (pending) pending.local = false;
  }

  /** @internal The message's settlement is stored: resolves its receipt, if this service sent it. */
  resolveLocal(id: string, outcome: InterruptOutcome): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#forget(id);
    pending.resolve(outcome);
  }

  /** Enqueues; at a limit, removes expired messages (which free room) and tries once more. */
  async #enqueue(record: NewInterruptRecord, audit: AuditEntryInput): Promise<EnqueueResult> {
    // One `cancel` more than the bounds always fits, so a full queue never keeps one out.
    const reserve = record.kind === "action" && record.action.type === "cancel" ? 1 : 0;
    const limits = {
      maxQueueSize: this.limits.maxQueueSize + reserve,
      maxSessions: this.limits.maxSessions + reserve,
    };
    const result = await this.#store.interrupts.enqueue(record, limits, audit);
    if (result.ok) return result;
    const freed = await this.#expire(result.reason === "queue_full" ? record.sessionId : undefined);
    return freed > 0 ? this.#store.interrupts.enqueue(record, limits, audit) : result;
  }

  async #expire(sessionId: string | undefined): Promise<number> {
    const now = this.#clock.now();
    const removed = await this.#store.interrupts.remove(
      sessionId === undefined ? { reason: "expired", now } : { reason: "expired", now, sessionId },
    );
    return removed.length;
  }

  /** Listens for settlements of the session while this service has receipts waiting there. */
  #watch(sessionId: string): void {
    if (this.#watching.has(sessionId)) return;
    const stop = this.#store.notifier.subscribe(sessionId, (event) => {
      if (event.kind === "resync") {
        for (const [id, pending] of this.#pending) {
          if (pending.sessionId === sessionId && !pending.local) void this.#resolveFromStore(id);
        }
        return;
      }
      if (event.kind !== "settled") return;
      const pending = this.#pending.get(event.id);
      if (pending === undefined || pending.local) return;
      void this.#resolveFromStore(event.id);
    });
    this.#watching.set(sessionId, stop);
  }

  async #resolveFromStore(id: string): Promise<void> {
    try {
      const pending = this.#pending.get(id);
      if (pending === undefined) return;
      const outcome = outcomeOf(await this.#store.interrupts.get(id), id, pending.sessionId);
      if (outcome === undefined || pending.local) return;
      this.resolveLocal(id, outcome);
    } catch (error) {
      this.#logger.warn("Could not read a settled interrupt; its receipt waits", {
        id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #forget(id: string): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    for (const other of this.#pending.values()) if (other.sessionId === pending.sessionId) return;
    this.#watching.get(pending.sessionId)?.();
    this.#watching.delete(pending.sessionId);
  }
}
