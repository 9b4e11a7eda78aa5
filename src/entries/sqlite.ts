/**
 * `trellis/sqlite`: the durable SQLite store, one file that every process on the machine can
 * share. It needs the optional package `better-sqlite3` (version 12), loaded only when a store
 * opens; without it, `SqliteStore.open()` fails with `MissingDependencyError`.
 *
 * @module trellis/sqlite
 */

export type { SqliteStoreOptions } from "../store/sqlite/sqlite-options.js";
export { type RetentionResult, SqliteStore } from "../store/sqlite/sqlite-store.js";
