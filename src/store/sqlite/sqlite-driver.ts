/**
 * Loading `better-sqlite3`, an optional peer dependency: only `SqliteStore.open()` imports it,
 * so `import "trellis"` never loads a native addon.
 */
import type BetterSqlite3 from "better-sqlite3";
import { MissingDependencyError, StoreUnavailableError } from "../../errors.js";

/** The driver's constructor: `new Driver(path, options)`. */
export type SqliteDriver = typeof BetterSqlite3;
/** One open connection. */
export type SqliteDatabase = BetterSqlite3.Database;
/** A prepared statement. */
export type SqliteStatement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * Imports the driver module; replaced in tests to see what happens when it is missing. Typed
 * without the driver's types, so the declarations of `trellis/sqlite` do not need them.
 */
export type DriverImporter = () => Promise<{ readonly default: unknown }>;

const importDriver: DriverImporter = () => import("better-sqlite3");

let loaded: Promise<SqliteDriver> | undefined;

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

/**
 * The `better-sqlite3` constructor. Throws `MissingDependencyError` when the package is not
 * installed, and `StoreUnavailableError` when it is installed but its native addon cannot be
 * loaded (not built, or built for another Node.js).
 */
export async function loadSqliteDriver(
  importer: DriverImporter = importDriver,
): Promise<SqliteDriver> {
  if (importer !== importDriver) return load(importer);
  loaded ??= load(importer).catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

async function load(importer: DriverImporter): Promise<SqliteDriver> {
  let module: { readonly default: unknown };
  try {
    module = await importer();
  } catch (error) {
    if (isNotFound(error) && String((error as Error).message).includes("better-sqlite3")) {
      throw new MissingDependencyError("SqliteStore", "better-sqlite3", { cause: error });
    }
    throw addonError(error);
  }
  return module.default as SqliteDriver;
}

/** The driver's native addon is loaded on first use; this names the usual causes. */
export function addonError(error: unknown): StoreUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(
    "SQLite",
    `better-sqlite3 is installed but could not be loaded (${reason}). Its native addon is built by an install script: list better-sqlite3 under \`allowScripts\` in package.json and run \`npm rebuild better-sqlite3\``,
    { cause: error },
  );
}
