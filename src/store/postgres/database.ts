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
    if (this.#closed) throw closedError();
    try {
      const result = await this.#pool.query<R>(statement as Pg.QueryConfig);
      return result.rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /**
   * Runs `work` between BEGIN and COMMIT on one connection. When `work` throws, the
   * transaction is rolled back and the error rethrown; nothing of it was written.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    let client: Pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw toStoreError(error);
    }
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
      throw toStoreError(error);
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
