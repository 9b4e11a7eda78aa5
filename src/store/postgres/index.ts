/**
 * `trellis/postgres`: the PostgreSQL store, for several processes or hosts sharing one
 * database. Needs the optional peer dependency `pg` (`npm install pg`), which is loaded only
 * when a store connects.
 */

export type { PostgresStoreOptions } from "./postgres-options.js";
export { PostgresStore } from "./postgres-store.js";
