/**
 * The statement at the heart of `commit`: checkpoints, lease fencing and extension, session
 * summaries and their notifications in ONE statement. A run commits a checkpoint after every
 * node, so this is the store's hot path: one round trip, no BEGIN/COMMIT, a plan prepared once
 * per connection. A refusal raises an error inside the statement, so the database rolls all of
 * it back: nothing is written when the lease is lost or a checkpoint conflicts.
 *
 * A batch that also appends audit entries, as a run's first does (its input checkpoint and
 * `run.started`) and its last (its final checkpoint and `run.finished`) unless it settles
 * messages, is one statement too: the common table expressions of `audit-insert.ts` join the
 * top-level `WITH`, where a transaction took four round trips (BEGIN, the two statements,
 * COMMIT). PostgreSQL runs every data-modifying one of them once, and those the main query does
 * not read after it: the lease, checkpoints and summaries are locked first and the audit
 * counters last, as in the transaction, and a refusal, which the main query raises, leaves no
 * audit entry either.
 *
 * A running step leaves the session's summary row alone: it is written only when the status,
 * gate or graph change, and the summary's latest checkpoint and update time are read from
 * the checkpoints (see `postgres-session-store.ts`). Rewriting the row per step cost a new row
 * version and an entry in each of its two indexes (the inbox index is on `updated_at`, so no
 * such update was HOT): about 1,000 bytes of WAL per step became about 700. The lease row is
 * still extended by every batch: locking it `FOR SHARE` instead, to fence without an update,
 * measured the same WAL (a lock record weighs what a HOT update of that row does). A running
 * step whose summary stays as it is has a leaner statement of its own (`step-insert.ts`).
 *
 * The parts these statements share with the step statement are in `checkpoint-sql.ts`.
 *
 * The `checkpoint` notifications go out only with a summary change too: other processes hear
 * of a chain of running steps once, at its first checkpoint. Nothing in a run waits for a
 * running step's checkpoint, and a NOTIFY is not free: a committing transaction that notified
 * holds the cluster-wide notify lock across its WAL flush, so every notifying commit of every
 * database on the server waits for the one before it. The committing store's own listeners
 * still hear of every checkpoint of a session's own thread: the store publishes the batch's
 * {@link EncodedCheckpoints.events} to them itself once the statement succeeded, whether it
 * notified or not (see `postgres-notifier.ts`).
 */

import type { Settlement } from "../interrupt-store.js";
import type { Lease } from "../session-store.js";
import { type AuditColumns, auditCtes } from "./audit-insert.js";
import {
  COLUMN_NAMES,
  extendLease,
  gateSet,
  noLaterCheckpoint,
  SCALAR_VALUES,
  summaryHolds,
} from "./checkpoint-sql.js";
import type { Statement } from "./database.js";
import { COLUMNS, CONFLICT, type EncodedCheckpoints, LEASE_LOST } from "./encoded-checkpoints.js";
import { settleCtes, settleValues } from "./settle.js";

/**
 * The statement for a batch of several records: bound as one array per column and unnested,
 * with one summary row per session.
 */
function batchText(schema: string, audit: boolean): string {
  const s = schema;
  const p = COLUMNS.length;
  const arrays = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  const values = COLUMNS.map(([name]) => `r.${name}`).join(", ");
  // $p+1 lease session, $p+2 lease token, $p+3 now, $p+4..$p+10 summaries, $p+11 the sessions
  // whose summary keeps its row's gate, $p+12 channel, $p+13 events; $p+14..$p+21 the audit
  // entries, when the batch appends some.
  const keeps = (session: string) => `${session} = ANY($${p + 11}::text[])`;
  return `
WITH r AS (SELECT * FROM unnest(${arrays}) WITH ORDINALITY AS r(${COLUMN_NAMES}, ord)),
lease AS (
  ${extendLease(s, `$${p + 1}::text`, `$${p + 2}::text`, `$${p + 3}::bigint`)}
), fence AS (
  SELECT 1 FROM lease UNION ALL SELECT 1 WHERE $${p + 2}::text IS NULL
), ins AS (
  INSERT INTO ${s}.checkpoints (${COLUMN_NAMES})
  SELECT ${values} FROM r
  WHERE EXISTS (SELECT 1 FROM fence)
    AND ${noLaterCheckpoint(s, "r.session_id", "r.thread", "r.seq")}
  ON CONFLICT DO NOTHING
  RETURNING session_id, thread, seq
), summary AS (
  INSERT INTO ${s}.sessions AS x (session_id, graph, status, checkpoint_id, created_at, updated_at, gate)
  SELECT * FROM unnest($${p + 4}::text[], $${p + 5}::text[], $${p + 6}::text[], $${p + 7}::text[],
    $${p + 8}::bigint[], $${p + 9}::bigint[], $${p + 10}::text[])
    AS u(session_id, graph, status, checkpoint_id, created_at, updated_at, gate)
  WHERE NOT ${summaryHolds(s, "u.session_id", {
    status: "u.status",
    gate: "u.gate",
    keepsGate: keeps("u.session_id"),
    graph: "u.graph",
  })}
  ON CONFLICT (session_id) DO UPDATE SET
    graph = coalesce(EXCLUDED.graph, x.graph), status = EXCLUDED.status,
    checkpoint_id = EXCLUDED.checkpoint_id, updated_at = EXCLUDED.updated_at,
    ${gateSet(keeps("EXCLUDED.session_id"))}
  RETURNING 1
), notes AS (
  SELECT pg_notify($${p + 12}::text, e) FROM unnest($${p + 13}::text[]) AS e
  WHERE EXISTS (SELECT 1 FROM summary)
), refusal AS (
  SELECT ${s}.refuse(
    CASE WHEN EXISTS (SELECT 1 FROM fence) THEN '${CONFLICT}' ELSE '${LEASE_LOST}' END,
    coalesce((SELECT min(r.ord) FROM r WHERE NOT EXISTS (
      SELECT 1 FROM ins
      WHERE ins.session_id = r.session_id AND ins.thread = r.thread AND ins.seq = r.seq))::text, ''))
  WHERE NOT EXISTS (SELECT 1 FROM fence) OR (SELECT count(*) FROM ins) <> (SELECT count(*) FROM r)
)${audit ? `, ${auditCtes(s, p + 14)}` : ""}
SELECT (SELECT count(*) FROM refusal) + (SELECT count(*) FROM notes) AS done`;
}

/**
 * The statement for one record, what a run commits after each node: the same steps as
 * {@link batchText} on scalar parameters. Unnesting arrays and counting rows to find the one
 * refused cost the server more than the insert itself; with one record, the insert either
 * happened or the whole statement is refused.
 */
function singleText(schema: string, audit: boolean, settles = false): string {
  const s = schema;
  const p = COLUMNS.length;
  // $1 session, $2 thread, $3 seq, $4 id, $10 status, $14 created at; $p+1 lease session,
  // $p+2 lease token, $p+3 now, $p+4 whether the record is of the session's own thread (and
  // so has a summary), $p+5 its graph, $p+6 its gate, $p+7 whether it keeps the row's gate,
  // $p+8 channel, $p+9 event or null, $p+10 whether to commit without waiting for the disk;
  // when it settles messages, $p+11..$p+16 the settlements (`settle.ts`); then the audit
  // entries, when the batch appends some ($p+11..$p+18, or $p+17..$p+24 after settlements).
  const auditFirst = settles ? p + 17 : p + 11;
  return `
WITH lease AS (
  ${extendLease(s, `$${p + 1}::text`, `$${p + 2}::text`, `$${p + 3}::bigint`)}
), fence AS (
  SELECT 1 FROM lease UNION ALL SELECT 1 WHERE $${p + 2}::text IS NULL
), ins AS (
  INSERT INTO ${s}.checkpoints (${COLUMN_NAMES})
  SELECT ${SCALAR_VALUES}
  WHERE EXISTS (SELECT 1 FROM fence)
    AND ${noLaterCheckpoint(s, "$1::text", "$2::text", "$3::bigint")}
  ON CONFLICT DO NOTHING
  RETURNING 1
), summary AS (
  INSERT INTO ${s}.sessions AS x (session_id, graph, status, checkpoint_id, created_at, updated_at, gate)
  SELECT $1::text, $${p + 5}::text, $10::text, $4::text, $14::bigint, $14::bigint, $${p + 6}::text
  WHERE $${p + 4}::boolean AND NOT ${summaryHolds(s, "$1::text", {
    status: "$10::text",
    gate: `$${p + 6}::text`,
    keepsGate: `$${p + 7}::boolean`,
    graph: `$${p + 5}::text`,
  })}
  ON CONFLICT (session_id) DO UPDATE SET
    graph = coalesce(EXCLUDED.graph, x.graph), status = EXCLUDED.status,
    checkpoint_id = EXCLUDED.checkpoint_id, updated_at = EXCLUDED.updated_at,
    ${gateSet(`$${p + 7}::boolean`)}
  RETURNING 1
), notes AS (
  SELECT pg_notify($${p + 8}::text, $${p + 9}::text)
  WHERE $${p + 9}::text IS NOT NULL AND EXISTS (SELECT 1 FROM summary)
), refusal AS (
  SELECT ${s}.refuse(
    CASE WHEN EXISTS (SELECT 1 FROM fence) THEN '${CONFLICT}' ELSE '${LEASE_LOST}' END, '1')
  WHERE NOT EXISTS (SELECT 1 FROM ins)
), relaxed AS (
  SELECT set_config('synchronous_commit', 'off', true) WHERE $${p + 10}::boolean
)${settles ? `, ${settleCtes(s, p + 11, "fence")}` : ""}${
    audit ? `, ${auditCtes(s, auditFirst, settles ? "settle_counted" : undefined)}` : ""
  }
${
  settles
    ? `SELECT settle_rows.id, settle_rows.session_id, (SELECT count(*) FROM refusal)
  + (SELECT count(*) FROM notes) + (SELECT count(*) FROM relaxed) AS done
FROM settle_notes LEFT JOIN settle_rows ON true ORDER BY settle_rows.ord`
    : `SELECT (SELECT count(*) FROM refusal) + (SELECT count(*) FROM notes)
  + (SELECT count(*) FROM relaxed) AS done`
}`;
}

interface Texts {
  readonly single: string;
  readonly batch: string;
  readonly singleAudit: string;
  readonly batchAudit: string;
  readonly decision: string;
  readonly decisionAudit: string;
}

const texts = new Map<string, Texts>();

function textsOf(schema: string): Texts {
  let cached = texts.get(schema);
  if (cached === undefined) {
    cached = {
      single: singleText(schema, false),
      batch: batchText(schema, false),
      singleAudit: singleText(schema, true),
      batchAudit: batchText(schema, true),
      decision: singleText(schema, false, true),
      decisionAudit: singleText(schema, true, true),
    };
    texts.set(schema, cached);
  }
  return cached;
}

/**
 * The statement for a batch's checkpoints and lease, and its audit entries when `audit` is
 * given. With `notify`, it sends the batch's {@link EncodedCheckpoints.events} when a summary
 * changes (without, the caller sends them later in its transaction). `relaxed`: a one-record
 * batch commits with `synchronous_commit = off` (see `isRunningStep`).
 */
export function checkpointInsert(
  schema: string,
  channel: string,
  encoded: EncodedCheckpoints,
  lease: Lease | undefined,
  now: number,
  notify: boolean,
  relaxed = false,
  audit?: AuditColumns,
): Statement {
  // Serialized here, not when the batch is encoded: the step statement, which most steps use,
  // sends no notification.
  const events = notify ? encoded.events.map((event) => JSON.stringify(event)) : [];
  const cached = textsOf(schema);
  const leaseSession = lease?.sessionId ?? null;
  const token = lease?.token ?? null;
  const suffix = audit === undefined ? "" : "_audit";
  const entries = audit?.values ?? [];
  if (encoded.rows.length === 1) {
    return {
      name: `${schema}.checkpoint_insert_1${suffix}`,
      text: audit === undefined ? cached.single : cached.singleAudit,
      values: [...singleValues(channel, encoded, lease, now, events[0], relaxed), ...entries],
    };
  }
  const summaries = encoded.summaries;
  return {
    name: `${schema}.checkpoint_insert_n${suffix}`,
    text: audit === undefined ? cached.batch : cached.batchAudit,
    values: [
      ...COLUMNS.map((_, column) => encoded.rows.map((row) => row[column])),
      leaseSession,
      token,
      now,
      summaries.map((x) => x.sessionId),
      summaries.map((x) => x.graph),
      summaries.map((x) => x.status),
      summaries.map((x) => x.checkpointId),
      summaries.map((x) => x.createdAt),
      summaries.map((x) => x.updatedAt),
      summaries.map((x) => x.gate),
      summaries.filter((x) => x.keepsGate).map((x) => x.sessionId),
      channel,
      events,
      ...entries,
    ],
  };
}

/**
 * The statement for a batch of one checkpoint that also settles messages, as a run commits a
 * gate's decision with the message that made it: lease fencing and extension, the checkpoint,
 * its session's summary, the settlements and their queues' counters (`settle.ts`), the audit
 * entries when `audit` is given, and every notification, in ONE statement, where a transaction
 * took four round trips (BEGIN, the checkpoint, the settlements, COMMIT). The locks are taken
 * in every writer's order: the lease row first (no message is locked before `fence` has run),
 * then the messages and their queue row, the audit counter last (after `settle_counted`). A
 * refusal rolls all of it back, the settlements too. It notifies the `settled` events, then the
 * checkpoint's, and waits for the disk, as every commit that settles messages does.
 */
export function decisionInsert(
  schema: string,
  channel: string,
  encoded: EncodedCheckpoints,
  lease: Lease | undefined,
  now: number,
  settlements: readonly Settlement[],
  audit?: AuditColumns,
): Statement {
  const cached = textsOf(schema);
  return {
    name: `${schema}.decision_insert${audit === undefined ? "" : "_audit"}`,
    text: audit === undefined ? cached.decision : cached.decisionAudit,
    values: [
      ...singleValues(channel, encoded, lease, now, undefined, false),
      ...settleValues(settlements, now, { channel, events: encoded.events }),
      ...(audit?.values ?? []),
    ],
  };
}

/** The values of a one-record statement before its settlements and audit entries. */
function singleValues(
  channel: string,
  encoded: EncodedCheckpoints,
  lease: Lease | undefined,
  now: number,
  event: string | undefined,
  relaxed: boolean,
): unknown[] {
  const summary = encoded.summaries[0];
  return [
    ...encoded.rows[0]!,
    lease?.sessionId ?? null,
    lease?.token ?? null,
    now,
    summary !== undefined,
    summary?.graph ?? null,
    summary?.gate ?? null,
    summary?.keepsGate ?? false,
    channel,
    event ?? null,
    relaxed,
  ];
}
