/** A temporary directory per test file, so test files that use SQLite files run in parallel. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** Creates a temporary directory removed after the file's tests; `file()` names a new db file in it. */
export function tempDir(prefix: string): { readonly dir: string; file(name?: string): string } {
  const dir = mkdtempSync(join(tmpdir(), `trellis-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return {
    dir,
    file: (name?: string) => join(dir, name ?? `db-${++count}`, "trellis.db"),
  };
}
