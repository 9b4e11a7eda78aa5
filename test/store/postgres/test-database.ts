/**
 * The database the PostgreSQL tests use: `TRELLIS_TEST_DATABASE_URL`, else the local server CI
 * starts. Each test file works in schemas of its own, named at random and dropped after it.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Logger, silentLogger } from "../../../src/logger.js";
import type { PostgresStoreOptions } from "../../../src/store/postgres/postgres-options.js";
import { PostgresStore } from "../../../src/store/postgres/postgres-store.js";

export const DATABASE_URL =
  process.env.TRELLIS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other test uses. */
export function testSchema(purpose: string): string {
  return `test_${purpose}_${randomBytes(5).toString("hex")}`;
}

/** Connections for the tests' own statements; they close themselves when idle. */
const admin = new pg.Pool({
  connectionString: DATABASE_URL,
  max: 2,
  idleTimeoutMillis: 500,
  allowExitOnIdle: true,
});

/** Runs one statement (or several, without values) outside any store. */
export async function sql<R extends object = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const result = await admin.query<R>(text, values.length === 0 ? undefined : values);
  return (Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows) as R[];
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Test schemas still in the database, to check that none is left behind. */
export async function schemasLike(prefix: string): Promise<string[]> {
  const rows = await sql<{ name: string }>(
    "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1",
    [`${prefix}%`],
  );
  return rows.map((row) => row.name);
}

/** Set TRELLIS_TEST_LOG=1 to see what the stores under test report. */
const consoleLoggerForTests: Logger = {
  debug: (message, attributes) => console.debug(message, attributes ?? ""),
  info: (message, attributes) => console.info(message, attributes ?? ""),
  warn: (message, attributes) => console.warn(message, attributes ?? ""),
  error: (message, attributes) => console.error(message, attributes ?? ""),
};

export function connect(
  schema: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  return PostgresStore.connect({
    connectionString: DATABASE_URL,
    schema,
    logger: process.env.TRELLIS_TEST_LOG ? consoleLoggerForTests : silentLogger,
    ...options,
  });
}

/** Empties every table of the schema but the applied-migrations one (faster than TRUNCATE). */
export async function truncate(schema: string): Promise<void> {
  const tables = [
    "checkpoints",
    "sessions",
    "leases",
    "interrupt_queues",
    "interrupts",
    "audit_sequences",
    "audit",
    "deliveries",
  ];
  await sql(tables.map((table) => `DELETE FROM "${schema}".${table};`).join("\n"));
}

/** Ends every connection of the store's pool (or its listener), as a crashed server would. */
export async function terminate(schema: string, which: "pool" | "listener"): Promise<number> {
  const rows = await sql<{ pid: number }>(
    `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity
     WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [which === "pool" ? `trellis ${schema}` : `trellis ${schema} listener`],
  );
  return rows.length;
}
