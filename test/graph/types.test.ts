import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  Command,
  type CompiledGraph,
  END,
  Graph,
  GraphAgent,
  type GraphEvent,
  type NodeContext,
  type RouteReason,
  type RunResult,
  START,
  type StateOf,
} from "../../src/index.js";

const State = z.object({
  count: z.number().default(0),
  tags: z.array(z.string()).default([]),
  note: z.string().optional(),
});

type Expected = {
  count: number;
  tags: string[];
  note?: string | undefined;
};

describe("types", () => {
  it("infers the state type from the zod schema", () => {
    expectTypeOf<StateOf<typeof State>>().toEqualTypeOf<Expected>();
  });

  it("gives node functions the inferred state and a typed context", () => {
    new Graph({ state: State }).addNode("typed", (state, ctx) => {
      expectTypeOf(state).toEqualTypeOf<Readonly<Expected>>();
      expectTypeOf(state.count).toBeNumber();
      expectTypeOf(state.tags).toEqualTypeOf<string[]>();
      expectTypeOf(ctx).toEqualTypeOf<NodeContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(ctx.attempt).toBeNumber();
      return { count: state.count + 1 };
    });
  });

  it("types routes and routers with the state", () => {
    new Graph({ state: State })
      .addNode("a", () => undefined)
      .addConditionalEdges("a", {
        routes: [
          {
            to: END,
            when: (s) => {
              expectTypeOf(s).toEqualTypeOf<Readonly<Expected>>();
              return s.count > 1;
            },
          },
        ],
      })
      .addConditionalEdges("b", (s) => {
        expectTypeOf(s.tags).toEqualTypeOf<string[]>();
        return END;
      });
  });

  it("types the compiled graph, the agent and result.state", async () => {
    const graph = new Graph({ state: State })
      .addNode("inc", (s) => ({ count: s.count + 1 }))
      .addEdge(START, "inc")
      .addEdge("inc", END)
      .compile();
    expectTypeOf(graph).toEqualTypeOf<CompiledGraph<Expected>>();

    const agent = new GraphAgent({ graph });
    expectTypeOf(agent).toEqualTypeOf<GraphAgent<Expected>>();

    const result = await agent.run({});
    expectTypeOf(result).toEqualTypeOf<RunResult<Expected>>();
    expectTypeOf(result.state).toEqualTypeOf<Expected>();
    expectTypeOf(result.state.count).toBeNumber();
    // An unreadable checkpoint in a history has no state.
    expectTypeOf<Awaited<ReturnType<typeof agent.history>>[number]["state"]>().toEqualTypeOf<
      Expected | undefined
    >();
  });

  it("types event listeners by event name", () => {
    const graph = new Graph({ state: State })
      .addNode("a", () => undefined)
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile();
    const agent = new GraphAgent({ graph });
    agent.on("edge:taken", (event) => {
      expectTypeOf(event.type).toEqualTypeOf<"edge:taken">();
      expectTypeOf(event.reason).toEqualTypeOf<RouteReason>();
      expectTypeOf(event.to).toEqualTypeOf<readonly string[]>();
    });
    agent.on("custom", (event) => {
      expectTypeOf(event.name).toBeString();
      expectTypeOf(event.data).toBeUnknown();
    });
    expectTypeOf(agent.stream({})).toEqualTypeOf<AsyncGenerator<GraphEvent, void, undefined>>();
  });

  it("accepts Commands whose update fits the state", () => {
    new Graph({ state: State }).addNode(
      "cmd",
      () => new Command<Expected>({ update: { count: 1 }, goto: END }),
    );
    // @ts-expect-error `count` must be a number in a Command's update
    new Command<Expected>({ update: { count: "one" } });
  });

  it("rejects at compile time an update with a key of the wrong type", () => {
    const graph = new Graph({ state: State });
    // @ts-expect-error `count` is a number
    graph.addNode("bad", () => ({ count: "three" }));
    // @ts-expect-error `tags` is a list of strings
    graph.addNode("bad-async", async () => ({ tags: [1, 2] }));
    // @ts-expect-error a node's update is an object, not a string
    graph.addNode("not-an-object", () => "count");
    graph.addNode("good", () => ({ count: 3, note: "fine" }));
  });

  it("rejects reducers that do not fit their key's type", () => {
    new Graph({
      state: State,
      reducers: {
        count: "sum",
        tags: (current, update) => [...current, ...update],
      },
    });
    new Graph({
      state: State,
      reducers: {
        // @ts-expect-error a reducer for `count` returns a number
        count: (current: number, update: number) => `${current}${update}`,
      },
    });
  });
});
