import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { MAX_TIMEOUT_MS } from "../../src/clock.js";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  InvalidOptionError,
  type NodeFn,
  type RetryPolicy,
  START,
} from "../../src/index.js";

const State = z.object({ value: z.string().default("") });
type State = z.output<typeof State>;
const DAY = 24 * 60 * 60 * 1000;

function single(work: NodeFn<State>, retry: RetryPolicy, clock?: SimulatedClock) {
  const graph = new Graph({ state: State })
    .addNode("work", work, { retry })
    .addEdge(START, "work")
    .addEdge("work", END)
    .compile();
  // A month-long lease: its heartbeat fires a few dozen times over a year of simulated time.
  return new GraphAgent({ graph, ...(clock === undefined ? {} : { clock, leaseTtlMs: 30 * DAY }) });
}

/** Fails on the first attempt, succeeds on the next; records when each attempt began. */
function flaky(times: number[], now: () => number): NodeFn<State> {
  return (_state, ctx) => {
    times.push(now());
    if (ctx.attempt === 1) throw new Error("first attempt fails");
    return { value: `attempt ${ctx.attempt}` };
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("retry delays longer than the longest timeout", () => {
  it("caps a delay above MAX_TIMEOUT_MS at MAX_TIMEOUT_MS and retries after it", async () => {
    const clock = new SimulatedClock(0);
    const times: number[] = [];
    const agent = single(
      flaky(times, () => clock.now()),
      { maxAttempts: 2, initialDelayMs: 400 * DAY, maxDelayMs: 500 * DAY, jitter: 0 },
      clock,
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("completed");
    expect(times).toEqual([0, MAX_TIMEOUT_MS]);
  });

  it("caps a delay that only jitter pushes above MAX_TIMEOUT_MS", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const clock = new SimulatedClock(0);
    const times: number[] = [];
    const agent = single(
      flaky(times, () => clock.now()),
      { maxAttempts: 2, initialDelayMs: MAX_TIMEOUT_MS, maxDelayMs: MAX_TIMEOUT_MS, jitter: 0.5 },
      clock,
    );
    const running = agent.run({});
    await clock.runAll();
    const result = await running;
    expect(result.status).toBe("completed");
    expect(times).toEqual([0, MAX_TIMEOUT_MS]);
  });

  it("waits a 30-day delay on the real clock as chained timers, not at once, and a cancel ends it", async () => {
    const times: number[] = [];
    const agent = single(flaky(times, Date.now), {
      maxAttempts: 2,
      initialDelayMs: 30 * DAY,
      maxDelayMs: 30 * DAY,
      jitter: 0,
    });
    const running = agent.run({}, { sessionId: "long-retry" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // One setTimeout of more than 2³¹−1 ms would have fired at once.
    expect(times).toHaveLength(1);
    agent.cancel("long-retry");
    const result = await running;
    expect(result.status).toBe("cancelled");
    expect(times).toHaveLength(1);
  });
});

describe("retry policies checked when the node is added", () => {
  it.each<[string, RetryPolicy]>([
    ["retry.maxAttempts", { maxAttempts: 0 }],
    ["retry.maxAttempts", { maxAttempts: 1.5 }],
    ["retry.initialDelayMs", { initialDelayMs: -1 }],
    ["retry.initialDelayMs", { initialDelayMs: Number.NaN }],
    ["retry.maxDelayMs", { maxDelayMs: "10s" as never }],
    ["retry.backoffFactor", { backoffFactor: 0.5 }],
    ["retry.backoffFactor", { backoffFactor: Number.POSITIVE_INFINITY }],
    ["retry.jitter", { jitter: 2 }],
    ["retry.retryOn", { retryOn: true as never }],
  ])("refuses a wrong %s with InvalidOptionError", (option, retry) => {
    const error = (() => {
      try {
        new Graph({ state: State }).addNode("work", () => ({}), { retry });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option });
    expect((error as Error).message).toContain(`\`${option}\``);
  });
});
