import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  MemoryStore,
  NodeExecutionError,
  SessionBusyError,
  SiblingFailedError,
  START,
  silentLogger,
} from "../../src/index.js";
import { deferred, settlesSoon, turns } from "./helpers.js";

const State = z.object({ log: z.array(z.string()).default([]) });

/** START → (slow, broken) → END, where `broken` fails at once the first time. */
function fanOut() {
  const runs = { slow: 0, broken: 0, slowRunning: 0 };
  const signals: AbortSignal[] = [];
  const letSlowEnd = deferred();
  const slowStarted = deferred();
  let fail = true;
  const graph = new Graph({ state: State, reducers: { log: "append" }, name: "fan-out" })
    .addNode("slow", async (_s, ctx) => {
      runs.slow++;
      runs.slowRunning++;
      signals.push(ctx.signal);
      slowStarted.resolve();
      try {
        // Ignores its signal until the test lets it end: the run must wait for it anyway.
        await letSlowEnd.promise;
        return { log: ["slow"] };
      } finally {
        runs.slowRunning--;
      }
    })
    .addNode("broken", async () => {
      runs.broken++;
      await slowStarted.promise;
      if (fail) throw new Error("broken");
      return { log: ["broken"] };
    })
    .addEdge(START, "slow")
    .addEdge(START, "broken")
    .addEdge("slow", END)
    .addEdge("broken", END)
    .compile();
  return {
    graph,
    runs,
    signals,
    letSlowEnd: () => letSlowEnd.resolve(),
    heal: () => {
      fail = false;
    },
  };
}

describe("a fan-out where one node fails", () => {
  it("aborts the siblings' signals with SiblingFailedError and waits for them before it fails", async () => {
    const f = fanOut();
    const agent = new GraphAgent({ graph: f.graph, logger: silentLogger });
    const run = agent.run({}, { sessionId: "s" });
    await turns(5);
    expect(f.signals).toHaveLength(1);
    expect(f.signals[0]?.aborted).toBe(true);
    expect(f.signals[0]?.reason).toBeInstanceOf(SiblingFailedError);
    // The sibling still runs: the run has not returned.
    expect(await settlesSoon(run)).toBe(false);
    expect(f.runs.slowRunning).toBe(1);
    f.letSlowEnd();
    const result = await run;
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(NodeExecutionError);
    expect(f.runs.slowRunning).toBe(0);
  });

  it("does not let a resume start the nodes again while the old ones still run", async () => {
    const f = fanOut();
    const store = new MemoryStore({ logger: silentLogger });
    const agent = new GraphAgent({ graph: f.graph, store, logger: silentLogger });
    const other = new GraphAgent({ graph: f.graph, store, logger: silentLogger });
    const run = agent.run({}, { sessionId: "s" });
    await turns(5);
    await expect(other.resume("s")).rejects.toBeInstanceOf(SessionBusyError);
    await expect(agent.resume("s")).rejects.toBeInstanceOf(SessionBusyError);
    expect(f.runs).toEqual({ slow: 1, broken: 1, slowRunning: 1 });
    f.letSlowEnd();
    expect((await run).status).toBe("failed");

    f.heal();
    const resumed = await other.resume("s");
    expect(resumed.status).toBe("completed");
    expect(f.runs).toEqual({ slow: 2, broken: 2, slowRunning: 0 });
    expect(resumed.state.log).toEqual(["slow", "broken"]);
  });
});
