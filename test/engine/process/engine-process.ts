/** Starts `engine-child.ts` in a real Node.js process and talks to it. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, expect } from "vitest";
import type { ChildCommand } from "./engine-child.js";

const SCRIPT = fileURLToPath(new URL("./engine-child.ts", import.meta.url));

export type Answer = Record<string, unknown>;
export interface ChildEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** One child process; killed after the test if it still runs. */
export class EngineProcess {
  readonly process: ChildProcess;
  readonly exited: Promise<number | string>;
  readonly events: ChildEvent[] = [];
  readonly #answers = new Map<number, { resolve(a: Answer): void; reject(e: Error): void }>();
  readonly #watchers: { when: (e: ChildEvent) => boolean; resolve(e: ChildEvent): void }[] = [];
  #next = 0;
  #stderr = "";

  constructor() {
    this.process = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    running.add(this.process);
    this.process.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => {
      this.process.once("exit", (code, signal) => {
        running.delete(this.process);
        const why = new Error(`the child exited (${code ?? signal}): ${this.#stderr}`);
        for (const pending of this.#answers.values()) pending.reject(why);
        this.#answers.clear();
        resolve(code ?? signal ?? "unknown");
      });
    });
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      const message = JSON.parse(line) as { n?: number; answer?: Answer; error?: string };
      if (typeof (message as { event?: unknown }).event === "string") {
        const event = message as unknown as ChildEvent;
        this.events.push(event);
        for (const watcher of this.#watchers.filter((w) => w.when(event))) {
          this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
          watcher.resolve(event);
        }
        return;
      }
      const pending = this.#answers.get(message.n!);
      this.#answers.delete(message.n!);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.answer!);
    });
  }

  /** Sends a command; resolves with its answer. */
  send(command: ChildCommand, timeoutMs = 30_000): Promise<Answer> {
    const n = ++this.#next;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${command.do} in ${timeoutMs} ms: ${this.#stderr}`)),
        timeoutMs,
      );
      this.#answers.set(n, {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.process.stdin!.write(`${JSON.stringify({ ...command, n })}\n`);
    });
  }

  /** Resolves with the first event (already seen or to come) for which `when` holds. */
  event(when: (e: ChildEvent) => boolean, timeoutMs = 30_000): Promise<ChildEvent> {
    const seen = this.events.find(when);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<ChildEvent>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such event in ${timeoutMs} ms: ${this.#stderr}`)),
        timeoutMs,
      );
      this.#watchers.push({
        when,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** SIGKILL: the process dies at once, without closing anything; resolves with the wall time. */
  async kill(): Promise<number> {
    this.process.kill("SIGKILL");
    expect(await this.exited).toBe("SIGKILL");
    return performance.timeOrigin + performance.now();
  }

  async close(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.send({ do: "close" }).catch(() => {});
    await this.exited;
  }
}
