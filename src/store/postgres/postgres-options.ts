import type { PoolConfig } from "pg";
import { InvalidOptionError } from "../../errors.js";
import { consoleLogger, type Logger } from "../../logger.js";

/** Options of {@link PostgresStore.connect}. */
export interface PostgresStoreOptions {
  /**
   * Where the database is: `postgres://user:password@host:5432/database`. Give this or `pool`;
   * with neither, the driver's own defaults apply (the `PGHOST`, `PGUSER`, … environment
   * variables, else a local server).
   */
  readonly connectionString?: string | undefined;
  /**
   * The driver's connection settings (host, user, password, ssl, …) when a URL is not enough.
   * `max` here is overridden by `poolSize` when that is given.
   */
  readonly pool?: PoolConfig | undefined;
  /**
   * The schema that holds the store's tables, created when missing. Each schema is its own
   * store: its own tables, migrations and notification channel. Letters, digits and `_`, at
   * most 48 characters, not starting with a digit. Default: `trellis`.
   */
  readonly schema?: string | undefined;
  /** Most connections the store opens for queries (one more listens for events). Default: 10. */
  readonly poolSize?: number | undefined;
  /**
   * Longest a statement may run before the database cancels it (and the operation fails with
   * `StoreUnavailableError`, nothing written). `0` turns the limit off. Default: 30 000.
   */
  readonly statementTimeoutMs?: number | undefined;
  /** Longest to wait for a connection to open. Default: 10 000. */
  readonly connectTimeoutMs?: number | undefined;
  /** Where listener failures and reconnects are reported. Default: the console logger. */
  readonly logger?: Logger | undefined;
  /**
   * Whether the checkpoint a run commits after a running step waits for the database to flush
   * it to disk.
   *
   * - `"fast"` (default): the checkpoints of running steps commit with `synchronous_commit =
   *   off`. The commit is visible to every process at once and survives the death of any
   *   client process; only a crash of the database server itself can roll back the last of them
   *   (at most about three times its `wal_writer_delay`, 600 ms by default), and then the run
   *   resumes from an earlier step and runs the nodes after it again, as it runs a node in
   *   flight when its process dies. Everything else waits for the disk as the server is
   *   configured: gates and their decisions, pauses, the end of a run, settled messages, audit
   *   entries, leases; and since the log is written in order, each of those also makes every
   *   step committed before it durable.
   * - `"durable"`: every commit waits for the disk.
   */
  readonly stepCommit?: "fast" | "durable" | undefined;
}

/** The options with every default filled in. */
export interface ResolvedPostgresOptions {
  readonly schema: string;
  /** Settings for the query pool; the listening connection uses the same, without pool keys. */
  readonly pool: PoolConfig;
  readonly logger: Logger;
  readonly stepCommit: "fast" | "durable";
}

/** Default schema of the store. */
export const DEFAULT_SCHEMA = "trellis";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
const KNOWN = new Set([
  "connectionString",
  "pool",
  "schema",
  "poolSize",
  "statementTimeoutMs",
  "connectTimeoutMs",
  "logger",
  "stepCommit",
]);

function integer(name: string, value: unknown, min: number, max: number, fallback: number) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function isLogger(value: unknown): value is Logger {
  if (typeof value !== "object" || value === null) return false;
  const logger = value as Record<string, unknown>;
  return ["debug", "info", "warn", "error"].every((level) => typeof logger[level] === "function");
}

/**
 * Checks the options of the PostgreSQL store and fills the defaults. Throws
 * `InvalidOptionError` naming the first wrong option.
 */
export function resolvePostgresOptions(options: unknown): ResolvedPostgresOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionError("options", "an object", options);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) {
      throw new InvalidOptionError(
        key,
        `absent: the known options are ${[...KNOWN].join(", ")}`,
        given[key],
      );
    }
  }
  const { connectionString, pool, schema = DEFAULT_SCHEMA, logger = consoleLogger } = given;
  if (
    connectionString !== undefined &&
    (typeof connectionString !== "string" || connectionString === "")
  ) {
    throw new InvalidOptionError(
      "connectionString",
      "a non-empty postgres:// URL",
      connectionString,
    );
  }
  if (pool !== undefined && (typeof pool !== "object" || pool === null || Array.isArray(pool))) {
    throw new InvalidOptionError("pool", "an object of pg pool settings", pool);
  }
  if (typeof schema !== "string" || !IDENTIFIER.test(schema)) {
    throw new InvalidOptionError(
      "schema",
      "a name of letters, digits and `_`, at most 48 characters, not starting with a digit",
      schema,
    );
  }
  if (!isLogger(logger)) {
    throw new InvalidOptionError(
      "logger",
      "an object with debug, info, warn and error methods",
      logger,
    );
  }
  const stepCommit = given.stepCommit ?? "fast";
  if (stepCommit !== "fast" && stepCommit !== "durable") {
    throw new InvalidOptionError("stepCommit", '"fast" or "durable"', stepCommit);
  }
  const base = (pool ?? {}) as PoolConfig;
  const poolSize = integer("poolSize", given.poolSize, 1, 1000, base.max ?? 10);
  const statementTimeoutMs = integer(
    "statementTimeoutMs",
    given.statementTimeoutMs,
    0,
    86_400_000,
    30_000,
  );
  const connectTimeoutMs = integer("connectTimeoutMs", given.connectTimeoutMs, 1, 600_000, 10_000);
  return {
    schema,
    logger,
    stepCommit,
    pool: {
      application_name: `trellis ${schema}`,
      keepAlive: true,
      ...base,
      ...(connectionString === undefined ? {} : { connectionString: connectionString as string }),
      max: poolSize,
      connectionTimeoutMillis: connectTimeoutMs,
      ...(statementTimeoutMs === 0 ? {} : { statement_timeout: statementTimeoutMs }),
    },
  };
}
