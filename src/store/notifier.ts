import type { CheckpointStatus } from "./checkpoint-store.js";

/** Something that changed in a store, as its notifier tells subscribers. */
export type StoreEvent =
  | {
      /** A message was queued. */
      readonly kind: "queued";
      readonly sessionId: string;
      readonly id: string;
      readonly priority: number;
      /** The action's type; absent for free text. Lets a run spot a `cancel` at once. */
      readonly action?: string;
    }
  | {
      /** A message stopped waiting: applied, refused, expired or cleared. */
      readonly kind: "settled";
      readonly sessionId: string;
      readonly id: string;
    }
  | {
      /**
       * A checkpoint of the session's own thread was committed, or one of a nested graph's
       * thread that changed the gate of the session's summary (it opened or closed a gate
       * inside the nested graph). Listeners in the committing store's process hear of every one
       * of the own thread; the SQL stores tell other processes only of those that change the
       * session's summary (status, gate or graph): a chain of running steps is told once, at
       * its first checkpoint.
       */
      readonly kind: "checkpoint";
      readonly sessionId: string;
      /** The checkpoint's thread: `""` for the session's own, a nested graph's path otherwise. */
      readonly thread: string;
      readonly id: string;
      readonly status: CheckpointStatus;
    }
  | {
      /** The session's lease was released (its run ended or gave it up). */
      readonly kind: "released";
      readonly sessionId: string;
    }
  | {
      /**
       * Events may have been missed (a listening connection was down): every subscriber, of
       * every session, re-reads what it waits for. `sessionId` is empty.
       */
      readonly kind: "resync";
      readonly sessionId: "";
    };

/** Called with each event; must not throw (a throw is caught and logged). */
export type StoreListener = (event: StoreEvent) => void;

/**
 * Tells subscribers what changed in a store, so waiting runs wake at once and receipts resolve
 * in the process that sent the message. Every store tells its own listeners of its own writes
 * right after they commit, each once, and never of a write that failed or rolled back. The SQL
 * stores also deliver the events of other stores and processes on the same database, a little
 * later (PostgreSQL `LISTEN`/`NOTIFY`, SQLite polling). Delivery is a hint, not a log: a
 * subscriber re-reads the store after it subscribes and on each event.
 */
export interface Notifier {
  /**
   * Listens to one session's events, or to every session's with `null`. Returns a function that
   * stops listening.
   */
  subscribe(sessionId: string | null, listener: StoreListener): () => void;
}
