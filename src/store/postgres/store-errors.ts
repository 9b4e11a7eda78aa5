import { StoreCorruptError, StoreUnavailableError, TrellisError } from "../../errors.js";

/** The name of this backend in the store errors. */
export const STORE_NAME = "PostgreSQL";

/** SQLSTATE classes after which nothing of the statement was written and a retry may work. */
const UNAVAILABLE_CLASSES = new Set([
  "08", // connection exception
  "53", // insufficient resources (too many connections, disk full)
  "57", // operator intervention: terminated backend, shutdown, statement timeout
  "40", // transaction rollback: deadlock, serialization failure
  "3D", // the database does not exist
  "28", // invalid authorization
]);

/** Network failures the driver reports with a Node.js error code. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Whether an error from the driver means the database could not be reached or dropped us. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code)) return true;
    if (code.length === 5 && UNAVAILABLE_CLASSES.has(code.slice(0, 2))) return true;
  }
  return /Connection terminated|connection error|not queryable|timeout expired|Connection ended/i.test(
    error.message,
  );
}

/**
 * What an operation throws for a driver error: `StoreUnavailableError` when the database could
 * not be reached or the connection dropped (the database rolled the operation back), a Trellis
 * error as it is, anything else unchanged.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof TrellisError) return error;
  if (isUnavailable(error)) {
    return new StoreUnavailableError(STORE_NAME, (error as Error).message, { cause: error });
  }
  return error;
}

/** The store was closed; nothing was sent to the database. */
export function closedError(): StoreUnavailableError {
  return new StoreUnavailableError(STORE_NAME, "the store was closed");
}

/** A stored row that cannot be read. */
export function corrupt(detail: string, cause?: unknown): StoreCorruptError {
  return new StoreCorruptError(STORE_NAME, detail, cause === undefined ? undefined : { cause });
}
