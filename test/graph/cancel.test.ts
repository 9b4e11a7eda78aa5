import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import { END, Graph, GraphAgent, type NodeFn, RunCancelledError, START } from "../../src/index.js";
import { deferred, historyOf, never, settlesSoon, untilAborted } from "./helpers.js";

const State = z.object({ log: z.array(z.string()).default([]) });
type State = z.output<typeof State>;

/**
 * START → before → slow → after → END. `slow` calls `onSlow` on its first run (which decides
 * how it hangs) and simply logs on later runs, so a resumed run can complete.
 */
function pipeline(onSlow: NodeFn<State>) {
  const calls = { before: 0, slow: 0, after: 0 };
  const slowStarted = deferred<AbortSignal>();
  const graph = new Graph({ state: State, reducers: { log: "append" } })
    .addNode("before", () => {
      calls.before++;
      return { log: ["before"] };
    })
    .addNode("slow", (s, ctx) => {
      calls.slow++;
      if (calls.slow > 1) return { log: ["slow"] };
      slowStarted.resolve(ctx.signal);
      return onSlow(s, ctx);
    })
    .addNode("after", () => {
      calls.after++;
      return { log: ["after"] };
    })
    .addEdge(START, "before")
    .addEdge("before", "slow")
    .addEdge("slow", "after")
    .addEdge("after", END)
    .compile();
  return { graph, calls, slowStarted: slowStarted.promise };
}

describe("cancelling a run", () => {
  it.each([
    {
      kind: "listens to ctx.signal",
      hang: ((_s, ctx) => untilAborted(ctx.signal)) as NodeFn<State>,
    },
    { kind: "ignores its signal", hang: (() => never()) as NodeFn<State> },
  ])("ends `cancelled` at once when aborted during a node that $kind", async ({ hang }) => {
    const { graph, calls, slowStarted } = pipeline(hang);
    const agent = new GraphAgent({ graph });
    const controller = new AbortController();

    const running = agent.run({}, { sessionId: "cancel", signal: controller.signal });
    const nodeSignal = await slowStarted;
    controller.abort("user pressed stop");

    expect(await settlesSoon(running)).toBe(true);
    const result = await running;
    expect(result.status).toBe("cancelled");
    expect(result.error).toBeInstanceOf(RunCancelledError);
    expect(result.error?.message).toContain("user pressed stop");
    expect(nodeSignal.aborted).toBe(true);
    expect(result.path).toEqual(["before"]);
    expect(calls.after).toBe(0);
  });

  it.each([
    {
      kind: "listens to ctx.signal",
      hang: ((_s, ctx) => untilAborted(ctx.signal)) as NodeFn<State>,
    },
    { kind: "ignores its signal", hang: (() => never()) as NodeFn<State> },
  ])("keeps the last checkpoint, so resume() finishes the run (node $kind)", async ({ hang }) => {
    const { graph, calls, slowStarted } = pipeline(hang);
    const agent = new GraphAgent({ graph });
    const controller = new AbortController();

    const running = agent.run({}, { sessionId: "keep", signal: controller.signal });
    await slowStarted;
    controller.abort();
    await running;

    const history = await historyOf(agent, "keep");
    expect(history.length).toBeGreaterThan(0);
    const latest = await agent.getState("keep");
    expect(latest?.status).toBe("cancelled");
    expect(latest?.state.log).toEqual(["before"]);
    expect(latest?.next).toEqual(["slow"]);

    const resumed = await agent.resume("keep");

    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["before", "slow", "after"]);
    expect(resumed.path).toEqual(["before", "slow", "after"]);
    expect(calls).toEqual({ before: 1, slow: 2, after: 1 });
  });

  it("aborts every node of a fan-out", async () => {
    const signals: AbortSignal[] = [];
    const bothStarted = deferred();
    const branch: NodeFn<State> = (_s, ctx) => {
      signals.push(ctx.signal);
      if (signals.length === 2) bothStarted.resolve();
      return untilAborted(ctx.signal);
    };
    const graph = new Graph({ state: State })
      .addNode("left", branch)
      .addNode("right", branch)
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
    const controller = new AbortController();

    const running = new GraphAgent({ graph }).run({}, { signal: controller.signal });
    await bothStarted.promise;
    controller.abort();

    expect(await settlesSoon(running)).toBe(true);
    expect((await running).status).toBe("cancelled");
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
  });

  it("does not run any node when the signal is already aborted", async () => {
    const first = vi.fn<NodeFn<State>>(() => undefined);
    const graph = new Graph({ state: State })
      .addNode("first", first)
      .addEdge(START, "first")
      .addEdge("first", END)
      .compile();
    const result = await new GraphAgent({ graph }).run(
      {},
      { signal: AbortSignal.abort("too late") },
    );
    expect(result.status).toBe("cancelled");
    expect(result.error).toBeInstanceOf(RunCancelledError);
    expect(first).not.toHaveBeenCalled();
  });

  it("cancels a run that waits between retries", async () => {
    const clock = new SimulatedClock();
    let attempts = 0;
    const graph = new Graph({ state: State })
      .addNode(
        "flaky",
        () => {
          attempts++;
          throw new Error("down");
        },
        { retry: { maxAttempts: 5, initialDelayMs: 60_000, jitter: 0 } },
      )
      .addEdge(START, "flaky")
      .addEdge("flaky", END)
      .compile();
    const agent = new GraphAgent({ graph, clock });
    const controller = new AbortController();

    const running = agent.run({}, { signal: controller.signal });
    await clock.advance(1_000);
    expect(attempts).toBe(1);
    controller.abort();

    expect(await settlesSoon(running)).toBe(true);
    expect((await running).status).toBe("cancelled");
    expect(attempts).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("aborts the node's signal when a node with a timeout is cancelled", async () => {
    const clock = new SimulatedClock();
    const started = deferred<AbortSignal>();
    const graph = new Graph({ state: State })
      .addNode(
        "slow",
        (_s, ctx) => {
          started.resolve(ctx.signal);
          return untilAborted(ctx.signal);
        },
        { timeoutMs: 5_000 },
      )
      .addEdge(START, "slow")
      .addEdge("slow", END)
      .compile();
    const agent = new GraphAgent({ graph, clock });
    const controller = new AbortController();

    const running = agent.run({}, { signal: controller.signal });
    const signal = await started.promise;
    controller.abort();

    const result = await running;
    expect(result.status).toBe("cancelled");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(RunCancelledError);
    // The timeout's timer was cleared with the node.
    expect(clock.pending).toBe(0);
  });
});
