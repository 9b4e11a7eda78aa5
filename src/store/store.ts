import type { AuditEntryInput, AuditStore } from "./audit-store.js";
import type { CheckpointRecord, CheckpointStore } from "./checkpoint-store.js";
import type { DeliveryStore } from "./delivery-store.js";
import type { InterruptStore, Settlement } from "./interrupt-store.js";
import type { Notifier } from "./notifier.js";
import type { Lease, SessionStore } from "./session-store.js";

/**
 * What belongs together and is written in one transaction: the checkpoints a step produced, the
 * messages it consumed, and their audit entries. A crash between two statements can never lose
 * a message or apply it twice.
 */
export interface StoreBatch {
  /**
   * The writer's lease: the batch is refused with `LeaseLostError` (nothing written) unless it
   * is still the session's current lease; after a committed batch it lasts at least until
   * `now + ttlMs / 2` (the memory and PostgreSQL stores extend it to `now + ttlMs`; the SQLite
   * store does so once less than half of it is left, so a run's step does not rewrite its
   * session's row).
   */
  readonly lease?: Lease;
  /**
   * Appended in order. An id already stored, or a `seq` not above the thread's latest (stored,
   * or earlier in the batch), is a `CheckpointConflictError`.
   */
  readonly checkpoints?: readonly CheckpointRecord[];
  readonly settle?: readonly Settlement[];
  readonly audit?: readonly AuditEntryInput[];
  /** Milliseconds since the epoch, for lease renewal and decision times. */
  readonly now: number;
}

/**
 * Everything Trellis persists, behind one object: checkpoints, interrupt queues, the audit
 * trail, session leases and summaries, the webhook outbox, and a notifier. Backends (memory, SQLite, PostgreSQL)
 * implement these parts and pass the shared suite in `test/store`.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * const interrupts = new InterruptService({ store });
 * const agent = new GraphAgent({ graph, store, interrupts });
 * ```
 */
export interface Store {
  readonly checkpoints: CheckpointStore;
  readonly interrupts: InterruptStore;
  readonly audit: AuditStore;
  readonly sessions: SessionStore;
  readonly deliveries: DeliveryStore;
  readonly notifier: Notifier;
  /** Writes a batch atomically (see {@link StoreBatch}). */
  commit(batch: StoreBatch): Promise<void>;
  /** Releases connections and files. */
  close(): Promise<void>;
}
