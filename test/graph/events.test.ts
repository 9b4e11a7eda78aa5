import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type GraphEvents,
  HookError,
  type NodeFn,
  type RunHooks,
  START,
} from "../../src/index.js";
import { historyOf, recordEvents, untilAborted } from "./helpers.js";

const State = z.object({
  count: z.number().default(0),
  log: z.array(z.string()).default([]),
});
type State = z.output<typeof State>;

function chain(nodes: Record<string, NodeFn<State>>) {
  const names = Object.keys(nodes);
  let graph = new Graph({ state: State, reducers: { log: "append" }, name: "events" });
  for (const name of names) graph = graph.addNode(name, nodes[name]!);
  graph = graph.addEdge(START, names[0]!);
  for (let i = 1; i < names.length; i++) graph = graph.addEdge(names[i - 1]!, names[i]!);
  return graph.addEdge(names.at(-1)!, END).compile();
}

const counting = () =>
  chain({
    one: (s) => ({ count: s.count + 1, log: ["one"] }),
    two: (s) => ({ count: s.count + 1 }),
  });

describe("GraphAgent events", () => {
  it("sends every event of a run to on() listeners, in order", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const events = recordEvents(agent);

    const result = await agent.run({}, { sessionId: "ordered" });

    expect(events.map((e) => `${e.type}${"node" in e && e.node ? ` ${e.node}` : ""}`)).toEqual([
      "run:started",
      "checkpoint:saved",
      "node:started one",
      "node:completed one",
      "state:updated one",
      "edge:taken",
      "checkpoint:saved one",
      "node:started two",
      "node:completed two",
      "state:updated two",
      "edge:taken",
      "checkpoint:saved two",
      "checkpoint:saved",
      "run:finished",
    ]);
    for (const event of events) {
      expect(event).toMatchObject({ sessionId: "ordered", runId: result.runId, graph: "events" });
    }
  });

  it("carries the delta of each update in state:updated", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const updates: GraphEvents["state:updated"][] = [];
    agent.on("state:updated", (e) => updates.push(e));

    await agent.run({});

    expect(updates.map(({ node, delta }) => ({ node, delta }))).toEqual([
      {
        node: "one",
        delta: [
          ["count", "set", 1],
          ["log", "append", ["one"]],
        ],
      },
      { node: "two", delta: [["count", "set", 2]] },
    ]);
  });

  it("describes the start and the end of the run", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const started: GraphEvents["run:started"][] = [];
    const finished: GraphEvents["run:finished"][] = [];
    agent.on("run:started", (e) => started.push(e));
    agent.on("run:finished", (e) => finished.push(e));

    await agent.run({});

    expect(started).toEqual([expect.objectContaining({ type: "run:started", resumedFrom: null })]);
    expect(finished).toEqual([
      expect.objectContaining({
        status: "completed",
        path: ["one", "two"],
        error: undefined,
        state: { count: 2, log: ["one"] },
      }),
    ]);
  });

  it("tells checkpoint:saved listeners the id, seq and node of each checkpoint", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const saved: GraphEvents["checkpoint:saved"][] = [];
    agent.on("checkpoint:saved", (e) => saved.push(e));

    await agent.run({}, { sessionId: "saved" });

    const history = await historyOf(agent, "saved");
    expect(saved.map((e) => e.checkpointId)).toEqual(history.map((c) => c.id).reverse());
    expect(saved.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    expect(saved.map((e) => e.node)).toEqual([null, "one", "two", null]);
    expect(saved.map((e) => e.bytes)).toEqual(history.map((c) => c.bytes).reverse());
  });

  it("stops calling a listener once the function on() returned is called", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const listener = vi.fn();
    const stop = agent.on("node:started", listener);
    await agent.run({});
    expect(listener).toHaveBeenCalledTimes(2);
    stop();
    await agent.run({});
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it("emits state:updated for the nodes of a fan-out", async () => {
    const graph = new Graph({ state: State, reducers: { log: "append" } })
      .addNode("left", () => ({ log: ["left"] }))
      .addNode("right", () => ({ count: 5 }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
    const agent = new GraphAgent({ graph });
    const updates: GraphEvents["state:updated"][] = [];
    agent.on("state:updated", (e) => updates.push(e));

    const result = await agent.run({});

    expect(result.state).toEqual({ count: 5, log: ["left"] });
    const deltas = updates.flatMap((e) => e.delta);
    expect(deltas).toEqual(
      expect.arrayContaining([
        ["log", "append", ["left"]],
        ["count", "set", 5],
      ]),
    );
  });
});

describe("GraphAgent.stream", () => {
  it('yields every event in mode "events"', async () => {
    const agent = new GraphAgent({ graph: counting() });
    const types: string[] = [];
    for await (const event of agent.stream({}, { mode: "events" })) types.push(event.type);
    expect(types[0]).toBe("run:started");
    expect(types.at(-1)).toBe("run:finished");
    expect(types.filter((t) => t === "node:completed")).toHaveLength(2);
    expect(types).toContain("edge:taken");
    expect(types).toContain("checkpoint:saved");
  });

  it('yields only state updates in mode "updates"', async () => {
    const agent = new GraphAgent({ graph: counting() });
    const events: GraphEvent[] = [];
    for await (const event of agent.stream({}, { mode: "updates" })) events.push(event);
    expect(events.map((e) => e.type)).toEqual(["state:updated", "state:updated"]);
    expect(events.map((e) => (e.type === "state:updated" ? e.node : ""))).toEqual(["one", "two"]);
  });

  it('yields only the run:finished event in mode "final"', async () => {
    const agent = new GraphAgent({ graph: counting() });
    const events: GraphEvent[] = [];
    for await (const event of agent.stream({ count: 10 }, { mode: "final" })) events.push(event);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "run:finished",
      status: "completed",
      state: { count: 12 },
    });
  });

  it("also feeds on() listeners while streaming", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const listened = recordEvents(agent);
    const streamed: GraphEvent[] = [];
    for await (const event of agent.stream({})) streamed.push(event);
    expect(streamed).toEqual(listened);
  });

  it("cancels the run when the reader stops early", async () => {
    let slowSignal: AbortSignal | undefined;
    const after = vi.fn<NodeFn<State>>(() => undefined);
    const graph = chain({
      first: () => ({ log: ["first"] }),
      slow: (_s, ctx) => {
        slowSignal = ctx.signal;
        return untilAborted(ctx.signal);
      },
      after,
    });
    const agent = new GraphAgent({ graph });
    const finished: GraphEvents["run:finished"][] = [];
    agent.on("run:finished", (e) => finished.push(e));

    for await (const event of agent.stream({}, { sessionId: "early" })) {
      if (event.type === "node:started" && event.node === "slow") break;
    }

    expect(slowSignal?.aborted).toBe(true);
    expect(after).not.toHaveBeenCalled();
    expect(finished.map((e) => e.status)).toEqual(["cancelled"]);
    expect((await agent.getState("early"))?.status).toBe("cancelled");
  });

  it("rejects an unknown mode", async () => {
    const agent = new GraphAgent({ graph: counting() });
    const stream = agent.stream({}, { mode: "everything" as never });
    await expect(stream.next()).rejects.toThrow(/mode/);
  });
});

describe("GraphAgent hooks", () => {
  it("calls beforeNode with the node, the state it receives and the run's ids", async () => {
    const beforeNode = vi.fn<NonNullable<RunHooks<State>["beforeNode"]>>();
    const agent = new GraphAgent({ graph: counting(), hooks: { beforeNode } });

    const result = await agent.run({ count: 1 }, { sessionId: "hooks" });

    expect(beforeNode.mock.calls.map(([info]) => info)).toEqual([
      {
        node: "one",
        state: { count: 1, log: [] },
        iteration: 1,
        sessionId: "hooks",
        runId: result.runId,
      },
      {
        node: "two",
        state: { count: 2, log: ["one"] },
        iteration: 2,
        sessionId: "hooks",
        runId: result.runId,
      },
    ]);
  });

  it("calls afterNode with the node's update and the state after it", async () => {
    const afterNode = vi.fn<NonNullable<RunHooks<State>["afterNode"]>>();
    const agent = new GraphAgent({ graph: counting(), hooks: { afterNode } });

    const result = await agent.run({}, { sessionId: "after" });

    expect(afterNode.mock.calls.map(([info]) => info)).toEqual([
      {
        node: "one",
        state: { count: 1, log: ["one"] },
        update: { count: 1, log: ["one"] },
        iteration: 1,
        sessionId: "after",
        runId: result.runId,
      },
      {
        node: "two",
        state: { count: 2, log: ["one"] },
        update: { count: 2 },
        iteration: 2,
        sessionId: "after",
        runId: result.runId,
      },
    ]);
  });

  it("calls onEdge with where the run goes next and why", async () => {
    const onEdge = vi.fn<NonNullable<RunHooks<State>["onEdge"]>>();
    const graph = new Graph({ state: State })
      .addNode("check", (s) => ({ count: s.count + 1 }))
      .addEdge(START, "check")
      .addConditionalEdges("check", {
        routes: [{ to: "check", when: (s) => s.count < 2, label: "again" }],
        fallback: END,
      })
      .compile();
    const agent = new GraphAgent({ graph, hooks: { onEdge } });

    const result = await agent.run({}, { sessionId: "edge" });

    expect(onEdge.mock.calls.map(([info]) => info)).toEqual([
      {
        from: "check",
        to: ["check"],
        reason: "condition",
        label: "again",
        sessionId: "edge",
        runId: result.runId,
      },
      {
        from: "check",
        to: [],
        reason: "fallback",
        label: undefined,
        sessionId: "edge",
        runId: result.runId,
      },
    ]);
  });

  it("waits for an async hook before going on", async () => {
    const order: string[] = [];
    const agent = new GraphAgent({
      graph: chain({
        only: () => {
          order.push("node");
          return undefined;
        },
      }),
      hooks: {
        beforeNode: async () => {
          await Promise.resolve();
          order.push("before");
        },
        afterNode: async () => {
          await Promise.resolve();
          order.push("after");
        },
      },
    });
    await agent.run({});
    expect(order).toEqual(["before", "node", "after"]);
  });

  it("calls afterNode and onEdge for every node of a fan-out", async () => {
    const afterNode = vi.fn<NonNullable<RunHooks<State>["afterNode"]>>();
    const onEdge = vi.fn<NonNullable<RunHooks<State>["onEdge"]>>();
    const graph = new Graph({ state: State, reducers: { log: "append" } })
      .addNode("left", () => ({ log: ["left"] }))
      .addNode("right", () => ({ log: ["right"] }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
    const agent = new GraphAgent({ graph, hooks: { afterNode, onEdge } });

    await agent.run({});

    expect(afterNode.mock.calls.map(([info]) => info.node).sort()).toEqual(["left", "right"]);
    expect(onEdge.mock.calls.map(([info]) => info.from).sort()).toEqual(["left", "right"]);
  });

  it.each(["beforeNode", "afterNode", "onEdge"] as const)(
    "fails the run with HookError when %s throws",
    async (hook) => {
      const thrown = new Error(`${hook} exploded`);
      const two = vi.fn<NodeFn<State>>(() => undefined);
      const graph = chain({ one: () => ({ count: 1 }), two });
      const agent = new GraphAgent({
        graph,
        hooks: {
          [hook]: () => {
            throw thrown;
          },
        },
      });

      const result = await agent.run({});

      expect(result.status).toBe("failed");
      expect(result.error).toBeInstanceOf(HookError);
      const error = result.error as HookError;
      expect(error.hook).toBe(hook);
      expect(error.cause).toBe(thrown);
      expect(error.message).toContain(`${hook} exploded`);
      expect(two).not.toHaveBeenCalled();
    },
  );
});
