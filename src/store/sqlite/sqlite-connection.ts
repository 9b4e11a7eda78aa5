import { StoreUnavailableError } from "../../errors.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-driver.js";
import { STORE_NAME, toStoreError } from "./sqlite-errors.js";

/**
 * One connection and its transactions. Every store method runs in one transaction here: a
 * write takes the write lock first (`BEGIN IMMEDIATE`), so two processes never interleave a
 * read-check-write; a read with several statements sees one snapshot (`BEGIN`). The driver is
 * synchronous, so a transaction runs to its end before anything else in this process runs.
 */
export class SqliteConnection {
  readonly db: SqliteDatabase;
  readonly #busyTimeoutMs: number;
  /** Prepared statements by SQL text: each is compiled once per connection. */
  readonly #statements = new Map<string, SqliteStatement>();
  /** What to do once the open write transaction commits (publish its events). */
  #afterCommit: (() => void)[] = [];
  #depth = 0;
  #closed = false;
  /** Numbers this connection's write transactions, so a value can be cached for one of them. */
  #writes = 0;
  readonly #begin: SqliteStatement;
  readonly #beginRead: SqliteStatement;
  readonly #commit: SqliteStatement;
  readonly #rollback: SqliteStatement;

  constructor(db: SqliteDatabase, busyTimeoutMs: number) {
    this.db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#beginRead = db.prepare("BEGIN");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The number of the current (or last) write transaction. */
  get writeNumber(): number {
    return this.#writes;
  }

  /** The prepared statement for `sql`, compiled on first use. */
  statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `body` in a write transaction and commits it; on any throw rolls everything back and
   * throws the store's named error. Nested calls join the outer transaction.
   */
  write<T>(what: string, body: () => T): T {
    this.#check(what);
    if (this.#depth > 0) return body();
    let result: T;
    try {
      this.#begin.run();
      this.#writes++;
      this.#depth++;
      try {
        result = body();
        this.#commit.run();
      } finally {
        this.#depth--;
      }
    } catch (error) {
      this.#afterCommit = [];
      if (this.db.inTransaction) this.#rollback.run();
      throw toStoreError(error, what, this.#busyTimeoutMs);
    }
    const callbacks = this.#afterCommit;
    if (callbacks.length > 0) {
      this.#afterCommit = [];
      for (const callback of callbacks) callback();
    }
    return result;
  }

  /** Runs `body` in a read transaction, so its statements see one snapshot. */
  read<T>(what: string, body: () => T): T {
    this.#check(what);
    if (this.#depth > 0) return body();
    try {
      this.#beginRead.run();
      this.#depth++;
      try {
        const result = body();
        this.#commit.run();
        return result;
      } finally {
        this.#depth--;
      }
    } catch (error) {
      if (this.db.inTransaction) this.#rollback.run();
      throw toStoreError(error, what, this.#busyTimeoutMs);
    }
  }

  /** Runs a single statement's work outside a transaction, with the same error handling. */
  run<T>(what: string, body: () => T): T {
    this.#check(what);
    try {
      return body();
    } catch (error) {
      throw toStoreError(error, what, this.#busyTimeoutMs);
    }
  }

  /** Calls `callback` once the open write transaction commits; never if it rolls back. */
  afterCommit(callback: () => void): void {
    this.#afterCommit.push(callback);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }

  #check(what: string): void {
    if (this.#closed) {
      throw new StoreUnavailableError(STORE_NAME, `\`${what}\` was called after \`close()\``);
    }
  }
}
