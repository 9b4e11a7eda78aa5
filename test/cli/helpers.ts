import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CliIO } from "../../src/cli/command.js";

/** The repository root: the CLI runs from here, as `npm run trellis` does. */
export const ROOT = resolve(import.meta.dirname, "../..");
export const GATED = "test/cli/fixtures/gated-agents.ts";

/** What a finished `trellis` process left. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `trellis` child process on the sources, as a user would start it. */
export interface Trellis {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
}

export function trellis(args: readonly string[], env: Record<string, string> = {}): Trellis {
  const child = spawn(
    process.execPath,
    ["--conditions=trellis-source", "--import", "tsx", "src/cli/main.ts", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const done = new Promise<Finished>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `trellis` to the end. */
export function trellisDone(args: readonly string[], env: Record<string, string> = {}) {
  return trellis(args, env).done;
}

/** A temporary directory removed after the file's tests (call in `beforeAll`/`afterAll`). */
export function tempDir(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `trellis-cli-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The side-effect lines a fixture appended, or `[]` before the first. */
export function effects(file: string): string[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "");
  } catch {
    return [];
  }
}

/** How many times each `node:phase` line occurs. */
export function countEffects(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of effects(file)) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

/** Polls until `check` holds (a real process is being watched), failing after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A `CliIO` that keeps the lines, for `main()` called in the test process. */
export function captureIO(): CliIO & { readonly outLines: string[]; readonly errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l) };
}

/** Parses every line of `--json` output; fails on a line that is not JSON. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
