import type * as Pg from "pg";
import type { Logger } from "../../logger.js";
import type { AuditStore } from "../audit-store.js";
import type { CheckpointStore } from "../checkpoint-store.js";
import type { DeliveryStore } from "../delivery-store.js";
import type { InterruptStore } from "../interrupt-store.js";
import type { Notifier, StoreEvent } from "../notifier.js";
import type { Lease, SessionStore } from "../session-store.js";
import type { Store, StoreBatch } from "../store.js";
import { auditInsert, encodeAudit } from "./audit-insert.js";
import { checkpointInsert, decisionInsert } from "./checkpoint-insert.js";
import { Database } from "./database.js";
import {
  type EncodedCheckpoints,
  encodeCheckpoints,
  isRunningStep,
  refusalOf,
} from "./encoded-checkpoints.js";
import { channelOf, quoteIdent } from "./identifier.js";
import { loadPg } from "./load-pg.js";
import { migrate } from "./migrations.js";
import { writeNestedGates } from "./nested-gates.js";
import { PostgresAuditStore } from "./postgres-audit-store.js";
import { PostgresCheckpointStore } from "./postgres-checkpoint-store.js";
import { PostgresDeliveryStore } from "./postgres-delivery-store.js";
import { PostgresInterruptStore } from "./postgres-interrupt-store.js";
import { PostgresNotifier } from "./postgres-notifier.js";
import { type PostgresStoreOptions, resolvePostgresOptions } from "./postgres-options.js";
import { PostgresSessionStore } from "./postgres-session-store.js";
import { type SettledRow, settle, settledEvents } from "./settle.js";
import { SUMMARY_CHANGED, SummaryGuesses, stepInsert } from "./step-insert.js";
import { toStoreError } from "./store-errors.js";

/**
 * A {@link Store} in PostgreSQL, for several processes or hosts sharing one database: any
 * process can send an interrupt, resume a suspended run or take over the session of a process
 * that died. Events travel with `LISTEN`/`NOTIFY`; leases are rows fenced by a token (see
 * `docs/persistence.md`).
 *
 * @example
 * ```ts
 * import { PostgresStore } from "trellis/postgres";
 *
 * const store = await PostgresStore.connect({
 *   connectionString: process.env.DATABASE_URL,
 *   schema: "trellis",
 * });
 * const agent = new GraphAgent({ graph, store });
 * // …
 * await store.close();
 * ```
 */
export class PostgresStore implements Store {
  readonly #db: Database;
  readonly #s: string;
  readonly #channel: string;
  readonly #notifier: PostgresNotifier;
  readonly #checkpoints: PostgresCheckpointStore;
  readonly #interrupts: PostgresInterruptStore;
  readonly #audit: PostgresAuditStore;
  readonly #deliveries: PostgresDeliveryStore;
  readonly #sessions: PostgresSessionStore;
  readonly #fastSteps: boolean;
  /** What this store wrote into summary rows, to pick a step's statement. */
  readonly #guesses = new SummaryGuesses();

  private constructor(
    db: Database,
    schema: string,
    notifier: PostgresNotifier,
    channel: string,
    fastSteps: boolean,
  ) {
    this.#db = db;
    this.#fastSteps = fastSteps;
    this.#s = quoteIdent(schema);
    this.#channel = channel;
    this.#notifier = notifier;
    this.#checkpoints = new PostgresCheckpointStore(db, this.#s);
    const publish = (events: readonly StoreEvent[]) => notifier.publish(events);
    this.#interrupts = new PostgresInterruptStore(db, this.#s, schema, channel, publish);
    this.#audit = new PostgresAuditStore(db, this.#s);
    this.#deliveries = new PostgresDeliveryStore(db, this.#s);
    this.#sessions = new PostgresSessionStore(
      db,
      this.#s,
      channel,
      () => notifier.pid,
      this.#interrupts,
      publish,
    );
  }

  /**
   * Connects, creates the schema and its tables when missing and applies pending migrations
   * (once, even when several processes connect at once), and starts listening for events.
   *
   * @throws InvalidOptionError for a wrong option.
   * @throws MissingDependencyError when the `pg` package is not installed.
   * @throws StoreUnavailableError when the database cannot be reached.
   * @throws StoreVersionError when the schema was written by a newer version of Trellis.
   */
  static async connect(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const resolved = resolvePostgresOptions(options);
    const driver = await loadPg();
    const pool = new driver.Pool(resolved.pool);
    pool.on("error", (error) => reportIdle(resolved.logger, error));
    const db = new Database(pool);
    const channel = channelOf(resolved.schema);
    const s = quoteIdent(resolved.schema);
    const notifier = new PostgresNotifier({
      driver,
      config: listenerConfig(resolved.pool),
      channel,
      logger: resolved.logger,
      onReconnect: async (oldPid, newPid) => {
        // Leases this store holds follow its new connection, unless taken over meanwhile.
        await db.query({
          text: `UPDATE ${s}.leases SET holder_pid = $2 WHERE holder_pid = $1`,
          values: [oldPid, newPid],
        });
      },
    });
    pool.on("connect", (client) => {
      // A dropped connection can report its end more than once, after its query already failed
      // and while no one listens; without a listener of its own that would crash the process.
      client.on("error", () => {});
      // What this connection notifies, the store publishes itself: the listener skips it.
      notifier.addOwnConnection(backendPid(client));
    });
    pool.on("remove", (client) => notifier.removeOwnConnection(backendPid(client)));
    try {
      // The listening connection opens while the schema is checked: LISTEN needs no table.
      const [migrated, listened] = await Promise.allSettled([
        db.transaction((tx) => migrate(tx, resolved.schema, Date.now())),
        notifier.start(),
      ]);
      if (migrated.status === "rejected") throw migrated.reason;
      if (listened.status === "rejected") throw listened.reason;
    } catch (error) {
      await notifier.close();
      await db.close().catch(() => {});
      throw toStoreError(error);
    }
    return new PostgresStore(
      db,
      resolved.schema,
      notifier,
      channel,
      resolved.stepCommit === "fast",
    );
  }

  /** Checkpoints, as JSON text in the schema's tables. */
  get checkpoints(): CheckpointStore {
    return this.#checkpoints;
  }
  /** The interrupt queues, claimed with `FOR UPDATE SKIP LOCKED`. */
  get interrupts(): InterruptStore {
    return this.#interrupts;
  }
  /** The audit trail. */
  get audit(): AuditStore {
    return this.#audit;
  }
  /** The webhook outbox. */
  get deliveries(): DeliveryStore {
    return this.#deliveries;
  }
  /** Session leases (freed at once when the holder's connection is gone) and inbox summaries. */
  get sessions(): SessionStore {
    return this.#sessions;
  }
  /**
   * Events: those of this store's own writes right after they commit, and those of other
   * stores and processes over `LISTEN`/`NOTIFY`.
   */
  get notifier(): Notifier {
    return this.#notifier;
  }

  /**
   * Writes a batch atomically. Checkpoints with a lease and no settlement (what a run writes
   * after each node, and at its start and end with their audit entries) are one statement:
   * fencing, insert, lease extension, summary, notification and audit entries in one round
   * trip. Audit entries alone are one statement too. So is a batch of one checkpoint that settles
   * messages, as a gate's decision is (`decisionInsert`); one that settles with several is one
   * transaction of two statements: the checkpoints, then the settlements with the audit entries
   * and the notifications (`settle.ts`). Once the write committed, its events are published to
   * this store's listeners: every checkpoint of a session's own thread, though other processes
   * are told only of those that change the session's summary.
   */
  async commit(batch: StoreBatch): Promise<void> {
    const { lease, checkpoints = [], settle: settlements = [], audit = [] } = batch;
    // Everything that can be refused without the database is checked before anything is sent.
    const encoded = encodeCheckpoints(checkpoints);
    const entries = audit.length === 0 ? undefined : encodeAudit(audit);
    const s = this.#s;
    const writesCheckpoints = checkpoints.length > 0 || lease !== undefined;
    try {
      if (encoded.nested) {
        await this.#commitNested(encoded, lease, batch.now, settlements, entries);
        return;
      }
      if (settlements.length === 0 && writesCheckpoints) {
        if (entries !== undefined) {
          // Never relaxed: a batch with audit entries waits for the disk (see `isRunningStep`).
          await this.#db.query(
            checkpointInsert(s, this.#channel, encoded, lease, batch.now, true, false, entries),
          );
          this.#guesses.wrote(encoded);
        } else {
          const relaxed = this.#fastSteps && isRunningStep(encoded);
          if (!(await this.#step(encoded, lease, batch.now, relaxed))) {
            await this.#db.query(
              checkpointInsert(s, this.#channel, encoded, lease, batch.now, true, relaxed),
            );
            this.#guesses.wrote(encoded);
          }
        }
        this.#notifier.publish(encoded.events);
        return;
      }
      if (settlements.length === 0) {
        // Audit entries alone: one statement, nothing to notify.
        if (entries !== undefined) await this.#db.query(auditInsert(s, entries));
        return;
      }
      if (encoded.rows.length === 1) {
        // A gate's decision with the message that made it: one statement.
        const rows = await this.#db.query<SettledRow>(
          decisionInsert(s, this.#channel, encoded, lease, batch.now, settlements, entries),
        );
        this.#guesses.wrote(encoded);
        this.#notifier.publish([...settledEvents(rows), ...encoded.events]);
        return;
      }
      // The checkpoints first, then the messages with the audit entries and every event.
      const events = await this.#db.transaction(async (tx) => {
        if (writesCheckpoints) {
          await tx.query(checkpointInsert(s, this.#channel, encoded, lease, batch.now, false));
        }
        const notify = { channel: this.#channel, events: encoded.events };
        const settled = await settle(tx, s, settlements, batch.now, notify, entries);
        return [...settled, ...encoded.events];
      });
      this.#guesses.wrote(encoded);
      this.#notifier.publish(events);
    } catch (error) {
      for (const summary of encoded.summaries) this.#guesses.forget(summary.sessionId);
      throw refusalOf(error, encoded, lease) ?? error;
    }
  }

  /**
   * Commits a batch in which a checkpoint of a nested graph's thread may change its session's
   * gate: one transaction of the checkpoints statement (with the audit entries, unless messages
   * are settled), the gates (`nested-gates.ts`), and the settlements with the audit entries.
   */
  async #commitNested(
    encoded: EncodedCheckpoints,
    lease: Lease | undefined,
    now: number,
    settlements: NonNullable<StoreBatch["settle"]>,
    entries: ReturnType<typeof encodeAudit> | undefined,
  ): Promise<void> {
    const s = this.#s;
    const channel = this.#channel;
    const settling = settlements.length > 0;
    const { events, gates } = await this.#db.transaction(async (tx) => {
      await tx.query(
        checkpointInsert(
          s,
          channel,
          encoded,
          lease,
          now,
          !settling,
          false,
          settling ? undefined : entries,
        ),
      );
      const nested = await writeNestedGates(tx, s, channel, encoded.records);
      const settled = settling
        ? await settle(tx, s, settlements, now, { channel, events: encoded.events }, entries)
        : [];
      return { events: [...settled, ...encoded.events, ...nested.events], gates: nested.gates };
    });
    this.#guesses.wrote(encoded);
    for (const [sessionId, gate] of gates) this.#guesses.gateIs(sessionId, gate);
    this.#notifier.publish(events);
  }

  /**
   * Commits a step with the lean statement when the session's summary stays as it is (see
   * `step-insert.ts`). `false`: it was not sent, or the summary row had changed meanwhile and
   * nothing was written; the caller sends the full statement.
   */
  async #step(
    encoded: EncodedCheckpoints,
    lease: Lease | undefined,
    now: number,
    relaxed: boolean,
  ): Promise<boolean> {
    if (!this.#guesses.unchanged(encoded, lease)) return false;
    try {
      await this.#db.query(stepInsert(this.#s, encoded, lease, now, relaxed));
      return true;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== SUMMARY_CHANGED) throw error;
      this.#guesses.forget(lease.sessionId);
      return false;
    }
  }

  /** Stops listening and closes every connection. Leases this store holds become free at once. */
  async close(): Promise<void> {
    await this.#notifier.close();
    await this.#db.close();
  }
}

/** The listening connection's settings: the pool's, without the statement timeout. */
function listenerConfig(pool: Pg.PoolConfig): Pg.ClientConfig {
  const { max: _max, statement_timeout: _timeout, ...config } = pool;
  return { ...config, application_name: `${pool.application_name ?? "trellis"} listener` };
}

/** The backend pid of a pool connection (the driver's `processID`, which its types omit). */
function backendPid(client: Pg.PoolClient): number | null | undefined {
  return (client as Pg.PoolClient & { processID?: number | null }).processID;
}

function reportIdle(logger: Logger, error: Error): void {
  logger.warn("An idle PostgreSQL connection failed; the pool replaces it", {
    error: error.message,
  });
}
