import { describe, expect, it } from "vitest";
import { z } from "zod";
import { SimulatedClock } from "../../src/entries/testing.js";
import {
  BranchAbortedError,
  BranchTimeoutError,
  MergeConflictError,
  ParallelGroupError,
} from "../../src/errors.js";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type NodeDefinition,
  type NodeFn,
  START,
  silentLogger,
} from "../../src/index.js";
import { dynamicParallelGroup, parallelGroup } from "../../src/patterns/parallel-group.js";
import { deferred, historyOf, settlesSoon, turns, untilAborted } from "../graph/helpers.js";

const State = z.object({
  topic: z.string().default(""),
  log: z.array(z.string()).default([]),
  total: z.number().default(0),
  winner: z.string().default(""),
  profile: z.object({ name: z.string().optional(), city: z.string().optional() }).default({}),
  items: z.array(z.string()).default([]),
});
type State = z.output<typeof State>;

/** START → group → done → END, with `log` appended and `total` summed. */
function agentWith(group: NodeDefinition<State>, clock?: SimulatedClock) {
  const graph = new Graph({ state: State, name: "fan", reducers: { log: "append", total: "sum" } })
    .addNode("group", group)
    .addNode("done", () => ({ log: ["done"] }))
    .addEdge(START, "group")
    .addEdge("group", "done")
    .addEdge("done", END)
    .compile();
  return new GraphAgent({ graph, logger: silentLogger, ...(clock ? { clock } : {}) });
}

function customEvents(agent: GraphAgent<State>, name: string): unknown[] {
  const seen: unknown[] = [];
  agent.on("custom", (event) => {
    if (event.name === name) seen.push(event.data);
  });
  return seen;
}

describe("parallelGroup", () => {
  for (const key of ["__proto__", "constructor", "toString", "nope"]) {
    it(`fails the group when a branch's update has the unknown key \`${key}\`, touching no prototype`, async () => {
      const agent = agentWith(
        parallelGroup<State>({
          branches: {
            good: () => ({ log: ["good"] }),
            bad: () => JSON.parse(`{"${key}": {"polluted": true}, "log": ["bad"]}`),
          },
        }),
      );
      const result = await agent.run({});
      expect(result.status).toBe("failed");
      expect(result.error?.message).toContain(key);
      expect(result.state.log).toEqual([]);
      expect(Object.getPrototypeOf(result.state)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.hasOwn(result.state, key)).toBe(false);
    });
  }

  it("merges branches in declaration order, not the order they finish", async () => {
    const first = deferred();
    const agent = agentWith(
      parallelGroup<State>({
        branches: {
          a: async () => {
            await first.promise;
            return { log: ["a"], total: 1 };
          },
          b: () => {
            first.resolve();
            return { log: ["b"], total: 2 };
          },
        },
      }),
    );
    const result = await agent.run({ total: 10 });
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "done"]);
    expect(result.state.total).toBe(13);
  });

  it("gives every branch the fork snapshot, never another branch's result", async () => {
    const seen: string[][] = [];
    const agent = agentWith(
      parallelGroup<State>({
        branches: {
          a: (s) => {
            seen.push([...s.log]);
            return { log: ["a"] };
          },
          b: async (s) => {
            await turns(1);
            seen.push([...s.log]);
            return { log: ["b"] };
          },
        },
        concurrency: 1,
      }),
    );
    await agent.run({ log: ["start"] });
    expect(seen).toEqual([["start"], ["start"]]);
  });

  it('joins on the first success with join "any" and aborts the losers', async () => {
    const loser = deferred<AbortSignal>();
    const agent = agentWith(
      parallelGroup<State>({
        join: "any",
        branches: {
          slow: (_s, ctx) => {
            loser.resolve(ctx.signal);
            return untilAborted(ctx.signal);
          },
          fast: async () => {
            await turns(2);
            return { log: ["fast"] };
          },
        },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["fast", "done"]);
    const signal = await loser.promise;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(BranchAbortedError);
    expect((signal.reason as BranchAbortedError).reason).toBe("join");
  });

  it("joins on the n-th success with join { n } and aborts the rest", async () => {
    const aborted: string[] = [];
    const hang: NodeFn<State> = (_s, ctx) => {
      ctx.signal.addEventListener("abort", () => aborted.push(ctx.node));
      return untilAborted(ctx.signal);
    };
    const agent = agentWith(
      parallelGroup<State>({
        join: { n: 2 },
        branches: { a: () => ({ log: ["a"] }), h1: hang, b: () => ({ log: ["b"] }), h2: hang },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "b", "done"]);
    expect(aborted.sort()).toEqual(["group/h1", "group/h2"]);
  });

  it("fails the run when a join of n can no longer be reached", async () => {
    const agent = agentWith(
      parallelGroup<State>({
        join: { n: 2 },
        errors: "continue",
        branches: {
          a: () => ({ log: ["a"] }),
          b: () => {
            throw new Error("b broke");
          },
        },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    expect(result.error?.cause).toBeInstanceOf(ParallelGroupError);
  });

  it("fails a join of n as soon as it is out of reach, aborting branches that would hang forever", async () => {
    const signals: AbortSignal[] = [];
    const hang: NodeFn<State> = (_s, ctx) => {
      signals.push(ctx.signal);
      return untilAborted(ctx.signal);
    };
    const agent = agentWith(
      parallelGroup<State>({
        join: { n: 3 },
        errors: "continue",
        branches: {
          a: () => {
            throw new Error("a broke");
          },
          h1: hang,
          b: async () => {
            await turns(1);
            throw new Error("b broke");
          },
          h2: hang,
        },
      }),
    );
    const running = agent.run({});
    expect(await settlesSoon(running)).toBe(true);
    const result = await running;
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as ParallelGroupError;
    expect(cause).toBeInstanceOf(ParallelGroupError);
    expect(cause.message).toContain("the join needs 3 successful branches");
    expect(cause.message).toContain("can no longer get them");
    expect(cause.failures.map((f) => f.branch)).toEqual(["a", "b"]);
    expect(signals).toHaveLength(2);
    for (const signal of signals) {
      expect(signal.reason).toBeInstanceOf(BranchAbortedError);
      expect((signal.reason as BranchAbortedError).reason).toBe("unreachable");
    }
  });

  it("fails a join of n early also for branches still queued behind `concurrency`", async () => {
    let started = 0;
    const hang: NodeFn<State> = (_s, ctx) => {
      started++;
      return untilAborted(ctx.signal);
    };
    const agent = agentWith(
      parallelGroup<State>({
        join: { n: 3 },
        errors: "collect",
        concurrency: 2,
        branches: {
          a: () => {
            throw new Error("a broke");
          },
          b: () => {
            throw new Error("b broke");
          },
          h1: hang,
          h2: hang,
        },
      }),
    );
    const running = agent.run({});
    expect(await settlesSoon(running)).toBe(true);
    expect((await running).status).toBe("failed");
    expect(started).toBeLessThanOrEqual(1);
  });

  it('aborts the other branches and fails on the first error with "fail-fast"', async () => {
    const other = deferred<AbortSignal>();
    const agent = agentWith(
      parallelGroup<State>({
        branches: {
          waits: (_s, ctx) => {
            other.resolve(ctx.signal);
            return untilAborted(ctx.signal);
          },
          breaks: async () => {
            await turns(1);
            throw new Error("boom");
          },
        },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as ParallelGroupError;
    expect(cause).toBeInstanceOf(ParallelGroupError);
    expect(cause.failures.map((f) => f.branch)).toEqual(["breaks"]);
    expect(cause.failures[0]?.error).toMatchObject({ message: "boom" });
    const signal = await other.promise;
    expect((signal.reason as BranchAbortedError).reason).toBe("fail-fast");
    expect(result.state.log).toEqual([]);
  });

  it('drops failed branches from the merge with "continue"', async () => {
    const agent = agentWith(
      parallelGroup<State>({
        errors: "continue",
        branches: {
          a: () => ({ log: ["a"] }),
          b: () => {
            throw new Error("b broke");
          },
          c: () => ({ log: ["c"] }),
        },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "c", "done"]);
  });

  it('merges the successes and records the failures with "collect"', async () => {
    const agent = agentWith(
      parallelGroup<State>({
        errors: "collect",
        branches: {
          a: () => ({ log: ["a"] }),
          b: () => {
            throw new Error("b broke");
          },
        },
      }),
    );
    const events = customEvents(agent, "parallel:failures");
    const result = await agent.run({}, { sessionId: "collect" });
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["a", "done"]);
    const group = (await historyOf(agent, "collect")).find((c) => c.node === "group");
    const failures = group?.meta.notes?.failures as {
      branch: string;
      error: { message: string };
    }[];
    expect(failures.map((f) => f.branch)).toEqual(["b"]);
    expect(failures[0]?.error.message).toBe("b broke");
    expect(events).toHaveLength(1);
  });

  it('fails with every branch error when all branches fail under "collect"', async () => {
    const agent = agentWith(
      parallelGroup<State>({
        errors: "collect",
        branches: {
          a: () => {
            throw new Error("a broke");
          },
          b: () => {
            throw new Error("b broke");
          },
        },
      }),
    );
    const result = await agent.run({});
    expect(result.status).toBe("failed");
    const cause = result.error?.cause as ParallelGroupError;
    expect(cause).toBeInstanceOf(ParallelGroupError);
    expect(cause.failures.map((f) => (f.error as Error).message)).toEqual(["a broke", "b broke"]);
  });

  it("never runs more branches at once than `concurrency`", async () => {
    let inFlight = 0;
    let most = 0;
    const branch: NodeFn<State> = async (_s, ctx) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await turns(2);
      inFlight--;
      return { log: [ctx.node] };
    };
    const branches = Object.fromEntries(["a", "b", "c", "d", "e", "f"].map((n) => [n, branch]));
    const agent = agentWith(parallelGroup<State>({ branches, concurrency: 2 }));
    const result = await agent.run({});
    expect(result.status).toBe("completed");
    expect(most).toBe(2);
    expect(result.state.log).toEqual(
      ["a", "b", "c", "d", "e", "f"].map((n) => `group/${n}`).concat("done"),
    );
  });

  it("aborts a branch that runs past `branchTimeoutMs` with BranchTimeoutError", async () => {
    const clock = new SimulatedClock();
    const slow = deferred<AbortSignal>();
    const agent = agentWith(
      parallelGroup<State>({
        errors: "collect",
        branchTimeoutMs: 100,
        branches: {
          quick: () => ({ log: ["quick"] }),
          slow: (_s, ctx) => {
            slow.resolve(ctx.signal);
            return untilAborted(ctx.signal);
          },
        },
      }),
      clock,
    );
    const done = agent.run({}, { sessionId: "timeout" });
    const signal = await slow.promise;
    await turns(2);
    await clock.advance(99);
    expect(signal.aborted).toBe(false);
    await clock.advance(1);
    expect(await settlesSoon(done)).toBe(true);
    const result = await done;
    expect(signal.reason).toBeInstanceOf(BranchTimeoutError);
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["quick", "done"]);
    const group = (await historyOf(agent, "timeout")).find((c) => c.node === "group");
    expect(group?.meta.notes?.failures).toMatchObject([
      { branch: "slow", error: { code: "BRANCH_TIMEOUT" } },
    ]);
  });

  describe("conflicts", () => {
    const branches = {
      a: () => ({ winner: "a", profile: { name: "Ada" } }),
      b: () => ({ winner: "b", profile: { city: "Oslo" } }),
    };

    it('fails with MergeConflictError under the default "error" policy', async () => {
      const result = await agentWith(parallelGroup<State>({ branches })).run({});
      expect(result.status).toBe("failed");
      const cause = result.error?.cause as MergeConflictError;
      expect(cause).toBeInstanceOf(MergeConflictError);
      expect(cause.path).toBe("winner");
      expect(cause.branches).toEqual(["a", "b"]);
    });

    it.each([
      ["first", "a"],
      ["last", "b"],
    ] as const)(
      'takes the %s branch\'s value under "%s" and records the conflict',
      async (policy, winner) => {
        const agent = agentWith(parallelGroup<State>({ branches, conflicts: policy }));
        const events = customEvents(agent, "merge:conflicts");
        const result = await agent.run({}, { sessionId: policy });
        expect(result.status).toBe("completed");
        expect(result.state.winner).toBe(winner);
        // Disjoint paths inside one object merge without a conflict.
        expect(result.state.profile).toEqual({ name: "Ada", city: "Oslo" });
        const group = (await historyOf(agent, policy)).find((c) => c.node === "group");
        expect(group?.meta.notes?.conflicts).toEqual([
          { path: "winner", branches: ["a", "b"], values: ["a", "b"], base: "" },
        ]);
        expect(events).toEqual([{ conflicts: group?.meta.notes?.conflicts }]);
      },
    );

    it("uses the resolver's value", async () => {
      const agent = agentWith(
        parallelGroup<State>({ branches, conflicts: (c) => (c.values as string[]).join("+") }),
      );
      const result = await agent.run({});
      expect(result.state.winner).toBe("a+b");
    });
  });

  it("resumes a cancelled run by running only the unfinished branches", async () => {
    const calls = { a: 0, b: 0, c: 0 };
    let firstTry = true;
    const agent = agentWith(
      parallelGroup<State>({
        branches: {
          a: () => {
            calls.a++;
            return { log: ["a"] };
          },
          b: async () => {
            calls.b++;
            await turns(1);
            return { log: ["b"] };
          },
          c: (_s, ctx) => {
            calls.c++;
            if (firstTry) return untilAborted(ctx.signal);
            return { log: ["c"] };
          },
        },
      }),
    );
    const controller = new AbortController();
    const running = agent.run({}, { sessionId: "resume", signal: controller.signal });
    await turns(10);
    controller.abort("stop");
    const cancelled = await running;
    expect(cancelled.status).toBe("cancelled");
    firstTry = false;
    const resumed = await agent.resume("resume");
    expect(resumed.status).toBe("completed");
    expect(calls).toEqual({ a: 1, b: 1, c: 2 });
    expect(resumed.state.log).toEqual(["a", "b", "c", "done"]);
  });

  it("does not warn about too many abort listeners on a 100-way fan-out", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const branches = Object.fromEntries(
        Array.from({ length: 100 }, (_, i) => [
          `b${i}`,
          (async (_s, ctx) => {
            ctx.signal.addEventListener("abort", () => {});
            await turns(1);
            return { total: 1 };
          }) satisfies NodeFn<State>,
        ]),
      );
      const agent = agentWith(
        parallelGroup<State>({ branches, branchTimeoutMs: 60_000 }),
        new SimulatedClock(),
      );
      const result = await agent.run({});
      expect(result.state.total).toBe(100);
      await turns(2);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("rejects invalid options with InvalidOptionError", () => {
    expect(() => parallelGroup<State>({ branches: {} })).toThrow(/`branches`/);
    expect(() => parallelGroup<State>({ branches: { a: () => ({}) }, concurrency: 0 })).toThrow(
      /`concurrency` to be an integer from 1 and up, got `0` \(number\)/,
    );
    expect(() => parallelGroup<State>({ branches: { a: () => ({}) }, join: { n: 2 } })).toThrow(
      /join\.n/,
    );
  });
});

describe("dynamicParallelGroup", () => {
  it("runs one branch per item with ctx.item and merges in list order", async () => {
    const agent = agentWith(
      dynamicParallelGroup<State, string>({
        items: (s) => s.items,
        branch: async (_s, ctx, item) => {
          if (item === "x") await turns(3);
          return { log: [`${String(ctx.item)}:${item}`], total: 1 };
        },
      }),
    );
    const events: GraphEvent[] = [];
    agent.on("state:updated", (e) => events.push(e));
    const result = await agent.run({ items: ["x", "y", "z"] });
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["x:x", "y:y", "z:z", "done"]);
    expect(result.state.total).toBe(3);
  });

  it("passes through an empty list without running anything", async () => {
    const result = await agentWith(
      dynamicParallelGroup<State, string>({
        items: (s) => s.items,
        branch: () => ({ log: ["never"] }),
      }),
    ).run({});
    expect(result.status).toBe("completed");
    expect(result.state.log).toEqual(["done"]);
  });
});
