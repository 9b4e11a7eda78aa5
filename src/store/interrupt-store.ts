import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import type { QueuedInterrupt } from "../interrupts/interrupt-message.js";

/** Paging of a list: skip `offset` items, return at most `limit` (default 50, at most 500). */
export interface PageOptions {
  readonly offset?: number;
  readonly limit?: number;
}

/** One page of a list and the number of items in the whole list. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

/** Default `limit` of a page. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest `limit` of a page. */
export const MAX_PAGE_LIMIT = 500;

const OffsetSchema = z.number().int().min(0);
const LimitSchema = z.number().int().min(1).max(MAX_PAGE_LIMIT);

/**
 * Checks paging options and fills the defaults. Throws `InvalidOptionError` for a negative or
 * fractional offset, or a limit outside 1–500.
 */
export function resolvePage(options: PageOptions = {}): { offset: number; limit: number } {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
  if (!OffsetSchema.safeParse(offset).success) {
    throw new InvalidOptionError("offset", "an integer from 0 and up", offset);
  }
  if (!LimitSchema.safeParse(limit).success) {
    throw new InvalidOptionError("limit", `an integer from 1 to ${MAX_PAGE_LIMIT}`, limit);
  }
  return { offset, limit };
}

/** A message as the service hands it to the store; the store assigns `seq`. */
export type NewInterruptRecord = WithoutSeq<QueuedInterrupt>;
type WithoutSeq<T> = T extends unknown ? Omit<T, "seq"> : never;

/** The bounds `enqueue` checks in the same atomic step as the insert. */
export interface EnqueueLimits {
  /** Most messages queued (not yet claimed) in one session. */
  readonly maxQueueSize: number;
  /** Most sessions with at least one queued message. */
  readonly maxSessions: number;
}

/** What `enqueue` did: queued the message (with its `seq`), or refused it and why. */
export type EnqueueResult =
  | { readonly ok: true; readonly record: QueuedInterrupt }
  | { readonly ok: false; readonly reason: "queue_full"; readonly depth: number }
  | { readonly ok: false; readonly reason: "too_many_sessions"; readonly sessions: number };

/** How a claimed (or queued) message ended, as the store records it. */
export interface SettleRecord {
  readonly status: "applied" | "refused";
  /** Milliseconds since the epoch; `at - queuedAt` is the decision time. */
  readonly at: number;
}

/**
 * Which messages `remove` takes out:
 * - `expired`: queued messages with `expiresAt <= now`, of one session or of every session;
 *   counted as `expired`.
 * - `cleared`: every queued message of the session; counted as `cleared`. Claimed messages stay.
 * - `deleted`: every queued and claimed message of the session, and its counters and sequence.
 */
export type InterruptRemoval =
  | { readonly reason: "expired"; readonly now: number; readonly sessionId?: string }
  | { readonly reason: "cleared"; readonly sessionId: string }
  | { readonly reason: "deleted"; readonly sessionId: string };

/** Counters of one session's queue, kept by the store so every process sees the same numbers. */
export interface InterruptStats {
  /** Messages accepted since the session's counters began. */
  readonly queued: number;
  readonly applied: number;
  readonly refused: number;
  readonly expired: number;
  /** Messages removed by `clear`. */
  readonly cleared: number;
  /** Messages waiting now. */
  readonly depth: number;
  /** Messages claimed and not yet settled. */
  readonly inFlight: number;
  /** Sum of `settledAt - queuedAt` over applied and refused messages. */
  readonly totalDecisionMs: number;
  /** Largest `settledAt - queuedAt`. */
  readonly maxDecisionMs: number;
}

/**
 * Storage of the per-session interrupt queues. Each method is one atomic step, so a SQL backend
 * implements each in one transaction: `enqueue` counts the queue and the active sessions and
 * inserts in the same transaction; `claim` selects and marks the next message with a row lock
 * (`FOR UPDATE SKIP LOCKED`). Every backend passes the shared suite in `test/store`.
 *
 * Service order is `priority` ascending, then `seq` ascending.
 */
export interface InterruptStore {
  /**
   * Queues a message unless its session already holds `maxQueueSize` queued messages, or it has
   * none and `maxSessions` sessions already have some. Assigns the next `seq` of the session.
   * An id already stored is an error.
   */
  enqueue(record: NewInterruptRecord, limits: EnqueueLimits): Promise<EnqueueResult>;
  /**
   * Takes the first queued message in service order with `expiresAt > now` and marks it claimed
   * (no longer listed or claimable); `undefined` when there is none. Expired messages are skipped,
   * not removed.
   */
  claim(sessionId: string, now: number): Promise<QueuedInterrupt | undefined>;
  /**
   * Records how a queued or claimed message ended and removes it from the queue. Returns the
   * message, or `undefined` when it is unknown or already settled, cleared or expired.
   */
  settle(id: string, result: SettleRecord): Promise<QueuedInterrupt | undefined>;
  /** Queued messages in service order, without claiming them, and how many are queued. */
  list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>>;
  /** The session's counters; zeros for a session never seen. */
  stats(sessionId: string): Promise<InterruptStats>;
  /** Removes messages (see {@link InterruptRemoval}) and returns them, in service order. */
  remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]>;
}
