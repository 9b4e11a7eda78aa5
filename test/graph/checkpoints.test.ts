import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CheckpointNotFoundError,
  END,
  Graph,
  GraphAgent,
  type GraphEvents,
  MemoryStore,
  type NodeFn,
  SessionBusyError,
  START,
  StateValidationError,
} from "../../src/index.js";
import { deferred, historyOf } from "./helpers.js";

const State = z.object({
  x: z.number().default(1),
  doubled: z.number().default(0),
  log: z.array(z.string()).default([]),
  big: z.string().default(""),
  step: z.number().default(0),
});
type State = z.output<typeof State>;

function graphOf(names: readonly string[], node: (name: string) => NodeFn<State>) {
  let graph = new Graph({ state: State, reducers: { log: "append" } });
  for (const name of names) graph = graph.addNode(name, node(name));
  graph = graph.addEdge(START, names[0]!);
  for (let i = 1; i < names.length; i++) graph = graph.addEdge(names[i - 1]!, names[i]!);
  return graph.addEdge(names.at(-1)!, END).compile();
}

/** START → a → b → c → END; each logs its name, `b` also doubles `x`. */
function abc(calls: Record<string, number> = {}) {
  return graphOf(["a", "b", "c"], (name) => (s) => {
    calls[name] = (calls[name] ?? 0) + 1;
    return name === "b" ? { log: [name], doubled: s.x * 2 } : { log: [name] };
  });
}

/** A chain of `length` nodes, each changing one small number. */
function chainOf(length: number) {
  const names = Array.from({ length }, (_, i) => `n${i}`);
  return graphOf(names, () => (s) => ({ step: s.step + 1 }));
}

/** Sums checkpoint bytes through `checkpoint:saved` events. */
function byteCounter(agent: GraphAgent<State>) {
  const saved: GraphEvents["checkpoint:saved"][] = [];
  agent.on("checkpoint:saved", (e) => saved.push(e));
  return {
    saved,
    total: () => saved.reduce((sum, e) => sum + e.bytes, 0),
  };
}

describe("checkpoints", () => {
  it("writes a checkpoint for the input and after every node, listed newest first", async () => {
    const agent = new GraphAgent({ graph: abc() });
    const result = await agent.run({ x: 3 }, { sessionId: "every" });

    const history = await historyOf(agent, "every");

    expect(
      history.map(({ sessionId, runId, seq, node, path, iteration, next, status }) => ({
        sessionId,
        runId,
        seq,
        node,
        path,
        iteration,
        next,
        status,
      })),
    ).toEqual([
      {
        sessionId: "every",
        runId: result.runId,
        seq: 4,
        node: null,
        path: ["a", "b", "c"],
        iteration: 3,
        next: [],
        status: "completed",
      },
      {
        sessionId: "every",
        runId: result.runId,
        seq: 3,
        node: "c",
        path: ["a", "b", "c"],
        iteration: 3,
        next: [],
        status: "running",
      },
      {
        sessionId: "every",
        runId: result.runId,
        seq: 2,
        node: "b",
        path: ["a", "b"],
        iteration: 2,
        next: ["c"],
        status: "running",
      },
      {
        sessionId: "every",
        runId: result.runId,
        seq: 1,
        node: "a",
        path: ["a"],
        iteration: 1,
        next: ["b"],
        status: "running",
      },
      {
        sessionId: "every",
        runId: result.runId,
        seq: 0,
        node: null,
        path: [],
        iteration: 0,
        next: ["a"],
        status: "running",
      },
    ]);
    expect(history.map((c) => c.state.log)).toEqual([
      ["a", "b", "c"],
      ["a", "b", "c"],
      ["a", "b"],
      ["a"],
      [],
    ]);
    expect(history[2]?.state.doubled).toBe(6);
    // Each checkpoint continues the one before it.
    for (let i = 0; i < history.length - 1; i++) {
      expect(history[i]?.parentId).toBe(history[i + 1]?.id);
    }
    expect(history.at(-1)?.parentId).toBeNull();
    expect(result.checkpointId).toBe(history[0]?.id);
  });

  it("limits history to the newest checkpoints", async () => {
    const agent = new GraphAgent({ graph: abc() });
    await agent.run({}, { sessionId: "limit" });
    const two = await historyOf(agent, "limit", { limit: 2 });
    expect(two.map((c) => c.seq)).toEqual([4, 3]);
    expect(two[1]?.state.log).toEqual(["a", "b", "c"]);
  });

  it("rebuilds the states of a limited history whose oldest entry is a delta", async () => {
    const agent = new GraphAgent({ graph: chainOf(6) });
    await agent.run({ big: "b".repeat(10_000) }, { sessionId: "deltas" });
    const page = await historyOf(agent, "deltas", { limit: 3 });
    expect(page.map((c) => c.node)).toEqual([null, "n5", "n4"]);
    expect(page.map((c) => c.state.step)).toEqual([6, 6, 5]);
    expect(page.map((c) => c.path.length)).toEqual([6, 6, 5]);
    expect(page[2]?.state.big).toHaveLength(10_000);
  });

  it("returns the latest state with getState(), or the one asked for by id", async () => {
    const agent = new GraphAgent({ graph: abc() });
    await agent.run({ x: 5 }, { sessionId: "get" });
    const history = await historyOf(agent, "get");

    const latest = await agent.getState("get");
    expect(latest?.id).toBe(history[0]?.id);
    expect(latest?.state).toEqual({ x: 5, doubled: 10, log: ["a", "b", "c"], big: "", step: 0 });

    const afterA = history.find((c) => c.node === "a")!;
    const byId = await agent.getState("get", afterA.id);
    expect(byId?.state.log).toEqual(["a"]);
    expect(byId?.path).toEqual(["a"]);
    expect(byId?.next).toEqual(["b"]);

    expect(await agent.getState("nobody")).toBeUndefined();
    expect(await agent.getState("get", "no-such-id")).toBeUndefined();
  });

  it("stores what a node changed, not the whole state, for each checkpoint", async () => {
    const agent = new GraphAgent({ graph: chainOf(50) });
    const bytes = byteCounter(agent);
    const megabyte = "m".repeat(1_000_000);

    const result = await agent.run({ big: megabyte }, { sessionId: "big" });

    expect(result.status).toBe("completed");
    expect(result.state.step).toBe(50);
    expect(bytes.saved).toHaveLength(52);
    expect(bytes.total()).toBeLessThan(1_200_000);
    const latest = await agent.getState("big");
    expect(latest?.state.big).toBe(megabyte);
    expect(latest?.state.step).toBe(50);
  });

  it("makes a checkpoint cost what its node changed", async () => {
    const graph = new Graph({ state: State, reducers: { log: "append" } })
      .addNode("small", () => ({ step: 1 }))
      .addNode("large", () => ({ log: ["l".repeat(10_000)] }))
      .addEdge(START, "small")
      .addEdge("small", "large")
      .addEdge("large", END)
      .compile();
    const agent = new GraphAgent({ graph });
    const bytes = byteCounter(agent);

    await agent.run({ big: "b".repeat(100_000) });

    const of = (node: string) => bytes.saved.find((e) => e.node === node)!.bytes;
    expect(of("small")).toBeLessThan(100);
    expect(of("large")).toBeGreaterThanOrEqual(10_000);
    expect(of("large")).toBeLessThan(10_100);
  });

  it("keeps the bytes per checkpoint flat as the number of nodes grows", async () => {
    const perNode = async (length: number) => {
      const agent = new GraphAgent({ graph: chainOf(length) });
      const bytes = byteCounter(agent);
      await agent.run({ big: "b".repeat(50_000) });
      const nodeCheckpoints = bytes.saved.filter((e) => e.node !== null);
      return {
        total: bytes.total(),
        largest: Math.max(...nodeCheckpoints.map((e) => e.bytes)),
      };
    };
    const short = await perNode(10);
    const long = await perNode(200);

    expect(long.largest).toBeLessThanOrEqual(short.largest + 5);
    // 190 more nodes cost 190 small deltas, not 190 copies of the state.
    expect(long.total - short.total).toBeLessThan(190 * 100);
  });

  it("resumes after a failure from the last checkpoint, running only the remaining nodes", async () => {
    const calls: Record<string, number> = {};
    let failNext = true;
    const graph = graphOf(["a", "flaky", "c"], (name) => () => {
      calls[name] = (calls[name] ?? 0) + 1;
      if (name === "flaky" && failNext) {
        failNext = false;
        throw new Error("network down");
      }
      return { log: [name] };
    });
    const agent = new GraphAgent({ graph });

    const failed = await agent.run({}, { sessionId: "retry-later" });
    expect(failed.status).toBe("failed");
    expect(failed.path).toEqual(["a"]);
    const stopped = await agent.getState("retry-later");
    expect(stopped?.status).toBe("failed");
    expect(stopped?.next).toEqual(["flaky"]);

    const resumed = await agent.resume("retry-later");

    expect(resumed.status).toBe("completed");
    expect(resumed.path).toEqual(["a", "flaky", "c"]);
    expect(resumed.state.log).toEqual(["a", "flaky", "c"]);
    expect(resumed.iterations).toBe(2);
    expect(calls).toEqual({ a: 1, flaky: 2, c: 1 });
    expect(resumed.runId).not.toBe(failed.runId);
  });

  it("announces where a resumed run continues from", async () => {
    let fail = true;
    const graph = graphOf(["a", "b"], (name) => () => {
      if (name === "b" && fail) {
        fail = false;
        throw new Error("once");
      }
      return undefined;
    });
    const agent = new GraphAgent({ graph });
    await agent.run({}, { sessionId: "announce" });
    const last = await agent.getState("announce");
    const started: GraphEvents["run:started"][] = [];
    agent.on("run:started", (e) => started.push(e));

    await agent.resume("announce");

    expect(started.map((e) => e.resumedFrom)).toEqual([last?.id]);
  });

  it("fails resume() with CheckpointNotFoundError for a session without checkpoints", async () => {
    const agent = new GraphAgent({ graph: abc() });
    await expect(agent.resume("never-ran")).rejects.toBeInstanceOf(CheckpointNotFoundError);
  });

  it("forks from an earlier checkpoint with an update, keeping the original history", async () => {
    const calls: Record<string, number> = {};
    const agent = new GraphAgent({ graph: abc(calls) });
    const original = await agent.run({ x: 1 }, { sessionId: "travel" });
    const before = await historyOf(agent, "travel");
    const afterA = before.find((c) => c.node === "a")!;

    const forked = await agent.fork("travel", afterA.id, { update: { x: 10 } });

    expect(forked.status).toBe("completed");
    expect(forked.state.doubled).toBe(20);
    expect(forked.state.log).toEqual(["a", "b", "c"]);
    expect(forked.path).toEqual(["a", "b", "c"]);
    expect(calls).toEqual({ a: 1, b: 2, c: 2 });
    expect(original.state.doubled).toBe(2);

    const after = await historyOf(agent, "travel");
    // Every original checkpoint is still there, unchanged.
    for (const checkpoint of before) {
      const same = after.find((c) => c.id === checkpoint.id);
      expect(same).toEqual(checkpoint);
    }
    // The new branch grows from the fork point.
    const branch = after.filter((c) => c.runId === forked.runId);
    expect(branch.length).toBeGreaterThan(0);
    const oldest = branch.at(-1)!;
    expect(oldest.parentId).toBe(afterA.id);
    expect((await agent.getState("travel"))?.state.doubled).toBe(20);
    expect((await agent.getState("travel", before[0]!.id))?.state.doubled).toBe(2);
  });

  it("forks into another session without touching the original one", async () => {
    const agent = new GraphAgent({ graph: abc() });
    await agent.run({ x: 2 }, { sessionId: "source" });
    const before = await historyOf(agent, "source");
    const afterB = before.find((c) => c.node === "b")!;

    const copy = await agent.fork("source", afterB.id, { toSessionId: "copy", update: { x: 7 } });

    expect(copy.sessionId).toBe("copy");
    expect(copy.path).toEqual(["a", "b", "c"]);
    expect(copy.state.doubled).toBe(4);
    expect(copy.state.x).toBe(7);
    expect(await historyOf(agent, "source")).toEqual(before);
    expect((await agent.getState("copy"))?.state.x).toBe(7);
  });

  it("refuses a fork whose update does not fit the state, leaving history alone", async () => {
    const agent = new GraphAgent({ graph: abc() });
    await agent.run({}, { sessionId: "bad-fork" });
    const before = await historyOf(agent, "bad-fork");
    const afterA = before.find((c) => c.node === "a")!;

    await expect(
      agent.fork("bad-fork", afterA.id, { update: { x: "ten" as unknown as number } }),
    ).rejects.toBeInstanceOf(StateValidationError);
    expect(await historyOf(agent, "bad-fork")).toEqual(before);
  });

  it('writes nothing until the run ends with durability "exit"', async () => {
    const store = new MemoryStore();
    const seenDuringRun: unknown[] = [];
    const graph = graphOf(["a", "b"], (name) => async () => {
      seenDuringRun.push(await store.checkpoints.latest("exit", ""));
      return { log: [name] };
    });
    const agent = new GraphAgent({ graph, store, durability: "exit" });

    const result = await agent.run({}, { sessionId: "exit" });

    expect(seenDuringRun).toEqual([undefined, undefined]);
    const history = await historyOf(agent, "exit");
    expect(history.map((c) => c.node)).toEqual([null, "b", "a", null]);
    expect(history[0]?.state.log).toEqual(["a", "b"]);
    expect(result.checkpointId).toBe(history[0]?.id);
  });

  it('writes the buffered checkpoints of a failed run with durability "exit", so it can resume', async () => {
    let fail = true;
    const graph = graphOf(["a", "b"], (name) => () => {
      if (name === "b" && fail) {
        fail = false;
        throw new Error("once");
      }
      return { log: [name] };
    });
    const agent = new GraphAgent({ graph, durability: "exit" });
    await agent.run({}, { sessionId: "exit-fail" });
    expect((await agent.getState("exit-fail"))?.status).toBe("failed");
    const resumed = await agent.resume("exit-fail");
    expect(resumed.state.log).toEqual(["a", "b"]);
  });

  it('writes no checkpoint at all with durability "off"', async () => {
    const store = new MemoryStore();
    const agent = new GraphAgent({ graph: abc(), store, durability: "off" });
    const saved: GraphEvents["checkpoint:saved"][] = [];
    agent.on("checkpoint:saved", (e) => saved.push(e));

    const result = await agent.run({}, { sessionId: "off" });

    expect(result.status).toBe("completed");
    expect(result.checkpointId).toBeNull();
    expect(saved).toEqual([]);
    expect(await store.checkpoints.latest("off", "")).toBeUndefined();
    expect(await historyOf(agent, "off")).toEqual([]);
    await expect(agent.resume("off")).rejects.toBeInstanceOf(CheckpointNotFoundError);
  });

  it("refuses a second run of a session while the first is in a node", async () => {
    const release = deferred();
    const inside = deferred();
    const graph = graphOf(["wait"], () => async () => {
      inside.resolve();
      await release.promise;
      return { log: ["done"] };
    });
    const agent = new GraphAgent({ graph });

    const first = agent.run({}, { sessionId: "busy" });
    await inside.promise;
    await expect(agent.run({}, { sessionId: "busy" })).rejects.toBeInstanceOf(SessionBusyError);
    await expect(agent.resume("busy")).rejects.toBeInstanceOf(SessionBusyError);
    // Another session is not affected.
    const other = agent.run({}, { sessionId: "other" });
    release.resolve();

    expect((await first).status).toBe("completed");
    expect((await other).status).toBe("completed");
    // Once the first run ended, the session is free again.
    expect((await agent.run({}, { sessionId: "busy" })).status).toBe("completed");
  });

  it("refuses a second run of a session started in the same tick", async () => {
    const agent = new GraphAgent({ graph: abc() });

    const first = agent.run({}, { sessionId: "race" });
    const second = agent.run({}, { sessionId: "race" });

    const [a, b] = await Promise.allSettled([first, second]);
    expect(a).toMatchObject({ status: "fulfilled", value: { status: "completed" } });
    expect(b.status).toBe("rejected");
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(SessionBusyError);
  });

  it("keeps result.state equal to the last checkpoint when a run fails after a node's update", async () => {
    const graph = graphOf(["a", "b"], (name) => () => ({ log: [name] }));
    const agent = new GraphAgent({
      graph,
      hooks: {
        afterNode: ({ node }) => {
          if (node === "a") throw new Error("audit log unavailable");
        },
      },
    });

    const result = await agent.run({}, { sessionId: "consistent" });

    expect(result.status).toBe("failed");
    const latest = await agent.getState("consistent");
    expect(latest?.id).toBe(result.checkpointId);
    expect(result.state).toEqual(latest?.state);
    expect(result.path).toEqual(latest?.path);
  });

  it("does not apply a node's update twice when resuming a run that failed after it", async () => {
    let hookFails = true;
    const graph = graphOf(["a", "b"], (name) => () => ({ log: [name] }));
    const agent = new GraphAgent({
      graph,
      hooks: {
        onEdge: ({ from }) => {
          if (from === "a" && hookFails) {
            hookFails = false;
            throw new Error("flaky hook");
          }
        },
      },
    });

    await agent.run({ big: "x".repeat(10) }, { sessionId: "twice" });
    const resumed = await agent.resume("twice");

    expect(resumed.status).toBe("completed");
    expect(resumed.state.log).toEqual(["a", "b"]);
    expect(resumed.path).toEqual(["a", "b"]);
  });
});
