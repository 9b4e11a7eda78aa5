/**
 * The schema's migrations and how they are applied. The table `trellis_migrations` lists the
 * versions applied to a database; `open()` applies the missing ones in order, all in one
 * `BEGIN IMMEDIATE` transaction, so two processes opening a new file at once apply each
 * migration exactly once (the second waits for the first and then finds nothing to do), and a
 * migration that fails leaves the database as it was.
 */
import { StoreCorruptError, StoreVersionError, TrellisError } from "../../errors.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import { STORE_NAME } from "./sqlite-errors.js";
import type { SqliteMigration } from "./sqlite-migration.js";
import { SCHEMA_V1 } from "./sqlite-schema-v1.js";
import { SCHEMA_V2 } from "./sqlite-schema-v2.js";
import { SCHEMA_V3 } from "./sqlite-schema-v3.js";
import { SCHEMA_V4 } from "./sqlite-schema-v4.js";

export type { SqliteMigration } from "./sqlite-migration.js";

/** Every migration this build knows, oldest first. Append only; never edit a released one. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: "initial schema", sql: SCHEMA_V1 },
  { version: 2, name: "partial index of checkpoint ids", sql: SCHEMA_V2 },
  { version: 3, name: "thread of a checkpoint event", sql: SCHEMA_V3 },
  { version: 4, name: "webhook outbox", sql: SCHEMA_V4 },
];

/** The schema version this build writes. */
export const SQLITE_SCHEMA_VERSION: number = SQLITE_MIGRATIONS.at(-1)!.version;

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS trellis_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/** The highest version applied to the database; 0 for a new (or foreign) database. */
export function schemaVersion(connection: SqliteConnection): number {
  const table = connection
    .statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trellis_migrations'")
    .pluck()
    .get();
  if (table === undefined) return 0;
  const version = connection
    .statement("SELECT coalesce(max(version), 0) FROM trellis_migrations")
    .pluck()
    .get();
  if (typeof version !== "number" || !Number.isInteger(version)) {
    throw new StoreCorruptError(
      STORE_NAME,
      `trellis_migrations holds a version that is not an integer: ${String(version)}`,
    );
  }
  return version;
}

/** Throws `StoreVersionError` when the database is newer than `migrations` know. */
export function checkVersion(
  found: number,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): void {
  const supported = migrations.at(-1)?.version ?? 0;
  if (found > supported) throw new StoreVersionError(STORE_NAME, found, supported);
}

/**
 * Applies the migrations the database lacks, in order, in one write transaction; returns the
 * versions it applied. Throws `StoreVersionError` (changing nothing) when the database is newer
 * than `migrations`, and `StoreCorruptError` when its applied versions have a gap.
 */
export function migrate(
  connection: SqliteConnection,
  now: number,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
  /** Runs once the version is known to be supported, before anything else is changed. */
  prepare: () => void = () => {},
): number[] {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new TrellisError(
        "INTERNAL",
        `Migration \`${migration.name}\` has version ${migration.version}; migrations are numbered from 1 without gaps, so it must be ${index + 1}.`,
      );
    }
  });
  // Read first without the write lock: a database that is up to date needs none.
  const current = connection.read("open", () => schemaVersion(connection));
  checkVersion(current, migrations);
  prepare();
  if (current === migrations.length) return [];
  return connection.write("migrate", () => {
    connection.db.exec(MIGRATIONS_TABLE);
    const applied = connection
      .statement("SELECT version FROM trellis_migrations ORDER BY version")
      .pluck()
      .all() as number[];
    const found = applied.at(-1) ?? 0;
    checkVersion(found, migrations);
    if (applied.some((version, index) => version !== index + 1)) {
      throw new StoreCorruptError(
        STORE_NAME,
        `trellis_migrations lists versions ${applied.join(", ")}, which are not 1 to ${found}`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations.slice(found)) {
      connection.db.exec(migration.sql);
      connection
        .statement("INSERT INTO trellis_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .run(migration.version, migration.name, now);
      done.push(migration.version);
    }
    return done;
  });
}
