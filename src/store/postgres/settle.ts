import type { Settlement } from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import { type AuditColumns, auditCtes } from "./audit-insert.js";
import type { Transaction } from "./database.js";
import { settledEvent } from "./postgres-interrupt-store.js";

/** A row of a settling statement: `id` is `null` in the one row it returns when it settled nothing. */
export interface SettledRow {
  readonly id: string | null;
  readonly session_id: string;
}

/**
 * The common table expressions that settle messages, bound as `$first` to `$first + 5` (the
 * values of {@link settleValues}), for the top-level `WITH` of a statement: {@link settle}'s,
 * or the decision statement of `checkpoint-insert.ts`. The queued or claimed ones among the
 * settlements are locked (in queue order, as removals lock them), marked with their outcome,
 * and their sessions' counters updated; any other id is skipped. `settle_notes` sends the
 * `settled` events, then the given events, on the given channel; `settle_rows` holds each
 * settled message's `id`, `session_id` and `ord` (its place among the settlements).
 *
 * `after` names a CTE that must run before any message is locked (the lease of a checkpoint
 * statement: a session's lease row comes before its messages in every writer's lock order).
 * Every name begins with `settle_`. The counters' CTE is `settle_counted`: audit entries that
 * go with the settlement name it as their `after`, so the audit counter is locked last.
 */
export function settleCtes(schema: string, first: number, after?: string): string {
  const s = schema;
  const $ = (i: number) => `$${first + i}`;
  const ordered = after === undefined ? "" : ` AND EXISTS (SELECT 1 FROM ${after})`;
  return `settle_given AS (
  SELECT * FROM unnest(${$(0)}::text[], ${$(1)}::text[], ${$(2)}::text[]) WITH ORDINALITY AS g(id, status, outcome, ord)
), settle_old AS (
  SELECT i.id, i.session_id, i.state, i.queued_at FROM ${s}.interrupts i
  WHERE i.id = ANY(${$(0)}::text[]) AND i.state IN ('queued', 'claimed')${ordered}
  ORDER BY i.session_id, i.priority, i.seq FOR UPDATE
), settle_marked AS (
  UPDATE ${s}.interrupts i SET state = given.status, outcome = given.outcome,
    claimed_by = NULL, settled_at = ${$(3)}::bigint
  FROM settle_old old JOIN settle_given given USING (id) WHERE i.id = old.id
), settle_counts AS (
  SELECT old.session_id,
    count(*) FILTER (WHERE old.state = 'queued') AS was_queued,
    count(*) FILTER (WHERE old.state = 'claimed') AS was_claimed,
    count(*) FILTER (WHERE given.status = 'applied') AS applied,
    count(*) FILTER (WHERE given.status = 'refused') AS refused,
    sum(greatest(0, ${$(3)}::bigint - old.queued_at)) AS total_ms,
    max(greatest(0, ${$(3)}::bigint - old.queued_at)) AS max_ms
  FROM settle_old old JOIN settle_given given USING (id) GROUP BY old.session_id
), settle_counted AS (
  UPDATE ${s}.interrupt_queues q SET depth = q.depth - counts.was_queued,
    in_flight = q.in_flight - counts.was_claimed, applied = q.applied + counts.applied,
    refused = q.refused + counts.refused, total_decision_ms = q.total_decision_ms + counts.total_ms,
    max_decision_ms = greatest(q.max_decision_ms, counts.max_ms)
  FROM settle_counts counts WHERE q.session_id = counts.session_id
  RETURNING q.session_id
), settle_rows AS (
  SELECT old.id, old.session_id, given.ord FROM settle_old old JOIN settle_given given USING (id)
), settle_notes AS (
  -- A settled message's event as settledEvent() has it: only this statement knows its session.
  SELECT count(pg_notify(${$(4)}::text, e)) AS n FROM (
    SELECT json_build_object('kind', 'settled', 'sessionId', session_id, 'id', id)::text AS e, ord
    FROM settle_rows
    UNION ALL
    SELECT e, (SELECT count(*) FROM settle_given) + ord FROM unnest(${$(5)}::text[]) WITH ORDINALITY AS t(e, ord)
    ORDER BY ord
  ) events
)`;
}

/**
 * The values of {@link settleCtes}, in order: each message once (the first settlement of an id
 * counts), its status and outcome, `now`, and what to notify after the `settled` events.
 */
export function settleValues(
  settlements: readonly Settlement[],
  now: number,
  notify: { readonly channel: string; readonly events: readonly StoreEvent[] },
): unknown[] {
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
  return [
    ids,
    statuses,
    outcomes,
    now,
    notify.channel,
    notify.events.map((event) => JSON.stringify(event)),
  ];
}

/** The `settled` events of a settling statement's rows, in the order of the settlements. */
export function settledEvents(rows: readonly SettledRow[]): StoreEvent[] {
  return rows.flatMap((row) => (row.id === null ? [] : [settledEvent(row.session_id, row.id)]));
}

/**
 * Settles messages inside a commit's transaction, in one statement ({@link settleCtes}). The
 * same statement appends the batch's audit entries (after the messages and counters, the order
 * every writer takes its locks in: see `auditCtes`) and sends the `settled` events, then
 * `events`, on `channel`: two round trips fewer than separate statements. Returns the
 * `settled` events, in the order of `settlements`.
 */
export async function settle(
  tx: Transaction,
  schema: string,
  settlements: readonly Settlement[],
  now: number,
  notify: { readonly channel: string; readonly events: readonly StoreEvent[] },
  audit: AuditColumns | undefined,
): Promise<StoreEvent[]> {
  const s = schema;
  const rows = await tx.query<SettledRow>({
    name: `${s}.settle${audit === undefined ? "" : "_audit"}`,
    text: `
WITH ${settleCtes(s, 1)}${audit === undefined ? "" : `, ${auditCtes(s, 7, "settle_counted")}`}
SELECT settle_rows.id, settle_rows.session_id FROM settle_notes LEFT JOIN settle_rows ON true
ORDER BY settle_rows.ord`,
    values: [...settleValues(settlements, now, notify), ...(audit?.values ?? [])],
  });
  return settledEvents(rows);
}
