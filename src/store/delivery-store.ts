import { InvalidOptionError } from "../errors.js";
import type { Page, PageOptions } from "./page.js";

/** Where a delivery stands: waiting for its next attempt, received, or given up. */
export type DeliveryStatus = "pending" | "delivered" | "failed";

/** A webhook delivery as the sender adds it to the outbox. */
export interface NewDelivery {
  /**
   * Derived from the endpoint and the event, so the same event to the same endpoint has the
   * same id in every process: adding it again adds nothing.
   */
  readonly id: string;
  readonly url: string;
  /** The event type (`approval.requested`, `session.completed`, …). */
  readonly type: string;
  readonly sessionId: string;
  readonly checkpointId: string;
  /** The JSON text POSTed on every attempt (signed at each attempt). */
  readonly body: string;
}

/** A delivery as the outbox holds it. */
export interface Delivery extends NewDelivery {
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly lastError: string | null;
  /** The HTTP status of the last attempt that got an answer. */
  readonly lastStatus: number | null;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When the next attempt is due; `null` once delivered or failed. */
  readonly dueAt: number | null;
}

/** Which deliveries {@link DeliveryStore.claim} takes, and for whom. */
export interface DeliveryClaim {
  /** Who claims: one id per sender, so its claims are told from another's. */
  readonly owner: string;
  /** Only deliveries to these endpoints (the ones the sender can sign for). */
  readonly urls: readonly string[];
  /** At most this many. */
  readonly limit: number;
  readonly now: number;
  /** The claims last until then: past it, another owner may claim the delivery again. */
  readonly until: number;
}

/** What an attempt came to, as {@link DeliveryStore.record} stores it. */
export interface DeliveryOutcome {
  /** `pending`: try again at `dueAt`. */
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly lastStatus: number | null;
  /** When to try again (`pending`); `null` otherwise. */
  readonly dueAt: number | null;
  readonly now: number;
}

/**
 * The webhook outbox: deliveries and their attempts, kept in the store so a delivery that a
 * server could not send yet is sent after it restarts, or by another server on the same store,
 * and so each is sent by one server at a time. A sender adds a delivery when it hears of the
 * event, then claims the deliveries that are due, attempts them and records each outcome.
 * Every backend passes the shared suite in `test/store`.
 */
export interface DeliveryStore {
  /**
   * Adds the deliveries whose ids are not stored yet, pending and due at `now`; returns the ids
   * it added. A delivery stored before (by this process or another) is left as it is.
   */
  add(deliveries: readonly NewDelivery[], now: number): Promise<string[]>;
  /**
   * Claims for `owner`, until `until`, at most `limit` pending deliveries to `urls` that are
   * due by `now` and not claimed by anyone past `now`, the longest due first, and returns them.
   * Two claims at once never return the same delivery.
   */
  claim(claim: DeliveryClaim): Promise<Delivery[]>;
  /**
   * Stores the outcome of an attempt of a delivery `owner` claimed, and ends the claim. Returns
   * `false`, writing nothing, when the claim is no longer `owner`'s (it ran out and another
   * sender claimed the delivery) or the delivery is gone (its session was deleted).
   */
  record(id: string, owner: string, outcome: DeliveryOutcome): Promise<boolean>;
  /**
   * When the earliest pending delivery to `urls` can be claimed: when it is due, or when the
   * claim on it runs out if that is later. `undefined` when none is pending.
   */
  nextDue(urls: readonly string[]): Promise<number | undefined>;
  /** Every delivery, newest first, one page at a time, and how many there are. */
  list(page?: PageOptions): Promise<Page<Delivery>>;
  /**
   * Deletes delivered and failed deliveries but the newest `keep` of them; returns how many.
   * Pending ones are kept. A session's deliveries also go with the session (`sessions.delete`).
   */
  prune(options: { readonly keep: number }): Promise<number>;
}

/**
 * Checks deliveries before they are added; throws `InvalidOptionError` naming the first wrong
 * field. Every backend calls it, so all refuse the same deliveries.
 */
export function checkNewDeliveries(deliveries: readonly NewDelivery[]): void {
  deliveries.forEach((delivery, index) => {
    for (const field of ["id", "url", "type", "sessionId", "checkpointId", "body"] as const) {
      const value: unknown = delivery[field];
      if (typeof value !== "string" || value.length === 0) {
        throw new InvalidOptionError(`deliveries[${index}].${field}`, "a non-empty string", value);
      }
    }
  });
}

/** Checks `prune`'s `keep`: an integer from 0 and up. */
export function checkDeliveryKeep(keep: unknown): number {
  if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 0) {
    throw new InvalidOptionError("keep", "an integer from 0 and up", keep);
  }
  return keep;
}

/** Checks a claim's `limit`: an integer from 1 to 1000. */
export function checkDeliveryClaim(claim: DeliveryClaim): void {
  if (!Number.isInteger(claim.limit) || claim.limit < 1 || claim.limit > 1000) {
    throw new InvalidOptionError("limit", "an integer from 1 to 1000", claim.limit);
  }
}

const OUTCOME_STATUSES: ReadonlySet<unknown> = new Set(["pending", "delivered", "failed"]);

/**
 * Checks an attempt's outcome before it is recorded: a known status, a count of attempts, and
 * for `pending` the time of the next attempt.
 */
export function checkDeliveryOutcome(outcome: DeliveryOutcome): void {
  if (!OUTCOME_STATUSES.has(outcome.status)) {
    throw new InvalidOptionError("status", '"pending", "delivered" or "failed"', outcome.status);
  }
  if (!Number.isInteger(outcome.attempts) || outcome.attempts < 0) {
    throw new InvalidOptionError("attempts", "an integer from 0 and up", outcome.attempts);
  }
  if (outcome.status === "pending" && !Number.isFinite(outcome.dueAt)) {
    throw new InvalidOptionError("dueAt", "a finite time for a pending delivery", outcome.dueAt);
  }
  if (!Number.isFinite(outcome.now)) {
    throw new InvalidOptionError("now", "a finite number of milliseconds", outcome.now);
  }
}
