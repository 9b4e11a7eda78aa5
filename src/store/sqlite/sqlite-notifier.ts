import { randomInt } from "node:crypto";
import { type CancelTimer, later } from "../../clock.js";
import type { Logger } from "../../logger.js";
import { MemoryNotifier } from "../memory/memory-notifier.js";
import type { Notifier, StoreEvent, StoreListener } from "../notifier.js";
import type { SqliteConnection } from "./sqlite-connection.js";

/**
 * How long outbox rows are kept, in milliseconds: a subscriber whose process stalls longer
 * than this misses the events in between (delivery is a hint; subscribers re-read the store).
 */
export const EVENT_RETENTION_MS = 10_000;
/** Every this many events recorded, the connection notes a prune mark. */
const MARK_EVERY = 1024;
/** How often a polling connection says it still listens, in milliseconds. */
export const HEARTBEAT_MS = 5_000;
/**
 * A listener not heard of for this long is taken for gone (its process died or stalled) and
 * writers stop filling the outbox for it; it registers again with its next heartbeat.
 */
export const LISTENER_TTL_MS = 30_000;
/** Events read per query while catching up. */
const BATCH = 512;

interface EventRow {
  readonly id: number;
  readonly origin: number;
  readonly kind: string;
  readonly session_id: string;
  readonly ref: string | null;
  readonly priority: number | null;
  readonly detail: string | null;
  readonly thread: string | null;
}

/**
 * The SQLite store's notifier. Events reach this store's listeners right after the transaction
 * of the change they describe commits (never when it rolls back). Other connections (other
 * store instances, other processes) learn of them through the `events` table, the outbox:
 *
 * - A connection with subscribers registers in `listeners` and polls: every `pollIntervalMs` it
 *   reads `PRAGMA data_version`, which changes only when another connection committed, and
 *   then the outbox rows it has not seen. An event from elsewhere therefore arrives within one
 *   poll interval plus the time of that read.
 * - A writer adds outbox rows, in the transaction of the change, only while another connection
 *   is registered: a store that nobody else listens to writes no outbox rows at all. A listener
 *   registers in a write transaction before it notes where the outbox ends, so it misses no
 *   event committed after it subscribed.
 */
export class SqliteNotifier implements Notifier {
  readonly #connection: SqliteConnection;
  readonly #fanout: MemoryNotifier;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  /** Names this connection's rows in the outbox, so the poller skips what it delivered itself. */
  readonly #origin = randomInt(1, 2 ** 47);
  #subscribers = 0;
  #timer: CancelTimer | undefined;
  #lastId = 0;
  #dataVersion: unknown;
  #recorded = 0;
  /** Whether another connection listens, as read in the write transaction numbered `#checkedIn`. */
  #othersListen = false;
  #checkedIn = -1;
  #lastHeartbeat = 0;
  /** `[max id, wall time]` noted every {@link MARK_EVERY} events: rows up to it are that old. */
  readonly #marks: [number, number][] = [];

  constructor(connection: SqliteConnection, pollIntervalMs: number, logger: Logger) {
    this.#connection = connection;
    this.#pollIntervalMs = pollIntervalMs;
    this.#logger = logger;
    this.#fanout = new MemoryNotifier(logger);
  }

  subscribe(sessionId: string | null, listener: StoreListener): () => void {
    const stop = this.#fanout.subscribe(sessionId, listener);
    if (this.#subscribers++ === 0) this.#start();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      stop();
      if (--this.#subscribers === 0) this.#stop();
    };
  }

  /**
   * Writes `event` to the outbox in the open write transaction; this store's listeners get it
   * once the transaction commits, and never if it rolls back. With `remote` false only this
   * store's listeners get it (a running step's checkpoint: nothing elsewhere waits for it).
   */
  record(event: StoreEvent, remote = true): void {
    const connection = this.#connection;
    // Queued with the connection, which drops it if the transaction rolls back.
    connection.afterCommit(() => this.#fanout.publish(event));
    if (!remote || !this.#othersListening()) return;
    const now = Date.now();
    const info = connection
      .statement(
        "INSERT INTO events (origin, written_at, kind, session_id, ref, priority, detail, thread) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        this.#origin,
        now,
        event.kind,
        event.sessionId,
        event.kind === "released" || event.kind === "resync" ? null : event.id,
        event.kind === "queued" ? event.priority : null,
        event.kind === "queued"
          ? (event.action ?? null)
          : event.kind === "checkpoint"
            ? event.status
            : null,
        // NULL for the session's own thread, as rows of schema version 2 hold.
        event.kind === "checkpoint" && event.thread !== "" ? event.thread : null,
      );
    if (++this.#recorded % MARK_EVERY === 0) {
      this.#marks.push([Number(info.lastInsertRowid), now]);
      this.#pruneMarks(now);
    }
  }

  /** Whether a connection other than this one listens; read once per write transaction. */
  #othersListening(): boolean {
    const transaction = this.#connection.writeNumber;
    if (this.#checkedIn !== transaction) {
      this.#checkedIn = transaction;
      this.#othersListen =
        this.#connection
          .statement("SELECT 1 FROM listeners WHERE origin != ? AND seen_at >= ? LIMIT 1")
          .pluck()
          .get(this.#origin, Date.now() - LISTENER_TTL_MS) !== undefined;
    }
    return this.#othersListen;
  }

  /**
   * Deletes outbox rows older than {@link EVENT_RETENTION_MS} and listeners not heard of for
   * {@link LISTENER_TTL_MS}, in the open write transaction; returns how many outbox rows.
   */
  prune(now: number): number {
    const connection = this.#connection;
    connection.statement("DELETE FROM listeners WHERE seen_at < ?").run(now - LISTENER_TTL_MS);
    return connection
      .statement("DELETE FROM events WHERE written_at < ? AND id < (SELECT max(id) FROM events)")
      .run(now - EVENT_RETENTION_MS).changes;
  }

  /** Stops polling; listeners get nothing more. */
  close(): void {
    if (this.#subscribers > 0) this.#stop();
    this.#subscribers = 0;
  }

  /**
   * Rows below the newest mark older than the retention were all written before that mark's
   * time (the mark is the highest id at that moment). The newest row is never deleted, so ids
   * are never handed out twice.
   */
  #pruneMarks(now: number): void {
    let index = -1;
    for (let i = 0; i < this.#marks.length; i++) {
      if (this.#marks[i]![1] < now - EVENT_RETENTION_MS) index = i;
    }
    if (index < 0) return;
    const [id] = this.#marks[index]!;
    this.#marks.splice(0, index + 1);
    this.#connection.statement("DELETE FROM events WHERE id < ?").run(id);
  }

  #start(): void {
    try {
      this.#register();
    } catch (error) {
      this.#logger.error("The SQLite notifier could not register as a listener; it retries", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.#schedule();
  }

  /**
   * Says (again) that this connection listens, then notes where the outbox ends: every writer
   * that commits after the registration sees it and fills the outbox for this connection.
   */
  #register(): void {
    const connection = this.#connection;
    const now = Date.now();
    connection.write("subscribe", () => {
      connection
        .statement("INSERT OR REPLACE INTO listeners (origin, seen_at) VALUES (?, ?)")
        .run(this.#origin, now);
    });
    this.#lastHeartbeat = now;
    if (this.#dataVersion === undefined) {
      this.#dataVersion = connection.statement("PRAGMA data_version").pluck().get();
      this.#lastId = Number(
        connection.statement("SELECT coalesce(max(id), 0) FROM events").pluck().get(),
      );
    }
  }

  #stop(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#dataVersion = undefined;
    if (this.#connection.closed) return;
    try {
      this.#connection.write("unsubscribe", () => {
        this.#connection.statement("DELETE FROM listeners WHERE origin = ?").run(this.#origin);
      });
    } catch (error) {
      this.#logger.warn("The SQLite notifier could not unregister; its entry expires", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #schedule(): void {
    // Kept alive: while anyone subscribes, this poll is how their event arrives.
    this.#timer = later(this.#pollIntervalMs, this.#tick, { keepAlive: true });
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#subscribers === 0 || this.#connection.closed) return;
    try {
      if (this.#dataVersion === undefined || Date.now() - this.#lastHeartbeat >= HEARTBEAT_MS) {
        this.#register();
      }
      const version = this.#connection.statement("PRAGMA data_version").pluck().get();
      if (version !== this.#dataVersion) {
        this.#dataVersion = version;
        this.#drain();
      }
    } catch (error) {
      this.#logger.warn("The SQLite notifier could not read new events; it tries again", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (this.#subscribers > 0 && !this.#connection.closed) this.#schedule();
  };

  /** Delivers the outbox rows other connections wrote since the last read. */
  #drain(): void {
    const select = this.#connection.statement(
      "SELECT id, origin, kind, session_id, ref, priority, detail, thread FROM events WHERE id > ? ORDER BY id LIMIT ?",
    );
    for (;;) {
      const rows = select.all(this.#lastId, BATCH) as EventRow[];
      for (const row of rows) {
        this.#lastId = row.id;
        if (row.origin === this.#origin) continue;
        const event = toEvent(row);
        if (event === undefined) {
          this.#logger.warn("The SQLite notifier skipped an event it cannot read", { id: row.id });
          continue;
        }
        this.#fanout.publish(event);
        // A listener may have closed the store or unsubscribed everyone.
        if (this.#subscribers === 0 || this.#connection.closed) return;
      }
      if (rows.length < BATCH) return;
    }
  }
}

function toEvent(row: EventRow): StoreEvent | undefined {
  const sessionId = row.session_id;
  switch (row.kind) {
    case "queued":
      if (row.ref === null || row.priority === null) return undefined;
      return {
        kind: "queued",
        sessionId,
        id: row.ref,
        priority: row.priority,
        ...(row.detail === null ? {} : { action: row.detail }),
      };
    case "settled":
      return row.ref === null ? undefined : { kind: "settled", sessionId, id: row.ref };
    case "checkpoint":
      if (row.ref === null || row.detail === null) return undefined;
      return {
        kind: "checkpoint",
        sessionId,
        thread: row.thread ?? "",
        id: row.ref,
        status: row.detail as Extract<StoreEvent, { kind: "checkpoint" }>["status"],
      };
    case "released":
      return { kind: "released", sessionId };
    default:
      return undefined;
  }
}
