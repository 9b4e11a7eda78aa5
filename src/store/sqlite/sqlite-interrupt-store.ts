import { DuplicateInterruptError } from "../../errors.js";
import { isFrozenJson } from "../../freeze.js";
import type { QueuedInterrupt } from "../../interrupts/interrupt-message.js";
import type { AuditEntryInput } from "../audit-store.js";
import {
  type ClaimOptions,
  type EnqueueLimits,
  type EnqueueResult,
  type InterruptRemoval,
  type InterruptState,
  type InterruptStats,
  type InterruptStore,
  type NewInterruptRecord,
  removalAuditEntry,
  type SettledOutcome,
  type Settlement,
  type StoredInterrupt,
} from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import { type Page, type PageOptions, resolvePage } from "../page.js";
import { prepareAuditEntry, type SqliteAuditStore } from "./sqlite-audit-store.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import type { SqliteNotifier } from "./sqlite-notifier.js";
import { corrupt, type RowName, readJson } from "./sqlite-rows.js";

interface StatsRow {
  readonly last_seq: number;
  readonly depth: number;
  readonly in_flight: number;
  readonly queued: number;
  readonly applied: number;
  readonly refused: number;
  readonly expired: number;
  readonly cleared: number;
  readonly total_decision_ms: number;
  readonly max_decision_ms: number;
}

interface MessageRow {
  readonly id: string;
  readonly session_id: string;
  readonly message: unknown;
}

const STATES = new Set<string>(["queued", "claimed", "applied", "refused", "expired", "cleared"]);
const SERVICE_ORDER = "ORDER BY priority, seq";
/** Statements built from parts, built once: a statement's text is its cache key. */
const NEXT_QUEUED = `SELECT id, session_id, message FROM interrupts WHERE session_id = ? AND state = 'queued' AND expires_at > ? ${SERVICE_ORDER} LIMIT 1`;
const PAGE_QUEUED = `SELECT id, session_id, message FROM interrupts WHERE session_id = ? AND state = 'queued' ${SERVICE_ORDER} LIMIT ? OFFSET ?`;
const EXPIRED_OF_SESSION = `SELECT id, session_id, message FROM interrupts WHERE session_id = ? AND state = 'queued' AND expires_at <= ? ${SERVICE_ORDER}`;
const ALL_QUEUED = `SELECT id, session_id, message FROM interrupts WHERE session_id = ? AND state = 'queued' ${SERVICE_ORDER}`;
const QUEUED_AND_CLAIMED = `SELECT id, session_id, message FROM interrupts WHERE session_id = ? AND state IN ('queued', 'claimed') ${SERVICE_ORDER}`;

/**
 * Interrupt queues in SQLite. Each method is one transaction; `enqueue` and `claim` take the
 * write lock before they read, so the bounds hold and a message is claimed once across every
 * process sharing the file. A session's counters and sequence live in `interrupt_queues`.
 */
export class SqliteInterruptStore implements InterruptStore {
  readonly #connection: SqliteConnection;
  readonly #audit: SqliteAuditStore;
  readonly #notifier: SqliteNotifier;

  constructor(connection: SqliteConnection, audit: SqliteAuditStore, notifier: SqliteNotifier) {
    this.#connection = connection;
    this.#audit = audit;
    this.#notifier = notifier;
  }

  async enqueue(
    record: NewInterruptRecord,
    limits: EnqueueLimits,
    audit: AuditEntryInput,
  ): Promise<EnqueueResult> {
    const connection = this.#connection;
    return connection.write("interrupts.enqueue", () => {
      const known = connection
        .statement("SELECT 1 FROM interrupts WHERE id = ?")
        .pluck()
        .get(record.id);
      if (known !== undefined) throw new DuplicateInterruptError(record.id);
      const depth =
        (connection
          .statement("SELECT depth FROM interrupt_queues WHERE session_id = ?")
          .pluck()
          .get(record.sessionId) as number | undefined) ?? 0;
      if (depth >= limits.maxQueueSize) return { ok: false, reason: "queue_full", depth };
      if (depth === 0) {
        const sessions = connection
          .statement("SELECT count(*) FROM interrupt_queues WHERE depth > 0")
          .pluck()
          .get() as number;
        if (sessions >= limits.maxSessions) {
          return { ok: false, reason: "too_many_sessions", sessions };
        }
      }
      const seq = connection
        .statement(
          "INSERT INTO interrupt_queues (session_id, last_seq, depth, queued) VALUES (?, 1, 1, 1) ON CONFLICT (session_id) DO UPDATE SET last_seq = last_seq + 1, depth = depth + 1, queued = queued + 1 RETURNING last_seq",
        )
        .pluck()
        .get(record.sessionId) as number;
      const text = jsonText({ ...record, seq }, "message");
      connection
        .statement(
          "INSERT INTO interrupts (id, session_id, seq, priority, queued_at, expires_at, state, message) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
        )
        .run(
          record.id,
          record.sessionId,
          seq,
          record.priority,
          record.queuedAt,
          record.expiresAt,
          text,
        );
      this.#audit.insert(
        prepareAuditEntry({ ...audit, data: { ...(audit.data as object | undefined), seq } }),
      );
      // A deeply frozen record (what the service sends) is returned as it is, with its seq.
      const stored = (
        isFrozenJson(record)
          ? Object.freeze({ ...record, seq })
          : readJson(text, "message", () => `interrupts (${record.id})`)
      ) as QueuedInterrupt;
      this.#notifier.record({
        kind: "queued",
        sessionId: stored.sessionId,
        id: stored.id,
        priority: stored.priority,
        ...(stored.kind === "action" ? { action: stored.action.type } : {}),
      });
      return { ok: true, record: stored };
    });
  }

  async claim(sessionId: string, options: ClaimOptions): Promise<QueuedInterrupt | undefined> {
    const { now, owner, id } = options;
    const connection = this.#connection;
    const find = (): MessageRow | undefined =>
      (id === undefined
        ? connection.statement(NEXT_QUEUED).get(sessionId, now)
        : connection
            .statement(
              "SELECT id, session_id, message FROM interrupts WHERE id = ? AND session_id = ? AND state = 'queued' AND expires_at > ?",
            )
            .get(id, sessionId, now)) as MessageRow | undefined;
    // Most checks find nothing: answer those from a snapshot, without the write lock.
    if (connection.run("interrupts.claim", find) === undefined) return undefined;
    return connection.write("interrupts.claim", () => {
      const row = find();
      if (row === undefined) return undefined;
      connection
        .statement("UPDATE interrupts SET state = 'claimed', claimed_by = ? WHERE id = ?")
        .run(owner, row.id);
      connection
        .statement(
          "UPDATE interrupt_queues SET depth = depth - 1, in_flight = in_flight + 1 WHERE session_id = ?",
        )
        .run(sessionId);
      return toMessage(row);
    });
  }

  async get(id: string): Promise<StoredInterrupt | undefined> {
    const row = this.#connection.run(
      "interrupts.get",
      () =>
        this.#connection
          .statement(
            "SELECT id, session_id, message, state, claimed_by, outcome FROM interrupts WHERE id = ?",
          )
          .get(id) as
          | (MessageRow & { state: unknown; claimed_by: string | null; outcome: string | null })
          | undefined,
    );
    if (row === undefined) return undefined;
    const where: RowName = () => `interrupts (${row.id})`;
    const state = row.state;
    if (typeof state !== "string" || !STATES.has(state))
      throw corrupt(where, `state is ${String(state)}`);
    return {
      message: toMessage(row),
      state: state as InterruptState,
      ...(row.outcome === null
        ? {}
        : { outcome: readJson(row.outcome, "outcome", where) as SettledOutcome }),
      ...(row.claimed_by === null ? {} : { claimedBy: row.claimed_by }),
    };
  }

  async list(sessionId: string, page?: PageOptions): Promise<Page<QueuedInterrupt>> {
    const { offset, limit } = resolvePage(page);
    const connection = this.#connection;
    return connection.read("interrupts.list", () => {
      const total =
        (connection
          .statement("SELECT depth FROM interrupt_queues WHERE session_id = ?")
          .pluck()
          .get(sessionId) as number | undefined) ?? 0;
      if (total === 0) return { items: [], total };
      const rows = connection.statement(PAGE_QUEUED).all(sessionId, limit, offset) as MessageRow[];
      return { items: rows.map(toMessage), total };
    });
  }

  async stats(sessionId: string): Promise<InterruptStats> {
    const row = this.#connection.run(
      "interrupts.stats",
      () =>
        this.#connection
          .statement("SELECT * FROM interrupt_queues WHERE session_id = ?")
          .get(sessionId) as StatsRow | undefined,
    );
    return {
      queued: row?.queued ?? 0,
      applied: row?.applied ?? 0,
      refused: row?.refused ?? 0,
      expired: row?.expired ?? 0,
      cleared: row?.cleared ?? 0,
      depth: row?.depth ?? 0,
      inFlight: row?.in_flight ?? 0,
      totalDecisionMs: row?.total_decision_ms ?? 0,
      maxDecisionMs: row?.max_decision_ms ?? 0,
      lastSeq: row?.last_seq ?? 0,
    };
  }

  /**
   * @internal Settles a queued or claimed message in the open write transaction; skips any
   * other. `outcome` is the settlement's outcome as JSON text.
   */
  settle(settlement: Settlement, outcome: string, at: number): void {
    const connection = this.#connection;
    const row = connection
      .statement("SELECT session_id, state, queued_at FROM interrupts WHERE id = ?")
      .get(settlement.id) as { session_id: string; state: string; queued_at: number } | undefined;
    if (row === undefined || (row.state !== "queued" && row.state !== "claimed")) return;
    const applied = settlement.outcome.status === "applied";
    connection
      .statement("UPDATE interrupts SET state = ?, claimed_by = NULL, outcome = ? WHERE id = ?")
      .run(applied ? "applied" : "refused", outcome, settlement.id);
    const decisionMs = Math.max(0, at - row.queued_at);
    const wasQueued = row.state === "queued" ? 1 : 0;
    connection
      .statement(
        "UPDATE interrupt_queues SET depth = depth - ?, in_flight = in_flight - ?, applied = applied + ?, refused = refused + ?, total_decision_ms = total_decision_ms + ?, max_decision_ms = max(max_decision_ms, ?) WHERE session_id = ?",
      )
      .run(
        wasQueued,
        1 - wasQueued,
        applied ? 1 : 0,
        applied ? 0 : 1,
        decisionMs,
        decisionMs,
        row.session_id,
      );
    this.#notifier.record({ kind: "settled", sessionId: row.session_id, id: settlement.id });
  }

  /** @internal Queues the session's claimed messages again, in the open write transaction. */
  requeue(sessionId: string): void {
    const connection = this.#connection;
    const moved = connection
      .statement(
        "UPDATE interrupts SET state = 'queued', claimed_by = NULL WHERE session_id = ? AND state = 'claimed'",
      )
      .run(sessionId).changes;
    if (moved === 0) return;
    connection
      .statement(
        "UPDATE interrupt_queues SET depth = depth + ?, in_flight = in_flight - ? WHERE session_id = ?",
      )
      .run(moved, moved, sessionId);
  }

  async remove(removal: InterruptRemoval): Promise<QueuedInterrupt[]> {
    return this.#connection.write("interrupts.remove", () => this.removeIn(removal));
  }

  /** @internal {@link remove} in the write transaction the caller has open. */
  removeIn(removal: InterruptRemoval): QueuedInterrupt[] {
    const connection = this.#connection;
    {
      const rows = this.#removable(removal);
      if (rows.length === 0) {
        if (removal.reason === "deleted") this.drop(removal.sessionId);
        return [];
      }
      const removed = rows.map(toMessage);
      const state = removal.reason === "expired" ? "expired" : "cleared";
      const mark = connection.statement(
        "UPDATE interrupts SET state = ?, claimed_by = NULL WHERE id = ?",
      );
      const counts = new Map<string, number>();
      for (const message of removed) {
        mark.run(state, message.id);
        counts.set(message.sessionId, (counts.get(message.sessionId) ?? 0) + 1);
        this.#audit.insert(prepareAuditEntry(removalAuditEntry(message, removal)));
        this.#notifier.record({ kind: "settled", sessionId: message.sessionId, id: message.id });
      }
      if (removal.reason === "deleted") {
        this.drop(removal.sessionId);
      } else {
        const count = connection.statement(
          removal.reason === "expired"
            ? "UPDATE interrupt_queues SET depth = depth - ?, expired = expired + ? WHERE session_id = ?"
            : "UPDATE interrupt_queues SET depth = depth - ?, cleared = cleared + ? WHERE session_id = ?",
        );
        for (const [sessionId, n] of counts) count.run(n, n, sessionId);
      }
      return removed;
    }
  }

  /** @internal Forgets the session's messages, counters and sequence, in the open transaction. */
  drop(sessionId: string): void {
    this.#connection.statement("DELETE FROM interrupts WHERE session_id = ?").run(sessionId);
    this.#connection.statement("DELETE FROM interrupt_queues WHERE session_id = ?").run(sessionId);
  }

  #removable(removal: InterruptRemoval): MessageRow[] {
    const connection = this.#connection;
    if (removal.reason === "expired") {
      return (
        removal.sessionId === undefined
          ? connection
              .statement(
                "SELECT id, session_id, message FROM interrupts WHERE state = 'queued' AND expires_at <= ? ORDER BY session_id, priority, seq",
              )
              .all(removal.now)
          : connection.statement(EXPIRED_OF_SESSION).all(removal.sessionId, removal.now)
      ) as MessageRow[];
    }
    return connection
      .statement(removal.reason === "cleared" ? ALL_QUEUED : QUEUED_AND_CLAIMED)
      .all(removal.sessionId) as MessageRow[];
  }
}

function toMessage(row: MessageRow): QueuedInterrupt {
  const where: RowName = () => `interrupts (${row.id})`;
  const message = readJson(row.message, "message", where);
  if (
    typeof message !== "object" ||
    message === null ||
    (message as { id?: unknown }).id !== row.id
  ) {
    throw corrupt(where, "message does not hold this message");
  }
  return message as QueuedInterrupt;
}
