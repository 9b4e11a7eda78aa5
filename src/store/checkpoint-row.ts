/**
 * A checkpoint as a row of the SQL stores' `checkpoints` table: the same columns in SQLite and
 * PostgreSQL. Each backend turns its driver's values into the types `decodeCheckpointRow` reads,
 * which makes the record, and both bind a record's row with `checkpointRowValues`.
 */
import type { CheckpointMeta } from "./checkpoint-meta.js";
import { type CheckpointRecord, recordPayload } from "./checkpoint-store.js";
import { jsonText } from "./json-text.js";

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

/** The meta most deltas carry, serialized once. */
const PLAIN_META = '{"v":1}';

function isPlainMeta(meta: CheckpointMeta): boolean {
  if (meta.v !== 1) return false;
  for (const key in meta) if (key !== "v") return false;
  return true;
}

/**
 * The last flat frozen meta serialized, with its text: a run's steps share one frozen meta
 * while their key base stays (`{ v, keyFrom }`), and a frozen object of plain values cannot
 * change, so its text is made once for all of them.
 */
let lastMeta: CheckpointMeta | undefined;
let lastMetaText = "";

function metaText(meta: CheckpointMeta): string {
  if (isPlainMeta(meta)) return PLAIN_META;
  if (meta === lastMeta) return lastMetaText;
  const text = jsonText(meta, "meta");
  if (Object.isFrozen(meta) && isFlat(meta)) {
    lastMeta = meta;
    lastMetaText = text;
  }
  return text;
}

function isFlat(meta: CheckpointMeta): boolean {
  for (const value of Object.values(meta)) {
    if (typeof value === "object" && value !== null) return false;
  }
  return true;
}

/**
 * The values of `record`'s row, in {@link CHECKPOINT_COLUMNS} order, with `next`, the payload
 * and the meta as JSON text. Throws `InvalidOptionError` for a value JSON cannot hold.
 */
export function checkpointRowValues(record: CheckpointRecord): unknown[] {
  const meta = record.meta;
  return [
    record.sessionId,
    record.thread,
    record.seq,
    record.id,
    record.parentId,
    record.runId,
    record.node,
    record.iteration,
    jsonText(record.next, "next"),
    record.status,
    record.kind,
    jsonText(recordPayload(record), record.kind === "full" ? "state" : "delta"),
    metaText(meta),
    record.createdAt,
  ];
}
