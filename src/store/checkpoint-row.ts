/**
 * A checkpoint as a row of the SQL stores' `checkpoints` table: the same columns in SQLite and
 * PostgreSQL. Each backend turns its driver's values into the types `decodeCheckpointRow` reads,
 * which makes the record.
 */

/** The columns of a checkpoint row, in the order the statements select and insert them. */
export const CHECKPOINT_COLUMNS =
  "session_id, thread, seq, id, parent_id, run_id, node, iteration, next, status, kind, payload, meta, created_at";

/** A row as a driver returns it: every column still unchecked. */
export interface CheckpointRow {
  readonly session_id: unknown;
  readonly thread: unknown;
  readonly seq: unknown;
  readonly id: unknown;
  readonly parent_id: unknown;
  readonly run_id: unknown;
  readonly node: unknown;
  readonly iteration: unknown;
  readonly next: unknown;
  readonly status: unknown;
  readonly kind: unknown;
  readonly payload: unknown;
  readonly meta: unknown;
  readonly created_at: unknown;
}
