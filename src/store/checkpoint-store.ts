/** How a run stood when a checkpoint was written. */
export type CheckpointStatus =
  | "running"
  | "paused"
  | "completed"
  | "failed"
  | "cancelled"
  | "rejected";

/**
 * One checkpoint as a store keeps it. The state is either a full snapshot or a delta
 * against `parentId`; `payload` is its JSON text, so `payload.length` is what it costs.
 */
export interface CheckpointRecord {
  /** The checkpoint's thread: the session id, or `session/node` for a nested graph's checkpoints. */
  readonly threadId: string;
  readonly id: string;
  /** Increases by one per checkpoint of the thread, across runs and forks. */
  readonly seq: number;
  /** The checkpoint this one continues; `null` for the first of a lineage. */
  readonly parentId: string | null;
  readonly runId: string;
  /** The node that just completed; `null` for the checkpoint of the run's input. */
  readonly node: string | null;
  /** Node executions so far in this run. */
  readonly iteration: number;
  /** The nodes that run next. */
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly kind: "full" | "delta";
  /** JSON: the state (full) or a `DeltaOp[]` (delta). */
  readonly payload: string;
  /** JSON of extra data (pending interrupt, trace context, finished branches), or `null`. */
  readonly meta: string | null;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/**
 * A record whose `payload` and `meta` are serialized the first time they are read, then kept.
 * The checkpointer writes these: the state, delta and meta it holds are deeply frozen, so the
 * text is the same whenever it is made, and a store that keeps records in memory never pays
 * for serializing records nobody reads. A store that writes elsewhere reads both and pays
 * then. `value` and `metaValue` give the same data without a JSON round trip.
 */
export class LazyCheckpointRecord implements CheckpointRecord {
  readonly threadId: string;
  readonly id: string;
  readonly seq: number;
  readonly parentId: string | null;
  readonly runId: string;
  readonly node: string | null;
  readonly iteration: number;
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly kind: "full" | "delta";
  readonly createdAt: number;
  /** The state (full) or the `DeltaOp[]` (delta), deeply frozen. */
  readonly value: unknown;
  /** The meta object, deeply frozen, or `undefined`. */
  readonly metaValue: Readonly<Record<string, unknown>> | undefined;
  #payload: string | undefined;
  #meta: string | null | undefined;

  constructor(
    fields: Omit<CheckpointRecord, "payload" | "meta">,
    value: unknown,
    metaValue: Readonly<Record<string, unknown>> | undefined,
  ) {
    this.threadId = fields.threadId;
    this.id = fields.id;
    this.seq = fields.seq;
    this.parentId = fields.parentId;
    this.runId = fields.runId;
    this.node = fields.node;
    this.iteration = fields.iteration;
    this.next = Object.isFrozen(fields.next) ? fields.next : Object.freeze([...fields.next]);
    this.status = fields.status;
    this.kind = fields.kind;
    this.createdAt = fields.createdAt;
    this.value = value;
    this.metaValue = metaValue;
  }

  get payload(): string {
    this.#payload ??= JSON.stringify(this.value);
    return this.#payload;
  }

  get meta(): string | null {
    if (this.#meta === undefined) {
      this.#meta = this.metaValue === undefined ? null : JSON.stringify(this.metaValue);
    }
    return this.#meta;
  }

  /** A plain object with the same fields (payload and meta serialized). */
  toJSON(): CheckpointRecord {
    return { ...this, payload: this.payload, meta: this.meta };
  }
}

/** A record's meta as an object: without a JSON round trip when the record still holds it. */
export function recordMeta(record: CheckpointRecord): Readonly<Record<string, unknown>> {
  if (record instanceof LazyCheckpointRecord) return record.metaValue ?? {};
  return record.meta === null ? {} : (JSON.parse(record.meta) as Record<string, unknown>);
}

/** Storage of checkpoints. Every backend passes the shared suite in `test/store`. */
export interface CheckpointStore {
  /** Appends records atomically, in order. A `(threadId, seq)` or id already stored is an error. */
  append(records: readonly CheckpointRecord[]): Promise<void>;
  /** One checkpoint by id. */
  get(threadId: string, id: string): Promise<CheckpointRecord | undefined>;
  /** The checkpoint with the highest `seq` in the thread. */
  latest(threadId: string): Promise<CheckpointRecord | undefined>;
  /** Checkpoints newest first, `limit` at most, only those with `seq < beforeSeq` when given. */
  list(
    threadId: string,
    options?: { readonly limit?: number; readonly beforeSeq?: number },
  ): Promise<CheckpointRecord[]>;
  /**
   * The chain from the nearest full snapshot up to `id`, oldest first (parents followed
   * through `parentId`). Used to rebuild a state.
   */
  lineage(threadId: string, id: string): Promise<CheckpointRecord[]>;
  /** Removes every checkpoint of the thread (and of threads nested under it). */
  deleteThread(threadId: string): Promise<void>;
}
