import type * as Pg from "pg";
import { closedError, toStoreError } from "./store-errors.js";

/** One statement: a name makes the driver prepare it once per connection and reuse the plan. */
export interface Statement {
  readonly name?: string;
  readonly text: string;
  readonly values?: readonly unknown[];
}

/** Thrown by the work of a transaction to roll it back and return `value`. */
class Rollback {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}

/**
 * Ends the work of {@link Database.transaction} without writing anything: the transaction is
 * rolled back and `transaction` returns `value`.
 */
export function rollback(value: unknown): never {
  throw new Rollback(value);
}

/**
 * SQLSTATEs after which PostgreSQL rolled the whole transaction back to let another one go on:
 * `deadlock_detected` and `serialization_failure`. Every writer takes a session's rows in one
 * order (`postgres-lock-order.test.ts`), so the common races queue instead; a rarer one (a
 * session's deletion, a sweep of expired messages and a send at once) can still close a
 * cycle, and PostgreSQL then fails one of them after `deadlock_timeout`. Since nothing of it
 * was written, it runs again, up to {@link RETRIES} times, before the error reaches the caller.
 */
const RETRIED = new Set(["40P01", "40001"]);
const RETRIES = 3;

function retried(error: unknown, attempt: number): boolean {
  return attempt < RETRIES && RETRIED.has(String((error as { code?: unknown })?.code));
}

/** A connection inside a transaction. */
export interface Transaction {
  query<R extends object>(statement: Statement): Promise<R[]>;
}

/**
 * The query pool of a PostgreSQL store: runs statements and transactions and turns driver
 * errors into store errors. A connection that failed is thrown away, and the pool opens a new
 * one for the next operation, so the store works again once the database is back.
 */
export class Database {
  readonly #pool: Pg.Pool;
  #closed = false;

  constructor(pool: Pg.Pool) {
    this.#pool = pool;
  }

  /** Runs one statement on its own (one round trip, its own transaction). */
  async query<R extends object>(statement: Statement): Promise<R[]> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw closedError();
      try {
        const result = await this.#pool.query<R>(statement as Pg.QueryConfig);
        return result.rows;
      } catch (error) {
        if (!retried(error, attempt)) throw toStoreError(error);
      }
    }
  }

  /**
   * Runs `work` between BEGIN and COMMIT on one connection. When `work` throws, the
   * transaction is rolled back and the error rethrown; nothing of it was written. A
   * transaction PostgreSQL rolled back to break a deadlock runs `work` again, so `work` must
   * only query and return.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#transactionOnce(work);
      } catch (error) {
        if (!retried(error, attempt)) throw toStoreError(error);
      }
    }
  }

  /** One try of {@link transaction}; throws the driver's errors as they are. */
  async #transactionOnce<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    const client = await this.#pool.connect();
    const tx: Transaction = {
      query: async <R extends object>(statement: Statement) =>
        (await client.query<R>(statement as Pg.QueryConfig)).rows,
    };
    let broken: Error | undefined;
    // A connection that drops while checked out reports it here (besides failing the query);
    // it is then thrown away on release.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const result = await work(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch (failed) {
        // The connection is gone; the database rolled the transaction back itself.
        broken = failed as Error;
      }
      if (error instanceof Rollback && broken === undefined) return error.value as T;
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
