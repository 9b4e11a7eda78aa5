import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../src/entries/testing.js";
import {
  END,
  Graph,
  GraphAgent,
  InterruptActionSchema,
  InvalidOptionError,
  MAX_TIMEOUT_MS,
  parallelGroup,
  RuleBasedReasoner,
  START,
  systemClock,
} from "../src/index.js";
import { resolveInterruptConfig } from "../src/interrupts/interrupt-config.js";

const DAY = 24 * 60 * 60 * 1000;

/** Whether `promise` has settled, after letting queued callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe("systemClock.sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits the whole of a 30-day sleep instead of firing at once (setTimeout's limit is 24.8 days)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const sleeping = systemClock.sleep(30 * DAY);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await settled(sleeping)).toBe(false);
    await vi.advanceTimersByTimeAsync(30 * DAY - 1_001);
    expect(await settled(sleeping)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(sleeping)).toBe(true);
  });

  it("stops a chained sleep when its signal aborts, leaving no timer behind", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60 * DAY, controller.signal);
    await vi.advanceTimersByTimeAsync(40 * DAY);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("refuses a sleep longer than MAX_TIMEOUT_MS", async () => {
    await expect(systemClock.sleep(MAX_TIMEOUT_MS + 1)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe("SimulatedClock.sleep", () => {
  it("wakes a 30-day sleep at 30 days, not before", async () => {
    const clock = new SimulatedClock();
    const sleeping = clock.sleep(30 * DAY);
    await clock.advance(30 * DAY - 1);
    expect(await settled(sleeping)).toBe(false);
    await clock.advance(1);
    expect(await settled(sleeping)).toBe(true);
  });

  it("refuses a sleep longer than MAX_TIMEOUT_MS, like the system clock", async () => {
    await expect(new SimulatedClock().sleep(MAX_TIMEOUT_MS + 1)).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });
});

describe("a node with a 30-day timeout", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is not timed out after a minute on the system clock", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let finish!: () => void;
    const graph = new Graph({ state: z.object({ done: z.boolean().default(false) }) })
      .addNode(
        "slow",
        () =>
          new Promise((resolve) => {
            finish = () => resolve({ done: true });
          }),
        { timeoutMs: 30 * DAY },
      )
      .addEdge(START, "slow")
      .addEdge("slow", END)
      .compile();
    const running = new GraphAgent({ graph, durability: "off" }).run({});
    await vi.advanceTimersByTimeAsync(60_000);
    finish();
    const result = await running;
    expect(result.status).toBe("completed");
    expect(result.state.done).toBe(true);
  });
});

describe("timeout options", () => {
  const State = z.object({ n: z.number().default(0) });
  const tooLong = MAX_TIMEOUT_MS + 1;

  it("refuse a node `timeoutMs` above the maximum", () => {
    expect(() =>
      new Graph({ state: State }).addNode("a", () => ({}), { timeoutMs: tooLong }),
    ).toThrow(
      /`timeoutMs` to be a number of milliseconds above 0 and at most 31622400000 \(366 days\)/,
    );
    expect(() =>
      new Graph({ state: State }).addNode("a", () => ({}), { timeoutMs: MAX_TIMEOUT_MS }),
    ).not.toThrow();
  });

  it("refuse a `branchTimeoutMs` above the maximum", () => {
    expect(() => parallelGroup({ branches: { a: () => ({}) }, branchTimeoutMs: tooLong })).toThrow(
      InvalidOptionError,
    );
  });

  it("refuse approval gate and wait-pause timeouts above the maximum", () => {
    const reasoner = () => new RuleBasedReasoner();
    const graph = new Graph({ state: z.object({}) })
      .addNode("a", () => undefined)
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile();
    expect(() =>
      resolveInterruptConfig({ approvals: { a: { timeoutMs: tooLong } } }, graph, reasoner),
    ).toThrow(InvalidOptionError);
    expect(() => resolveInterruptConfig({ pauseTimeoutMs: tooLong }, graph, reasoner)).toThrow(
      InvalidOptionError,
    );
    expect(() =>
      resolveInterruptConfig({ pauseTimeoutMs: 30 * DAY }, graph, reasoner),
    ).not.toThrow();
  });

  it("refuse a `pause` action whose `timeoutMs` is above the maximum", () => {
    expect(InterruptActionSchema.safeParse({ type: "pause", timeoutMs: tooLong }).success).toBe(
      false,
    );
    expect(InterruptActionSchema.safeParse({ type: "pause", timeoutMs: 30 * DAY }).success).toBe(
      true,
    );
  });
});

describe("timers in the library", () => {
  it("are set only by the clock (src/clock.ts)", () => {
    const root = fileURLToPath(new URL("../src", import.meta.url));
    const found: string[] = [];
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== "testing") visit(path);
        } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
          const text = readFileSync(path, "utf8");
          const file = relative(root, path);
          if (file === "clock.ts") continue;
          if (/\bset(?:Timeout|Interval)\s*\(|timers\/promises/.test(text)) found.push(file);
        }
      }
    };
    visit(root);
    expect(found).toEqual([]);
  });
});
