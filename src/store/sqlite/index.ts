/**
 * `trellis/sqlite`: the durable SQLite store. Importing it does not load the driver;
 * `SqliteStore.open()` does, and needs the optional package `better-sqlite3` (12.x).
 */

export type { SqliteStoreOptions } from "./sqlite-options.js";
export type { RetentionResult } from "./sqlite-store.js";
export { SqliteStore } from "./sqlite-store.js";
