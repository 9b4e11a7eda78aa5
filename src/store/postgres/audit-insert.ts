import type { AuditEntryInput } from "../audit-store.js";
import { checkAuditEntry } from "../audit-store.js";
import { jsonText } from "../json-text.js";
import type { Statement } from "./database.js";

/** Audit entries checked and encoded for {@link auditInsert}, one array per column. */
export interface AuditColumns {
  readonly count: number;
  readonly values: readonly unknown[];
}

/**
 * Checks entries (a non-empty session id, a finite time, JSON data) and encodes them; throws
 * `InvalidOptionError` for the first wrong one, before anything is written.
 */
export function encodeAudit(entries: readonly AuditEntryInput[]): AuditColumns {
  const sessions: string[] = [];
  const ats: number[] = [];
  const kinds: string[] = [];
  const runs: (string | null)[] = [];
  const actors: (string | null)[] = [];
  const nodes: (string | null)[] = [];
  const iterations: (number | null)[] = [];
  const data: (string | null)[] = [];
  for (const entry of entries) {
    checkAuditEntry(entry);
    sessions.push(entry.sessionId);
    ats.push(entry.at);
    kinds.push(entry.kind);
    runs.push(entry.runId ?? null);
    actors.push(entry.actor ?? null);
    nodes.push(entry.node ?? null);
    iterations.push(entry.iteration ?? null);
    data.push(entry.data === undefined ? null : jsonText(entry.data, "data"));
  }
  return {
    count: entries.length,
    values: [sessions, ats, kinds, runs, actors, nodes, iterations, data],
  };
}

/**
 * The common table expressions that append entries of any sessions, bound as `$first` to
 * `$first + 7` (the {@link AuditColumns.values} in order), for the top-level `WITH` of a
 * statement: {@link auditInsert}, or the checkpoint statement of a batch that also appends
 * (`checkpoint-insert.ts`). Each session's next `seq` is a counter row, incremented in the same
 * statement and locked until the transaction ends: concurrent appends queue on it, so numbers
 * have no gaps and no repeats, and a rolled-back append gives its numbers back. The counter
 * outlives pruning and session deletion, so a `seq` is never reused. Every name begins with
 * `audit_`, so no name of the statement around them collides; `audit_numbered` holds each
 * entry's `ord` (its place in the batch, from 1) and `seq`. Both inserts run once to the end
 * even when the statement reads neither.
 *
 * The counter row is the last lock every writer takes (a send locks its queue row, then the
 * counter), so a statement that also writes other rows names the CTE that writes them as
 * `after`, with a `RETURNING` clause. Without it the counter would be locked first: PostgreSQL
 * runs the data-modifying CTEs no one reads after the main query, the last one written first,
 * and two writers taking the same two rows in opposite orders deadlock.
 */
export function auditCtes(schema: string, first: number, after?: string): string {
  const $ = (i: number) => `$${first + i}`;
  // Reading every row `after` returns runs it to the end before the counter is locked.
  const ordered = after === undefined ? "" : ` WHERE (SELECT count(*) FROM ${after}) >= 0`;
  return `audit_e AS (
  SELECT * FROM unnest(${$(0)}::text[], ${$(1)}::bigint[], ${$(2)}::text[], ${$(3)}::text[],
    ${$(4)}::text[], ${$(5)}::text[], ${$(6)}::integer[], ${$(7)}::text[]) WITH ORDINALITY
    AS e(session_id, at, kind, run_id, actor, node, iteration, data, ord)
), audit_n AS (
  SELECT session_id, count(*) AS n FROM audit_e${ordered} GROUP BY session_id
), audit_c AS (
  INSERT INTO ${schema}.audit_sequences AS q (session_id, next_seq)
  SELECT session_id, n + 1 FROM audit_n ORDER BY session_id
  ON CONFLICT (session_id) DO UPDATE SET next_seq = q.next_seq + EXCLUDED.next_seq - 1
  RETURNING session_id, next_seq
), audit_numbered AS (
  SELECT e.*, c.next_seq - n.n + row_number() OVER (PARTITION BY e.session_id ORDER BY e.ord) - 1 AS seq
  FROM audit_e e JOIN audit_n n USING (session_id) JOIN audit_c c USING (session_id)
), audit_ins AS (
  INSERT INTO ${schema}.audit (session_id, seq, at, kind, run_id, actor, node, iteration, data)
  SELECT session_id, seq, at, kind, run_id, actor, node, iteration, data FROM audit_numbered
)`;
}

/**
 * One statement that appends entries (numbered as {@link auditCtes} says) and returns their
 * `seq`s in the order given.
 */
export function auditInsert(schema: string, columns: AuditColumns): Statement {
  return {
    name: `${schema}.audit_insert`,
    text: `
WITH ${auditCtes(schema, 1)}
SELECT seq FROM audit_numbered ORDER BY ord`,
    values: columns.values,
  };
}
