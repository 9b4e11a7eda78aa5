/**
 * `approval:requested` tells listeners (a page that notifies a reviewer, a process that sends
 * the decision) that a request exists. It should be emitted only once the request is stored:
 * a process that dies between the announcement and the write leaves a request nobody can
 * answer, since the run that takes over re-runs the node and opens a request of another id.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  InterruptService,
  MemoryStore,
  START,
  silentLogger,
} from "../../src/index.js";
import { turns } from "../graph/helpers.js";
import { CrashableStore } from "./crashable-store.js";

describe("approval:requested", () => {
  // Fails today: src/run/run.ts `#openGate` emits the event before it writes the checkpoint
  // that holds the request (the write is the next statement). Moving the emit after
  // `await this.#checkpoint(…)` makes this pass.
  it("is emitted only once the request it announces is in the store", async () => {
    const store = new MemoryStore({ logger: silentLogger });
    const dying = new CrashableStore(store);
    const clock = new SimulatedClock(1_000);
    const graph = new Graph({ state: z.object({ n: z.number().default(0) }), name: "announce" })
      .addNode("review", () => ({ n: 1 }))
      .addEdge(START, "review")
      .addEdge("review", END)
      .compile();
    const agent = new GraphAgent({
      graph,
      store: dying,
      interrupts: new InterruptService({ store: dying, clock, logger: silentLogger }),
      clock,
      logger: silentLogger,
      interruptConfig: { approvals: { review: { timeoutMs: 60_000 } } },
    });
    let announced: string | undefined;
    // The process dies the moment it announces the request.
    agent.on("approval:requested", (event) => {
      announced = event.requestId;
      dying.crash();
    });
    const run = agent.run({}, { sessionId: "announce" }).catch(() => undefined);
    await turns(10);
    await clock.advance(61_000);
    await run;
    expect(announced).toBeDefined();
    const latest = await store.checkpoints.latest("announce", "");
    expect(latest?.meta?.gate?.requestId).toBe(announced);
  });
});
