import { resolve } from "node:path";
import { InvalidOptionError } from "../errors.js";
import type { Logger } from "../logger.js";
import { MemoryStore } from "../store/memory/memory-store.js";
import type { Store } from "../store/store.js";

/** Where the CLI keeps its data unless `--store` says otherwise. */
export const DEFAULT_STORE = "sqlite:.trellis/trellis.db";

/** A store as `--store` names it. */
export type StoreSpec =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly connectionString: string; readonly schema?: string }
  | { readonly kind: "memory" };

/**
 * Reads `--store`: `sqlite:PATH`, `postgres:URL` (a `postgres://` or `postgresql://` URL; add
 * `?schema=NAME` for a schema other than `trellis`), or `memory`.
 *
 * @throws InvalidOptionError for anything else.
 */
export function parseStoreSpec(spec: string = DEFAULT_STORE): StoreSpec {
  if (spec === "memory") return { kind: "memory" };
  if (spec.startsWith("sqlite:")) {
    const path = spec.slice("sqlite:".length);
    if (path === "") throw bad(spec);
    return { kind: "sqlite", path: resolve(path) };
  }
  const url =
    spec.startsWith("postgres:") && !spec.startsWith("postgres://")
      ? spec.slice("postgres:".length)
      : spec;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get("schema") ?? undefined;
    parsed.searchParams.delete("schema");
    return {
      kind: "postgres",
      connectionString: parsed.toString(),
      ...(schema === undefined ? {} : { schema }),
    };
  }
  throw bad(spec);
}

function bad(spec: string): InvalidOptionError {
  return new InvalidOptionError(
    "--store",
    "`sqlite:PATH`, `postgres:URL` (postgres://…) or `memory`",
    spec,
  );
}

/** Opens the store a spec names; SQLite and PostgreSQL load their optional drivers on use. */
export async function openStore(spec: StoreSpec, logger: Logger): Promise<Store> {
  switch (spec.kind) {
    case "memory":
      return new MemoryStore({ logger });
    case "sqlite": {
      const { SqliteStore } = await import("../entries/sqlite.js");
      return SqliteStore.open({ path: spec.path, logger });
    }
    case "postgres": {
      const { PostgresStore } = await import("../entries/postgres.js");
      return PostgresStore.connect({
        connectionString: spec.connectionString,
        ...(spec.schema === undefined ? {} : { schema: spec.schema }),
        logger,
      });
    }
  }
}

/** How a spec is shown in messages (a PostgreSQL password is hidden). */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === "memory") return "memory";
  if (spec.kind === "sqlite") return `sqlite:${spec.path}`;
  const url = new URL(spec.connectionString);
  if (url.password !== "") url.password = "***";
  return `postgres:${url.toString()}${spec.schema === undefined ? "" : ` (schema ${spec.schema})`}`;
}
