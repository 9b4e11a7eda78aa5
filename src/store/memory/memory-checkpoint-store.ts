import { TrellisError } from "../../errors.js";
import {
  type CheckpointRecord,
  type CheckpointStore,
  LazyCheckpointRecord,
} from "../checkpoint-store.js";

interface Thread {
  readonly byId: Map<string, CheckpointRecord>;
  readonly ordered: CheckpointRecord[];
}

/** Checkpoints in process memory. Records are immutable strings, so history cannot be mutated. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #threads = new Map<string, Thread>();

  #thread(threadId: string): Thread {
    let thread = this.#threads.get(threadId);
    if (!thread) {
      thread = { byId: new Map(), ordered: [] };
      this.#threads.set(threadId, thread);
    }
    return thread;
  }

  async append(records: readonly CheckpointRecord[]): Promise<void> {
    for (const record of records) {
      const thread = this.#threads.get(record.threadId);
      const last = thread?.ordered.at(-1);
      if (thread?.byId.has(record.id) || (last && last.seq >= record.seq)) {
        throw new TrellisError(
          "CHECKPOINT_CONFLICT",
          `Checkpoint \`${record.id}\` (seq ${record.seq}) of \`${record.threadId}\` conflicts with one already stored; another run may be writing to this session.`,
        );
      }
    }
    for (const record of records) {
      const thread = this.#thread(record.threadId);
      thread.byId.set(record.id, keep(record));
      thread.ordered.push(thread.byId.get(record.id)!);
    }
  }

  async get(threadId: string, id: string): Promise<CheckpointRecord | undefined> {
    return this.#threads.get(threadId)?.byId.get(id);
  }

  async latest(threadId: string): Promise<CheckpointRecord | undefined> {
    return this.#threads.get(threadId)?.ordered.at(-1);
  }

  async list(
    threadId: string,
    options: { readonly limit?: number; readonly beforeSeq?: number } = {},
  ): Promise<CheckpointRecord[]> {
    const ordered = this.#threads.get(threadId)?.ordered ?? [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: CheckpointRecord[] = [];
    for (let i = ordered.length - 1; i >= 0 && out.length < limit; i--) {
      const record = ordered[i]!;
      if (options.beforeSeq === undefined || record.seq < options.beforeSeq) out.push(record);
    }
    return out;
  }

  async lineage(threadId: string, id: string): Promise<CheckpointRecord[]> {
    const thread = this.#threads.get(threadId);
    const chain: CheckpointRecord[] = [];
    let current = thread?.byId.get(id);
    while (current) {
      chain.push(current);
      if (current.kind === "full" || current.parentId === null) break;
      current = thread?.byId.get(current.parentId);
    }
    return chain.reverse();
  }

  async deleteThread(threadId: string): Promise<void> {
    for (const key of [...this.#threads.keys()]) {
      if (key === threadId || key.startsWith(`${threadId}/`)) this.#threads.delete(key);
    }
  }
}

/**
 * The record as the store keeps it: a frozen copy, so the caller cannot change history. A
 * record that is frozen already (the checkpointer freezes its records; a lazy full snapshot's
 * state is frozen too) is kept as it is, which also keeps a lazy snapshot unserialized.
 */
function keep(record: CheckpointRecord): CheckpointRecord {
  if (record instanceof LazyCheckpointRecord) return record;
  if (Object.isFrozen(record) && Object.isFrozen(record.next)) return record;
  return Object.freeze({ ...record, next: Object.freeze([...record.next]) });
}
