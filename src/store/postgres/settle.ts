import type { Settlement } from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import type { Transaction } from "./database.js";
import { settledEvent } from "./postgres-interrupt-store.js";

interface SettledRow {
  readonly id: string;
  readonly session_id: string;
}

/**
 * Settles messages inside a commit's transaction, in one statement: the queued or claimed ones
 * among `settlements` are locked (in id order), marked with their outcome, and their sessions'
 * counters updated; any other id is skipped. Returns the `settled` events to send, in the
 * order of `settlements`.
 */
export async function settle(
  tx: Transaction,
  schema: string,
  settlements: readonly Settlement[],
  now: number,
): Promise<StoreEvent[]> {
  if (settlements.length === 0) return [];
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
    name: `${s}.settle`,
    text: `
WITH given AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS g(id, status, outcome, ord)
), old AS (
  SELECT i.id, i.session_id, i.state, i.queued_at FROM ${s}.interrupts i
  WHERE i.id = ANY($1::text[]) AND i.state IN ('queued', 'claimed')
  ORDER BY i.id FOR UPDATE
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
)
SELECT old.id, old.session_id FROM old JOIN given USING (id) ORDER BY given.ord`,
    values: [ids, statuses, outcomes, now],
  });
  return rows.map((row) => settledEvent(row.session_id, row.id));
}
