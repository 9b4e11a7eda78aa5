/**
 * `trellis/postgres`: the PostgreSQL store, for several processes or hosts sharing one
 * database. It needs the optional package `pg` (`npm install pg`), loaded only when a store
 * connects; without it, `PostgresStore.connect()` fails with `MissingDependencyError`.
 *
 * @module trellis/postgres
 */

export type { PostgresStoreOptions } from "../store/postgres/postgres-options.js";
export { PostgresStore } from "../store/postgres/postgres-store.js";
