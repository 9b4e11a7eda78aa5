/** One step of the SQLite store's schema: version `n` is applied to a database at version `n - 1`. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  /** SQL statements run in the migration's transaction. */
  readonly sql: string;
}
