/** Starts a fixture script in a real Node.js process and follows what it prints. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next line printed to stdout (rejects after `timeoutMs` or on exit). */
  line(timeoutMs?: number): Promise<string>;
  readonly stderr: () => string;
  readonly exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Spawns `node --import tsx fixtures/<script> <args>`. */
export function spawnFixture(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Child {
  const file = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const buffered: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const resolve = waiting.shift();
    if (resolve) resolve(line);
    else buffered.push(line);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    process: child,
    stderr: () => stderr,
    exited,
    line(timeoutMs = 20_000) {
      const next = buffered.shift();
      if (next !== undefined) return Promise.resolve(next);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`No line within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`The child exited (${code}) before printing; stderr: ${stderr}`));
        });
      });
    },
  };
}
