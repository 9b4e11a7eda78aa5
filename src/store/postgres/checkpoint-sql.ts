/**
 * The parts the checkpoint statements share (`checkpoint-insert.ts`, `step-insert.ts`), so the
 * lean step statement checks exactly what the full ones do: the same lease extension, the same
 * seq rule and the same test of whether a summary row already holds what a record would write.
 * Each takes SQL expressions (parameters or columns) and returns SQL text.
 */
import { COLUMNS } from "./encoded-checkpoints.js";

/** The checkpoint columns, in table order, for an `INSERT`'s column list. */
export const COLUMN_NAMES = COLUMNS.map(([name]) => name).join(", ");

/** The checkpoint columns bound as the statement's first parameters, `$1` to `$14`, typed. */
export const SCALAR_VALUES = COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(", ");

/** Extends the session's lease to `now + ttl` when the token is the session's; one row or none. */
export function extendLease(schema: string, session: string, token: string, now: string): string {
  return `UPDATE ${schema}.leases SET expires_at = ${now} + ttl_ms
  WHERE session_id = ${session} AND token = ${token}
  RETURNING 1`;
}

/**
 * True when no stored checkpoint of the thread has this `seq` or a higher one. Written as the
 * thread's highest seq, which every plan answers with one backward probe of the primary key
 * (`Index Only Scan Backward … Limit 1`), however many checkpoints the thread holds. Written as
 * `NOT EXISTS (… seq >= …)`, even as a row comparison on the key's columns, the generic plan a
 * prepared statement settles on may scan the table and filter every row: on a table that holds
 * few sessions the planner expects a third of it to match, and each step then cost more than
 * the one before (at 1,000 checkpoints, 50 µs of the server's time).
 */
export function noLaterCheckpoint(
  schema: string,
  session: string,
  thread: string,
  seq: string,
): string {
  return `COALESCE((
      SELECT max(c.seq) FROM ${schema}.checkpoints c
      WHERE c.session_id = ${session} AND c.thread = ${thread}) < ${seq}, true)`;
}

/**
 * True when the session's summary row already holds `status` and `gate` (any gate when
 * `keepsGate`, a record that keeps the row's), and `graph` unless it is null (a record without
 * a graph keeps the row's): writing the record's summary would change nothing.
 */
export function summaryHolds(
  schema: string,
  session: string,
  fields: {
    readonly status: string;
    readonly gate: string;
    readonly keepsGate: string;
    readonly graph: string;
  },
): string {
  return `EXISTS (
    SELECT 1 FROM ${schema}.sessions y
    WHERE y.session_id = ${session} AND y.status = ${fields.status}
      AND (${fields.keepsGate} OR y.gate IS NOT DISTINCT FROM ${fields.gate})
      AND (${fields.graph} IS NULL OR y.graph IS NOT DISTINCT FROM ${fields.graph}))`;
}

/** The gate a summary upsert writes: the row's own when `keepsGate`, else the new one. */
export function gateSet(keepsGate: string): string {
  return `gate = CASE WHEN ${keepsGate} THEN x.gate ELSE EXCLUDED.gate END`;
}
