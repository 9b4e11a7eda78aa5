/**
 * The statement for the most frequent commit of all: one checkpoint of a run's step, under its
 * lease, that leaves the session's summary as it is (the same status, gate and graph), or that
 * belongs to a nested graph's thread and changes no gate (see `gateEffect`). It fences and
 * extends the lease and inserts the checkpoint, as {@link checkpointInsert} does, but has no
 * summary upsert: a data-modifying CTE on `sessions` costs the server its setup (the table, its
 * indexes, the conflict arbiter) even when it writes nothing, about a third of the server's
 * time for a step.
 *
 * It checks instead that the summary row still holds what the record would write, and when it
 * does not (another process changed it, or the session was deleted), it refuses with
 * {@link SUMMARY_CHANGED}, writing nothing, and the store sends the full statement. So the
 * store's guess of what the row holds, {@link SummaryGuesses}, decides only which statement
 * goes first; what is written never depends on it.
 */
import type { Lease } from "../session-store.js";
import {
  COLUMN_NAMES,
  extendLease,
  noLaterCheckpoint,
  SCALAR_VALUES,
  summaryHolds,
} from "./checkpoint-sql.js";
import type { Statement } from "./database.js";
import { COLUMNS, CONFLICT, type EncodedCheckpoints, LEASE_LOST } from "./encoded-checkpoints.js";

/** The SQLSTATE the statement raises when the summary row does not hold what was guessed. */
export const SUMMARY_CHANGED = "TS001";

function text(schema: string): string {
  const s = schema;
  const p = COLUMNS.length;
  // $1 session, $2 thread, $3 seq, $10 status; $p+1 lease token, $p+2 now, $p+3 whether to check
  // the summary (a record of the session's own thread), $p+4 its graph, $p+5 its gate, $p+6
  // whether it keeps the row's gate, $p+7 whether to commit without waiting for the disk.
  return `
WITH lease AS (
  ${extendLease(s, "$1::text", `$${p + 1}::text`, `$${p + 2}::bigint`)}
), same AS (
  SELECT 1 WHERE NOT $${p + 3}::boolean OR ${summaryHolds(s, "$1::text", {
    status: "$10::text",
    gate: `$${p + 5}::text`,
    keepsGate: `$${p + 6}::boolean`,
    graph: `$${p + 4}::text`,
  })}
), ins AS (
  INSERT INTO ${s}.checkpoints (${COLUMN_NAMES})
  SELECT ${SCALAR_VALUES}
  WHERE EXISTS (SELECT 1 FROM lease) AND EXISTS (SELECT 1 FROM same)
    AND ${noLaterCheckpoint(s, "$1::text", "$2::text", "$3::bigint")}
  ON CONFLICT DO NOTHING
  RETURNING 1
), refusal AS (
  SELECT ${s}.refuse(CASE
    WHEN NOT EXISTS (SELECT 1 FROM lease) THEN '${LEASE_LOST}'
    WHEN NOT EXISTS (SELECT 1 FROM same) THEN '${SUMMARY_CHANGED}'
    ELSE '${CONFLICT}' END, '1')
  WHERE NOT EXISTS (SELECT 1 FROM ins)
), relaxed AS (
  SELECT set_config('synchronous_commit', 'off', true) WHERE $${p + 7}::boolean
)
SELECT (SELECT count(*) FROM refusal) + (SELECT count(*) FROM relaxed) AS done`;
}

const texts = new Map<string, string>();

/**
 * The statement for `encoded`, one record of `lease`'s session, when {@link SummaryGuesses}
 * says its summary stays as it is. `relaxed`: commit with `synchronous_commit = off`.
 */
export function stepInsert(
  schema: string,
  encoded: EncodedCheckpoints,
  lease: Lease,
  now: number,
  relaxed: boolean,
): Statement {
  let cached = texts.get(schema);
  if (cached === undefined) {
    cached = text(schema);
    texts.set(schema, cached);
  }
  const summary = encoded.summaries[0];
  return {
    name: `${schema}.step_insert`,
    text: cached,
    values: [
      ...encoded.rows[0]!,
      lease.token,
      now,
      summary !== undefined,
      summary?.graph ?? null,
      summary?.gate ?? null,
      summary?.keepsGate ?? false,
      relaxed,
    ],
  };
}

/** What a session's summary row holds, as far as this store knows. */
interface Guess {
  readonly status: string;
  readonly gate: string | null;
  /** `undefined`: not known (a record without a graph was the first this store wrote). */
  readonly graph: string | null | undefined;
}

/**
 * What this store last wrote into each session's summary row, to pick the statement for a
 * step. Bounded: past {@link LIMIT} sessions it starts again, which costs each forgotten
 * session one full statement.
 */
export class SummaryGuesses {
  static readonly LIMIT = 10_000;
  readonly #rows = new Map<string, Guess>();

  /** Whether `encoded` can go as {@link stepInsert}: one record that leaves its summary as it is. */
  unchanged(encoded: EncodedCheckpoints, lease: Lease | undefined): lease is Lease {
    if (lease === undefined || encoded.records.length !== 1) return false;
    const record = encoded.records[0]!;
    if (record.sessionId !== lease.sessionId) return false;
    const summary = encoded.summaries[0];
    if (summary === undefined) return true;
    const row = this.#rows.get(record.sessionId);
    return (
      row !== undefined &&
      row.status === summary.status &&
      (summary.keepsGate || row.gate === summary.gate) &&
      (summary.graph === null || (row.graph !== undefined && row.graph === summary.graph))
    );
  }

  /**
   * After a commit of `encoded` with the full statement: its summaries are what the rows hold
   * (a summary that kept its row's gate leaves the guess of it, when there is one).
   */
  wrote(encoded: EncodedCheckpoints): void {
    if (this.#rows.size >= SummaryGuesses.LIMIT) this.#rows.clear();
    for (const summary of encoded.summaries) {
      const known = this.#rows.get(summary.sessionId);
      const graph = summary.graph ?? known?.graph;
      if (summary.keepsGate && known === undefined) continue;
      const gate = summary.keepsGate ? known!.gate : summary.gate;
      this.#rows.set(summary.sessionId, { status: summary.status, gate, graph });
    }
  }

  /** After a nested graph's checkpoint set the row's gate to `gate`. */
  gateIs(sessionId: string, gate: string | null): void {
    const known = this.#rows.get(sessionId);
    if (known !== undefined) this.#rows.set(sessionId, { ...known, gate });
  }

  /** After a refusal: nothing is known of the session's row any more. */
  forget(sessionId: string): void {
    this.#rows.delete(sessionId);
  }
}
