import type { Lease } from "../session-store.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import type { SqliteStatement } from "./sqlite-driver.js";

/** What a step's commit reads of its session's row: the lease and the summary fields it keeps. */
export interface FenceRow {
  readonly lease_token: string | null;
  readonly lease_expires_at: number | null;
  readonly graph: string | null;
  readonly status: string | null;
  readonly created_at: number | null;
  readonly gate: string | null;
}

/** What a committed step left of its session: the row, and the thread it wrote into. */
export interface StepLeft {
  /** The session's row as the step left it. */
  readonly row: FenceRow;
  /** The highest seq of the session's own thread: the step's. */
  readonly top: number;
  /** Whether every id of that thread has the form `<run id>.<seq>` (none is in the id index). */
  readonly plainIds: boolean;
}

/**
 * What this connection's last write transaction left, when it was a run's step, so that the
 * next step of the same lease need not read it again. A step's commit reads the session's row
 * (to fence the lease and compare the summary) and its thread's highest seq and ids (to refuse
 * a conflicting checkpoint): two statements, about a sixth of a step's time on tmpfs. While
 * nothing else has written to the database, what they would read is what the last step left.
 *
 * "Nothing else" is checked in the step's own write transaction, with the write lock held, so
 * nothing can change between the check and the step's writes:
 * - no other connection, in this process or another, has committed since: `PRAGMA
 *   data_version`, which only their commits change, reads the same as in the last step;
 * - this connection has run no other write transaction since: the last step's is the one
 *   before this one. A transaction that rolled back counts too, and a step is remembered only
 *   once its transaction has committed.
 * Anything else (another lease, another session, a step after a takeover or a deletion) reads
 * the database, as every step did before.
 */
export class SqliteStepMemo {
  readonly #connection: SqliteConnection;
  readonly #dataVersion: SqliteStatement;
  /** `PRAGMA data_version` as read in the open write transaction, by {@link recall}. */
  #version: unknown;
  #remembered:
    | {
        readonly write: number;
        readonly version: unknown;
        readonly sessionId: string;
        readonly token: string;
        readonly left: StepLeft;
      }
    | undefined;

  constructor(connection: SqliteConnection) {
    this.#connection = connection;
    this.#dataVersion = connection.statement("PRAGMA data_version").pluck();
  }

  /**
   * In a step's write transaction: what the last step of `lease` left, when nothing has
   * written since; `undefined` when the database must be read.
   */
  recall(lease: Lease): StepLeft | undefined {
    const version = this.#dataVersion.get();
    this.#version = version;
    const last = this.#remembered;
    if (
      last === undefined ||
      last.write !== this.#connection.writeNumber - 1 ||
      last.version !== version ||
      last.sessionId !== lease.sessionId ||
      last.token !== lease.token
    ) {
      return undefined;
    }
    return last.left;
  }

  /** In the same transaction, after {@link recall}: remembers what it leaves once it commits. */
  keep(lease: Lease, left: StepLeft): void {
    const remembered = {
      write: this.#connection.writeNumber,
      version: this.#version,
      sessionId: lease.sessionId,
      token: lease.token,
      left,
    };
    this.#connection.afterCommit(() => {
      this.#remembered = remembered;
    });
  }
}
