/** How driver errors become the store's named errors. */
import {
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
  TrellisError,
} from "../../errors.js";

export const STORE_NAME = "SQLite";

/** The SQLite result code of a driver error (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …). */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** True for a unique or primary key violation. */
export function isUniqueViolation(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * The named error for what the database reported during `what` (`"commit"`, `"enqueue"`, …):
 * a lock held past the busy timeout is `StoreLockedError`; a damaged file is
 * `StoreCorruptError`; any other SQLite error (a full disk, an I/O error, a read-only file) is
 * `StoreUnavailableError`. Anything that is not an SQLite error (a Trellis error, a bug) is
 * returned as it is. The transaction was rolled back in every case.
 */
export function toStoreError(error: unknown, what: string, busyTimeoutMs: number): unknown {
  if (error instanceof TrellisError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (code?.startsWith("SQLITE_BUSY") || code?.startsWith("SQLITE_LOCKED")) {
    return new StoreLockedError(
      STORE_NAME,
      `\`${what}\` waited ${busyTimeoutMs} ms for another connection's lock (${code})`,
      { cause: error },
    );
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB" || code?.startsWith("SQLITE_CORRUPT")) {
    return new StoreCorruptError(
      STORE_NAME,
      `\`${what}\` found a damaged database file: ${reason}`,
      {
        cause: error,
      },
    );
  }
  return new StoreUnavailableError(STORE_NAME, `\`${what}\` failed: ${reason}`, { cause: error });
}
