import type { AuditStore } from "./audit-store.js";
import type { CheckpointStore } from "./checkpoint-store.js";
import type { InterruptStore } from "./interrupt-store.js";

/**
 * Everything Trellis persists, behind one object: checkpoints, interrupt queues and the audit
 * trail. Backends (memory, SQLite, PostgreSQL) implement the three parts and pass the shared
 * suite in `test/store`.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * const interrupts = new InterruptService({ store });
 * const agent = new GraphAgent(graph, { store, interrupts });
 * ```
 */
export interface Store {
  readonly checkpoints: CheckpointStore;
  readonly interrupts: InterruptStore;
  readonly audit: AuditStore;
  /** Releases connections and files. Memory stores have nothing to release. */
  close?(): Promise<void>;
}
