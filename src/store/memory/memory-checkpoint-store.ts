import { CheckpointConflictError } from "../../errors.js";
import { deepFreeze } from "../../freeze.js";
import type {
  CheckpointListOptions,
  CheckpointRecord,
  CheckpointStore,
} from "../checkpoint-store.js";
import { checkKeep } from "../checkpoint-store.js";

interface Thread {
  readonly byId: Map<string, CheckpointRecord>;
  ordered: CheckpointRecord[];
}

/**
 * Checkpoints in process memory, kept by reference: records are immutable, so history cannot be
 * changed through them. This store never serializes anything; records are JSON data by contract.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #sessions = new Map<string, Map<string, Thread>>();

  #thread(sessionId: string, thread: string): Thread | undefined {
    return this.#sessions.get(sessionId)?.get(thread);
  }

  /** @internal Throws `CheckpointConflictError` when a record would collide; writes nothing. */
  check(records: readonly CheckpointRecord[]): void {
    // Most commits hold one checkpoint: it needs no bookkeeping across the batch.
    if (records.length === 1) {
      const record = records[0]!;
      const thread = this.#thread(record.sessionId, record.thread);
      if (thread?.byId.has(record.id) || record.seq <= (thread?.ordered.at(-1)?.seq ?? -1)) {
        throw new CheckpointConflictError(record.sessionId, record.thread, record.id, record.seq);
      }
      return;
    }
    const last = new Map<string, number>();
    const ids = new Set<string>();
    for (const record of records) {
      const key = `${record.sessionId}\u0000${record.thread}`;
      const thread = this.#thread(record.sessionId, record.thread);
      const before = last.get(key) ?? thread?.ordered.at(-1)?.seq ?? -1;
      if (thread?.byId.has(record.id) || ids.has(key + record.id) || record.seq <= before) {
        throw new CheckpointConflictError(record.sessionId, record.thread, record.id, record.seq);
      }
      ids.add(key + record.id);
      last.set(key, record.seq);
    }
  }

  /** @internal Appends records that `check` accepted. */
  insert(records: readonly CheckpointRecord[]): void {
    for (const record of records) {
      let threads = this.#sessions.get(record.sessionId);
      if (!threads) {
        threads = new Map();
        this.#sessions.set(record.sessionId, threads);
      }
      let thread = threads.get(record.thread);
      if (!thread) {
        thread = { byId: new Map(), ordered: [] };
        threads.set(record.thread, thread);
      }
      const kept = keep(record);
      thread.byId.set(kept.id, kept);
      thread.ordered.push(kept);
    }
  }

  /** @internal Forgets every thread of the session. */
  drop(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  async get(sessionId: string, thread: string, id: string): Promise<CheckpointRecord | undefined> {
    return this.#thread(sessionId, thread)?.byId.get(id);
  }

  async latest(sessionId: string, thread: string): Promise<CheckpointRecord | undefined> {
    return this.#thread(sessionId, thread)?.ordered.at(-1);
  }

  async list(
    sessionId: string,
    thread: string,
    options: CheckpointListOptions = {},
  ): Promise<CheckpointRecord[]> {
    const ordered = this.#thread(sessionId, thread)?.ordered ?? [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: CheckpointRecord[] = [];
    for (let i = ordered.length - 1; i >= 0 && out.length < limit; i--) {
      const record = ordered[i]!;
      if (options.beforeSeq === undefined || record.seq < options.beforeSeq) out.push(record);
    }
    return out;
  }

  async lineage(sessionId: string, thread: string, id: string): Promise<CheckpointRecord[]> {
    return chainOf(this.#thread(sessionId, thread), id);
  }

  async prune(sessionId: string, options: { readonly keep: number }): Promise<number> {
    checkKeep(options.keep);
    let deleted = 0;
    for (const thread of this.#sessions.get(sessionId)?.values() ?? []) {
      const needed = new Set<string>();
      for (const record of thread.ordered.slice(-options.keep)) {
        for (const link of chainOf(thread, record.id)) needed.add(link.id);
      }
      const kept = thread.ordered.filter((record) => needed.has(record.id));
      deleted += thread.ordered.length - kept.length;
      for (const record of thread.ordered)
        if (!needed.has(record.id)) thread.byId.delete(record.id);
      thread.ordered = kept;
    }
    return deleted;
  }
}

function chainOf(thread: Thread | undefined, id: string): CheckpointRecord[] {
  const chain: CheckpointRecord[] = [];
  let current = thread?.byId.get(id);
  while (current) {
    chain.push(current);
    if (current.kind === "full" || current.parentId === null) break;
    current = thread?.byId.get(current.parentId);
  }
  return chain.reverse();
}

/**
 * The record as the store keeps it. The run's checkpointer hands over deeply frozen records
 * (their states are shared with the run, never copied): a frozen record is kept as it is. Any
 * other record is copied first, so the caller cannot change history through its own objects.
 */
function keep(record: CheckpointRecord): CheckpointRecord {
  if (Object.isFrozen(record)) return record;
  return deepFreeze(structuredClone(record));
}
