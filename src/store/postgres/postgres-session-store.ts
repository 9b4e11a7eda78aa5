import { InvalidOptionError, SessionBusyError, StoreUnavailableError } from "../../errors.js";
import { CHECKPOINT_STATUSES } from "../checkpoint-store.js";
import type { StoreEvent } from "../notifier.js";
import { type Page, resolvePage } from "../page.js";
import type {
  Lease,
  LeaseRequest,
  LeaseResult,
  SessionQuery,
  SessionStore,
  SessionSummary,
} from "../session-store.js";
import { auditInsert, encodeAudit } from "./audit-insert.js";
import type { Database, Transaction } from "./database.js";
import type { PostgresInterruptStore } from "./postgres-interrupt-store.js";
import { num, type SummaryRow, toSummary } from "./rows.js";

interface AcquireRow {
  readonly ok: boolean;
  readonly owner: unknown;
  readonly expires_at: unknown;
}

function checkRequest(request: LeaseRequest): void {
  for (const key of ["sessionId", "owner", "token"] as const) {
    if (typeof request?.[key] !== "string" || request[key].length === 0) {
      throw new InvalidOptionError(key, "a non-empty string", request?.[key]);
    }
  }
  if (!Number.isInteger(request.ttlMs) || request.ttlMs < 1) {
    throw new InvalidOptionError("ttlMs", "an integer from 1 and up", request.ttlMs);
  }
  if (!Number.isFinite(request.now)) {
    throw new InvalidOptionError("now", "a finite number of milliseconds", request.now);
  }
}

/**
 * Whether the lease row `l` may be taken at `now`: it expired, or the connection of the
 * process that holds it is gone.
 */
function leaseFree(l: string, now: string): string {
  return `${l}.expires_at <= ${now} OR (${l}.holder_pid IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = ${l}.holder_pid))`;
}

/**
 * The summary columns, with `checkpoint_id` and `updated_at` read from the session's latest
 * checkpoint of its own thread (one descent of the checkpoints' primary key). A step's commit
 * leaves the sessions row alone unless the status, gate or graph change (see
 * `checkpoint-insert.ts`), so the row's own copies of these two columns are those of the
 * last commit that changed it: its `checkpoint_id` is the fallback only for a session without
 * such a checkpoint, and its `updated_at` counts when it is later, as after a nested graph's
 * checkpoint opened or closed a gate (`nested-gates.ts`).
 */
const SUMMARY_COLUMNS =
  "s.session_id, s.graph, s.status, coalesce(c.id, s.checkpoint_id) AS checkpoint_id, s.created_at, greatest(c.created_at, s.updated_at) AS updated_at, s.gate";

function summaries(s: string): string {
  return `${s}.sessions s LEFT JOIN LATERAL (
    SELECT id, created_at FROM ${s}.checkpoints
    WHERE session_id = s.session_id AND thread = '' ORDER BY seq DESC LIMIT 1
  ) c ON true`;
}

/**
 * Session leases and inbox summaries in PostgreSQL.
 *
 * A lease is a row: the token fences writers (`commit` refuses a batch whose token is not the
 * row's), `expiresAt` bounds it in the caller's clock. The row also records the backend pid of
 * the holder's listening connection, which lives as long as the holder's store. When that pid
 * is no longer in `pg_stat_activity`, the holder's process is gone (it died, or closed its
 * store) and another process takes the lease at once instead of waiting out the TTL. A pid is
 * used rather than a session advisory lock because taking the lease must stay one statement
 * on any pool connection, together with requeueing the session's claimed messages; the pid is
 * visible to every role (`backend_start` and the rest are not). Should a pid be reused by a new
 * backend, the lease simply runs until it expires: the check errs on the side of waiting.
 */
export class PostgresSessionStore implements SessionStore {
  readonly #db: Database;
  readonly #s: string;
  readonly #channel: string;
  readonly #holderPid: () => number | null;
  readonly #interrupts: PostgresInterruptStore;
  readonly #publish: (events: readonly StoreEvent[]) => void;

  constructor(
    db: Database,
    schema: string,
    channel: string,
    holderPid: () => number | null,
    interrupts: PostgresInterruptStore,
    publish: (events: readonly StoreEvent[]) => void,
  ) {
    this.#db = db;
    this.#s = schema;
    this.#channel = channel;
    this.#holderPid = holderPid;
    this.#interrupts = interrupts;
    this.#publish = publish;
  }

  /**
   * One statement: take the row when it is free, expired or its holder's connection is gone,
   * and put the session's claimed messages back in its queue.
   *
   * When the connection drops while the statement runs, the database may have committed it
   * and the answer is lost: the caller would never learn of a lease it holds, nor release it.
   * The lease of the request's token is then given up (once, at best) before the error is
   * thrown; if that fails too, the lease expires on its own.
   */
  async acquire(request: LeaseRequest): Promise<LeaseResult> {
    checkRequest(request);
    try {
      return await this.#acquire(request);
    } catch (error) {
      if (error instanceof StoreUnavailableError && !this.#db.closed) {
        const { sessionId, owner, token, ttlMs } = request;
        await this.release({ sessionId, owner, token, ttlMs, expiresAt: request.now }).catch(
          () => {},
        );
      }
      throw error;
    }
  }

  async #acquire(request: LeaseRequest): Promise<LeaseResult> {
    const s = this.#s;
    for (let attempt = 0; ; attempt++) {
      const rows = await this.#db.query<AcquireRow>({
        name: `${s}.lease_acquire`,
        text: `
WITH taken AS (
  INSERT INTO ${s}.leases AS l (session_id, owner, token, expires_at, ttl_ms, holder_pid)
  VALUES ($1, $2, $3, $4::bigint + $5::bigint, $5, $6)
  ON CONFLICT (session_id) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token,
    expires_at = EXCLUDED.expires_at, ttl_ms = EXCLUDED.ttl_ms, holder_pid = EXCLUDED.holder_pid
  WHERE ${leaseFree("l", "$4::bigint")}
  RETURNING expires_at
), requeued AS (
  UPDATE ${s}.interrupts SET state = 'queued', claimed_by = NULL
  WHERE session_id = $1 AND state = 'claimed' AND EXISTS (SELECT 1 FROM taken)
  RETURNING 1
), counted AS (
  UPDATE ${s}.interrupt_queues SET depth = depth + (SELECT count(*) FROM requeued),
    in_flight = in_flight - (SELECT count(*) FROM requeued)
  WHERE session_id = $1 AND EXISTS (SELECT 1 FROM requeued)
)
SELECT true AS ok, NULL AS owner, expires_at FROM taken
UNION ALL
SELECT false, owner, expires_at FROM ${s}.leases
WHERE session_id = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
        values: [
          request.sessionId,
          request.owner,
          request.token,
          request.now,
          request.ttlMs,
          this.#holderPid(),
        ],
      });
      const row = rows[0];
      if (row?.ok) {
        const lease: Lease = Object.freeze({
          sessionId: request.sessionId,
          owner: request.owner,
          token: request.token,
          expiresAt: num(row.expires_at, "a lease expiry"),
          ttlMs: request.ttlMs,
        });
        return { ok: true, lease };
      }
      if (row !== undefined) {
        return {
          ok: false,
          owner: String(row.owner),
          expiresAt: num(row.expires_at, "a lease expiry"),
        };
      }
      // Another acquirer took the row after this statement's snapshot: read who holds it now.
      const holder = await this.#holder(this.#db, request.sessionId);
      if (holder !== undefined) return { ok: false, ...holder };
      if (attempt >= 3) {
        return { ok: false, owner: "", expiresAt: request.now };
      }
    }
  }

  /** Who holds the session's lease row as `via` reads it now, if anyone. */
  async #holder(
    via: Transaction,
    sessionId: string,
  ): Promise<{ owner: string; expiresAt: number } | undefined> {
    const [row] = await via.query<AcquireRow>({
      name: `${this.#s}.lease_holder`,
      text: `SELECT false AS ok, owner, expires_at FROM ${this.#s}.leases WHERE session_id = $1`,
      values: [sessionId],
    });
    return row === undefined
      ? undefined
      : { owner: String(row.owner), expiresAt: num(row.expires_at, "a lease expiry") };
  }

  async renew(lease: Lease, now: number): Promise<Lease | undefined> {
    if (!Number.isFinite(now)) {
      throw new InvalidOptionError("now", "a finite number of milliseconds", now);
    }
    const rows = await this.#db.query<{ expires_at: unknown }>({
      name: `${this.#s}.lease_renew`,
      text: `UPDATE ${this.#s}.leases SET expires_at = $3::bigint + $4::bigint, holder_pid = $5
        WHERE session_id = $1 AND token = $2 RETURNING expires_at`,
      values: [lease.sessionId, lease.token, now, lease.ttlMs, this.#holderPid()],
    });
    if (rows[0] === undefined) return undefined;
    return Object.freeze({ ...lease, expiresAt: num(rows[0].expires_at, "a lease expiry") });
  }

  /**
   * One statement: the lease row goes, if it is still this lease's. Only then is the release
   * notified, and published to this store's listeners.
   */
  async release(lease: Lease): Promise<void> {
    const event: StoreEvent = { kind: "released", sessionId: lease.sessionId };
    const rows = await this.#db.query<{ released: boolean }>({
      name: `${this.#s}.lease_release`,
      // What the run claimed and did not settle (it was cancelled while deciding) is queued
      // again, in the statement that gives the lease up.
      text: `WITH gone AS (
  DELETE FROM ${this.#s}.leases WHERE session_id = $1 AND token = $2 RETURNING 1
), requeued AS (
  UPDATE ${this.#s}.interrupts SET state = 'queued', claimed_by = NULL
  WHERE session_id = $1 AND state = 'claimed' AND EXISTS (SELECT 1 FROM gone)
  RETURNING 1
), counted AS (
  UPDATE ${this.#s}.interrupt_queues SET depth = depth + (SELECT count(*) FROM requeued),
    in_flight = in_flight - (SELECT count(*) FROM requeued)
  WHERE session_id = $1 AND EXISTS (SELECT 1 FROM requeued)
) SELECT true AS released, pg_notify($3, $4) FROM gone`,
      values: [lease.sessionId, lease.token, this.#channel, JSON.stringify(event)],
    });
    if (rows[0]?.released === true) this.#publish([event]);
  }

  async get(sessionId: string): Promise<SessionSummary | undefined> {
    const rows = await this.#db.query<SummaryRow>({
      name: `${this.#s}.session_get`,
      text: `SELECT ${SUMMARY_COLUMNS} FROM ${summaries(this.#s)} WHERE s.session_id = $1`,
      values: [sessionId],
    });
    return rows[0] === undefined ? undefined : toSummary(rows[0]);
  }

  async list(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    const { offset, limit } = resolvePage(query);
    if (query.status !== undefined && !CHECKPOINT_STATUSES.includes(query.status)) {
      throw new InvalidOptionError(
        "status",
        `one of ${CHECKPOINT_STATUSES.join(", ")}`,
        query.status,
      );
    }
    if (query.graph !== undefined && typeof query.graph !== "string") {
      throw new InvalidOptionError("graph", "a graph name", query.graph);
    }
    if (query.waiting !== undefined && query.waiting !== "approval") {
      throw new InvalidOptionError("waiting", '`"approval"`', query.waiting);
    }
    const s = this.#s;
    const rows = await this.#db.query<SummaryRow & { total: unknown }>({
      name: `${s}.session_list`,
      text: `
WITH matching AS (
  SELECT ${SUMMARY_COLUMNS} FROM ${summaries(s)}
  WHERE ($1::text IS NULL OR status = $1::text)
    AND ($2::text IS NULL OR coalesce(graph, '') = $2::text)
    AND (NOT $3::boolean OR gate IS NOT NULL)
)
SELECT (SELECT count(*) FROM matching) AS total, page.*
FROM (SELECT 1) one LEFT JOIN LATERAL (
  SELECT * FROM matching ORDER BY updated_at DESC, session_id OFFSET $4 LIMIT $5
) page ON true`,
      values: [
        query.status ?? null,
        query.graph ?? null,
        query.waiting === "approval",
        offset,
        limit,
      ],
    });
    return {
      items: rows.filter((row) => row.session_id !== null).map(toSummary),
      total: num(rows[0]?.total ?? 0, "a count of sessions"),
    };
  }

  /**
   * One transaction: every row of the session but its audit trail (its webhook deliveries
   * too), and a `session.deleted` entry. It takes the session's rows in the order every writer takes them: the lease, as a
   * run would take it (so it waits for a run starting at that moment, and refuses one that
   * holds it), the summary, then the messages and queue row as any deletion of messages does
   * (`PostgresInterruptStore.removeIn`). Taken in another order, a run's commit racing the
   * deletion deadlocked.
   */
  async delete(
    sessionId: string,
    options: { readonly now: number; readonly actor?: string },
  ): Promise<void> {
    const entry = encodeAudit([
      {
        sessionId,
        at: options.now,
        kind: "session.deleted",
        ...(options.actor === undefined ? {} : { actor: options.actor }),
      },
    ]);
    const s = this.#s;
    const removed = await this.#db.transaction(async (tx) => {
      const [taken] = await tx.query<{ taken: string }>({
        name: `${s}.session_delete_lock`,
        text: `
WITH lease AS (
  INSERT INTO ${s}.leases AS l (session_id, owner, token, expires_at, ttl_ms, holder_pid)
  VALUES ($1, '', '', $2::bigint, 1, NULL)
  ON CONFLICT (session_id) DO UPDATE SET owner = '', token = '', expires_at = $2::bigint,
    holder_pid = NULL
  WHERE ${leaseFree("l", "$2::bigint")}
  RETURNING 1
), summary AS (
  SELECT 1 FROM ${s}.sessions WHERE session_id = $1 AND EXISTS (SELECT 1 FROM lease) FOR UPDATE
)
SELECT (SELECT count(*) FROM lease) AS taken, (SELECT count(*) FROM summary) AS summary`,
        values: [sessionId, options.now],
      });
      if (Number(taken?.taken) === 0) {
        throw new SessionBusyError(sessionId, await this.#holder(tx, sessionId));
      }
      // Its messages go as any deletion removes them: audited, and their senders told.
      const removed = await this.#interrupts.removeIn(tx, {
        reason: "deleted",
        now: options.now,
        sessionId,
      });
      await tx.query({
        name: `${s}.session_delete`,
        text: `
WITH c AS (DELETE FROM ${s}.checkpoints WHERE session_id = $1),
i AS (DELETE FROM ${s}.interrupts WHERE session_id = $1),
q AS (DELETE FROM ${s}.interrupt_queues WHERE session_id = $1),
l AS (DELETE FROM ${s}.leases WHERE session_id = $1),
x AS (DELETE FROM ${s}.sessions WHERE session_id = $1),
w AS (DELETE FROM ${s}.deliveries WHERE session_id = $1)
SELECT 1`,
        values: [sessionId],
      });
      await tx.query(auditInsert(s, entry));
      return removed;
    });
    this.#publish(removed.events);
  }
}
