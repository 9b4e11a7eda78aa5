/**
 * Reading a row of the SQL stores' `checkpoints` table back into a record: one set of rules for
 * SQLite and PostgreSQL. A row whose keys or numbers are not what a store writes is a
 * `StoreCorruptError`: without them the row cannot be named, ordered or followed along its
 * lineage. A row whose status, kind or JSON columns (next nodes, meta, payload) cannot be read
 * comes back as an `UnparsableRecord`, so one bad row does not hide a whole history; an unknown
 * status comes back as `null`, never as a status the row does not hold.
 */

import { StoreCorruptError } from "../errors.js";
import type { DeltaOp } from "../graph/state.js";
import type { CheckpointMeta } from "./checkpoint-meta.js";
import type { CheckpointRow } from "./checkpoint-row.js";
import {
  CHECKPOINT_STATUSES,
  type CheckpointRecordFields,
  type CheckpointStatus,
  type StoredRecord,
} from "./checkpoint-store.js";

const STATUSES: ReadonlySet<unknown> = new Set(CHECKPOINT_STATUSES);

/** The columns every record has, read from the row's plain columns. */
type Columns = Omit<CheckpointRecordFields, "next" | "meta" | "status">;

/** A JSON column parsed, or why it could not be. */
type Parsed = { readonly value: unknown } | { readonly problem: string };

/**
 * The record a checkpoint row holds. `seq`, `iteration` and `created_at` must be JavaScript
 * numbers: a backend whose driver gives an integer column another type (PostgreSQL's `bigint`
 * as text) converts it before. `store` names the backend in a `StoreCorruptError`.
 */
export function decodeCheckpointRow(row: CheckpointRow, store: string): StoredRecord {
  const columns: Columns = {
    sessionId: text(row, store, row.session_id, "session_id"),
    thread: text(row, store, row.thread, "thread"),
    id: text(row, store, row.id, "id"),
    seq: integer(row, store, row.seq, "seq"),
    parentId: row.parent_id === null ? null : text(row, store, row.parent_id, "parent_id"),
    runId: text(row, store, row.run_id, "run_id"),
    node: row.node === null ? null : text(row, store, row.node, "node"),
    iteration: integer(row, store, row.iteration, "iteration"),
    createdAt: finite(row, store, row.created_at, "created_at"),
  };
  const status = row.status;
  if (!isStatus(status)) {
    return unparsable(
      { ...columns, status: null },
      [],
      `status is ${String(status)}, not one of ${CHECKPOINT_STATUSES.join(", ")}`,
    );
  }
  const read = { ...columns, status };
  const kind = row.kind;
  if (kind !== "full" && kind !== "delta") {
    return unparsable(read, [], `kind is ${String(kind)}, not full or delta`);
  }
  const next = parse(row.next, "next", "the next nodes");
  if ("problem" in next) return unparsable(read, [], next.problem);
  if (!isNames(next.value)) return unparsable(read, [], "next is not a list of node names");
  const names = next.value;
  const meta = parse(row.meta, "meta", "the meta");
  if ("problem" in meta) return unparsable(read, names, meta.problem);
  if (!isObject(meta.value)) return unparsable(read, names, "meta is not an object");
  const fields = { ...read, next: names, meta: meta.value as unknown as CheckpointMeta };
  const payload = parse(row.payload, "payload", kind === "full" ? "the state" : "the delta");
  if ("problem" in payload) return unparsable(read, names, payload.problem);
  if (kind === "full") {
    if (!isObject(payload.value)) {
      return unparsable(read, names, "payload is not an object (the state)");
    }
    return { ...fields, kind, state: payload.value };
  }
  if (!Array.isArray(payload.value)) {
    return unparsable(read, names, "payload is not a list (the delta)");
  }
  return { ...fields, kind, delta: payload.value as readonly DeltaOp[] };
}

function unparsable(
  columns: Columns & { readonly status: CheckpointStatus | null },
  next: readonly string[],
  problem: string,
): StoredRecord {
  return { ...columns, next, kind: "unparsable", problem };
}

function parse(value: unknown, column: string, holds: string): Parsed {
  if (typeof value !== "string") {
    return { problem: `${column} is ${value === null ? "missing" : "not JSON text"} (${holds})` };
  }
  try {
    return { value: JSON.parse(value) };
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : "";
    return { problem: `${column} is not valid JSON (${holds})${reason}` };
  }
}

function isNames(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((name) => typeof name === "string");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(row: CheckpointRow, store: string, value: unknown, column: string): string {
  if (typeof value !== "string") throw corrupt(row, store, `${column} is not text`);
  return value;
}

function integer(row: CheckpointRow, store: string, value: unknown, column: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw corrupt(row, store, `${column} is not an integer`);
  }
  return value;
}

function finite(row: CheckpointRow, store: string, value: unknown, column: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw corrupt(row, store, `${column} is not a number`);
  }
  return value;
}

function isStatus(value: unknown): value is CheckpointStatus {
  return STATUSES.has(value);
}

/** Names the row by its key, as far as it can be read: `checkpoints ("s1", thread "", seq 3)`. */
function corrupt(row: CheckpointRow, store: string, detail: string): StoreCorruptError {
  const key = `${show(row.session_id)}, thread ${show(row.thread)}, seq ${show(row.seq)}`;
  return new StoreCorruptError(store, `checkpoints (${key}): ${detail}`);
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
