import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvents,
  type NodeContext,
  NodeExecutionError,
  type NodeFn,
  type NodeOptions,
  NodeTimeoutError,
  START,
} from "../../src/index.js";
import { never, settlesSoon, untilAborted } from "./helpers.js";

const State = z.object({
  value: z.string().default(""),
  n: z.number().default(0),
});
type State = z.output<typeof State>;

/** START → work → END, with the agent on a simulated clock. */
function single(work: NodeFn<State>, options: NodeOptions = {}) {
  const graph = new Graph({ state: State })
    .addNode("work", work, options)
    .addEdge(START, "work")
    .addEdge("work", END)
    .compile();
  const clock = new SimulatedClock(1_000);
  const agent = new GraphAgent({ graph, clock });
  return { agent, clock };
}

class Transient extends Error {}
class Permanent extends Error {}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("nodes", () => {
  it("runs a synchronous node", async () => {
    const { agent } = single((s) => ({ value: `${s.value}!` }));
    const result = await agent.run({ value: "hi" });
    expect(result.status).toBe("completed");
    expect(result.state.value).toBe("hi!");
  });

  it("runs an asynchronous node and waits for its update", async () => {
    const { agent } = single(async (s) => {
      await Promise.resolve();
      return { n: s.n + 1 };
    });
    const result = await agent.run({ n: 1 });
    expect(result.state.n).toBe(2);
  });

  it("treats a node that returns nothing as an empty update", async () => {
    const { agent } = single(() => {});
    const result = await agent.run({ value: "same" });
    expect(result.status).toBe("completed");
    expect(result.state).toEqual({ value: "same", n: 0 });
  });

  it("fails the run with NodeExecutionError carrying what the node threw", async () => {
    const thrown = new Error("disk full");
    const { agent } = single(() => {
      throw thrown;
    });
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(NodeExecutionError);
    const error = result.error as NodeExecutionError;
    expect(error.node).toBe("work");
    expect(error.attempts).toBe(1);
    expect(error.cause).toBe(thrown);
    expect(error.message).toContain("disk full");
  });
});

describe("retry policy", () => {
  it("retries a failing node until an attempt succeeds, with exponential backoff", async () => {
    const times: number[] = [];
    const { agent, clock } = single(
      (_s, ctx) => {
        times.push(clock.now());
        if (ctx.attempt < 4) throw new Error(`attempt ${ctx.attempt}`);
        return { value: "ok" };
      },
      { retry: { maxAttempts: 4, initialDelayMs: 100, backoffFactor: 2, jitter: 0 } },
    );

    const running = agent.run({});
    await clock.runAll();
    const result = await running;

    expect(result.status).toBe("completed");
    expect(result.state.value).toBe("ok");
    expect(times.map((t) => t - 1_000)).toEqual([0, 100, 300, 700]);
  });

  it("waits for the backoff delay before the next attempt, not less", async () => {
    let attempts = 0;
    const { agent, clock } = single(
      () => {
        attempts++;
        if (attempts === 1) throw new Error("once");
        return { value: "ok" };
      },
      { retry: { initialDelayMs: 250, jitter: 0 } },
    );
    const running = agent.run({});
    await clock.advance(249);
    expect(attempts).toBe(1);
    await clock.advance(1);
    expect((await running).status).toBe("completed");
    expect(attempts).toBe(2);
  });

  it("caps each delay at maxDelayMs", async () => {
    const times: number[] = [];
    const { agent, clock } = single(
      () => {
        times.push(clock.now());
        throw new Error("always");
      },
      {
        retry: {
          maxAttempts: 4,
          initialDelayMs: 100,
          backoffFactor: 10,
          maxDelayMs: 500,
          jitter: 0,
        },
      },
    );
    const running = agent.run({});
    await clock.runAll();
    await running;
    const delays = times.slice(1).map((t, i) => t - times[i]!);
    expect(delays).toEqual([100, 500, 500]);
  });

  it("fails with NodeExecutionError after the last attempt, counting the attempts", async () => {
    const thrown = new Error("still broken");
    const { agent, clock } = single(
      () => {
        throw thrown;
      },
      { retry: { maxAttempts: 3, jitter: 0 } },
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(result.status).toBe("failed");
    const error = result.error as NodeExecutionError;
    expect(error).toBeInstanceOf(NodeExecutionError);
    expect(error.attempts).toBe(3);
    expect(error.cause).toBe(thrown);
  });

  it("keeps every delay within the jitter bounds", async () => {
    const times: number[] = [];
    const { agent, clock } = single(
      () => {
        times.push(clock.now());
        throw new Error("always");
      },
      { retry: { maxAttempts: 30, initialDelayMs: 100, backoffFactor: 1, jitter: 0.5 } },
    );
    const running = agent.run({});
    await clock.runAll();
    await running;
    const delays = times.slice(1).map((t, i) => t - times[i]!);
    expect(delays).toHaveLength(29);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(150);
    }
    // Jitter actually varies the delays.
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it.each([
    { random: 0, expected: 80 },
    { random: 0.999_999, expected: 120 },
  ])(
    "stretches a delay by at most the jitter fraction (random() = $random)",
    async ({ random, expected }) => {
      vi.spyOn(Math, "random").mockReturnValue(random);
      const times: number[] = [];
      const { agent, clock } = single(
        () => {
          times.push(clock.now());
          if (times.length === 1) throw new Error("once");
          return undefined;
        },
        { retry: { initialDelayMs: 100, jitter: 0.2 } },
      );
      const running = agent.run({});
      await clock.runAll();
      await running;
      expect(times[1]! - times[0]!).toBeCloseTo(expected, 0);
    },
  );

  it("retries only the errors retryOn accepts", async () => {
    const calls: string[] = [];
    const { agent, clock } = single(
      () => {
        calls.push("call");
        if (calls.length === 1) throw new Transient("blip");
        throw new Permanent("bad request");
      },
      { retry: { maxAttempts: 5, jitter: 0, retryOn: (e) => e instanceof Transient } },
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(calls).toHaveLength(2);
    expect(result.status).toBe("failed");
    expect((result.error as NodeExecutionError).cause).toBeInstanceOf(Permanent);
    expect((result.error as NodeExecutionError).attempts).toBe(2);
  });

  it("emits node:failed for each failed attempt, saying whether it will retry", async () => {
    const { agent, clock } = single(
      (_s, ctx) => {
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt}`);
        return { value: "done" };
      },
      { retry: { maxAttempts: 3, jitter: 0 } },
    );
    const failed: GraphEvents["node:failed"][] = [];
    const started: GraphEvents["node:started"][] = [];
    agent.on("node:failed", (e) => failed.push(e));
    agent.on("node:started", (e) => started.push(e));

    const running = agent.run({});
    await clock.runAll();
    await running;

    expect(failed.map(({ node, attempt, willRetry }) => ({ node, attempt, willRetry }))).toEqual([
      { node: "work", attempt: 1, willRetry: true },
      { node: "work", attempt: 2, willRetry: true },
    ]);
    expect(failed[0]!.error).toEqual(new Error("attempt 1"));
    expect(started.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(new Set(started.map((e) => e.iteration))).toEqual(new Set([1]));
  });

  it("reports the final failed attempt with willRetry false", async () => {
    const { agent, clock } = single(
      () => {
        throw new Error("nope");
      },
      { retry: { maxAttempts: 2, jitter: 0 } },
    );
    const failed: GraphEvents["node:failed"][] = [];
    agent.on("node:failed", (e) => failed.push(e));
    const running = agent.run({});
    await clock.runAll();
    await running;
    expect(failed.map((e) => e.willRetry)).toEqual([true, false]);
  });
});

describe("node timeout", () => {
  it("aborts ctx.signal and fails the run with NodeTimeoutError when time runs out", async () => {
    let signal: AbortSignal | undefined;
    const { agent, clock } = single(
      (_s, ctx) => {
        signal = ctx.signal;
        return untilAborted(ctx.signal);
      },
      { timeoutMs: 1_000 },
    );

    const running = agent.run({});
    await clock.advance(999);
    expect(await settlesSoon(running, 3)).toBe(false);
    expect(signal?.aborted).toBe(false);

    await clock.advance(1);
    const result = await running;

    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(NodeTimeoutError);
    expect(result.status).toBe("failed");
    expect(result.error).toBeInstanceOf(NodeTimeoutError);
    expect((result.error as NodeTimeoutError).node).toBe("work");
    expect((result.error as NodeTimeoutError).timeoutMs).toBe(1_000);
  });

  it("fails a node that ignores its signal when time runs out", async () => {
    const { agent, clock } = single(() => never(), { timeoutMs: 50 });
    const running = agent.run({});
    await clock.advance(50);
    expect(await settlesSoon(running)).toBe(true);
    expect((await running).error).toBeInstanceOf(NodeTimeoutError);
  });

  it("lets a node that finishes in time complete", async () => {
    const { agent, clock } = single(
      async () => {
        await clock.sleep(40);
        return { value: "in time" };
      },
      { timeoutMs: 50 },
    );
    const running = agent.run({});
    await clock.advance(100);
    const result = await running;
    expect(result.status).toBe("completed");
    expect(result.state.value).toBe("in time");
    expect(clock.pending).toBe(0);
  });

  it("does not retry a timeout unless retryOn says so", async () => {
    let calls = 0;
    const { agent, clock } = single(
      (_s, ctx) => {
        calls++;
        return untilAborted(ctx.signal);
      },
      { timeoutMs: 10, retry: { maxAttempts: 3, jitter: 0 } },
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(calls).toBe(1);
    expect(result.error).toBeInstanceOf(NodeTimeoutError);
  });

  it("retries a timeout when retryOn accepts it, with a fresh signal per attempt", async () => {
    const signals: AbortSignal[] = [];
    const { agent, clock } = single(
      (_s, ctx) => {
        signals.push(ctx.signal);
        if (ctx.attempt === 1) return untilAborted(ctx.signal);
        return { value: "second" };
      },
      { timeoutMs: 10, retry: { maxAttempts: 2, jitter: 0, retryOn: () => true } },
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(result.state.value).toBe("second");
    expect(signals).toHaveLength(2);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
  });
});

describe("node context", () => {
  it("gives each node its session, run, name, iteration and attempt", async () => {
    const contexts: NodeContext[] = [];
    const record: NodeFn<State> = (_s, ctx) => {
      contexts.push(ctx);
      return undefined;
    };
    const graph = new Graph({ state: State, name: "ctx-graph" })
      .addNode("first", record)
      .addNode("second", record)
      .addEdge(START, "first")
      .addEdge("first", "second")
      .addEdge("second", END)
      .compile();

    const result = await new GraphAgent({ graph }).run({}, { sessionId: "session-7" });

    expect(
      contexts.map(({ sessionId, runId, node, iteration, attempt }) => ({
        sessionId,
        runId,
        node,
        iteration,
        attempt,
      })),
    ).toEqual([
      { sessionId: "session-7", runId: result.runId, node: "first", iteration: 1, attempt: 1 },
      { sessionId: "session-7", runId: result.runId, node: "second", iteration: 2, attempt: 1 },
    ]);
    expect(contexts[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(contexts[0]?.signal.aborted).toBe(false);
    expect(contexts[0]?.feedback).toBeUndefined();
    expect(typeof contexts[0]?.logger.warn).toBe("function");
  });

  it("sends ctx.emit() to listeners as a `custom` event", async () => {
    const { agent } = single((_s, ctx) => {
      ctx.emit("progress", { done: 1, of: 2 });
      ctx.emit("ping");
      return undefined;
    });
    const custom: GraphEvents["custom"][] = [];
    agent.on("custom", (e) => custom.push(e));

    const result = await agent.run({}, { sessionId: "emit" });

    expect(custom).toEqual([
      expect.objectContaining({
        type: "custom",
        node: "work",
        name: "progress",
        data: { done: 1, of: 2 },
        sessionId: "emit",
        runId: result.runId,
      }),
      expect.objectContaining({ name: "ping", data: undefined }),
    ]);
  });

  it("stamps events with the agent clock's time", async () => {
    const { agent, clock } = single(async () => {
      await clock.sleep(30);
      return undefined;
    });
    const completed: GraphEvents["node:completed"][] = [];
    agent.on("node:completed", (e) => completed.push(e));
    const running = agent.run({});
    await clock.runAll();
    await running;
    expect(completed[0]?.time).toBe(1_030);
    expect(completed[0]?.durationMs).toBe(30);
  });
});
