import { InvalidOptionError, SessionBusyError } from "../../errors.js";
import type { GateMeta } from "../checkpoint-meta.js";
import {
  CHECKPOINT_STATUSES,
  type CheckpointRecord,
  type CheckpointStatus,
} from "../checkpoint-store.js";
import { jsonText } from "../json-text.js";
import { type Page, resolvePage } from "../page.js";
import type {
  Lease,
  LeaseRequest,
  LeaseResult,
  SessionQuery,
  SessionStore,
  SessionSummary,
} from "../session-store.js";
import { gateEffect, sameGate, summaryGate } from "../summary-gate.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import { corrupt, type RowName, readJson, readNumber, readString } from "./sqlite-rows.js";
import type { FenceRow } from "./sqlite-step-memo.js";

/** What deleting a session or taking its lease changes in the other parts of the store. */
export interface SqliteSessionOwned {
  /** Queues the session's claimed messages again (a new lease holder). */
  requeue(sessionId: string): void;
  /** Deletes everything the session owns but its audit trail, and appends `session.deleted`. */
  drop(sessionId: string, now: number, actor: string | undefined): void;
  /** Tells the notifier the lease was released. */
  released(sessionId: string): void;
}

interface SummaryRow {
  readonly session_id: unknown;
  readonly graph: unknown;
  readonly status: unknown;
  readonly checkpoint_id: unknown;
  readonly created_at: unknown;
  readonly updated_at: unknown;
  readonly gate: string | null;
}

/*
 * The summary's `checkpointId` and `updatedAt` are read from the session's latest checkpoint of
 * its own thread (one seek down the checkpoints' primary key) instead of being copied into the
 * sessions row by every commit: a step then leaves that row alone unless its status, gate or
 * graph change, and the commit writes two pages (checkpoint row, id index) instead of three.
 * The columns `checkpoint_id` and `updated_at` of schema version 1 are no longer written.
 */
const LATEST_OWN =
  "SELECT max(seq) FROM checkpoints WHERE session_id = s.session_id AND thread = ''";
/*
 * The row's `updated_at` is written when a nested graph's checkpoint changes the gate (it opened
 * or closed a gate inside the nested graph): the summary's update time is the later of it and
 * the latest checkpoint's. A value left by schema version 1 is older than any later checkpoint.
 */
const SUMMARY =
  "s.session_id AS session_id, s.graph AS graph, s.status AS status, c.id AS checkpoint_id, s.created_at AS created_at, max(c.created_at, coalesce(s.updated_at, c.created_at)) AS updated_at, s.gate AS gate";
const FROM = `FROM sessions s JOIN checkpoints c ON c.session_id = s.session_id AND c.thread = '' AND c.seq = (${LATEST_OWN})`;
const INBOX = `${FROM} WHERE s.status IS NOT NULL AND (@status IS NULL OR s.status = @status) AND (@graph IS NULL OR s.graph = @graph) AND (@waiting = 0 OR s.gate IS NOT NULL)`;
/** Statements built from parts, built once: a statement's text is its cache key. */
const GET_SUMMARY = `SELECT ${SUMMARY} ${FROM} WHERE s.session_id = ? AND s.status IS NOT NULL`;
const COUNT_INBOX = `SELECT count(*) ${INBOX}`;
const PAGE_INBOX = `SELECT ${SUMMARY} ${INBOX} ORDER BY updated_at DESC, s.session_id LIMIT @limit OFFSET @offset`;
const FENCE =
  "SELECT lease_token, lease_expires_at, graph, status, created_at, gate FROM sessions WHERE session_id = ?";
/** The gate of a session that has a summary, which a nested graph's checkpoint may change. */
const NESTED_FENCE = "SELECT gate FROM sessions WHERE session_id = ? AND status IS NOT NULL";
const STATUSES = new Set<string>(CHECKPOINT_STATUSES);

/**
 * Session leases and inbox summaries in SQLite, one `sessions` row per session. A lease is
 * fenced by its token: renewing, releasing and committing check that the row still holds it.
 */
export class SqliteSessionStore implements SessionStore {
  readonly #connection: SqliteConnection;
  readonly #owned: SqliteSessionOwned;

  constructor(connection: SqliteConnection, owned: SqliteSessionOwned) {
    this.#connection = connection;
    this.#owned = owned;
  }

  async acquire(request: LeaseRequest): Promise<LeaseResult> {
    const connection = this.#connection;
    return connection.write("sessions.acquire", () => {
      const held = this.#holder(request.sessionId, request.now);
      if (held !== undefined) return { ok: false, ...held };
      const lease: Lease = Object.freeze({
        sessionId: request.sessionId,
        owner: request.owner,
        token: request.token,
        expiresAt: request.now + request.ttlMs,
        ttlMs: request.ttlMs,
      });
      connection
        .statement(
          "INSERT INTO sessions (session_id, lease_owner, lease_token, lease_expires_at, lease_ttl_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at, lease_ttl_ms = excluded.lease_ttl_ms",
        )
        .run(lease.sessionId, lease.owner, lease.token, lease.expiresAt, lease.ttlMs);
      this.#owned.requeue(request.sessionId);
      return { ok: true, lease };
    });
  }

  async renew(lease: Lease, now: number): Promise<Lease | undefined> {
    return this.#connection.write("sessions.renew", () => this.extend(lease, now));
  }

  /** Who holds the session's lease at `now`, unless nobody does or it expired; inside a write. */
  #holder(sessionId: string, now: number): { owner: string; expiresAt: number } | undefined {
    const held = this.#connection
      .statement(
        "SELECT lease_owner, lease_expires_at FROM sessions WHERE session_id = ? AND lease_token IS NOT NULL",
      )
      .get(sessionId) as { lease_owner: string; lease_expires_at: number } | undefined;
    return held === undefined || now >= held.lease_expires_at
      ? undefined
      : { owner: held.lease_owner, expiresAt: held.lease_expires_at };
  }

  /**
   * @internal Extends a current lease in the open write transaction; `undefined` when the
   * session's row no longer holds its token.
   */
  extend(lease: Lease, now: number): Lease | undefined {
    const changed = this.#connection
      .statement(
        "UPDATE sessions SET lease_expires_at = ? WHERE session_id = ? AND lease_token = ?",
      )
      .run(now + lease.ttlMs, lease.sessionId, lease.token).changes;
    return changed > 0 ? Object.freeze({ ...lease, expiresAt: now + lease.ttlMs }) : undefined;
  }

  /**
   * @internal Whether `lease` is still the session's current lease, in the open write
   * transaction; a current lease is extended to `now + ttlMs` once less than half of its time is
   * left. A run commits after every node and renews its lease on a timer besides, so extending
   * it on every commit would rewrite the sessions row (one more page) per step for nothing:
   * after any committed batch the lease still lasts at least `ttlMs / 2`.
   */
  touch(lease: Lease, now: number): boolean {
    const row = this.#fence(lease.sessionId);
    if (row === undefined || row.lease_token !== lease.token) return false;
    if (renewalDue(row, lease, now)) {
      this.#connection
        .statement("UPDATE sessions SET lease_expires_at = ? WHERE session_id = ?")
        .run(now + lease.ttlMs, lease.sessionId);
    }
    return true;
  }

  /**
   * @internal {@link touch} for the common batch of a run's step, `record` being a checkpoint
   * of the lease's session's own thread: also brings the summary up to date with it. The row is
   * written only when something it holds changes (the lease is due, or the status, gate or
   * graph differ): a chain of running steps reads it and writes nothing. `known` is the row as
   * the last step left it, when nothing has written since (see `SqliteStepMemo`); without it the
   * row is read. Returns the row as this step leaves it, and whether the summary changed;
   * `undefined` when the lease was not current (nothing is changed then).
   */
  touchAndRecord(
    lease: Lease,
    now: number,
    record: CheckpointRecord,
    known?: FenceRow,
  ): { readonly row: FenceRow; readonly changed: boolean } | undefined {
    const row = known ?? this.#fence(lease.sessionId);
    if (row === undefined || row.lease_token !== lease.token) return undefined;
    const gate =
      gateEffect(record) === "keep"
        ? row.gate
        : record.meta.gate === undefined
          ? null
          : jsonText(record.meta.gate, "meta.gate");
    const graph = record.meta.graph ?? row.graph ?? "";
    const due = renewalDue(row, lease, now);
    const changed =
      row.status !== record.status ||
      row.gate !== gate ||
      row.graph !== graph ||
      row.created_at === null;
    if (!due && !changed) return { row, changed };
    const left: FenceRow = {
      lease_token: row.lease_token,
      lease_expires_at: due ? now + lease.ttlMs : row.lease_expires_at,
      graph,
      status: record.status,
      created_at: row.created_at ?? record.createdAt,
      gate,
    };
    this.#connection
      .statement(
        "UPDATE sessions SET lease_expires_at = ?, graph = ?, status = ?, created_at = coalesce(created_at, ?), gate = ? WHERE session_id = ?",
      )
      .run(left.lease_expires_at, graph, record.status, record.createdAt, gate, lease.sessionId);
    return { row: left, changed };
  }

  #fence(sessionId: string): FenceRow | undefined {
    return this.#connection.statement(FENCE).get(sessionId) as FenceRow | undefined;
  }

  async release(lease: Lease): Promise<void> {
    const connection = this.#connection;
    connection.write("sessions.release", () => {
      const changed = connection
        .statement(
          "UPDATE sessions SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_ttl_ms = NULL WHERE session_id = ? AND lease_token = ?",
        )
        .run(lease.sessionId, lease.token).changes;
      if (changed === 0) return;
      // What the run claimed and did not settle (it was cancelled while deciding) is queued again.
      this.#owned.requeue(lease.sessionId);
      this.#owned.released(lease.sessionId);
    });
  }

  /**
   * @internal Brings the summary up to date with a checkpoint of the session's own thread; one
   * that only saves a node's progress keeps the gate (see `gateEffect`).
   */
  record(record: CheckpointRecord): void {
    const gate = record.meta.gate;
    const graph = record.meta.graph ?? null;
    this.#connection
      .statement(
        "INSERT INTO sessions (session_id, graph, status, created_at, gate) VALUES (?, coalesce(?, ''), ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET graph = coalesce(?, graph, ''), status = excluded.status, created_at = coalesce(created_at, excluded.created_at), gate = CASE WHEN ? THEN gate ELSE excluded.gate END",
      )
      .run(
        record.sessionId,
        graph,
        record.status,
        record.createdAt,
        gate === undefined ? null : jsonText(gate, "meta.gate"),
        graph,
        gateEffect(record) === "keep" ? 1 : 0,
      );
  }

  /**
   * @internal Brings the summary's gate up to date with a checkpoint of a nested graph's thread
   * that may change it (`gateEffect` says `"nested"`), by the rule of `summaryGate`, in the open
   * write transaction. Returns whether the gate changed; a session without a summary has none
   * to change.
   */
  recordNested(record: CheckpointRecord): boolean {
    const connection = this.#connection;
    const row = connection.statement(NESTED_FENCE).get(record.sessionId) as
      | { readonly gate: string | null }
      | undefined;
    if (row === undefined) return false;
    const where: RowName = () => `sessions (${record.sessionId})`;
    const current = row.gate === null ? undefined : (readJson(row.gate, "gate", where) as GateMeta);
    const gate = summaryGate(current, record);
    if (sameGate(gate, current)) return false;
    connection
      .statement("UPDATE sessions SET gate = ?, updated_at = ? WHERE session_id = ?")
      .run(gate === undefined ? null : jsonText(gate, "gate"), record.createdAt, record.sessionId);
    return true;
  }

  async get(sessionId: string): Promise<SessionSummary | undefined> {
    const row = this.#connection.run(
      "sessions.get",
      () => this.#connection.statement(GET_SUMMARY).get(sessionId) as SummaryRow | undefined,
    );
    return row === undefined ? undefined : toSummary(row);
  }

  async list(query: SessionQuery = {}): Promise<Page<SessionSummary>> {
    const { offset, limit } = resolvePage(query);
    const status = query.status;
    if (status !== undefined && !STATUSES.has(status)) {
      throw new InvalidOptionError("status", `one of ${CHECKPOINT_STATUSES.join(", ")}`, status);
    }
    if (query.waiting !== undefined && query.waiting !== "approval") {
      throw new InvalidOptionError("waiting", '"approval"', query.waiting);
    }
    const args = {
      status: status ?? null,
      graph: query.graph ?? null,
      waiting: query.waiting === undefined ? 0 : 1,
    };
    const connection = this.#connection;
    return connection.read("sessions.list", () => {
      const total = connection.statement(COUNT_INBOX).pluck().get(args) as number;
      const rows = connection.statement(PAGE_INBOX).all({ ...args, limit, offset }) as SummaryRow[];
      return { items: rows.map(toSummary), total };
    });
  }

  async delete(
    sessionId: string,
    options: { readonly now: number; readonly actor?: string },
  ): Promise<void> {
    this.#connection.write("sessions.delete", () => {
      const held = this.#holder(sessionId, options.now);
      if (held !== undefined) throw new SessionBusyError(sessionId, held);
      this.#connection.statement("DELETE FROM sessions WHERE session_id = ?").run(sessionId);
      this.#owned.drop(sessionId, options.now, options.actor);
    });
  }
}

/** Whether less than half of the lease's time is left at `now`. */
function renewalDue(row: FenceRow, lease: Lease, now: number): boolean {
  return row.lease_expires_at === null || row.lease_expires_at - now <= lease.ttlMs / 2;
}

function toSummary(row: SummaryRow): SessionSummary {
  const where: RowName = () => `sessions (${String(row.session_id)})`;
  const status = row.status;
  if (typeof status !== "string" || !STATUSES.has(status)) {
    throw corrupt(where, `status is ${String(status)}`);
  }
  return Object.freeze({
    sessionId: readString(row.session_id, "session_id", where),
    graph: readString(row.graph, "graph", where),
    status: status as CheckpointStatus,
    checkpointId: readString(row.checkpoint_id, "checkpoint_id", where),
    createdAt: readNumber(row.created_at, "created_at", where),
    updatedAt: readNumber(row.updated_at, "updated_at", where),
    ...(row.gate === null ? {} : { gate: readJson(row.gate, "gate", where) as GateMeta }),
  });
}
