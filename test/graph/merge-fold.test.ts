import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StateDefinition } from "../../src/graph/state.js";
import {
  END,
  Graph,
  GraphAgent,
  mergeBranches,
  type NodeFn,
  parallelGroup,
  START,
  silentLogger,
} from "../../src/index.js";
import { turns, untilAborted } from "./helpers.js";

const State = z.object({
  total: z.number().default(0),
  trail: z.string().default(""),
  log: z.array(z.string()).default([]),
});
type State = z.output<typeof State>;

const add = (current: number, update: number) => current + update;
const reducers = {
  total: add,
  trail: (c: string, u: string) => `${c}${u}`,
  log: "append" as const,
};

describe("merging parallel updates through a custom reducer", () => {
  it("folds each branch's update once: (c, u) => c + u from 10 with +1 and +2 gives 13, not 33", () => {
    const definition = new StateDefinition<State>(State, reducers);
    const base = definition.parseInput({ total: 10 });
    const branches = [1, 2].map((n) => {
      const applied = definition.applyBranch(base, { total: n }, "a branch");
      return { name: `b${n}`, state: applied.state, update: applied.update };
    });
    expect(mergeBranches(base, branches, definition).state.total).toBe(13);
  });

  it("gives 13, not 33, for nodes fanned out by plain edges", async () => {
    const graph = new Graph({ state: State, reducers })
      .addNode("one", () => ({ total: 1 }))
      .addNode("two", async () => {
        await turns(1);
        return { total: 2 };
      })
      .addNode("join", () => undefined)
      .addEdge(START, "one")
      .addEdge(START, "two")
      .addEdge("one", "join")
      .addEdge("two", "join")
      .addEdge("join", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({ total: 10 });
    expect(result.status).toBe("completed");
    expect(result.state.total).toBe(13);
  });

  it("gives 13, not 33, for the branches of a parallel group", async () => {
    const graph = new Graph({ state: State, reducers })
      .addNode(
        "group",
        parallelGroup<State>({
          branches: {
            one: async () => {
              await turns(2);
              return { total: 1, trail: "a" };
            },
            two: () => ({ total: 2, trail: "b" }),
          },
        }),
      )
      .addEdge(START, "group")
      .addEdge("group", END)
      .compile();
    const result = await new GraphAgent({ graph }).run({ total: 10, trail: ">" });
    expect(result.status).toBe("completed");
    expect(result.state.total).toBe(13);
    // Declaration order, not finishing order.
    expect(result.state.trail).toBe(">ab");
  });

  it("folds the updates of branches that finished before a resume as an uninterrupted run would", async () => {
    let firstTry = true;
    const hang: NodeFn<State> = (_s, ctx) =>
      firstTry ? untilAborted(ctx.signal) : { total: 3, trail: "c" };
    const graph = new Graph({ state: State, reducers })
      .addNode(
        "group",
        parallelGroup<State>({
          branches: {
            one: () => ({ total: 1, trail: "a" }),
            two: () => ({ total: 2, trail: "b" }),
            three: hang,
          },
        }),
      )
      .addEdge(START, "group")
      .addEdge("group", END)
      .compile();
    const agent = new GraphAgent({ graph, logger: silentLogger });
    const controller = new AbortController();
    const running = agent.run({ total: 10 }, { sessionId: "fold", signal: controller.signal });
    await turns(10);
    controller.abort("stop");
    expect((await running).status).toBe("cancelled");
    firstTry = false;
    const resumed = await agent.resume("fold");
    expect(resumed.status).toBe("completed");
    expect(resumed.state.total).toBe(16);
    expect(resumed.state.trail).toBe("abc");
  });
});
