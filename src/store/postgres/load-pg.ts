import type * as Pg from "pg";
import { MissingDependencyError } from "../../errors.js";
import { importOptional } from "../../import-optional.js";

/** The parts of the `pg` driver the store uses. */
export interface PgDriver {
  readonly Pool: typeof Pg.Pool;
  readonly Client: typeof Pg.Client;
}

/**
 * Loads the `pg` driver. It is an optional peer dependency, loaded only when a PostgreSQL store
 * connects, so `import "trellis"` never needs it. Throws `MissingDependencyError` when it is not
 * installed.
 */
export async function loadPg(
  importPg: () => Promise<unknown> = () => import("pg"),
): Promise<PgDriver> {
  const loaded = await importOptional({ feature: "PostgresStore", dependency: "pg" }, importPg);
  // `pg` is CommonJS: its exports arrive as the default export.
  const driver = ((loaded as { default?: unknown }).default ?? loaded) as Partial<PgDriver>;
  if (typeof driver.Pool !== "function" || typeof driver.Client !== "function") {
    throw new MissingDependencyError("PostgresStore", "pg");
  }
  return driver as PgDriver;
}
