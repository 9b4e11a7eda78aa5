import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Compiles `src/` and `bench/` with the project's `tsc` into a temporary directory and returns
 * it, so the benchmark runs the JavaScript users run. Running the TypeScript through tsx
 * instead is measurably slower: its esbuild transform keeps function names by wrapping every
 * function it creates in a `__name()` call, which a closure-heavy run loop pays per step.
 *
 * Type errors do not stop the build (tsc still emits); they are reported on stderr.
 */
export function buildForBench(): string {
  const out = mkdtempSync(join(tmpdir(), "trellis-bench-"));
  const require = createRequire(import.meta.url);
  const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  const result = spawnSync(
    process.execPath,
    [tsc, "-p", join(ROOT, "bench", "tsconfig.json"), "--outDir", out],
    { encoding: "utf8" },
  );
  const errors = (result.stdout.match(/error TS\d+/g) ?? []).length;
  if (errors > 0) {
    process.stderr.write(`tsc reported ${errors} type errors; benchmarking what it emitted.\n`);
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  writeFileSync(
    join(out, "package.json"),
    JSON.stringify({ name: pkg.name, version: pkg.version, type: "module" }),
  );
  symlinkSync(join(ROOT, "node_modules"), join(out, "node_modules"), "dir");
  return out;
}

/** Deletes a directory made by {@link buildForBench}. */
export function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
