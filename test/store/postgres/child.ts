/**
 * A process of its own for the cross-process tests: it connects a PostgresStore to the schema
 * it is given and obeys commands, one JSON line each on stdin, answering one JSON line each on
 * stdout. `{"do":"connect"}` must come first.
 */
import { createInterface } from "node:readline";
import { CHECKPOINT_META_VERSION } from "../../../src/store/checkpoint-meta.js";
import type { PostgresStore } from "../../../src/store/postgres/postgres-store.js";
import { connect } from "./test-database.js";

type Command =
  | { do: "connect" }
  | { do: "acquire"; sessionId: string; token: string; ttlMs: number; now: number }
  | { do: "checkpoints"; sessionId: string; count: number; gapMs: number }
  | { do: "close" };

const schema = process.argv[2]!;
let store: PostgresStore | undefined;
const now = () => performance.timeOrigin + performance.now();
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function obey(command: Command): Promise<object> {
  switch (command.do) {
    case "connect":
      store = await connect(schema);
      return { connected: true, pid: process.pid };
    case "acquire": {
      const result = await store!.sessions.acquire({
        sessionId: command.sessionId,
        owner: `child-${process.pid}`,
        token: command.token,
        ttlMs: command.ttlMs,
        now: command.now,
      });
      return { ok: result.ok };
    }
    case "checkpoints": {
      const sent: { id: string; at: number; acked: number }[] = [];
      for (let seq = 1; seq <= command.count; seq++) {
        const id = `${command.sessionId}#${seq}`;
        const at = now();
        await store!.commit({
          checkpoints: [
            {
              sessionId: command.sessionId,
              thread: "",
              id,
              seq,
              parentId: seq === 1 ? null : `${command.sessionId}#${seq - 1}`,
              runId: "run",
              node: "n",
              iteration: seq,
              next: [],
              // Other processes hear of a checkpoint that changes the session's summary: each
              // of these does, so each one is an event.
              status: seq % 2 === 0 ? "paused" : "running",
              meta: { v: CHECKPOINT_META_VERSION },
              createdAt: seq,
              kind: "full",
              state: { seq },
            },
          ],
          now: seq,
        });
        sent.push({ id, at, acked: now() });
        await new Promise((resolve) => setTimeout(resolve, command.gapMs));
      }
      return { sent };
    }
    case "close":
      await store?.close();
      return { closed: true };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as Command;
  try {
    say(await obey(command));
  } catch (error) {
    say({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
  if (command.do === "close") break;
}
process.exit(0);
