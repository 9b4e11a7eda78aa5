import type { GateMeta } from "./checkpoint-meta.js";
import type { CheckpointStatus } from "./checkpoint-store.js";
import type { Page, PageOptions } from "./page.js";

/** The right to write one session, held by one owner until `expiresAt` unless renewed. */
export interface Lease {
  readonly sessionId: string;
  /** Who holds it, for messages (`host:pid:agent`). */
  readonly owner: string;
  /** Names this acquisition: `Store.commit` refuses a batch whose token is no longer current. */
  readonly token: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** How long each acquisition and renewal lasts, in milliseconds. */
  readonly ttlMs: number;
}

/** What `acquire` asks for. */
export interface LeaseRequest {
  readonly sessionId: string;
  readonly owner: string;
  /** A new unique token for this acquisition. */
  readonly token: string;
  readonly ttlMs: number;
  /** Milliseconds since the epoch (the caller's clock). */
  readonly now: number;
}

/** What `acquire` did. */
export type LeaseResult =
  | { readonly ok: true; readonly lease: Lease }
  | {
      readonly ok: false;
      /** Who holds the session now, and until when. */
      readonly owner: string;
      readonly expiresAt: number;
    };

/**
 * What the review inbox shows of one session: its latest checkpoint of its own thread, and the
 * approval request it waits for, a nested graph's included.
 */
export interface SessionSummary {
  readonly sessionId: string;
  /** The graph that last ran it: `meta.graph` of the newest checkpoint of its own thread that has one. */
  readonly graph: string;
  readonly status: CheckpointStatus;
  /** The latest checkpoint of the session's own thread. */
  readonly checkpointId: string;
  /** When the session's first checkpoint was written (milliseconds since the epoch). */
  readonly createdAt: number;
  /**
   * When its latest checkpoint of its own thread was written, or, when later, when a nested
   * graph's gate last opened or closed in it.
   */
  readonly updatedAt: number;
  /**
   * The approval request the session waits for, if any: the one open at the latest checkpoint
   * of its own thread, or one a nested graph opened since and has not closed (see
   * `summaryGate`). Of two nested gates open at once, the one opened last.
   */
  readonly gate?: GateMeta;
}

/** A query of the review inbox: newest first (`updatedAt`), one page at a time. */
export interface SessionQuery extends PageOptions {
  readonly status?: CheckpointStatus;
  readonly graph?: string;
  /** `"approval"`: only sessions with an open approval request. */
  readonly waiting?: "approval";
}

/**
 * Sessions: the lease that makes one run the only writer of a session, and the summary the
 * review inbox lists. A store keeps the summary up to date in `Store.commit`: from each
 * checkpoint of a session's own thread (`thread: ""`), and the gate also from the checkpoints of
 * nested graphs' threads that open, decide or end one, by the rule of `summaryGate`. Every
 * backend passes the shared suite in `test/store`.
 */
export interface SessionStore {
  /**
   * Takes the session's lease when nobody holds it or the holder's lease expired (`now >=
   * expiresAt`). In the same atomic step, messages the session had claimed and not settled are
   * queued again: whoever claimed them is gone.
   */
  acquire(request: LeaseRequest): Promise<LeaseResult>;
  /** Extends a lease that is still current to `now + ttlMs`; `undefined` when it was lost. */
  renew(lease: Lease, now: number): Promise<Lease | undefined>;
  /** Gives a lease up; nothing happens when it is no longer current. */
  release(lease: Lease): Promise<void>;
  /** The session's summary, or `undefined` before its first checkpoint. */
  get(sessionId: string): Promise<SessionSummary | undefined>;
  /** The review inbox. */
  list(query?: SessionQuery): Promise<Page<SessionSummary>>;
  /**
   * Deletes the session with everything it owns: every thread's checkpoints, its interrupt
   * queue, counters and settled messages, its lease and summary. Messages still queued or
   * claimed are removed as `InterruptStore.remove({ reason: "deleted" })` removes them (audited,
   * and the notifier tells their senders). The audit trail is kept and gains a
   * `session.deleted` entry.
   *
   * @throws SessionBusyError while a run holds the session's lease (at `now`): nothing is
   *   deleted. Cancel the run first, or wait for it to end.
   */
  delete(
    sessionId: string,
    options: { readonly now: number; readonly actor?: string },
  ): Promise<void>;
}
