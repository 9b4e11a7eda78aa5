import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../../src/", import.meta.url));

/** Specifiers a file imports at run time (type-only imports and `import()` left out). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^;]*?\sfrom\s+)?["']([^"']+)["']/gms;
  for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** Every file reachable from `entry` through run-time imports, and the packages they import. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith(".")) visit(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("the trellis/sqlite subpath", () => {
  it('is not reached from the main entry, so `import "trellis"` never loads the driver', () => {
    const { files, packages } = reachable(join(SRC, "index.ts"));
    expect(files.size).toBeGreaterThan(10);
    const sqlite = [...files]
      .map((file) => relative(SRC, file))
      .filter((f) => f.includes("sqlite"));
    expect(sqlite).toEqual([]);
    expect([...packages].filter((name) => name.includes("sqlite"))).toEqual([]);
  });

  it("imports the driver only when a store is opened", () => {
    const { files, packages } = reachable(join(SRC, "entries/sqlite.ts"));
    expect(files.has(join(SRC, "store/sqlite/sqlite-store.ts"))).toBe(true);
    expect(packages.has("better-sqlite3")).toBe(false);
    expect(readFileSync(join(SRC, "store/sqlite/sqlite-driver.ts"), "utf8")).toContain(
      'import("better-sqlite3")',
    );
  });
});
