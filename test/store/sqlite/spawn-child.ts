/** Starts `child.ts` in a real Node.js process and follows what it prints. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next line the child prints (rejects if it exits first). */
  line(timeoutMs?: number): Promise<string>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Spawns `node --import tsx child.ts <args>`; the child is killed after the test if still running. */
export function spawnChild(args: readonly string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
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
      resolve(code ?? signal ?? "unknown");
    });
  });
  return {
    process: child,
    exited,
    send: (line) => child.stdin?.write(`${line}\n`),
    line: (timeoutMs = 15_000) => {
      const next = buffered.shift();
      if (next !== undefined) return Promise.resolve(next);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the child printed nothing in ${timeoutMs} ms: ${stderr}`)),
          timeoutMs,
        );
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`the child exited (${code}) before printing: ${stderr}`));
        });
      });
    },
  };
}
