import type { Settlement } from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import { type AuditColumns, auditCtes } from "./audit-insert.js";
import type { Transaction } from "./database.js";
import { settledEvent } from "./postgres-interrupt-store.js";

interface SettledRow {
  /** `null` in the one row the statement returns when it settled nothing. */
  readonly id: string | null;
  readonly session_id: string;
}

/**
 * Settles messages inside a commit's transaction, in one statement: the queued or claimed ones
 * among `settlements` are locked (in queue order, as removals lock them), marked with their
 * outcome, and their sessions' counters updated; any other id is skipped. The same statement
 * appends the batch's audit entries (after the messages and counters, the order every writer
 * takes its locks in: see `auditCtes`) and sends the `settled` events, then `events`, on
 * `channel`: two round trips fewer than separate statements. Returns the `settled` events, in
 * the order of `settlements`.
 */
export async function settle(
  tx: Transaction,
  schema: string,
  settlements: readonly Settlement[],
  now: number,
  notify: { readonly channel: string; readonly events: readonly StoreEvent[] },
  audit: AuditColumns | undefined,
): Promise<StoreEvent[]> {
  const seen = new Set<string>();
  const ids: string[] = [];
  const statuses: string[] = [];
  const outcomes: string[] = [];
  for (const settlement of settlements) {
    if (seen.has(settlement.id)) continue;
    seen.add(settlement.id);
    ids.push(settlement.id);
    statuses.push(settlement.outcome.status);
    outcomes.push(jsonText(settlement.outcome, "outcome"));
  }
  const s = schema;
  const rows = await tx.query<SettledRow>({
    name: `${s}.settle${audit === undefined ? "" : "_audit"}`,
    text: `
WITH given AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS g(id, status, outcome, ord)
), old AS (
  SELECT i.id, i.session_id, i.state, i.queued_at FROM ${s}.interrupts i
  WHERE i.id = ANY($1::text[]) AND i.state IN ('queued', 'claimed')
  ORDER BY i.session_id, i.priority, i.seq FOR UPDATE
), marked AS (
  UPDATE ${s}.interrupts i SET state = given.status, outcome = given.outcome,
    claimed_by = NULL, settled_at = $4::bigint
  FROM old JOIN given USING (id) WHERE i.id = old.id
), counts AS (
  SELECT old.session_id,
    count(*) FILTER (WHERE old.state = 'queued') AS was_queued,
    count(*) FILTER (WHERE old.state = 'claimed') AS was_claimed,
    count(*) FILTER (WHERE given.status = 'applied') AS applied,
    count(*) FILTER (WHERE given.status = 'refused') AS refused,
    sum(greatest(0, $4::bigint - old.queued_at)) AS total_ms,
    max(greatest(0, $4::bigint - old.queued_at)) AS max_ms
  FROM old JOIN given USING (id) GROUP BY old.session_id
), counted AS (
  UPDATE ${s}.interrupt_queues q SET depth = q.depth - counts.was_queued,
    in_flight = q.in_flight - counts.was_claimed, applied = q.applied + counts.applied,
    refused = q.refused + counts.refused, total_decision_ms = q.total_decision_ms + counts.total_ms,
    max_decision_ms = greatest(q.max_decision_ms, counts.max_ms)
  FROM counts WHERE q.session_id = counts.session_id
  RETURNING q.session_id
), settled AS (
  SELECT old.id, old.session_id, given.ord FROM old JOIN given USING (id)
), notes AS (
  -- A settled message's event as settledEvent() has it: only this statement knows its session.
  SELECT count(pg_notify($5::text, e)) AS n FROM (
    SELECT json_build_object('kind', 'settled', 'sessionId', session_id, 'id', id)::text AS e, ord
    FROM settled
    UNION ALL
    SELECT e, (SELECT count(*) FROM given) + ord FROM unnest($6::text[]) WITH ORDINALITY AS t(e, ord)
    ORDER BY ord
  ) events
)${audit === undefined ? "" : `, ${auditCtes(s, 7, "counted")}`}
SELECT settled.id, settled.session_id FROM notes LEFT JOIN settled ON true ORDER BY settled.ord`,
    values: [
      ids,
      statuses,
      outcomes,
      now,
      notify.channel,
      notify.events.map((event) => JSON.stringify(event)),
      ...(audit?.values ?? []),
    ],
  });
  return rows.flatMap((row) => (row.id === null ? [] : [settledEvent(row.session_id, row.id)]));
}
