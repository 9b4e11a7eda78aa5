import { InvalidOptionError } from "../errors.js";
import type { DeltaOp } from "../graph/state.js";
import type { CheckpointMeta } from "./checkpoint-meta.js";

/** How a run stood when a checkpoint was written. */
export type CheckpointStatus =
  | "running"
  | "paused"
  | "completed"
  | "failed"
  | "cancelled"
  | "rejected";

/** Every {@link CheckpointStatus}, in the order the docs list them. */
export const CHECKPOINT_STATUSES: readonly CheckpointStatus[] = [
  "running",
  "paused",
  "completed",
  "failed",
  "cancelled",
  "rejected",
];

/** Fields every checkpoint record has. */
export interface CheckpointRecordFields {
  readonly sessionId: string;
  /**
   * `""` for the session's own run; for the run of a nested graph, the path of the node that
   * runs it (`draft`, or `outer/inner` when nested twice). Threads of one session never mix.
   */
  readonly thread: string;
  readonly id: string;
  /** Increases by one per checkpoint of the thread, across runs and forks. */
  readonly seq: number;
  /** The checkpoint this one continues; `null` for the first of a lineage. */
  readonly parentId: string | null;
  readonly runId: string;
  /** The node that just completed; `null` for checkpoints no node wrote (input, interrupts, end). */
  readonly node: string | null;
  /** Node executions so far in this run. */
  readonly iteration: number;
  /** The nodes that run next. */
  readonly next: readonly string[];
  readonly status: CheckpointStatus;
  readonly meta: CheckpointMeta;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/**
 * One checkpoint as a store keeps it: plain JSON data. The state is either a full snapshot or a
 * delta against `parentId`. A store serializes `state` or `delta` and `meta` as JSON however it
 * likes and must give back equal JSON; states are re-parsed through the graph's schema when they
 * are read, so values with codecs (a `z.coerce.date()` key) come back alike from every backend.
 */
export type CheckpointRecord = CheckpointRecordFields &
  (
    | { readonly kind: "full"; readonly state: Readonly<Record<string, unknown>> }
    | { readonly kind: "delta"; readonly delta: readonly DeltaOp[] }
  );

/**
 * What a store returns for a stored checkpoint it cannot read whole (its kind, status, next
 * nodes, meta or payload is not what it wrote): every column it could read, and what went
 * wrong. The reader reports it as a corrupt checkpoint, so one bad row never hides the rest of a
 * history. `status` is `null` when the status itself cannot be read: such a record says neither
 * that its run finished nor that it can go on.
 */
export type UnparsableRecord = Omit<CheckpointRecordFields, "meta" | "status"> & {
  readonly kind: "unparsable";
  readonly status: CheckpointStatus | null;
  readonly meta?: undefined;
  readonly problem: string;
};

/** A stored checkpoint as a store reads it back. */
export type StoredRecord = CheckpointRecord | UnparsableRecord;

/** Which checkpoints `list` returns. */
export interface CheckpointListOptions {
  /** At most this many, newest first. Default: all. */
  readonly limit?: number;
  /** Only those with `seq < beforeSeq`. */
  readonly beforeSeq?: number;
}

/**
 * Reading checkpoints. Writing goes through `Store.commit`, so a checkpoint is stored in the same
 * transaction as the interrupts it consumed and its audit entries. Every backend passes the
 * shared suite in `test/store`.
 */
export interface CheckpointStore {
  /** One checkpoint by id. */
  get(sessionId: string, thread: string, id: string): Promise<StoredRecord | undefined>;
  /** The checkpoint with the highest `seq` in the thread. */
  latest(sessionId: string, thread: string): Promise<StoredRecord | undefined>;
  /** Checkpoints newest first (highest `seq` first). */
  list(sessionId: string, thread: string, options?: CheckpointListOptions): Promise<StoredRecord[]>;
  /**
   * The chain from the nearest full snapshot up to `id`, oldest first, following `parentId`.
   * It ends early (without a full snapshot first) where a parent is missing; the reader reports
   * that as a broken chain.
   */
  lineage(sessionId: string, thread: string, id: string): Promise<StoredRecord[]>;
  /**
   * Keeps, in every thread of the session, the newest `keep` checkpoints and every record their
   * states are rebuilt from (back to each one's nearest full snapshot), and deletes the rest.
   * Returns how many records were deleted. `keep` below 1 is refused (`InvalidOptionError`).
   */
  prune(sessionId: string, options: { readonly keep: number }): Promise<number>;
}

/** The JSON payload of a record: its state (full) or its delta. */
export function recordPayload(record: CheckpointRecord): unknown {
  return record.kind === "full" ? record.state : record.delta;
}

/** Checks `prune`'s `keep`: an integer from 1 and up. */
export function checkKeep(keep: unknown): void {
  if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1) {
    throw new InvalidOptionError("keep", "an integer from 1 and up", keep);
  }
}
