import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./child.ts", import.meta.url));

/** A child process running `child.ts` on a schema; `send` writes a command and awaits its answer. */
export class Child {
  readonly process: ChildProcess;
  readonly #answers: ((line: Record<string, unknown>) => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(schema: string) {
    this.process = spawn(process.execPath, ["--import", "tsx", SCRIPT, schema], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.exited = new Promise((resolve) => this.process.once("exit", resolve));
    const lines = createInterface({ input: this.process.stdout! });
    lines.on("line", (line) => this.#answers.shift()?.(JSON.parse(line)));
  }

  send(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#answers.push((answer) =>
        typeof answer.error === "string" ? reject(new Error(answer.error)) : resolve(answer),
      );
      this.process.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.send({ do: "close" }).catch(() => {});
    await this.exited;
  }

  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    await this.exited;
  }
}
