import { LeaseLostError } from "../../errors.js";
import { consoleLogger, type Logger } from "../../logger.js";
import type { AuditStore } from "../audit-store.js";
import { checkAuditEntry } from "../audit-store.js";
import type { CheckpointStore } from "../checkpoint-store.js";
import type { DeliveryStore } from "../delivery-store.js";
import type { InterruptStore } from "../interrupt-store.js";
import type { Notifier } from "../notifier.js";
import type { SessionStore } from "../session-store.js";
import type { Store, StoreBatch } from "../store.js";
import { isToldOf } from "../summary-gate.js";
import { MemoryAuditStore } from "./memory-audit-store.js";
import { MemoryCheckpointStore } from "./memory-checkpoint-store.js";
import { MemoryDeliveryStore } from "./memory-delivery-store.js";
import { MemoryInterruptStore } from "./memory-interrupt-store.js";
import { MemoryNotifier } from "./memory-notifier.js";
import { MemorySessionStore } from "./memory-session-store.js";

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Where listener failures are reported. Default: the console logger. */
  readonly logger?: Logger;
}

/**
 * A {@link Store} in process memory: the library default. Every operation runs to completion
 * without awaiting, so each is atomic for every caller in the process. Nothing survives the
 * process; use the SQLite or PostgreSQL store to resume runs after a restart or elsewhere.
 */
export class MemoryStore implements Store {
  readonly #checkpoints = new MemoryCheckpointStore();
  readonly #audit = new MemoryAuditStore();
  readonly #deliveries = new MemoryDeliveryStore();
  readonly #notifier: MemoryNotifier;
  readonly #interrupts: MemoryInterruptStore;
  readonly #sessions: MemorySessionStore;

  constructor(options: MemoryStoreOptions = {}) {
    this.#notifier = new MemoryNotifier(options.logger ?? consoleLogger);
    this.#interrupts = new MemoryInterruptStore(this.#audit, this.#notifier);
    this.#sessions = new MemorySessionStore(
      {
        requeue: (sessionId) => this.#interrupts.requeue(sessionId),
        drop: (sessionId, now, actor) => {
          this.#checkpoints.drop(sessionId);
          this.#deliveries.drop(sessionId);
          // Removed like `deleted`: audited, and waiting receipts are told.
          void this.#interrupts.remove({ reason: "deleted", now, sessionId });
          this.#audit.insert({
            sessionId,
            at: now,
            kind: "session.deleted",
            ...(actor === undefined ? {} : { actor }),
          });
        },
      },
      (sessionId) => this.#notifier.publish({ kind: "released", sessionId }),
    );
  }

  /** Checkpoints, kept by reference. */
  get checkpoints(): CheckpointStore {
    return this.#checkpoints;
  }
  /** The interrupt queues. */
  get interrupts(): InterruptStore {
    return this.#interrupts;
  }
  /** The audit trail. */
  get audit(): AuditStore {
    return this.#audit;
  }
  /** Session leases and inbox summaries. */
  get sessions(): SessionStore {
    return this.#sessions;
  }
  /** The webhook outbox. */
  get deliveries(): DeliveryStore {
    return this.#deliveries;
  }
  /** Calls listeners of this process right after each change. */
  get notifier(): Notifier {
    return this.#notifier;
  }

  async commit(batch: StoreBatch): Promise<void> {
    const { lease, checkpoints = [], settle = [], audit = [] } = batch;
    // Everything that can refuse the batch is checked before anything is written.
    if (lease !== undefined && !this.#sessions.holds(lease)) {
      throw new LeaseLostError(lease.sessionId);
    }
    this.#checkpoints.check(checkpoints);
    for (const entry of audit) checkAuditEntry(entry);
    this.#checkpoints.insert(checkpoints);
    for (const settlement of settle) this.#interrupts.settle(settlement, batch.now);
    for (const entry of audit) this.#audit.insert(entry);
    if (lease !== undefined) this.#sessions.extend(lease, batch.now);
    for (const record of checkpoints) {
      // A nested graph's checkpoint is told only when it changed the gate of the summary or
      // decided a gate (see `isToldOf`).
      if (!isToldOf(record, this.#sessions.record(record))) continue;
      this.#notifier.publish({
        kind: "checkpoint",
        sessionId: record.sessionId,
        thread: record.thread,
        id: record.id,
        status: record.status,
      });
    }
  }

  /** Nothing to release; present so code can close any store the same way. */
  async close(): Promise<void> {}
}
