/**
 * Process B of the cross-process interrupt scenario: opens the same store as process A, runs
 * sessions that wait at an approval gate (in process, woken by the store's notifier) and tells
 * A over IPC when a session waits and when its approval was applied.
 *
 *   A → B  { kind: "open", backend, location } | { kind: "arm", sessionId } | { kind: "close" }
 *   B → A  { kind: "ready" } | { kind: "waiting", sessionId } | { kind: "applied", sessionId, at }
 *          | { kind: "error", message }
 *
 * `at` is when B announced the decision, on the machine's monotonic clock
 * (`process.hrtime.bigint()`, nanoseconds, as a decimal string): one clock for every process
 * of the machine, so A can tell how long after its send that was without the IPC hop.
 */
import { z } from "zod";
import { END, Graph, GraphAgent, InterruptService, START } from "../../src/index.js";
import { silentLogger } from "../../src/logger.js";
import type { Store } from "../../src/store/store.js";
import { DATABASE_URL } from "./durable.js";

export type PeerCommand =
  | { readonly kind: "open"; readonly backend: "sqlite" | "postgres"; readonly location: string }
  | { readonly kind: "arm"; readonly sessionId: string }
  | { readonly kind: "close" };

export type PeerReport =
  | { readonly kind: "ready" }
  | { readonly kind: "waiting"; readonly sessionId: string }
  | { readonly kind: "applied"; readonly sessionId: string; readonly at: string }
  | { readonly kind: "error"; readonly message: string };

const send = (report: PeerReport) => process.send?.(report);

export async function openStore(backend: "sqlite" | "postgres", location: string): Promise<Store> {
  if (backend === "sqlite") {
    const { SqliteStore } = await import("../../src/store/sqlite/sqlite-store.js");
    return SqliteStore.open({ path: location, logger: silentLogger });
  }
  const { PostgresStore } = await import("../../src/store/postgres/postgres-store.js");
  return PostgresStore.connect({
    connectionString: DATABASE_URL,
    schema: location,
    logger: silentLogger,
  });
}

const State = z.object({ count: z.number().default(0) });

let store: Store | undefined;
let agent: GraphAgent<z.output<typeof State>> | undefined;

async function open(backend: "sqlite" | "postgres", location: string): Promise<void> {
  store = await openStore(backend, location);
  const graph = new Graph({ state: State, name: "gate" })
    .addNode("gate", (s) => ({ count: s.count + 1 }))
    .addNode("after", (s) => ({ count: s.count + 1 }))
    .addEdge(START, "gate")
    .addEdge("gate", "after")
    .addEdge("after", END)
    .compile();
  const interrupts = new InterruptService({ store, logger: silentLogger });
  agent = new GraphAgent({
    graph,
    store,
    interrupts,
    logger: silentLogger,
    // A gate with a timeout waits in process for the decision instead of suspending the run.
    interruptConfig: { approvals: { gate: { timeoutMs: 60_000 } } },
  });
  agent.on("approval:requested", (e) => send({ kind: "waiting", sessionId: e.sessionId }));
  agent.on("approval:decided", (e) => {
    const at = process.hrtime.bigint().toString();
    send({ kind: "applied", sessionId: e.sessionId, at });
  });
  send({ kind: "ready" });
}

function arm(sessionId: string): void {
  agent!.run({}, { sessionId }).then(
    (result) => {
      if (result.status !== "completed") {
        send({ kind: "error", message: `session ${sessionId} ended ${result.status}` });
      }
    },
    (error: unknown) => send({ kind: "error", message: String(error) }),
  );
}

process.on("message", (command: PeerCommand) => {
  if (command.kind === "open") {
    open(command.backend, command.location).catch((error: unknown) =>
      send({ kind: "error", message: String(error) }),
    );
  } else if (command.kind === "arm") {
    arm(command.sessionId);
  } else {
    void store?.close().finally(() => process.exit(0));
  }
});
