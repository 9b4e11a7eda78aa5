import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type CancelTimer, every, systemClock } from "../../clock.js";
import { LeaseLostError, StoreLockedError, StoreUnavailableError } from "../../errors.js";
import type { AuditStore } from "../audit-store.js";
import type { CheckpointStore } from "../checkpoint-store.js";
import type { DeliveryStore } from "../delivery-store.js";
import type { InterruptStore } from "../interrupt-store.js";
import { jsonText } from "../json-text.js";
import type { Notifier } from "../notifier.js";
import type { SessionStore } from "../session-store.js";
import type { Store, StoreBatch } from "../store.js";
import { gateEffect, isToldOf } from "../summary-gate.js";
import { prepareAuditEntry, SqliteAuditStore } from "./sqlite-audit-store.js";
import { SqliteCheckpointStore } from "./sqlite-checkpoint-store.js";
import { SqliteConnection } from "./sqlite-connection.js";
import { SqliteDeliveryStore } from "./sqlite-delivery-store.js";
import { addonError, loadSqliteDriver, type SqliteDatabase } from "./sqlite-driver.js";
import { STORE_NAME, sqliteCode, toStoreError } from "./sqlite-errors.js";
import { SqliteInterruptStore } from "./sqlite-interrupt-store.js";
import type { SqliteMigration } from "./sqlite-migration.js";
import { migrate } from "./sqlite-migrations.js";
import { SqliteNotifier } from "./sqlite-notifier.js";
import {
  type ResolvedSqliteOptions,
  resolveSqliteOptions,
  type SqliteStoreOptions,
} from "./sqlite-options.js";
import { SqliteSessionStore } from "./sqlite-session-store.js";
import { SqliteStepMemo } from "./sqlite-step-memo.js";

const NONE: readonly never[] = Object.freeze([]);

/** What {@link SqliteStore.applyRetention} removed. */
export interface RetentionResult {
  /** Audit entries older than `auditRetentionMs` (0 when no retention is set). */
  readonly audit: number;
  /** Notifier outbox rows older than its retention. */
  readonly events: number;
}

/** @internal What tests replace: the driver import and the list of migrations. */
export interface SqliteStoreInternals {
  /** Typed without the driver's types, so these declarations do not need them. */
  readonly importer?: () => Promise<{ readonly default: unknown }>;
  readonly migrations?: readonly SqliteMigration[];
  /** `false`: every step reads the session's row and thread (what the step memo spares). */
  readonly stepMemo?: boolean;
}

/**
 * A {@link Store} in one SQLite file: durable, and shared by every process that opens the same
 * file. Each method is one transaction (writes take the write lock first), `commit()` writes a
 * step's checkpoints, settlements and audit entries atomically, and the notifier delivers the
 * events of other processes by polling. Needs the optional package `better-sqlite3` (12.x).
 *
 * @example
 * ```ts
 * import { SqliteStore } from "trellis/sqlite";
 *
 * const store = await SqliteStore.open({ path: ".trellis/trellis.db" });
 * const agent = new GraphAgent({ graph, store });
 * // …
 * await store.close();
 * ```
 */
export class SqliteStore implements Store {
  /** The file this store opened (or `":memory:"`). */
  readonly path: string;
  readonly #connection: SqliteConnection;
  readonly #options: ResolvedSqliteOptions;
  readonly #checkpoints: SqliteCheckpointStore;
  readonly #audit: SqliteAuditStore;
  readonly #deliveries: SqliteDeliveryStore;
  readonly #notifier: SqliteNotifier;
  readonly #interrupts: SqliteInterruptStore;
  readonly #sessions: SqliteSessionStore;
  /** What the last step's commit left, which the next step of its lease need not read again. */
  readonly #lastStep: SqliteStepMemo | undefined;
  #retention: CancelTimer | undefined;

  private constructor(
    connection: SqliteConnection,
    options: ResolvedSqliteOptions,
    stepMemo: boolean,
  ) {
    this.path = options.path;
    this.#connection = connection;
    this.#options = options;
    this.#checkpoints = new SqliteCheckpointStore(connection);
    this.#lastStep = stepMemo ? new SqliteStepMemo(connection) : undefined;
    this.#audit = new SqliteAuditStore(connection);
    this.#deliveries = new SqliteDeliveryStore(connection);
    this.#notifier = new SqliteNotifier(connection, options.pollIntervalMs, options.logger);
    this.#interrupts = new SqliteInterruptStore(connection, this.#audit, this.#notifier);
    this.#sessions = new SqliteSessionStore(connection, {
      requeue: (sessionId) => this.#interrupts.requeue(sessionId),
      drop: (sessionId, now, actor) => {
        this.#checkpoints.drop(sessionId);
        this.#deliveries.drop(sessionId);
        // Its messages go as any deletion removes them: audited, and their senders told.
        this.#interrupts.removeIn({ reason: "deleted", now, sessionId });
        this.#audit.insert(
          prepareAuditEntry({
            sessionId,
            at: now,
            kind: "session.deleted",
            ...(actor === undefined ? {} : { actor }),
          }),
        );
      },
      released: (sessionId) => this.#notifier.record({ kind: "released", sessionId }),
    });
  }

  /**
   * Opens (and creates, with its directory) the database at `options.path`, applies the
   * schema migrations it lacks, and prunes what retention allows.
   *
   * @throws InvalidOptionError for a wrong option.
   * @throws MissingDependencyError when `better-sqlite3` is not installed.
   * @throws StoreVersionError when the file was written by a newer Trellis (nothing is changed).
   * @throws StoreLockedError when another process holds the write lock past `busyTimeoutMs`.
   * @throws StoreCorruptError when the file is not a readable SQLite database.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    return SqliteStore.openWith(options, {});
  }

  /** @internal `open()` with a replaced driver import or migration list, for tests. */
  static async openWith(
    options: SqliteStoreOptions,
    internals: SqliteStoreInternals,
  ): Promise<SqliteStore> {
    const resolved = resolveSqliteOptions(options);
    const Driver = await loadSqliteDriver(internals.importer);
    const memory = resolved.path === ":memory:";
    let db: SqliteDatabase;
    try {
      if (!memory) mkdirSync(dirname(resolved.path), { recursive: true });
      db = new Driver(resolved.path, { timeout: resolved.busyTimeoutMs });
    } catch (error) {
      if (sqliteCode(error) !== undefined)
        throw toStoreError(error, "open", resolved.busyTimeoutMs);
      const message = error instanceof Error ? error.message : String(error);
      if (/bindings|NODE_MODULE_VERSION|\.node\b/.test(message)) throw addonError(error);
      throw new StoreUnavailableError(STORE_NAME, `cannot open \`${resolved.path}\`: ${message}`, {
        cause: error,
      });
    }
    const connection = new SqliteConnection(db, resolved.busyTimeoutMs);
    try {
      const now = resolved.clock.now();
      // The version is checked before anything is changed, so a newer file stays as it was.
      await openingTogether(resolved.busyTimeoutMs, () =>
        migrate(connection, now, internals.migrations, () => {
          if (!memory) {
            const mode = connection.run("open", () =>
              db.pragma("journal_mode = WAL", { simple: true }),
            );
            if (mode !== "wal") {
              resolved.logger.warn(
                "The SQLite file could not be put in WAL mode; readers will wait for writers",
                { path: resolved.path, journalMode: mode },
              );
            }
          }
          connection.run("open", () => db.pragma("synchronous = NORMAL"));
        }),
      );
      const store = new SqliteStore(connection, resolved, internals.stepMemo ?? true);
      store.applyRetention();
      store.#scheduleRetention();
      return store;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /** Checkpoints, keyed by session, thread and seq. */
  get checkpoints(): CheckpointStore {
    return this.#checkpoints;
  }
  /** The interrupt queues. */
  get interrupts(): InterruptStore {
    return this.#interrupts;
  }
  /** The audit trail. */
  get audit(): AuditStore {
    return this.#audit;
  }
  /** Session leases and inbox summaries. */
  get sessions(): SessionStore {
    return this.#sessions;
  }
  /** The webhook outbox. */
  get deliveries(): DeliveryStore {
    return this.#deliveries;
  }
  /** Events from this process at once, and from other processes by polling `PRAGMA data_version`. */
  get notifier(): Notifier {
    return this.#notifier;
  }

  async commit(batch: StoreBatch): Promise<void> {
    const { lease, checkpoints = NONE, settle = NONE, audit = NONE } = batch;
    // Everything that can be checked without the database is checked before the transaction.
    const entries = audit.length === 0 ? NONE : audit.map(prepareAuditEntry);
    const outcomes =
      settle.length === 0
        ? NONE
        : settle.map((settlement) => jsonText(settlement.outcome, "settle.outcome"));
    const now = batch.now;
    this.#connection.write("commit", () => {
      // A run's step (one checkpoint of the leased session's own thread) renews the lease and
      // updates the summary with one statement: it is the most frequent batch by far. While
      // nothing else writes, it reads neither the session's row nor its thread either: the last
      // step's memo holds both.
      const step =
        lease !== undefined &&
        checkpoints.length === 1 &&
        checkpoints[0]!.thread === "" &&
        checkpoints[0]!.sessionId === lease.sessionId;
      // Whether the step changed the session's summary: only then do other processes hear of
      // its checkpoint (one outbox row, a third page, while anyone elsewhere listens).
      let changed = true;
      if (step) {
        const record = checkpoints[0]!;
        const known = this.#lastStep?.recall(lease);
        const touched = this.#sessions.touchAndRecord(lease, now, record, known?.row);
        if (touched === undefined) throw new LeaseLostError(lease.sessionId);
        changed = touched.changed;
        const plainIds = this.#checkpoints.insert(record, known);
        this.#lastStep?.keep(lease, { row: touched.row, top: record.seq, plainIds });
      } else {
        if (lease !== undefined && !this.#sessions.touch(lease, now)) {
          throw new LeaseLostError(lease.sessionId);
        }
        for (const record of checkpoints) this.#checkpoints.insert(record);
      }
      for (let i = 0; i < settle.length; i++) {
        this.#interrupts.settle(settle[i]!, outcomes[i]!, now);
      }
      for (const entry of entries) this.#audit.insert(entry);
      for (const record of checkpoints) {
        if (record.thread !== "") {
          // A nested graph's checkpoint is told of (to every process: a batch that is not a
          // step counts as changed) only when it changed the summary's gate or decided a gate.
          const changedGate =
            gateEffect(record) === "nested" && this.#sessions.recordNested(record);
          if (!isToldOf(record, changedGate)) continue;
        } else if (!step) {
          this.#sessions.record(record);
        }
        this.#notifier.record(
          {
            kind: "checkpoint",
            sessionId: record.sessionId,
            thread: record.thread,
            id: record.id,
            status: record.status,
          },
          changed,
        );
      }
    });
  }

  /**
   * Prunes audit entries older than `auditRetentionMs` (when set) and old notifier outbox rows,
   * in one transaction. Runs when the store opens and every `retentionIntervalMs`; call it to
   * prune now.
   */
  applyRetention(): RetentionResult {
    const now = this.#options.clock.now();
    const retention = this.#options.auditRetentionMs;
    const connection = this.#connection;
    return connection.write("retention", () => ({
      audit:
        retention === undefined
          ? 0
          : connection.statement("DELETE FROM audit WHERE at < ?").run(now - retention).changes,
      events: this.#notifier.prune(Date.now()),
    }));
  }

  /** Stops the notifier and the retention timer and closes the connection. Idempotent. */
  async close(): Promise<void> {
    this.#retention?.();
    this.#retention = undefined;
    this.#notifier.close();
    this.#connection.close();
  }

  #scheduleRetention(): void {
    this.#retention = every(this.#options.retentionIntervalMs, () => {
      try {
        this.applyRetention();
      } catch (error) {
        this.#options.logger.warn("SQLite store retention failed; it runs again later", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }
}

/**
 * Runs the opening steps (version check, WAL mode, migrations), trying again while another
 * process opening the same new file holds its lock. SQLite answers some of these lock waits at
 * once with SQLITE_BUSY instead of calling the busy handler (switching a new file to WAL, or a
 * read lock that cannot be upgraded while another writer waits), so the busy timeout alone does
 * not cover processes that open one file at the same moment. Each step is idempotent.
 */
async function openingTogether<T>(busyTimeoutMs: number, steps: () => T): Promise<T> {
  const until = Date.now() + busyTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return steps();
    } catch (error) {
      if (!(error instanceof StoreLockedError) || Date.now() >= until) throw error;
      await systemClock.sleep(Math.min(5 * attempt, 50));
    }
  }
}
