import type { InterruptAction } from "../interrupts/actions.js";
import type { InterruptDecisionSource, QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { AuditEntryInput } from "./audit-store.js";
import type { SerializedError } from "./checkpoint-meta.js";
import type { Page, PageOptions } from "./page.js";

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

/** What a settled message came to, as the store keeps it (JSON). */
export type SettledOutcome =
  | {
      readonly status: "applied";
      readonly action: InterruptAction;
      /** Milliseconds since the epoch. */
      readonly appliedAt: number;
      readonly source?: InterruptDecisionSource;
      /** A short explanation, e.g. the reasoner's rationale. */
      readonly detail?: string;
    }
  | { readonly status: "refused"; readonly error: SerializedError; readonly at: number };

/**
 * How one claimed (or still queued) message ended, written by `Store.commit` together with the
 * checkpoint it led to. The store marks the message settled, counts it, keeps `outcome` for
 * {@link InterruptStore.get} and tells the notifier. Ids that are not queued or claimed (already
 * settled, cleared, expired, unknown) are skipped.
 */
export interface Settlement {
  readonly id: string;
  readonly outcome: SettledOutcome;
}

/**
 * Where a message stands. A message removed with its session (`deleted`) is forgotten: `get`
 * returns `undefined` for it once the removal is done.
 */
export type InterruptState =
  | "queued"
  | "claimed"
  | "applied"
  | "refused"
  | "expired"
  | "cleared"
  | "deleted";

/** A message as {@link InterruptStore.get} returns it: the message, where it stands, and its outcome. */
export interface StoredInterrupt {
  readonly message: QueuedInterrupt;
  readonly state: InterruptState;
  /** Set once the message was applied or refused. */
  readonly outcome?: SettledOutcome;
  /** Set while the message is claimed: the lease token (or other owner) that claimed it. */
  readonly claimedBy?: string;
}

/** Which message `claim` takes. */
export interface ClaimOptions {
  /** Milliseconds since the epoch: messages with `expiresAt <= now` are skipped. */
  readonly now: number;
  /**
   * Who claims it (the run's lease token). Releasing that lease, or a new lease on the session,
   * puts the claims nobody settled back in the queue.
   */
  readonly owner: string;
  /** Claim this message only (if it is still queued and not expired). */
  readonly id?: string;
}

/**
 * Which messages `remove` takes out (each removal appends its audit entries, built with
 * {@link removalAuditEntry}, in the same atomic step):
 * - `expired`: queued messages with `expiresAt <= now`, of one session or of every session;
 *   counted as `expired`.
 * - `cleared`: every queued message of the session; counted as `cleared`. Claimed messages stay.
 * - `deleted`: every queued and claimed message of the session, and its counters and sequence.
 */
export type InterruptRemoval =
  | { readonly reason: "expired"; readonly now: number; readonly sessionId?: string }
  | { readonly reason: "cleared"; readonly now: number; readonly sessionId: string }
  | { readonly reason: "deleted"; readonly now: number; readonly sessionId: string };

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
  /** The highest `seq` given to a message of the session; 0 when none. */
  readonly lastSeq: number;
}

/**
 * Storage of the per-session interrupt queues. Each method is one atomic step, so a SQL backend
 * implements each in one transaction: `enqueue` counts the queue and the active sessions and
 * inserts in the same transaction; `claim` selects and marks the next message with a row lock
 * (`FOR UPDATE SKIP LOCKED`). Settling goes through `Store.commit`. Every backend passes the
 * shared suite in `test/store`.
 *
 * Service order is `priority` ascending, then `seq` ascending. A store tells its notifier about
 * every message it queues (`queued`) and every message that stops waiting (`settled`).
 */
export interface InterruptStore {
  /**
   * Queues a message, together with its `interrupt.received` audit entry (`audit`, whose `data`
   * the store completes with the message's `seq`), unless its session already holds
   * `maxQueueSize` queued messages, or it has none and `maxSessions` sessions already have some.
   * Assigns the next `seq` of the session. An id already stored is an error.
   */
  enqueue(
    record: NewInterruptRecord,
    limits: EnqueueLimits,
    audit: AuditEntryInput,
  ): Promise<EnqueueResult>;
  /**
   * Takes the first queued message in service order (or the one named by `id`) with
   * `expiresAt > now` and marks it claimed by `owner`; `undefined` when there is none. Expired
   * messages are skipped, not removed.
   */
  claim(sessionId: string, options: ClaimOptions): Promise<QueuedInterrupt | undefined>;
  /** One message, wherever it stands (settled ones too, until the session is deleted). */
  get(id: string): Promise<StoredInterrupt | undefined>;
  /** Queued messages in service order, without claiming them, and how many are queued. */
  list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>>;
  /** The session's counters; zeros for a session never seen. */
  stats(sessionId: string): Promise<InterruptStats>;
  /** Removes messages (see {@link InterruptRemoval}) and returns them, in service order. */
  remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]>;
}

/** The audit entry a store appends for each message `remove` takes out. */
export function removalAuditEntry(
  message: QueuedInterrupt,
  removal: InterruptRemoval,
): AuditEntryInput {
  return {
    sessionId: message.sessionId,
    at: removal.now,
    kind: removal.reason === "expired" ? "interrupt.expired" : "interrupt.cleared",
    ...(message.sender === undefined ? {} : { actor: message.sender }),
    data:
      removal.reason === "expired"
        ? { id: message.id, queuedAt: message.queuedAt, expiresAt: message.expiresAt }
        : { id: message.id, reason: removal.reason },
  };
}
