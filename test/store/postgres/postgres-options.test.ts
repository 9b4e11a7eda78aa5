import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  MissingDependencyError,
  StoreUnavailableError,
} from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import { loadPg } from "../../../src/store/postgres/load-pg.js";
import { resolvePostgresOptions } from "../../../src/store/postgres/postgres-options.js";
import { PostgresStore } from "../../../src/store/postgres/postgres-store.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

describe("PostgresStore options", () => {
  it("fills safe defaults", () => {
    const resolved = resolvePostgresOptions({ connectionString: "postgres://db/app" });
    expect(resolved.schema).toBe("trellis");
    expect(resolved.stepCommit).toBe("fast");
    expect(resolved.pool).toMatchObject({
      connectionString: "postgres://db/app",
      max: 10,
      statement_timeout: 30_000,
      connectionTimeoutMillis: 10_000,
      application_name: "trellis trellis",
    });
  });

  it("takes driver settings and lets poolSize win over their max", () => {
    const resolved = resolvePostgresOptions({
      pool: { host: "db", user: "app", max: 3 },
      poolSize: 5,
      statementTimeoutMs: 0,
    });
    expect(resolved.pool).toMatchObject({ host: "db", user: "app", max: 5 });
    expect(resolved.pool).not.toHaveProperty("statement_timeout");
  });

  it.each([
    [{ schema: "bad-name" }, "schema"],
    [{ schema: "1st" }, "schema"],
    [{ schema: `x${"y".repeat(48)}` }, "schema"],
    [{ schema: 'a"; DROP SCHEMA public; --' }, "schema"],
    [{ poolSize: 0 }, "poolSize"],
    [{ poolSize: 2.5 }, "poolSize"],
    [{ statementTimeoutMs: -1 }, "statementTimeoutMs"],
    [{ connectTimeoutMs: 0 }, "connectTimeoutMs"],
    [{ connectionString: "" }, "connectionString"],
    [{ pool: "postgres://x" }, "pool"],
    [{ logger: console.log }, "logger"],
    [{ schemaName: "x" }, "schemaName"],
    [{ stepCommit: "sometimes" }, "stepCommit"],
    [{ stepCommit: true }, "stepCommit"],
  ])("refuses %o, naming `%s`", async (options, option) => {
    expect(() => resolvePostgresOptions(options)).toThrow(InvalidOptionError);
    const error = await PostgresStore.connect(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option });
  });

  it("says which package to install when the driver is missing", async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg'"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    const error = await loadPg(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(error).toMatchObject({ dependency: "pg", cause: missing });
    expect((error as Error).message).toContain("npm install pg");
    await expect(loadPg(() => Promise.resolve({ default: {} }))).rejects.toThrow(
      MissingDependencyError,
    );
  });

  it("reports a database it cannot reach as unavailable", async () => {
    const error = await PostgresStore.connect({
      connectionString: "postgres://postgres@127.0.0.1:1/test",
      schema: "unreachable",
      connectTimeoutMs: 2_000,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it("loads the driver only when a store connects", async () => {
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache)
        .some((path) => path.includes("/node_modules/pg/"));
      await import(${JSON.stringify(`${ROOT}/src/entries/postgres.ts`)});
      const before = loaded();
      const { loadPg } = await import(${JSON.stringify(`${ROOT}/src/store/postgres/load-pg.ts`)});
      await loadPg();
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: ROOT },
    );
    expect(JSON.parse(stdout)).toEqual({ before: false, after: true });
  });

  it('is not reachable from the main entry: `import "trellis"` never loads the driver', () => {
    // Follows every static and dynamic import from src/index.ts.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        expect(spec, `${file} imports ${spec}`).not.toBe("pg");
        if (spec!.startsWith(".")) visit(resolve(dirname(file), spec!.replace(/\.js$/, ".ts")));
      }
    };
    visit(`${ROOT}/src/index.ts`);
    expect([...seen].filter((file) => file.includes("/store/postgres/"))).toEqual([]);
    expect(seen.size).toBeGreaterThan(20);
  });
});
