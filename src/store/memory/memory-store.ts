import type { AuditStore } from "../audit-store.js";
import type { CheckpointStore } from "../checkpoint-store.js";
import type { InterruptStore } from "../interrupt-store.js";
import type { Store } from "../store.js";
import { MemoryAuditStore } from "./memory-audit-store.js";
import { MemoryCheckpointStore } from "./memory-checkpoint-store.js";
import { MemoryInterruptStore } from "./memory-interrupt-store.js";

/**
 * A {@link Store} in process memory: the library default. Nothing survives the process; use the
 * SQLite or PostgreSQL store to resume runs after a restart or from another process.
 */
export class MemoryStore implements Store {
  readonly checkpoints: CheckpointStore = new MemoryCheckpointStore();
  readonly interrupts: InterruptStore = new MemoryInterruptStore();
  readonly audit: AuditStore = new MemoryAuditStore();

  /** Nothing to release; present so code can close any store the same way. */
  async close(): Promise<void> {}
}
