import { randomUUID } from "node:crypto";
import { z } from "zod";
import { type Clock, systemClock } from "../clock.js";
import {
  InterruptClearedError,
  InvalidOptionError,
  QueueFullError,
  TooManySessionsError,
} from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type {
  EnqueueResult,
  NewInterruptRecord,
  Page,
  PageOptions,
} from "../store/interrupt-store.js";
import { resolvePage } from "../store/interrupt-store.js";
import { MemoryStore } from "../store/memory/memory-store.js";
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

/** Called with each message queued for a session, right after it is queued. */
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
    ["checkpoints", "interrupts", "audit"].every((k) =>
      isObject((v as Record<string, unknown>)[k]),
    ),
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

/**
 * One bounded interrupt queue per session. Senders (code, the CLI, the review page) `send()`
 * actions or free text; the run takes them with `next()` at its checkpoints, in priority order
 * (`cancel`, then `pause`, then the rest) and then in arrival order, and reports what it did with
 * `settle()`. Every refusal is an error the sender sees; nothing is dropped silently.
 *
 * Receipts resolve in the process that sent the message. Queues, counters and the audit trail
 * live in the {@link Store}, so any process sharing it sees the same queue.
 *
 * @example
 * ```ts
 * const interrupts = new InterruptService({ limits: { maxQueueSize: 20 } });
 * const receipt = await interrupts.send("session-1", { type: "pause", mode: "suspend" });
 * // …in the run loop, at a checkpoint:
 * const message = await interrupts.next("session-1");
 * if (message) await interrupts.settle(message.id, { status: "applied", action: { type: "pause" } });
 * console.log((await receipt.decision).status); // "applied"
 * ```
 */
export class InterruptService {
  /** The limits in force, defaults filled in. */
  readonly limits: Readonly<InterruptLimits>;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Resolvers of the receipts sent from this process, by message id. */
  readonly #pending = new Map<string, (outcome: InterruptOutcome) => void>();
  readonly #listeners = new Map<string, Set<InterruptListener>>();

  constructor(options: InterruptServiceOptions = {}) {
    if (!isObject(options)) {
      throw new InvalidOptionError("options", "an object", options);
    }
    if (options.store !== undefined && !StoreSchema.safeParse(options.store).success) {
      throw new InvalidOptionError(
        "store",
        "a Store (an object with `checkpoints`, `interrupts` and `audit`)",
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

  /**
   * Validates a message and queues it for the session. An object must be a valid action; a
   * string is free text for the reasoner. Resolves with a receipt once the message is queued.
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

    // Register the receipt first: a consumer may settle the message before `enqueue` returns here.
    let resolve!: (outcome: InterruptOutcome) => void;
    const decision = new Promise<InterruptOutcome>((r) => {
      resolve = r;
    });
    decision.catch(() => {});
    this.#pending.set(record.id, resolve);

    let result: EnqueueResult;
    try {
      signal?.throwIfAborted();
      result = await this.#enqueue(record);
    } catch (error) {
      this.#pending.delete(record.id);
      throw error;
    }
    if (!result.ok) {
      this.#pending.delete(record.id);
      if (result.reason === "queue_full") {
        throw new QueueFullError(sessionId, this.limits.maxQueueSize);
      }
      throw new TooManySessionsError(sessionId, this.limits.maxSessions);
    }

    const queued = result.record;
    this.#notify(queued);
    await this.#audit({
      sessionId,
      at: queuedAt,
      kind: "interrupt.received",
      ...(sender === undefined ? {} : { actor: sender }),
      data: {
        id: queued.id,
        seq: queued.seq,
        priority: queued.priority,
        ...(queued.kind === "action" ? { action: queued.action } : { text: queued.text }),
        ...(queued.metadata === undefined ? {} : { metadata: queued.metadata }),
      },
    });
    return { id: queued.id, sessionId, priority: queued.priority, queuedAt, decision };
  }

  /**
   * Claims the next message of the session in service order, or `undefined` when none waits.
   * Messages past their TTL are removed first; their receipts resolve `expired`. A claimed
   * message is no longer listed; report what became of it with {@link settle}.
   */
  async next(sessionId: string, options: SignalOptions = {}): Promise<QueuedInterrupt | undefined> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    await this.#expire(sessionId);
    return this.#store.interrupts.claim(sessionId, this.#clock.now());
  }

  /**
   * Records what became of a claimed (or still queued) message: counts it, appends it to the
   * audit trail and resolves its receipt. Returns `false` when the message is unknown or was
   * already settled, cleared or expired.
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
    const at =
      settlement.status === "applied"
        ? (settlement.appliedAt ?? this.#clock.now())
        : this.#clock.now();
    const record = await this.#store.interrupts.settle(id, { status: settlement.status, at });
    if (!record) {
      this.#logger.debug("Settled an interrupt that is not queued or in flight", { id, status });
      return false;
    }
    const outcome: InterruptOutcome =
      settlement.status === "applied"
        ? {
            status: "applied",
            action: settlement.action,
            appliedAt: at,
            ...(settlement.source === undefined ? {} : { source: settlement.source }),
            ...(settlement.detail === undefined ? {} : { detail: settlement.detail }),
          }
        : { status: "refused", error: settlement.error };
    this.#resolve(id, outcome);
    await this.#audit({
      sessionId: record.sessionId,
      at,
      kind: outcome.status === "applied" ? "interrupt.applied" : "interrupt.refused",
      ...(record.sender === undefined ? {} : { actor: record.sender }),
      ...(settlement.runId === undefined ? {} : { runId: settlement.runId }),
      ...(settlement.node === undefined ? {} : { node: settlement.node }),
      ...(settlement.iteration === undefined ? {} : { iteration: settlement.iteration }),
      data:
        outcome.status === "applied"
          ? {
              id,
              action: outcome.action,
              decisionMs: at - record.queuedAt,
              ...(outcome.source === undefined ? {} : { source: outcome.source }),
              ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
            }
          : {
              id,
              decisionMs: at - record.queuedAt,
              code: outcome.error.code,
              message: outcome.error.message,
            },
    });
    return true;
  }

  /**
   * Calls `listener` with every message queued for the session from now on, so a run can react
   * at once (a `cancel` can abort the node in flight). Listeners run synchronously; what they
   * throw is logged. Only messages sent through this service instance are seen.
   *
   * @returns a function that removes the listener.
   */
  subscribe(sessionId: string, listener: InterruptListener): () => void {
    checkSessionId(sessionId);
    if (typeof listener !== "function") {
      throw new InvalidOptionError("listener", "a function", listener);
    }
    let set = this.#listeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.#listeners.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(sessionId);
      current?.delete(listener);
      if (current?.size === 0) this.#listeners.delete(sessionId);
    };
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
    return this.#drop(sessionId, "cleared");
  }

  /**
   * Forgets the session's queue: removes waiting and claimed messages (their receipts resolve
   * `refused` with an `InterruptClearedError`) and resets its counters. Call it when the session
   * itself is deleted. The audit trail is kept.
   *
   * @returns how many messages were removed.
   */
  async deleteSession(sessionId: string, options: SignalOptions = {}): Promise<number> {
    checkSessionId(sessionId);
    options.signal?.throwIfAborted();
    return this.#drop(sessionId, "deleted");
  }

  /**
   * Removes messages past their TTL, of one session or of every session, and resolves their
   * receipts `expired`. `next()`, `list()` and `metrics()` do this for their session; a host can
   * call it periodically so receipts of sessions nobody reads still resolve.
   *
   * @returns how many messages expired.
   */
  async expire(options: { readonly sessionId?: string } & SignalOptions = {}): Promise<number> {
    if (options.sessionId !== undefined) checkSessionId(options.sessionId);
    options.signal?.throwIfAborted();
    return this.#expire(options.sessionId);
  }

  /** Enqueues; at a limit, removes expired messages (which free room) and tries once more. */
  async #enqueue(record: NewInterruptRecord): Promise<EnqueueResult> {
    const limits = { maxQueueSize: this.limits.maxQueueSize, maxSessions: this.limits.maxSessions };
    const result = await this.#store.interrupts.enqueue(record, limits);
    if (result.ok) return result;
    const freed = await this.#expire(result.reason === "queue_full" ? record.sessionId : undefined);
    return freed > 0 ? this.#store.interrupts.enqueue(record, limits) : result;
  }

  async #expire(sessionId: string | undefined): Promise<number> {
    const now = this.#clock.now();
    const removed = await this.#store.interrupts.remove(
      sessionId === undefined ? { reason: "expired", now } : { reason: "expired", now, sessionId },
    );
    for (const record of removed) {
      this.#resolve(record.id, { status: "expired" });
      await this.#audit({
        sessionId: record.sessionId,
        at: now,
        kind: "interrupt.expired",
        ...(record.sender === undefined ? {} : { actor: record.sender }),
        data: { id: record.id, queuedAt: record.queuedAt, expiresAt: record.expiresAt },
      });
    }
    return removed.length;
  }

  async #drop(sessionId: string, reason: "cleared" | "deleted"): Promise<number> {
    const removed = await this.#store.interrupts.remove({ reason, sessionId });
    const now = this.#clock.now();
    for (const record of removed) {
      const error = new InterruptClearedError(record.id, sessionId, reason);
      this.#resolve(record.id, { status: "refused", error });
      await this.#audit({
        sessionId,
        at: now,
        kind: "interrupt.cleared",
        ...(record.sender === undefined ? {} : { actor: record.sender }),
        data: { id: record.id, reason },
      });
    }
    return removed.length;
  }

  #resolve(id: string, outcome: InterruptOutcome): void {
    const resolve = this.#pending.get(id);
    if (!resolve) return;
    this.#pending.delete(id);
    resolve(outcome);
  }

  #notify(message: QueuedInterrupt): void {
    const listeners = this.#listeners.get(message.sessionId);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.#logger.error("An interrupt listener threw; the message stays queued", {
          sessionId: message.sessionId,
          id: message.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** Appends to the audit trail; a failure is logged, never thrown at the sender or the run. */
  async #audit(entry: AuditEntryInput): Promise<void> {
    try {
      // The data is built here and never changed again: frozen, the store need not copy it.
      await this.#store.audit.append(
        entry.data === undefined ? entry : { ...entry, data: deepFreeze(entry.data) },
      );
    } catch (error) {
      this.#logger.warn("Could not append to the audit trail", {
        sessionId: entry.sessionId,
        kind: entry.kind,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
