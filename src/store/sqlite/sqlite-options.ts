import { type Clock, systemClock } from "../../clock.js";
import { InvalidOptionError } from "../../errors.js";
import { consoleLogger, type Logger } from "../../logger.js";

/** Options of `SqliteStore.open()`. */
export interface SqliteStoreOptions {
  /**
   * The database file, created with its directory when missing (`.trellis/trellis.db`).
   * `":memory:"` opens a private in-memory database: it lives as long as the store and no
   * other connection or process can see it, so use it only for tests.
   */
  readonly path: string;
  /**
   * How long a write waits for another connection's write lock before it fails with
   * `StoreLockedError`, in milliseconds. The driver is synchronous: the wait blocks this
   * process's event loop, so keep it well under the run's lease TTL. Default 2000.
   */
  readonly busyTimeoutMs?: number;
  /**
   * How often the notifier checks for changes made by other connections and processes while
   * anyone subscribes, in milliseconds. Default 10.
   */
  readonly pollIntervalMs?: number;
  /**
   * Audit entries older than this (milliseconds) are pruned when the store opens and then every
   * `retentionIntervalMs`. Default: audit entries are kept until `audit.prune()` removes them.
   */
  readonly auditRetentionMs?: number;
  /** How often retention runs while the store is open, in milliseconds. Default 1 hour. */
  readonly retentionIntervalMs?: number;
  /** Where listener and retention failures are reported. Default: the console logger. */
  readonly logger?: Logger;
  /** The time retention compares entries with. Default: the system clock. */
  readonly clock?: Clock;
}

/** The options with every default filled in. */
export interface ResolvedSqliteOptions {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly auditRetentionMs: number | undefined;
  readonly retentionIntervalMs: number;
  readonly logger: Logger;
  readonly clock: Clock;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 2_000;
export const DEFAULT_POLL_INTERVAL_MS = 10;
export const DEFAULT_RETENTION_INTERVAL_MS = 3_600_000;

const KNOWN = [
  "path",
  "busyTimeoutMs",
  "pollIntervalMs",
  "auditRetentionMs",
  "retentionIntervalMs",
  "logger",
  "clock",
] as const;

/** Timers take at most a signed 32-bit number of milliseconds (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const hasMethods = (value: unknown, names: readonly string[]): boolean =>
  isObject(value) && names.every((name) => typeof value[name] === "function");

function integer(
  given: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const value = given[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(key, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/**
 * Checks the options of `SqliteStore.open()` and fills the defaults. Throws
 * `InvalidOptionError` naming the first wrong option, an unknown one included.
 */
export function resolveSqliteOptions(options: unknown): ResolvedSqliteOptions {
  if (!isObject(options)) {
    throw new InvalidOptionError("options", "an object with at least `path`", options);
  }
  for (const key of Object.keys(options)) {
    if (!(KNOWN as readonly string[]).includes(key)) {
      throw new InvalidOptionError(
        key,
        `absent: the known options are ${KNOWN.join(", ")}`,
        options[key],
      );
    }
  }
  const path = options.path;
  if (typeof path !== "string" || path.length === 0 || path.includes("\u0000")) {
    throw new InvalidOptionError(
      "path",
      'a file path such as ".trellis/trellis.db" (or ":memory:")',
      path,
    );
  }
  if (
    options.logger !== undefined &&
    !hasMethods(options.logger, ["debug", "info", "warn", "error"])
  ) {
    throw new InvalidOptionError(
      "logger",
      "a Logger (`debug`, `info`, `warn`, `error`)",
      options.logger,
    );
  }
  if (options.clock !== undefined && !hasMethods(options.clock, ["now", "sleep"])) {
    throw new InvalidOptionError("clock", "a Clock (`now()` and `sleep()`)", options.clock);
  }
  return {
    path,
    busyTimeoutMs: integer(options, "busyTimeoutMs", 0, MAX_TIMER_MS) ?? DEFAULT_BUSY_TIMEOUT_MS,
    pollIntervalMs: integer(options, "pollIntervalMs", 1, 60_000) ?? DEFAULT_POLL_INTERVAL_MS,
    auditRetentionMs: integer(options, "auditRetentionMs", 1, Number.MAX_SAFE_INTEGER),
    retentionIntervalMs:
      integer(options, "retentionIntervalMs", 1_000, MAX_TIMER_MS) ?? DEFAULT_RETENTION_INTERVAL_MS,
    logger: (options.logger as Logger | undefined) ?? consoleLogger,
    clock: (options.clock as Clock | undefined) ?? systemClock,
  };
}
