import { DuplicateInterruptError, InvalidOptionError } from "../../errors.js";
import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import { type AuditEntryInput, checkAuditEntry } from "../audit-store.js";
import {
  type ClaimOptions,
  type EnqueueLimits,
  type EnqueueResult,
  type InterruptRemoval,
  type InterruptStats,
  type InterruptStore,
  type NewInterruptRecord,
  removalAuditEntry,
  type StoredInterrupt,
} from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import type { StoreEvent } from "../notifier.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import { auditInsert, encodeAudit } from "./audit-insert.js";
import type { Database, Transaction } from "./database.js";
import { LOCK_ACTIVE_SESSIONS, LOCK_CLASS } from "./identifier.js";
import { notifyStatement } from "./notify-statement.js";
import { INTERRUPT_COLUMNS, type InterruptRow, num, toMessage, toStoredInterrupt } from "./rows.js";

interface StatsRow {
  readonly queued: unknown;
  readonly applied: unknown;
  readonly refused: unknown;
  readonly expired: unknown;
  readonly cleared: unknown;
  readonly depth: unknown;
  readonly in_flight: unknown;
  readonly total_decision_ms: unknown;
  readonly max_decision_ms: unknown;
  readonly next_seq: unknown;
}

function queuedEvent(message: NewInterruptRecord): StoreEvent {
  return {
    kind: "queued",
    sessionId: message.sessionId,
    id: message.id,
    priority: message.priority,
    ...(message.kind === "action" ? { action: message.action.type } : {}),
  };
}

/** The `settled` event of a message. */
export function settledEvent(sessionId: string, id: string): StoreEvent {
  return { kind: "settled", sessionId, id };
}

/**
 * The messages a removal of expired (`$2`: now) or cleared ones takes, of one session (`$1`) or
 * of all (`$1` null): the check before the transaction and the removal must agree.
 */
function removable(expired: boolean): string {
  return `state = 'queued' AND ($1::text IS NULL OR session_id = $1::text)${expired ? " AND expires_at <= $2" : ""}`;
}

/** The SQLSTATEs the `enqueue` function raises when a bound is reached, the number as message. */
const QUEUE_FULL = "TQ001";
const TOO_MANY_SESSIONS = "TQ002";

/** The answer to a send that reached a bound (the `enqueue` function raised), else `undefined`. */
function boundReached(error: unknown): EnqueueResult | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === QUEUE_FULL) return { ok: false, reason: "queue_full", depth: Number(message) };
  if (code === TOO_MANY_SESSIONS) {
    return { ok: false, reason: "too_many_sessions", sessions: Number(message) };
  }
  return undefined;
}

/** Whether a send failed because a message with its id exists. */
function isDuplicateId(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && constraint === "interrupts_pkey";
}

/** What {@link PostgresInterruptStore.removeIn} removed, and the events to publish on commit. */
export interface Removed {
  readonly messages: QueuedInterrupt[];
  readonly events: readonly StoreEvent[];
}

/**
 * Interrupt queues in PostgreSQL. A row per message keeps it wherever it stands (queued,
 * claimed, settled, removed) until its session is deleted; a row per session keeps the
 * session's next `seq` and its counters, and serializes the steps that change its queue.
 * Locks are always taken in one order (message rows, then the session row, then audit
 * counters), so concurrent steps wait for each other and never deadlock.
 *
 * Each change is notified in its transaction and, once that commits, published to the store's
 * own listeners with `publish` (see `postgres-notifier.ts`).
 */
export class PostgresInterruptStore implements InterruptStore {
  readonly #db: Database;
  readonly #s: string;
  readonly #schema: string;
  readonly #channel: string;
  readonly #publish: (events: readonly StoreEvent[]) => void;

  constructor(
    db: Database,
    quotedSchema: string,
    schema: string,
    channel: string,
    publish: (events: readonly StoreEvent[]) => void,
  ) {
    this.#db = db;
    this.#s = quotedSchema;
    this.#schema = schema;
    this.#channel = channel;
    this.#publish = publish;
  }

  /**
   * One round trip: the schema's `enqueue` function (migration 3) runs what belongs together
   * in the statement's transaction. It locks the session's queue row (created if new), checks
   * the queue bound, and when the session has no queued message takes the schema's
   * session-bound lock and counts the active sessions: each statement of a function sees what
   * committed before it started, so two new sessions cannot both take the last place. Then it
   * inserts the message, counts it, appends its audit entry with the message's `seq` in its
   * data, and notifies. A bound that is reached raises, so nothing of the send is written.
   * As a transaction of six statements this took seven round trips, about half of a send's
   * time to another process's run.
   */
  async enqueue(
    record: NewInterruptRecord,
    limits: EnqueueLimits,
    audit: AuditEntryInput,
  ): Promise<EnqueueResult> {
    const text = jsonText(record, "record");
    // The function writes `seq` into the data as its last key, as `{ ...data, seq }` would.
    const { seq: _replaced, ...data } = (audit.data ?? {}) as { seq?: unknown };
    checkAuditEntry({ ...audit, data });
    const dataText = jsonText(data, "data");
    const event = queuedEvent(record);
    const s = this.#s;
    let seq: number;
    try {
      const [row] = await this.#db.query<{ seq: unknown }>({
        name: `${s}.enqueue`,
        text: `SELECT ${s}.enqueue($1::text, $2::text, $3::integer, $4::bigint, $5::bigint,
          $6::text, $7::bigint, $8::bigint, $9::integer, $10::text, $11::integer, $12::text,
          $13::text, $14::bigint, $15::text, $16::text, $17::text, $18::text, $19::integer,
          $20::text) AS seq`,
        values: [
          record.id,
          record.sessionId,
          record.priority,
          record.queuedAt,
          record.expiresAt,
          text,
          limits.maxQueueSize,
          limits.maxSessions,
          LOCK_CLASS,
          this.#schema,
          LOCK_ACTIVE_SESSIONS,
          this.#channel,
          JSON.stringify(event),
          audit.at,
          audit.kind,
          audit.runId ?? null,
          audit.actor ?? null,
          audit.node ?? null,
          audit.iteration ?? null,
          dataText,
        ],
      });
      seq = num(row?.seq, "a queue's next seq");
    } catch (error) {
      if (isDuplicateId(error)) throw new DuplicateInterruptError(record.id);
      const refused = boundReached(error);
      if (refused === undefined) throw error;
      return refused;
    }
    const stored = { ...(JSON.parse(text) as object), seq } as QueuedInterrupt;
    this.#publish([event]);
    return { ok: true, record: stored };
  }

  /**
   * One statement: the first queued message (`FOR UPDATE SKIP LOCKED`), marked claimed.
   *
   * The claim commits without waiting for its WAL to reach disk (`synchronous_commit = off`
   * for this statement's transaction only): a waiting run applies the message as soon as the
   * claim returns, one disk flush sooner. This loses nothing: a claim lost in a server crash
   * leaves the message queued, and the next holder of the lease would queue a claimed one
   * again anyway; and the settlement that follows the claim commits synchronously, which
   * flushes the claim's WAL (written before it) too, so a settled message was always claimed.
   */
  async claim(sessionId: string, options: ClaimOptions): Promise<QueuedInterrupt | undefined> {
    const s = this.#s;
    const byId = options.id !== undefined;
    const rows = await this.#db.query<InterruptRow>({
      name: `${s}.claim${byId ? "_id" : ""}`,
      text: `
WITH picked AS (
  SELECT id FROM ${s}.interrupts
  WHERE session_id = $1 AND state = 'queued' AND expires_at > $2 ${byId ? "AND id = $4" : ""}
  ORDER BY priority, seq LIMIT 1
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE ${s}.interrupts i SET state = 'claimed', claimed_by = $3
  FROM picked WHERE i.id = picked.id
  RETURNING i.id, i.seq, i.message
), counted AS (
  UPDATE ${s}.interrupt_queues SET depth = depth - 1, in_flight = in_flight + 1
  WHERE session_id = $1 AND EXISTS (SELECT 1 FROM claimed)
), relaxed AS (
  SELECT set_config('synchronous_commit', 'off', true) AS setting
)
SELECT id, seq, message FROM claimed, relaxed`,
      values: byId
        ? [sessionId, options.now, options.owner, options.id]
        : [sessionId, options.now, options.owner],
    });
    return rows[0] === undefined ? undefined : toMessage(rows[0]);
  }

  async get(id: string): Promise<StoredInterrupt | undefined> {
    const rows = await this.#db.query<InterruptRow>({
      name: `${this.#s}.interrupt_get`,
      text: `SELECT ${INTERRUPT_COLUMNS} FROM ${this.#s}.interrupts WHERE id = $1`,
      values: [id],
    });
    return rows[0] === undefined ? undefined : toStoredInterrupt(rows[0]);
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>> {
    const { offset, limit } = resolvePage(page);
    const s = this.#s;
    const rows = await this.#db.query<InterruptRow & { total: unknown }>({
      name: `${s}.interrupt_list`,
      text: `
SELECT (SELECT count(*) FROM ${s}.interrupts WHERE session_id = $1 AND state = 'queued') AS total,
  page.id, page.seq, page.message
FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT id, seq, message FROM ${s}.interrupts WHERE session_id = $1 AND state = 'queued'
  ORDER BY priority, seq OFFSET $2 LIMIT $3
) page ON true`,
      values: [sessionId, offset, limit],
    });
    return {
      items: rows.filter((row) => row.id !== null).map(toMessage),
      total: num(rows[0]?.total ?? 0, "a queue length"),
    };
  }

  async stats(sessionId: string): Promise<InterruptStats> {
    const [row] = await this.#db.query<StatsRow>({
      name: `${this.#s}.interrupt_stats`,
      text: `SELECT queued, applied, refused, expired, cleared, depth, in_flight,
        total_decision_ms, max_decision_ms, next_seq
        FROM ${this.#s}.interrupt_queues WHERE session_id = $1`,
      values: [sessionId],
    });
    if (row === undefined) {
      return {
        queued: 0,
        applied: 0,
        refused: 0,
        expired: 0,
        cleared: 0,
        depth: 0,
        inFlight: 0,
        totalDecisionMs: 0,
        maxDecisionMs: 0,
        lastSeq: 0,
      };
    }
    return {
      queued: num(row.queued, "a counter"),
      applied: num(row.applied, "a counter"),
      refused: num(row.refused, "a counter"),
      expired: num(row.expired, "a counter"),
      cleared: num(row.cleared, "a counter"),
      depth: num(row.depth, "a counter"),
      inFlight: num(row.in_flight, "a counter"),
      totalDecisionMs: num(row.total_decision_ms, "a counter"),
      maxDecisionMs: num(row.max_decision_ms, "a counter"),
      lastSeq: num(row.next_seq, "a counter") - 1,
    };
  }

  /**
   * One transaction: the messages are marked (or, for a deleted session, deleted with the
   * session's row), counted, audited and announced.
   */
  async remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]> {
    if (
      typeof removal !== "object" ||
      removal === null ||
      !["expired", "cleared", "deleted"].includes(removal.reason)
    ) {
      throw new InvalidOptionError("reason", "`expired`, `cleared` or `deleted`", removal?.reason);
    }
    if (removal.reason !== "deleted" && !(await this.#anyToRemove(removal))) return [];
    const removed = await this.#db.transaction((tx) => this.removeIn(tx, removal));
    this.#publish(removed.events);
    return removed.messages;
  }

  /**
   * Whether a removal of expired or cleared messages would find any. A run asks to remove the
   * expired ones after every claim that found nothing, and there almost never are: one read
   * answers that, where the transaction would cost three round trips. What the read misses
   * cannot be expired at `now` (a message queued after it expires later), nor cleared by this
   * call.
   */
  async #anyToRemove(removal: InterruptRemoval): Promise<boolean> {
    const s = this.#s;
    const expired = removal.reason === "expired";
    const [row] = await this.#db.query<{ found: boolean }>({
      name: `${s}.any_${removal.reason}`,
      text: `SELECT EXISTS (SELECT 1 FROM ${s}.interrupts WHERE ${removable(expired)}) AS found`,
      values: expired ? [removal.sessionId ?? null, removal.now] : [removal.sessionId ?? null],
    });
    return row?.found === true;
  }

  /**
   * @internal {@link remove} inside a transaction the caller runs; the caller publishes the
   * returned events once the transaction commits.
   */
  async removeIn(tx: Transaction, removal: InterruptRemoval): Promise<Removed> {
    const s = this.#s;
    const sessionId = removal.sessionId ?? null;
    let rows: InterruptRow[];
    if (removal.reason === "deleted") {
      // The messages, then the queue row, which waits for the sends under way: the statement
      // after it sees every message of the session. Without it, a send that committed while
      // the queue row was being deleted left its message behind, numbered by no queue.
      await tx.query({
        name: `${s}.remove_deleted_lock`,
        text: `
WITH messages AS (
  SELECT 1 FROM ${s}.interrupts WHERE session_id = $1 ORDER BY priority, seq FOR UPDATE
), queue AS (
  INSERT INTO ${s}.interrupt_queues AS q (session_id) VALUES ($1)
  ON CONFLICT (session_id) DO UPDATE SET next_seq = q.next_seq
  RETURNING 1
)
SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM queue) AS queue`,
        values: [sessionId],
      });
      rows = await tx.query<InterruptRow>({
        name: `${s}.remove_deleted`,
        text: `
WITH doomed AS (
  SELECT id, session_id, seq, message, state, priority FROM ${s}.interrupts
  WHERE session_id = $1 ORDER BY priority, seq FOR UPDATE
), gone AS (
  DELETE FROM ${s}.interrupts i USING doomed WHERE i.id = doomed.id
), queue AS (
  DELETE FROM ${s}.interrupt_queues WHERE session_id = $1
)
SELECT id, seq, message FROM doomed WHERE state IN ('queued', 'claimed')
ORDER BY state = 'queued', priority, seq`,
        values: [sessionId],
      });
    } else {
      const expired = removal.reason === "expired";
      rows = await tx.query<InterruptRow>({
        name: `${s}.remove_${removal.reason}`,
        text: `
WITH doomed AS (
  SELECT id, session_id FROM ${s}.interrupts
  WHERE ${removable(expired)}
  ORDER BY session_id, priority, seq FOR UPDATE
), marked AS (
  UPDATE ${s}.interrupts i SET state = '${removal.reason}'
  FROM doomed WHERE i.id = doomed.id
  RETURNING i.id, i.session_id, i.seq, i.priority, i.message
), counts AS (
  SELECT session_id, count(*) AS n FROM marked GROUP BY session_id
), counted AS (
  UPDATE ${s}.interrupt_queues q SET depth = q.depth - counts.n,
    ${removal.reason} = q.${removal.reason} + counts.n
  FROM counts WHERE q.session_id = counts.session_id
)
SELECT id, seq, message FROM marked ORDER BY session_id, priority, seq`,
        values: expired ? [sessionId, removal.now] : [sessionId],
      });
    }
    const messages = rows.map(toMessage);
    if (messages.length === 0) return { messages, events: [] };
    await tx.query(
      auditInsert(s, encodeAudit(messages.map((message) => removalAuditEntry(message, removal)))),
    );
    const events = messages.map((m) => settledEvent(m.sessionId, m.id));
    await tx.query(notifyStatement(s, this.#channel, events));
    return { messages, events };
  }
}
