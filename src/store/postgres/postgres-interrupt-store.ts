import { DuplicateInterruptError, InvalidOptionError } from "../../errors.js";
import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import type { AuditEntryInput } from "../audit-store.js";
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
import { type Database, rollback, type Transaction } from "./database.js";
import { LOCK_ACTIVE_SESSIONS, LOCK_CLASS } from "./identifier.js";
import { notifyStatement } from "./notify-statement.js";
import { INTERRUPT_COLUMNS, type InterruptRow, num, toMessage, toStoredInterrupt } from "./rows.js";

interface QueueRow {
  readonly depth: unknown;
  readonly next_seq: unknown;
}

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

function queuedEvent(message: QueuedInterrupt): StoreEvent {
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
   * One transaction: lock the session's row (created if new), check the queue bound, and when
   * the session has no queued message, take the schema's session-bound lock and count the
   * active sessions (so two new sessions cannot both take the last place); then insert the
   * message, its audit entry and its notification.
   */
  async enqueue(
    record: NewInterruptRecord,
    limits: EnqueueLimits,
    audit: AuditEntryInput,
  ): Promise<EnqueueResult> {
    const text = jsonText(record, "record");
    const s = this.#s;
    const result = await this.#db.transaction<EnqueueResult>(async (tx) => {
      const [queue] = await tx.query<QueueRow>({
        name: `${s}.enqueue_lock`,
        text: `INSERT INTO ${s}.interrupt_queues AS q (session_id) VALUES ($1)
          ON CONFLICT (session_id) DO UPDATE SET next_seq = q.next_seq
          RETURNING depth, next_seq`,
        values: [record.sessionId],
      });
      const depth = num(queue?.depth, "a queue depth");
      const seq = num(queue?.next_seq, "a queue's next seq");
      if (depth >= limits.maxQueueSize) rollback({ ok: false, reason: "queue_full", depth });
      if (depth === 0) {
        await tx.query({
          name: `${s}.enqueue_bound`,
          text: "SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text) + $3::integer)",
          values: [LOCK_CLASS, this.#schema, LOCK_ACTIVE_SESSIONS],
        });
        const [active] = await tx.query<{ n: unknown }>({
          name: `${s}.enqueue_active`,
          text: `SELECT count(*) AS n FROM ${s}.interrupt_queues WHERE depth > 0`,
        });
        const sessions = num(active?.n, "a count of sessions");
        if (sessions >= limits.maxSessions) {
          rollback({ ok: false, reason: "too_many_sessions", sessions });
        }
      }
      const stored = { ...(JSON.parse(text) as object), seq } as QueuedInterrupt;
      const entry = { ...audit, data: { ...(audit.data as object | undefined), seq } };
      try {
        await tx.query({
          name: `${s}.enqueue_insert`,
          text: `
WITH m AS (
  INSERT INTO ${s}.interrupts (id, session_id, seq, priority, queued_at, expires_at, state, message)
  VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7)
), q AS (
  UPDATE ${s}.interrupt_queues
  SET next_seq = next_seq + 1, queued = queued + 1, depth = depth + 1 WHERE session_id = $2
)
SELECT pg_notify($8, $9)`,
          values: [
            record.id,
            record.sessionId,
            seq,
            record.priority,
            record.queuedAt,
            record.expiresAt,
            text,
            this.#channel,
            JSON.stringify(queuedEvent(stored)),
          ],
        });
      } catch (error) {
        if ((error as { code?: unknown }).code === "23505") {
          throw new DuplicateInterruptError(record.id);
        }
        throw error;
      }
      await tx.query(auditInsert(s, encodeAudit([entry])));
      return { ok: true, record: stored };
    });
    if (result.ok) this.#publish([queuedEvent(result.record)]);
    return result;
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
