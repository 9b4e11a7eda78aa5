/**
 * A process of its own for the cross-process engine cases, run with
 * `node --import tsx engine-child.ts`. It obeys commands, one JSON line each on stdin, and
 * answers each with one JSON line `{ "n": …, "answer": … }` (or `"error"`) on stdout, `n` being
 * the command's own; commands run concurrently, so answers may come in another order. In between
 * it may print `{ "event": … }` lines (a node that hangs has started, a run has started, a gate
 * opened). `{"do":"open", …}` must come first.
 */
import { createInterface } from "node:readline";
import { type InterruptInput, type Store, silentLogger, TrellisError } from "../../../src/index.js";
import { SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { connect } from "../../store/postgres/test-database.js";
import { type ProcessConfig, processAgent } from "./engine-graph.js";

export type ChildCommand =
  | ({ do: "open"; backend: "sqlite" | "postgres"; target: string } & ProcessConfig)
  | { do: "run"; sessionId: string }
  /** Waits until the wall time `at`, then resumes, trying again while the session is busy. */
  | { do: "resume"; sessionId: string; at?: number; retryBusyForMs?: number }
  | { do: "send"; sessionId: string; action: InterruptInput; sender?: string }
  | { do: "close" };

let store: Store | undefined;
let agentOf: ReturnType<typeof processAgent> | undefined;
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const wallTime = () => performance.timeOrigin + performance.now();

function summary(result: Awaited<ReturnType<NonNullable<typeof agentOf>["agent"]["run"]>>) {
  return {
    status: result.status,
    log: result.state.log,
    when: result.state.when instanceof Date ? result.state.when.getTime() : null,
    gate: result.gate === undefined ? null : { requestId: result.gate.requestId },
    error: result.error?.code ?? null,
  };
}

async function obey(command: ChildCommand): Promise<object> {
  switch (command.do) {
    case "open": {
      store =
        command.backend === "sqlite"
          ? await SqliteStore.open({ path: command.target, logger: silentLogger })
          : await connect(command.target);
      agentOf = processAgent(store, command, (node) => say({ event: "hang", node }));
      agentOf.agent.on("run:started", (e) => say({ event: "run:started", at: wallTime(), ...e }));
      agentOf.agent.on("approval:requested", (e) =>
        say({ event: "approval:requested", requestId: e.requestId }),
      );
      return { pid: process.pid };
    }
    case "run":
      return summary(await agentOf!.agent.run({}, { sessionId: command.sessionId }));
    case "resume": {
      if (command.at !== undefined) {
        // Spin rather than sleep: timers are too coarse to line two racers up.
        while (Date.now() < command.at) {}
      }
      const until = wallTime() + (command.retryBusyForMs ?? 0);
      let busy = 0;
      for (;;) {
        try {
          return { ...summary(await agentOf!.agent.resume(command.sessionId)), busy };
        } catch (error) {
          const code = error instanceof TrellisError ? error.code : String(error);
          if (code !== "SESSION_BUSY" || wallTime() > until) return { refused: code, busy };
          busy++;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    }
    case "send": {
      const receipt = await agentOf!.interrupts.send(command.sessionId, command.action, {
        ...(command.sender === undefined ? {} : { sender: command.sender }),
      });
      return { id: receipt.id };
    }
    case "close":
      await store?.close();
      return { closed: true };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const { n, ...command } = JSON.parse(line) as ChildCommand & { n: number };
  // Commands run concurrently: a run may wait at a gate while the next command arrives.
  void obey(command as ChildCommand).then(
    (answer) => {
      say({ n, answer });
      if (command.do === "close") process.exit(0);
    },
    (error: unknown) =>
      say({ n, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
}
